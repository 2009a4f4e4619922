//! The Sigma condition language: `selection and not 1 of filter_*`.
//!
//! Precedence, least to most binding (the rules specification, "Operator Precedence"): `or`,
//! `and`, `not`, `x of search-identifier`, `( expression )`. Keywords are accepted in any
//! case. A small hand-written parser: the language has five productions.

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// A search identifier.
    Ident(String),
    /// `not x`.
    Not(Box<Cond>),
    /// `a and b and ...`.
    And(Vec<Cond>),
    /// `a or b or ...`.
    Or(Vec<Cond>),
    /// `1 of x*` / `any of them` (`all: false`), `all of x*` (`all: true`); the target is
    /// `them` or a pattern with `*` wildcards.
    Of {
        /// `all of` rather than `1 of`.
        all: bool,
        /// `them`, or the identifier pattern.
        target: String,
    },
}

/// A condition that does not parse: what was expected and at which character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    /// The message.
    pub message: String,
    /// Character offset into the condition.
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    Pipe,
}

fn lex(s: &str) -> Vec<(Token, usize)> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push((Token::Open, i));
            i += 1;
        } else if c == ')' {
            out.push((Token::Close, i));
            i += 1;
        } else if c == '|' {
            out.push((Token::Pipe, i));
            i += 1;
        } else {
            let start = i;
            while i < cs.len() && !cs[i].is_whitespace() && !matches!(cs[i], '(' | ')' | '|') {
                i += 1;
            }
            out.push((Token::Word(cs[start..i].iter().collect()), start));
        }
    }
    out
}

/// Nesting deeper than this is refused.
const MAX_DEPTH: usize = 128;

struct P {
    toks: Vec<(Token, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl P {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some((Token::Word(w), _)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.1)
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, CondError> {
        Err(CondError {
            message: message.into(),
            at: self.at(),
        })
    }
    fn or(&mut self) -> Result<Cond, CondError> {
        let mut items = vec![self.and()?];
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::Or(items)
        })
    }
    fn and(&mut self) -> Result<Cond, CondError> {
        let mut items = vec![self.not()?];
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::And(items)
        })
    }
    fn not(&mut self) -> Result<Cond, CondError> {
        if self.peek_word().as_deref() == Some("not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return self.err("the condition is nested too deeply");
            }
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Cond, CondError> {
        match self.toks.get(self.pos).cloned() {
            Some((Token::Open, _)) => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return self.err("the condition is nested too deeply");
                }
                let inner = self.or()?;
                self.depth -= 1;
                match self.toks.get(self.pos) {
                    Some((Token::Close, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => self.err("expected `)`"),
                }
            }
            Some((Token::Word(w), _)) => {
                let lw = w.to_ascii_lowercase();
                let quant = match lw.as_str() {
                    "1" | "any" => Some(false),
                    "all" => Some(true),
                    _ => None,
                };
                let is_of = matches!(self.toks.get(self.pos + 1), Some((Token::Word(o), _)) if o.eq_ignore_ascii_case("of"));
                if let (Some(all), true) = (quant, is_of) {
                    self.pos += 2;
                    return match self.toks.get(self.pos).cloned() {
                        Some((Token::Word(t), _)) if !is_keyword(&t) => {
                            self.pos += 1;
                            let target = if t.eq_ignore_ascii_case("them") {
                                "them".to_string()
                            } else {
                                t
                            };
                            Ok(Cond::Of { all, target })
                        }
                        _ => self.err("expected `them` or a search identifier pattern after `of`"),
                    };
                }
                if is_of {
                    return self.err(format!(
                        "`{w} of` is not Sigma: write `1 of`, `any of` or `all of`"
                    ));
                }
                if is_keyword(&w) {
                    return self.err(format!("expected a search identifier, found `{w}`"));
                }
                self.pos += 1;
                Ok(Cond::Ident(w))
            }
            Some((Token::Close, _)) => self.err("expected a search identifier, found `)`"),
            Some((Token::Pipe, _)) => self.err(
                "aggregations after `|` (`| count() > 5`) are obsolete: write a correlation rule",
            ),
            None => self.err("the condition ends early: expected a search identifier"),
        }
    }
}

fn is_keyword(w: &str) -> bool {
    ["and", "or", "not", "of"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(w))
}

/// Parses one condition string.
pub fn parse(s: &str) -> Result<Cond, CondError> {
    let mut p = P {
        toks: lex(s),
        pos: 0,
        end: s.chars().count(),
        depth: 0,
    };
    let c = p.or()?;
    match p.toks.get(p.pos) {
        None => Ok(c),
        Some((Token::Pipe, _)) => {
            p.err("aggregations after `|` (`| count() > 5`) are obsolete: write a correlation rule")
        }
        Some((Token::Word(w), _)) if w.eq_ignore_ascii_case("near") => {
            p.err("`near` is obsolete: write a temporal correlation rule")
        }
        Some(_) => p.err("expected `and`, `or` or the end of the condition"),
    }
}

/// True if `name` matches the identifier pattern `pat` (`*` any sequence).
pub fn glob_match(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Cond {
        Cond::Ident(s.into())
    }

    #[test]
    fn precedence() {
        assert_eq!(
            parse("not a and b or c").unwrap(),
            Cond::Or(vec![
                Cond::And(vec![Cond::Not(Box::new(id("a"))), id("b")]),
                id("c")
            ])
        );
        assert_eq!(
            parse("a and (b or c)").unwrap(),
            Cond::And(vec![id("a"), Cond::Or(vec![id("b"), id("c")])])
        );
        assert_eq!(
            parse("sel AND NOT 1 of filter_*").unwrap(),
            Cond::And(vec![
                id("sel"),
                Cond::Not(Box::new(Cond::Of {
                    all: false,
                    target: "filter_*".into()
                }))
            ])
        );
        assert_eq!(
            parse("all of them").unwrap(),
            Cond::Of {
                all: true,
                target: "them".into()
            }
        );
    }

    #[test]
    fn errors() {
        assert!(parse("a and").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("a | count() > 5")
            .unwrap_err()
            .message
            .contains("correlation"));
        assert!(parse("a b").is_err());
        assert!(parse("2 of x*").is_err());
        assert!(parse(&"(".repeat(1000)).is_err());
    }

    #[test]
    fn identifier_patterns() {
        assert!(glob_match("filter_*", "filter_main"));
        assert!(glob_match("*", "_x"));
        assert!(!glob_match("filter_*", "selection"));
        assert!(glob_match("sel*_a", "sel_x_a"));
    }
}
