//! A lexical pre-pass run before pest.
//!
//! pest recurses once per nested bracket and has no depth limit, so 100 000 `(` would
//! overflow the stack inside pest itself. This pass skips comments and string literals exactly
//! as the grammar does, measures the bracket depth, and rejects what pest would report poorly:
//! unterminated strings and block comments (pest would only say "expected ..." somewhere
//! downstream, far from the opening quote).

use crate::{codes, Span, SyntaxError, MAX_NESTING};

/// What the pre-pass learned about a source that pest may safely parse.
pub(crate) struct Scan {
    /// The deepest bracket nesting seen (at most [`MAX_NESTING`]).
    pub max_depth: usize,
}

pub(crate) fn prescan(src: &str) -> Result<Scan, SyntaxError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => match find(b, i + 2, b"*/") {
                Some(end) => i = end + 2,
                None => {
                    return Err(SyntaxError {
                        code: codes::UNTERMINATED_COMMENT,
                        message: "unterminated block comment".into(),
                        span: Span::new(i, i + 2),
                        expected: vec!["`*/`".into()],
                        notes: vec!["the comment runs to the end of the file".into()],
                    })
                }
            },
            q @ (b'`' | b'~') if b[i..].starts_with(&[q, q, q]) => {
                let delim = [q, q, q];
                match find(b, i + 3, &delim) {
                    Some(end) => i = end + 3,
                    None => return Err(unterminated(src, i, &String::from_utf8_lossy(&delim))),
                }
            }
            b'@' if matches!(b.get(i + 1), Some(b'\'' | b'"')) => {
                let q = b[i + 1];
                let mut j = i + 2;
                loop {
                    match b.get(j) {
                        None | Some(b'\n') => {
                            return Err(unterminated(src, i, &(q as char).to_string()))
                        }
                        Some(&c) if c == q && b.get(j + 1) == Some(&q) => j += 2,
                        Some(&c) if c == q => break,
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
            }
            q @ (b'\'' | b'"') => {
                let mut j = i + 1;
                loop {
                    match b.get(j) {
                        None | Some(b'\n') => {
                            return Err(unterminated(src, i, &(q as char).to_string()))
                        }
                        Some(b'\\') if !matches!(b.get(j + 1), None | Some(b'\n')) => j += 2,
                        Some(b'\\') => return Err(unterminated(src, i, &(q as char).to_string())),
                        Some(&c) if c == q => break,
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(too_deep(Span::new(i, i + 1)));
                }
                max_depth = max_depth.max(depth);
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(Scan { max_depth })
}

/// The "nesting too deep" diagnostic, shared with the visitor's operator-depth check.
pub(crate) fn too_deep(span: Span) -> SyntaxError {
    SyntaxError {
        code: codes::NESTING_TOO_DEEP,
        message: format!("expression nested more than {MAX_NESTING} levels deep"),
        span,
        expected: vec![],
        notes: vec![
            "brackets and chained operators each add a level; split the expression with `let`, \
             or use `in (...)` / `has_any (...)` instead of long `or` chains"
                .into(),
        ],
    }
}

fn unterminated(src: &str, start: usize, quote: &str) -> SyntaxError {
    let end = src[start..].find('\n').map_or(src.len(), |n| start + n);
    let end = if src[start..end].ends_with('\r') {
        end - 1
    } else {
        end
    };
    SyntaxError {
        code: codes::UNTERMINATED_STRING,
        message: "unterminated string literal".into(),
        span: Span::new(start, end),
        expected: vec![format!("`{quote}`")],
        notes: if quote.len() == 1 {
            vec![
                "quoted strings end on the line they start; use ```...``` for multi-line text"
                    .into(),
            ]
        } else {
            vec![]
        },
    }
}

fn line_end(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |n| i + n)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|n| from + n)
}
