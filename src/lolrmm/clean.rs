//! Turning the catalogue's signer names and domains into needles, and saying why any was
//! left out. Every decision here is data: the lists below, each entry with its reason.

use scry_engine::kql;
use scry_grammar::{StrOp, StrOpKind};

/// Signer names that sign far more than one tool, or that are not signer names at all: a
/// `Signer has_any` rule with one of them would report every machine that has, say, Windows
/// or PuTTY. Compared ignoring case. The catalogue lists them because a tool bundles or
/// installs that software, or because its certificate export picked up a CA name.
pub const GENERIC_SIGNERS: &[(&str, &str)] = &[
    (
        "Microsoft Corporation",
        "signs Windows and most Microsoft software",
    ),
    ("Microsoft Windows", "signs Windows itself"),
    (
        "Microsoft Windows Component Publisher",
        "signs Windows components",
    ),
    ("Google LLC", "signs Chrome and most Google software"),
    ("Apple Inc.", "signs macOS and Apple software"),
    (
        "Adobe Systems Incorporated",
        "Adobe software a tool bundles",
    ),
    ("Oracle America, Inc.", "the Java runtime a tool bundles"),
    (".NET", "not a signer: part of a .NET runtime name"),
    ("Discord Inc.", "the Discord client"),
    (
        "The Qt Company Oy",
        "the Qt runtime, bundled by many applications",
    ),
    ("Realtek Semiconductor Corp.", "hardware drivers"),
    ("Symantec Corporation", "security software"),
    ("Unity Technologies ApS", "the Unity engine, in many games"),
    ("Unity Technologies SF", "the Unity engine, in many games"),
    ("Oculus VR, LLC", "a VR runtime"),
    (
        "Simon Tatham",
        "PuTTY, bundled by several tools and installed widely on its own",
    ),
    ("NOTEPAD++", "a text editor a tool bundles"),
    ("win.rar GmbH", "WinRAR, used to package installers"),
    ("Tuxera Inc", "file-system drivers"),
    (
        "Code Systems Corporation",
        "an application-virtualisation runtime",
    ),
    ("Proton AG", "Proton VPN and Mail clients"),
    ("OpenVPN Inc.", "the OpenVPN client"),
    ("LunarG, Inc.", "the Vulkan runtime"),
    (
        "WebEx Communications Inc.",
        "Cisco Webex meeting clients, common in enterprises",
    ),
    (
        "Cloudflare, Inc.",
        "Cloudflare WARP and other Cloudflare clients",
    ),
    (
        "Tencent Technology (Shenzhen) Company Limited",
        "QQ, WeChat and Tencent games",
    ),
    ("YANDEX LLC", "Yandex Browser and other Yandex software"),
    ("北京火绒网络科技有限公司", "Huorong, an antivirus product"),
    ("中移动信息技术有限公司", "China Mobile software"),
    ("Gametop Pte Ltd", "a game distributor"),
    ("GlobalSigningDig", "not a signer: a fragment of a CA name"),
    ("CodeSigningMico", "not a signer: a fragment of a CA name"),
    ("Certification Authority", "not a signer: a CA name"),
];

/// Hosts of shared infrastructure: code hosting, object storage. A `RemoteUrl has` needle
/// equal to one of them matches every download from that service. A tool's own host below
/// them (`gorelo-rmm.azurewebsites.net`, `a1-backend-packages.s3.amazonaws.com`) is kept.
pub const GENERIC_HOSTS: &[(&str, &str)] = &[
    ("github.com", "code hosting shared by every project"),
    (
        "raw.githubusercontent.com",
        "code hosting shared by every project",
    ),
    (
        "objects.githubusercontent.com",
        "code hosting shared by every project",
    ),
    ("github.io", "pages of every GitHub project"),
    (
        "r2.cloudflarestorage.com",
        "object storage shared by every Cloudflare customer",
    ),
    ("amazonaws.com", "shared cloud infrastructure"),
    ("s3.amazonaws.com", "shared cloud infrastructure"),
    ("blob.core.windows.net", "shared cloud infrastructure"),
    ("windows.net", "shared cloud infrastructure"),
    ("azurewebsites.net", "shared cloud infrastructure"),
    ("cloudflare.net", "shared cloud infrastructure"),
    ("googleapis.com", "shared cloud infrastructure"),
    ("google.com", "shared cloud infrastructure"),
    ("microsoft.com", "shared cloud infrastructure"),
];

/// What became of one catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Kept as this needle (possibly rewritten; the note says how).
    Needle(String, Option<String>),
    /// Left out, with the reason.
    Skipped(String),
}

/// A signer name as a needle: trimmed, regex escapes of the export undone
/// (`Notepad\+\+` is `Notepad++`); a name cut at an escaped comma (`MSPBytes\`) is left out,
/// as is a generic one.
pub fn signer(raw: &str) -> Outcome {
    let s = raw.trim();
    if s.is_empty() {
        return Outcome::Skipped("empty".into());
    }
    if s.ends_with('\\') {
        return Outcome::Skipped(
            "cut short at an escaped comma by the catalogue's export (the full name is listed too)"
                .into(),
        );
    }
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' && it.peek().is_some_and(|n| n.is_ascii_punctuation()) {
            continue;
        }
        out.push(c);
    }
    if let Some((_, why)) = GENERIC_SIGNERS.iter().find(|(g, _)| kql::eq_ci(g, &out)) {
        return Outcome::Skipped(format!("generic signer: {why}"));
    }
    let note = (out != s).then(|| format!("unescaped from {s:?}"));
    Outcome::Needle(out, note)
}

/// A domain entry as a `RemoteUrl has` needle.
///
/// - `*.x.com` becomes `x.com`: `has` matches a term sequence between separators, and `.`
///   is a separator, so `x.com` already matches `a.x.com` and `a.b.x.com` (and `x.com`
///   itself, which the wildcard form leaves out: a slight widening);
/// - a scheme, path or port is cut (`RemoteUrl` holds a host name; `has` still matches a URL
///   that carries them);
/// - a wildcard or regex inside a label (`auth*.aeroadmin.com`,
///   `relay-[a-f0-9]{8}.net.anydesk.com`) keeps the labels after it (`aeroadmin.com`,
///   `net.anydesk.com`), widening the needle; an IP address, a placeholder, a single label or
///   a shared-infrastructure host is left out.
pub fn domain(raw: &str) -> Outcome {
    let mut s = raw.trim().to_lowercase();
    let mut notes: Vec<String> = Vec::new();
    if s.is_empty() || s == "user_managed" || s.starts_with('<') {
        return Outcome::Skipped("a placeholder for the customer's own server".into());
    }
    for scheme in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            s = rest.to_string();
            notes.push("scheme cut".into());
        }
    }
    if let Some(i) = s.find('/') {
        s.truncate(i);
        notes.push("path cut".into());
    }
    if let Some(i) = s.rfind(':') {
        if s[i + 1..].chars().all(|c| c.is_ascii_digit()) {
            s.truncate(i);
            notes.push("port cut".into());
        }
    }
    if s.split('.').count() == 4 && s.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Outcome::Skipped(
            "an IP address: RemoteUrl holds host names (an IP rule would read RemoteIP)".into(),
        );
    }
    if let Some(rest) = s.strip_prefix("*.") {
        s = rest.to_string();
        notes.push("`*.` dropped: `has` already matches every subdomain".into());
    }
    let special =
        |l: &str| l.contains(['*', '[', ']', '{', '}', '(', ')', '?', '+', '|', '^', '$']);
    let labels: Vec<&str> = s.split('.').collect();
    if let Some(last) = labels.iter().rposition(|l| special(l)) {
        let rest = labels[last + 1..].join(".");
        notes.push(format!("wildcard in a label: widened to {rest}"));
        s = rest;
    }
    if !s.contains('.') {
        return Outcome::Skipped("not a host name with a domain".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Outcome::Skipped(format!("not a host name: {s:?}"));
    }
    if let Some((_, why)) = GENERIC_HOSTS.iter().find(|(g, _)| *g == s) {
        return Outcome::Skipped(format!("generic host {s}: {why}"));
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    Outcome::Needle(s, note)
}

/// `has`, the operator every generated rule uses.
pub const HAS: StrOp = StrOp {
    kind: StrOpKind::Has,
    case_sensitive: false,
    negated: false,
};

/// Needles of one list with duplicates (ignoring case) and implied needles removed: a needle
/// `b` for which `b has a` holds for another needle `a` matches nothing `a` does not (every
/// value that has `b` has `a`), so it is dropped. Returns the kept needles (sorted ignoring
/// case, for stable output) and `(dropped, kept one that implies it)`.
pub fn minimise(needles: Vec<String>) -> (Vec<String>, Vec<(String, String)>) {
    let mut uniq: Vec<String> = Vec::new();
    let mut dropped = Vec::new();
    let mut sorted = needles;
    // Of two spellings, keep the one not in capitals: `ZeroTier, Inc.`, not `ZEROTIER, INC.`.
    sorted.sort_by_key(|a| (a.to_lowercase(), *a == a.to_uppercase(), a.clone()));
    for n in sorted {
        if let Some(u) = uniq.iter().find(|u| kql::eq_ci(u, &n)) {
            if *u != n {
                dropped.push((n, u.clone()));
            }
            continue;
        }
        uniq.push(n);
    }
    let mut kept = Vec::new();
    for b in &uniq {
        match uniq.iter().find(|a| *a != b && kql::str_op(HAS, b, a)) {
            Some(a) => dropped.push((b.clone(), a.clone())),
            None => kept.push(b.clone()),
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needle(o: Outcome) -> String {
        match o {
            Outcome::Needle(n, _) => n,
            Outcome::Skipped(why) => panic!("skipped: {why}"),
        }
    }

    #[test]
    fn domains_are_normalised_or_skipped() {
        assert_eq!(needle(domain("*.247ithelp.com")), "247ithelp.com");
        assert_eq!(needle(domain("GetScreen.me")), "getscreen.me");
        assert_eq!(needle(domain("auth*.aeroadmin.com")), "aeroadmin.com");
        assert_eq!(
            needle(domain("relay-[a-f0-9]{8}.net.anydesk.com:443")),
            "net.anydesk.com"
        );
        assert_eq!(
            needle(domain("rescue-list.*.logmein-gateway.com")),
            "logmein-gateway.com"
        );
        assert_eq!(needle(domain("upload_data.qq.com")), "upload_data.qq.com");
        assert!(matches!(domain("136.243.104.235"), Outcome::Skipped(_)));
        assert!(matches!(domain("github.com"), Outcome::Skipped(_)));
        assert!(matches!(
            domain("pdqinstallers.*.r2.cloudflarestorage.com"),
            Outcome::Skipped(_)
        ));
        assert!(matches!(domain("user_managed"), Outcome::Skipped(_)));
        assert_eq!(
            needle(domain("gorelo-rmm.azurewebsites.net")),
            "gorelo-rmm.azurewebsites.net"
        );
    }

    #[test]
    fn signers_are_unescaped_or_skipped() {
        assert_eq!(
            needle(signer(" Action1 Corporation ")),
            "Action1 Corporation"
        );
        assert!(matches!(signer("MSPBytes\\"), Outcome::Skipped(_)));
        assert!(matches!(signer("Notepad\\+\\+"), Outcome::Skipped(_)));
        assert!(matches!(
            signer("microsoft corporation"),
            Outcome::Skipped(_)
        ));
        assert_eq!(
            needle(signer("苏州野望软件科技有限公司")),
            "苏州野望软件科技有限公司"
        );
    }

    #[test]
    fn implied_and_duplicate_needles_are_dropped() {
        let (kept, dropped) = minimise(vec![
            "a.x.com".into(),
            "x.com".into(),
            "X.COM".into(),
            "y.com".into(),
        ]);
        assert_eq!(kept, vec!["x.com", "y.com"]);
        assert_eq!(dropped.len(), 2);
        let (kept, _) = minimise(vec!["Domotz Inc".into(), "DOMOTZ INC.".into()]);
        assert_eq!(kept, vec!["Domotz Inc"]);
    }
}
