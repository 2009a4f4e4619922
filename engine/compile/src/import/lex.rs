//! Just enough KQL lexing to find the structure of a query: statements (`;`), pipeline stages
//! (`|`), list items (`,`) and keywords (`by`) at the top level, skipping over strings,
//! comments and brackets. Expressions themselves are parsed by the scry grammar.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// `where`, `DeviceProcessEvents`, `has_any`, `Time_start`.
    Word,
    /// Any string literal form.
    Str,
    /// `5d`, `1.5`, `0x1F`.
    Number,
    /// `// ...` to the end of the line.
    Comment,
    /// One ASCII punctuation character that matters for structure: `( ) [ ] { } | ; , = - .`
    Punct(u8),
    /// Anything else (`==`, `=~`, `!`, `<`, ...).
    Other,
}

/// A token: its kind, byte range in the query and bracket depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok {
    /// Kind.
    pub kind: TokKind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Number of brackets open around it (an opening bracket counts the brackets outside it).
    pub depth: u32,
}

impl Tok {
    /// True for a word spelled `w`.
    pub fn is_word(&self, q: &str, w: &str) -> bool {
        self.kind == TokKind::Word && &q[self.start..self.end] == w
    }

    /// The token's text.
    pub fn text<'q>(&self, q: &'q str) -> &'q str {
        &q[self.start..self.end]
    }
}

/// A lexical error: message and byte range in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub start: usize,
    /// End.
    pub end: usize,
}

/// Splits `q` into tokens; unterminated strings and unbalanced brackets are errors.
pub fn lex(q: &str) -> Result<Vec<Tok>, LexError> {
    let b = q.as_bytes();
    let mut toks = Vec::new();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let depth = open.len() as u32;
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                TokKind::Comment
            }
            b'`' if q[i..].starts_with("```") => {
                i = close_after(q, i + 3, "```")?;
                TokKind::Str
            }
            b'@' if matches!(b.get(i + 1), Some(b'\'' | b'"')) => {
                i = verbatim_end(q, i + 1)?;
                TokKind::Str
            }
            b'\'' | b'"' => {
                i = quoted_end(q, i)?;
                TokKind::Str
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                TokKind::Word
            }
            b'0'..=b'9' => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
                {
                    i += 1;
                }
                TokKind::Number
            }
            b'(' | b'[' | b'{' => {
                open.push((c, i));
                i += 1;
                TokKind::Punct(c)
            }
            b')' | b']' | b'}' => {
                let want = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, at)) => {
                        return Err(LexError {
                            message: format!("`{}` closes `{}` opened here", c as char, o as char),
                            start: at,
                            end: i + 1,
                        })
                    }
                    None => {
                        return Err(LexError {
                            message: format!("`{}` closes nothing", c as char),
                            start: i,
                            end: i + 1,
                        })
                    }
                }
                i += 1;
                toks.push(Tok {
                    kind: TokKind::Punct(c),
                    start,
                    end: i,
                    depth: open.len() as u32,
                });
                continue;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = q.get(i..i + 2).unwrap_or("");
                if ["==", "=~", "!=", "!~", "<=", ">=", "<>"].contains(&two) {
                    i += 2;
                    TokKind::Other
                } else if c == b'=' {
                    i += 1;
                    TokKind::Punct(b'=')
                } else {
                    i += 1;
                    TokKind::Other
                }
            }
            b'|' | b';' | b',' | b'-' | b'.' => {
                i += 1;
                TokKind::Punct(c)
            }
            _ => {
                // One character (a whole UTF-8 sequence for non-ASCII).
                i += q[i..].chars().next().map_or(1, char::len_utf8);
                TokKind::Other
            }
        };
        toks.push(Tok {
            kind,
            start,
            end: i,
            depth,
        });
    }
    if let Some((o, at)) = open.pop() {
        return Err(LexError {
            message: format!("`{}` is never closed", o as char),
            start: at,
            end: at + 1,
        });
    }
    Ok(toks)
}

fn close_after(q: &str, from: usize, delim: &str) -> Result<usize, LexError> {
    match q[from..].find(delim) {
        Some(k) => Ok(from + k + delim.len()),
        None => Err(LexError {
            message: format!("string literal never closed with {delim}"),
            start: from - delim.len(),
            end: q.len(),
        }),
    }
}

/// `i` is at the quote after `@`: no escapes, a doubled quote is one quote.
fn verbatim_end(q: &str, i: usize) -> Result<usize, LexError> {
    let b = q.as_bytes();
    let quote = b[i];
    let mut j = i + 1;
    while j < b.len() && b[j] != b'\n' {
        if b[j] == quote {
            if b.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return Ok(j + 1);
        }
        j += 1;
    }
    Err(LexError {
        message: "string literal never closed on its line".into(),
        start: i - 1,
        end: j,
    })
}

fn quoted_end(q: &str, i: usize) -> Result<usize, LexError> {
    let b = q.as_bytes();
    let quote = b[i];
    let mut j = i + 1;
    while j < b.len() && b[j] != b'\n' {
        if b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == quote {
            return Ok(j + 1);
        }
        j += 1;
    }
    Err(LexError {
        message: "string literal never closed on its line".into(),
        start: i,
        end: j.min(q.len()),
    })
}

/// Indices of the tokens (comments excluded) at `depth` in `toks[range]` that are `sep`.
pub fn split(toks: &[Tok], range: (usize, usize), depth: u32, sep: u8) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = range.0;
    for (i, t) in toks.iter().enumerate().take(range.1).skip(range.0) {
        if t.depth == depth && t.kind == TokKind::Punct(sep) {
            out.push((from, i));
            from = i + 1;
        }
    }
    out.push((from, range.1));
    out
}

/// `range` without comment tokens at either end.
pub fn trim(toks: &[Tok], range: (usize, usize)) -> (usize, usize) {
    let (mut a, mut b) = range;
    while a < b && toks[a].kind == TokKind::Comment {
        a += 1;
    }
    while b > a && toks[b - 1].kind == TokKind::Comment {
        b -= 1;
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_ignores_strings_comments_and_brackets() {
        let q = "let a = 'x|y;'; // c|;\nT | where b in (@'a''|', \"q\\\"|\") | extend c = f(1, 2)";
        let toks = lex(q).unwrap();
        let stmts = split(&toks, (0, toks.len()), 0, b';');
        assert_eq!(stmts.len(), 2);
        let stages = split(&toks, stmts[1], 0, b'|');
        assert_eq!(stages.len(), 3);
        assert!(toks[stages[1].0].is_word(q, "where"));
    }

    #[test]
    fn errors() {
        assert!(lex("T | where a == 'x").is_err());
        assert!(lex("T | where (a").is_err());
        assert!(lex("T | where a)").is_err());
        assert!(lex("(]").is_err());
        assert_eq!(lex("a..b").unwrap().len(), 4);
        assert_eq!(lex("1..2").unwrap().len(), 4);
    }
}
