//! Unit tests of the Sigma export: the operator map, escaping, refusals by name.

use super::*;

fn one(src: &str) -> Result<String, String> {
    let (rules, diags) = export(src, 0, &Catalog::builtin());
    match (rules.as_slice(), diags.as_slice()) {
        ([r], []) => Ok(r.yaml.clone()),
        ([], [d]) => {
            assert_eq!(d.code, codes::EXPORT_SIGMA_UNSUPPORTED);
            Err(d.message.clone())
        }
        _ => panic!("{rules:#?}\n{diags:#?}"),
    }
}

fn detection(src: &str) -> String {
    let y = one(src).unwrap_or_else(|e| panic!("{e}"));
    let start = y.find("detection:\n").unwrap();
    let end = y[start..]
        .find("\n  condition:")
        .map(|i| start + i)
        .unwrap();
    let rest = &y[end..];
    let cond_end = rest[1..].find('\n').map(|i| end + 1 + i + 1).unwrap();
    y[start..cond_end].to_string()
}

#[test]
fn operators_map_onto_modifiers_with_the_same_meaning() {
    let d = detection(
        r#"rule r { from DeviceProcessEvents
             where FolderPath =~ @'C:\a*b?.exe' and ProcessCommandLine == 'X'
               and ProcessVersionInfoCompanyName contains_cs 'Corp'
               and ProcessVersionInfoProductName startswith 'p' and InitiatingProcessFolderPath endswith 'q'
               and ProcessVersionInfoOriginalFileName in~ ('a.exe', 'b.exe')
               and ProcessIntegrityLevel matches regex '^(High|System)$'
               and ProcessId > 4 }"#,
    );
    insta::assert_snapshot!(d, @r"
    detection:
      selection:
        Image: 'C:\\a\*b\?.exe'
        CommandLine|cased: 'X'
        Company|contains|cased: 'Corp'
        Product|startswith: 'p'
        ParentImage|endswith: 'q'
        OriginalFileName:
          - 'a.exe'
          - 'b.exe'
        IntegrityLevel|re: '^(High|System)$'
        ProcessId|gt: 4
      condition: selection
    ");
}

#[test]
fn has_is_a_term_bounded_regex_or_a_substring_when_no_edge_is_a_term_character() {
    let d = detection(
        r#"rule r { from DeviceNetworkEvents
             where RemoteUrl has_any ('Ab.de', '.com', 'x/') and RemoteUrl has '://' and not(InitiatingProcessFolderPath has_cs 'Tool') }"#,
    );
    insta::assert_snapshot!(d, @r"
    detection:
      selection:
        DestinationHostname|contains: '://'
      selection_2:
        DestinationHostname|re:
          - '(^|[^\p{L}\p{N}ͅ])[aA][bB]\.[dD][eE]([^\p{L}\p{N}ͅ]|$)'
          - '\.[cC][oO][mM]([^\p{L}\p{N}ͅ]|$)'
          - '(^|[^\p{L}\p{N}ͅ])[xX]/'
      selection_3:
        Image|re: '(^|[^\p{L}\p{N}])Tool([^\p{L}\p{N}]|$)'
      condition: selection and selection_2 and not selection_3
    ");
}

#[test]
fn exclusions_become_filters_and_false_positives() {
    let y = one(
        r#"let Names = ('a', 'b');
           rule r { id "x" title "T" severity high tactics [CommandAndControl, Bogus] techniques [T1219, T1059.001]
             from DeviceProcessEvents window 5d
             where ProcessVersionInfoCompanyName in~ (Names) or ProcessVersionInfoProductName has 'z'
             except "Admin tool" { description "IT's own" when InitiatingProcessFolderPath endswith @'\it.exe' }
             except "Two" when ProcessCommandLine contains "x" and ProcessCommandLine contains "y"
             summarize Count = count() by DeviceId }"#,
    )
    .unwrap();
    insta::assert_snapshot!(y, @r#"
    # scry rule `r`, exported by `scry export sigma`.
    # Not exported: `window 5d` (the look-back of a scheduled query: the backend's schedule); `summarize ... by DeviceId` (a report over the matching events).
    # tactic `Bogus` is not an ATT&CK tactic Sigma tags know: left out.
    title: T
    id: 09dbbeab-ac41-5584-b11f-b116deba39cc
    status: experimental
    tags:
      - attack.command-and-control
      - attack.t1219
      - attack.t1059.001
    logsource:
      product: windows
      category: process_creation
    detection:
      selection:
        Company:
          - 'a'
          - 'b'
      selection_2:
        Product|re: '(^|[^\p{L}\p{N}ͅ])[zZ]([^\p{L}\p{N}ͅ]|$)'
      filter_admin_tool:
        ParentImage|endswith: '\\it.exe'
      filter_two:
        CommandLine|contains: 'x'
      filter_two_2:
        CommandLine|contains: 'y'
      condition: (selection or selection_2) and not filter_admin_tool and not (filter_two and filter_two_2)
    falsepositives:
      - 'Admin tool: IT''s own'
      - Two
    level: high
    "#);
}

#[test]
fn refusals_name_the_reason() {
    for (src, want) in [
        (
            "rule r { from DeviceFileCertificateInfo where Signer has 'x' }",
            "rule `r` has no Sigma form: table DeviceFileCertificateInfo has no Sigma logsource",
        ),
        (
            "rule r { from DeviceNetworkEvents where InitiatingProcessVersionInfoCompanyName has 'x' }",
            "column `InitiatingProcessVersionInfoCompanyName` of DeviceNetworkEvents has no field in Sigma's network_connection",
        ),
        (
            "rule r { from DeviceProcessEvents where FolderPath has 'x' summarize C = count() by DeviceId having C > 5 }",
            "`having` (a filter over groups of events",
        ),
        (
            "rule r { from DeviceProcessEvents where tolower(FolderPath) == 'x' }",
            "only a column can be tested in Sigma, not `tolower(FolderPath)`",
        ),
        (
            "rule r { from DeviceProcessEvents where FolderPath has '' }",
            "an empty needle",
        ),
        (
            "rule r { from DeviceProcessEvents where not(ProcessId > 4) }",
            "a negated number comparison",
        ),
        (
            "rule r { from DeviceProcessEvents, DeviceNetworkEvents where FolderPath has 'x' }",
            "several tables",
        ),
        (
            "rule r { from DeviceFileEvents where FolderPath has 'x' }",
            "table DeviceFileEvents reaches Sigma only through a guard the rule does not state",
        ),
        (
            "rule r { from DeviceProcessEvents where FolderPath == ProcessCommandLine }",
            "a comparison of two columns",
        ),
        (
            "rule r { from DeviceProcessEvents where FolderPath has 'x' except \"e\" when FileName =~ 'y' }",
            "exclusion \"e\": column `FileName` of DeviceProcessEvents has no field in Sigma's process_creation",
        ),
        (
            "rule r { from DeviceProcessEvents where FolderPath has 'x' take 5 }",
            "`take`",
        ),
    ] {
        match one(src) {
            Ok(y) => panic!("{src}: exported\n{y}"),
            Err(m) => assert!(m.contains(want), "{src}:\n  want {want}\n  got  {m}"),
        }
    }
}

#[test]
fn a_guard_the_rule_states_picks_the_logsource_and_leaves_the_detection() {
    let d = detection(
        "rule r { from DeviceFileEvents where ActionType == 'FileCreated' and FolderPath endswith '.ps1' }",
    );
    assert!(d.contains("TargetFilename|endswith: '.ps1'"), "{d}");
    assert!(!d.contains("ActionType"), "{d}");
    let y = one("rule r { from DeviceFileEvents where ActionType == 'FileCreated' and FolderPath endswith '.ps1' }").unwrap();
    assert!(y.contains("  category: file_event\n"), "{y}");
}

#[test]
fn yaml_scalars_read_back_exactly() {
    assert_eq!(quoted("it's"), "'it''s'");
    assert_eq!(quoted("a\nb\t\"c\\"), "\"a\\u000Ab\\u0009\\\"c\\\\\"");
    assert_eq!(scalar("true"), "'true'");
    assert_eq!(scalar("1.5"), "'1.5'");
    assert_eq!(scalar("a: b"), "'a: b'");
    assert_eq!(scalar("plain text"), "plain text");
    assert_eq!(detection::escape(r"a\b*c?"), r"a\\b\*c\?");
}

#[test]
fn ids_are_kept_when_uuids_and_derived_from_the_name_otherwise() {
    assert_eq!(
        sigma_id("r", Some("E9C26766-0FE4-49B6-AE27-C41C41AAE094")),
        "e9c26766-0fe4-49b6-ae27-c41c41aae094"
    );
    let a = sigma_id("rule_a", Some("not-a-uuid"));
    assert_eq!(a, sigma_id("rule_a", None));
    assert_ne!(a, sigma_id("rule_b", None));
    assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 5);
}
