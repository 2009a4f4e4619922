//! `scry lsp` driven by a real client: this harness spawns the server and speaks JSON-RPC with
//! Content-Length framing over its stdin/stdout, as an editor does.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
    /// Notifications received while waiting for responses.
    notes: Vec<Value>,
}

impl Client {
    fn start() -> Client {
        Client::start_with(&[])
    }

    /// `scry lsp` with extra arguments (`--schema FILE`).
    fn start_with(args: &[&str]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
            .arg("lsp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("scry lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut c = Client {
            child,
            stdin,
            stdout,
            next_id: 1,
            notes: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        assert!(
            init["capabilities"]["completionProvider"].is_object(),
            "{init}"
        );
        assert_eq!(init["capabilities"]["documentFormattingProvider"], true);
        c.notify("initialized", json!({}));
        c
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn read(&mut self) -> Value {
        let mut len = None;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed stdout"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = Some(v.parse::<usize>().unwrap());
            }
        }
        let mut body = vec![0; len.expect("a Content-Length header")];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.read();
            if m.get("id") == Some(&json!(id)) {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            self.notes.push(m);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next diagnostics published (waiting for them).
    fn diagnostics(&mut self) -> Vec<Value> {
        loop {
            let m = if self.notes.is_empty() {
                self.read()
            } else {
                self.notes.remove(0)
            };
            if m["method"] == "textDocument/publishDiagnostics" {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "scry", "version": 1, "text": text}}),
        );
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

const URI: &str = "file:///tmp/scry-lsp-test/r.scry";

fn pos(text: &str, needle: &str, after: bool) -> Value {
    let at = text.find(needle).unwrap() + if after { needle.len() } else { 1 };
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |p| p + 1);
    json!({"line": line, "character": col})
}

#[test]
fn a_typo_gets_the_diagnostic_of_scry_check_and_a_fix() {
    let mut c = Client::start();
    let text = "rule r { id \"1\"\n  from DeviceFileCertificateInfo\n  where Signr has 'x'\n}\n";
    c.open(URI, text);
    let diags = errors(c.diagnostics());
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert!(d["code"].as_str().unwrap().starts_with('E'), "{d}");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `Signer`?"),
        "{d}"
    );
    assert_eq!(d["range"]["start"], json!({"line": 2, "character": 8}));
    assert_eq!(d["range"]["end"], json!({"line": 2, "character": 13}));

    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": d["range"], "context": {"diagnostics": [d]}}),
    );
    let edit = &actions[0]["edit"]["changes"][URI][0];
    assert_eq!(edit["newText"], "Signer", "{actions}");
    assert_eq!(edit["range"], d["range"]);

    // The fixed text: no diagnostics.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2},
               "contentChanges": [{"text": text.replace("Signr", "Signer")}]}),
    );
    assert_eq!(errors(c.diagnostics()), Vec::<Value>::new());
    c.stop();
}

fn errors(diags: Vec<Value>) -> Vec<Value> {
    diags.into_iter().filter(|d| d["severity"] == 1).collect()
}

#[test]
fn completion_after_where_offers_the_tables_columns() {
    let mut c = Client::start();
    let text =
        "let Vendors = ('a', 'b');\nrule r {\n  from DeviceFileCertificateInfo\n  where \n}\n";
    c.open(URI, text);
    c.diagnostics();
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": pos(text, "where ", true)}),
    );
    let items = items.as_array().unwrap();
    let find = |l: &str| items.iter().find(|i| i["label"] == l).cloned();
    let signer = find("Signer").expect("Signer offered");
    assert_eq!(signer["detail"], "string — DeviceFileCertificateInfo");
    // The column's documentation is the schema file's description of it.
    assert!(
        signer["documentation"]
            .as_str()
            .unwrap()
            .starts_with("Who signed the file"),
        "{signer}"
    );
    assert!(find("IsSigned").unwrap()["detail"]
        .as_str()
        .unwrap()
        .starts_with("bool"));
    // Columns of other tables are not offered; lets, operators and functions are.
    assert!(find("RemoteUrl").is_none());
    assert!(find("Vendors").is_some() && find("has_any").is_some() && find("tolower").is_some());

    let tables = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": pos(text, "from ", true)}),
    );
    let labels: Vec<&str> = tables
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"DeviceNetworkEvents") && !labels.contains(&"Signer"),
        "{labels:?}"
    );

    // A rule over another table: its aliases, resolved for that table, and a set's name.
    let uri = "file:///tmp/scry-lsp-test/p.scry";
    let text = "rule p {\n  from DeviceProcessEvents\n  let Local = from DeviceFileCertificateInfo where Signer has 'x' distinct SHA1;\n  where \n}\n";
    c.open(uri, text);
    c.diagnostics();
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": pos(text, "where ", true)}),
    );
    let items = items.as_array().unwrap();
    let find = |l: &str| items.iter().find(|i| i["label"] == l).cloned();
    let alias = find("process.name").expect("aliases offered");
    assert_eq!(alias["detail"], "alias of FileName in DeviceProcessEvents");
    assert!(find("ProcessCommandLine").is_some() && find("Signer").is_none());
    assert!(find("Local").unwrap()["detail"]
        .as_str()
        .unwrap()
        .starts_with("let Local = from DeviceFileCertificateInfo"));
    c.stop();
}

#[test]
fn formatting_hover_and_definition() {
    let mut c = Client::start();
    let text = "let Vendors = ('a', 'b');\nrule r {\n   from DeviceFileCertificateInfo\n  where Signer has_any (Vendors)   and IsSigned==true\n}\n";
    c.open(URI, text);
    c.diagnostics();
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(
        edits[0]["newText"],
        scry_grammar::fmt::format(text).unwrap(),
        "{edits}"
    );
    assert!(edits[0]["newText"]
        .as_str()
        .unwrap()
        .contains("\n    and IsSigned == true\n"));

    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": pos(text, "Signer", false)}),
    );
    let md = hover["contents"]["value"].as_str().unwrap();
    assert!(
        md.contains(
            "`Signer`: **string**, column of `DeviceFileCertificateInfo`: Who signed the file"
        ),
        "{md}"
    );
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": pos(text, "has_any", false)}),
    );
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("`has` for at least one needle"));
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": pos(text, "(Vendors", true)}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("let Vendors = ('a', 'b')"),
        "{hover}"
    );

    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": URI}, "position": pos(text, "(Vendors", true)}),
    );
    assert_eq!(
        def["range"]["start"],
        json!({"line": 0, "character": 4}),
        "{def}"
    );
    // A set declared inside the rule: its use goes to its `let`.
    let uri = "file:///tmp/scry-lsp-test/set.scry";
    let text = "rule s {\n  from DeviceProcessEvents\n  let Local = from DeviceFileCertificateInfo where Signer has 'x' distinct SHA1;\n  where SHA1 in (Local)\n}\n";
    c.open(uri, text);
    c.diagnostics();
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": pos(text, "(Local", true)}),
    );
    assert_eq!(def["uri"], uri, "{def}");
    assert_eq!(def["range"]["start"], json!({"line": 2, "character": 6}));
    assert_eq!(def["range"]["end"], json!({"line": 2, "character": 11}));
    c.stop();
}

#[test]
fn on_save_a_misbehaving_example_is_marked_where_it_is_written() {
    let mut c = Client::start();
    let text = "rule r { id \"1\"\n  from DeviceFileCertificateInfo\n  where Signer has 'Action1'\n  examples {\n    match \"glued\" {\"Signer\": \"XAction1\"}\n  }\n}\n";
    c.open(URI, text);
    assert_eq!(
        c.diagnostics(),
        Vec::<Value>::new(),
        "examples run on save only"
    );
    // (`id` given and examples present: no warnings either.)
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": URI}, "text": text}),
    );
    let diags = c.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 4, "character": 4})
    );
    assert!(
        diags[0]["message"]
            .as_str()
            .unwrap()
            .contains("example \"glued\" of rule r: expected match, got no match"),
        "{diags:?}"
    );
    c.stop();
}

/// What `scry check` prints for one file: `(code, line, column, notes)` per diagnostic, from
/// its `error[E0104]: ...` / `┌─ file:L:C` / `= note` lines.
fn check_diagnostics(rel: &str) -> Vec<(String, usize, usize, Vec<String>)> {
    let out = crate::util::scry(&["check", "--rules", rel]);
    let err = crate::util::stderr(&out);
    let mut found: Vec<(String, usize, usize, Vec<String>)> = Vec::new();
    for line in err.lines() {
        let t = line.trim_start();
        if let Some(rest) = t
            .strip_prefix("error[")
            .or_else(|| t.strip_prefix("warning["))
        {
            let code = rest.split(']').next().unwrap().to_string();
            found.push((code, 0, 0, Vec::new()));
        } else if let Some(at) = t.strip_prefix("┌─ ") {
            let mut parts = at.rsplitn(3, ':');
            let col = parts.next().unwrap().parse().unwrap();
            let line = parts.next().unwrap().parse().unwrap();
            let last = found.last_mut().expect("a location after a header");
            (last.1, last.2) = (line, col);
        } else if let Some(note) = t.strip_prefix("= ") {
            found.last_mut().unwrap().3.push(note.to_string());
        }
    }
    found
}

/// Every file of tests/data/invalid opened in the editor: the server publishes the
/// diagnostics `scry check` prints, with the same codes, places and notes.
#[test]
fn diagnostics_are_those_of_scry_check_for_every_invalid_fixture() {
    let mut c = Client::start();
    let files = crate::util::files(&crate::util::path("tests/data/invalid"), "scry");
    let mut compared = 0;
    for f in &files {
        let rel = f
            .strip_prefix(crate::util::root())
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let uri = format!("file:///fixtures/{rel}");
        c.open(&uri, &text);
        let got = c.diagnostics();
        let want = check_diagnostics(&rel);
        assert!(!want.is_empty(), "{rel}: scry check found nothing");
        let mut got: Vec<(String, usize, usize, String)> = got
            .iter()
            .map(|d| {
                let start = &d["range"]["start"];
                (
                    d["code"].as_str().unwrap().to_string(),
                    start["line"].as_u64().unwrap() as usize + 1,
                    start["character"].as_u64().unwrap() as usize + 1,
                    d["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        got.sort();
        let mut want_places: Vec<_> = want
            .iter()
            .map(|(code, l, col, _)| (code.clone(), *l, *col))
            .collect();
        want_places.sort();
        let got_places: Vec<_> = got
            .iter()
            .map(|(c, l, col, _)| (c.clone(), *l, *col))
            .collect();
        assert_eq!(got_places, want_places, "{rel}");
        for (code, l, col, notes) in &want {
            let message = &got
                .iter()
                .find(|g| (&g.0, g.1, g.2) == (code, *l, *col))
                .unwrap()
                .3;
            for n in notes {
                assert!(
                    message.contains(n.as_str()),
                    "{rel}: {code} lacks note {n:?}: {message}"
                );
            }
        }
        compared += 1;
    }
    assert_eq!(compared, files.len());
    assert!(compared >= 10);
    c.stop();
}

/// `scry lsp --schema FILE` knows the user's tables as `scry check --schema` does.
#[test]
fn schema_files_given_to_the_server_are_known() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lsp-schema");
    std::fs::create_dir_all(&dir).unwrap();
    let schema = dir.join("app.json");
    std::fs::write(
        &schema,
        r#"{"tables": {"AppWidgetEvents": {"description": "Widgets of the app", "columns": [
            {"name": "Timestamp", "type": "datetime"},
            {"name": "Widget", "type": "string", "description": "The widget that fired"}]}}}"#,
    )
    .unwrap();
    let mut c = Client::start_with(&["--schema", schema.to_str().unwrap()]);
    let text = "rule w {\n  id \"w\"\n  from AppWidgetEvents\n  where Widgt has 'x'\n}\n";
    c.open(URI, text);
    let diags = errors(c.diagnostics());
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `Widget`?"),
        "{diags:?}"
    );
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": pos(text, "where ", true)}),
    );
    let widget = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "Widget")
        .cloned()
        .expect("the schema file's column is offered");
    assert_eq!(widget["detail"], "string — AppWidgetEvents");
    assert!(widget["documentation"]
        .as_str()
        .unwrap()
        .starts_with("The widget that fired"));
    c.stop();

    // A schema file that does not load: the server does not start, and says why.
    std::fs::write(&schema, "{not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(["lsp", "--schema", schema.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("app.json"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
