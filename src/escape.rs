//! Text from events (values, column names, table names, paths) reaches people through the
//! table printer and the messages on stderr. A terminal obeys control characters: a
//! DeviceName of `\u001b[2J` would clear the screen, a bidi override would make a path read
//! backwards. Every human-readable printer passes its text through [`escape`]; the machine
//! formats (ndjson, csv) keep the values exactly as they are.

use std::borrow::Cow;

/// Whether `c` may change what a terminal shows beyond its own glyph: C0 controls (tab and
/// newline too: they break a table's columns and a message's single line), DEL, C1
/// controls, and the Unicode bidirectional formatting characters (embeddings, overrides,
/// isolates and the implicit marks), which reorder the text around them.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with each unsafe character written as `\u{1b}` (Rust's escape, hex, no padding).
///
/// The result holds no unsafe character, so escaping twice changes nothing: a message built
/// from escaped parts may be escaped again where it is printed. Backslashes are kept (Windows
/// paths stay readable); the escape form is only for people, never parsed back.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `eprintln!` for people: the formatted line, escaped.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::escape::escape(&format!($($arg)*)))
    };
}
pub(crate) use say;

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(escape("\u{1b}[2Jx"), "\\u{1b}[2Jx");
        assert_eq!(escape("a\0b"), "a\\u{0}b");
        assert_eq!(escape("\u{7f}\u{85}\u{9b}"), "\\u{7f}\\u{85}\\u{9b}");
        assert_eq!(escape("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(escape("tab\there\nline"), "tab\\u{9}here\\u{a}line");
    }

    #[test]
    fn plain_text_is_borrowed_and_escaping_is_idempotent() {
        let s = r"C:\Program Files\Krämer IT Solutions GmbH\ServerEye.exe";
        assert!(matches!(escape(s), std::borrow::Cow::Borrowed(_)));
        let once = escape("\u{1b}]0;title\u{7}").into_owned();
        assert_eq!(escape(&once), once);
    }
}
