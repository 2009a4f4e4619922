//! Sigma YAML: every document of a file, with the line and column of each node and whether a
//! scalar was written plain (only a plain `null`, `true`, `4688` is a null, bool or number:
//! `'null'`, `"4688"` are strings, as YAML 1.2's core schema says).
//!
//! A separate reader from the KQL import's (`import/yaml.rs`): that one repairs defects of
//! Sentinel files and reads one document; Sigma needs several documents (correlations and
//! filters travel with their rules) and the scalar style.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A YAML node with where it starts.
#[derive(Debug, Clone)]
pub struct Node {
    /// What it holds.
    pub kind: Kind,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// The shapes of YAML nodes.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A scalar: its text, and whether it was written plain (unquoted, not a block).
    Scalar(String, bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in written order.
    Map(Vec<(Node, Node)>),
    /// An alias (`*anchor`): Sigma rules have no use for them; refused where met.
    Alias,
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// The scalars of a scalar or a sequence of scalars (`tags: a` and `tags: [a, b]`).
    pub fn strings(&self) -> Vec<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => vec![s.as_str()],
            Kind::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// `line:col`, for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.line, self.col)
    }
}

/// A file that is not YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// The parser's message.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

enum Frame {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

/// Every document of `text`, in order (empty documents left out).
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    // A YAML parser is a large state machine over untrusted text: should it ever panic, that
    // is an error of this file, not a crash of the run.
    std::panic::catch_unwind(|| build(text)).unwrap_or_else(|_| {
        Err(YamlError {
            message: "internal error in the YAML parser".into(),
            line: 1,
            col: 1,
        })
    })
}

/// Deeper nesting than this is refused (a guard against stack exhaustion in the walkers).
const MAX_DEPTH: usize = 64;

fn build(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut docs = Vec::new();
    for item in Parser::new_from_str(text) {
        let (ev, span) = item.map_err(|e| YamlError {
            message: e.info().to_string(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
        })?;
        let (line, col) = (span.start.line(), span.start.col() + 1);
        let node = match ev {
            Event::Scalar(value, style, _, _) => Some(Node {
                kind: Kind::Scalar(value.into_owned(), matches!(style, ScalarStyle::Plain)),
                line,
                col,
            }),
            Event::Alias(_) => Some(Node {
                kind: Kind::Alias,
                line,
                col,
            }),
            Event::SequenceStart(..) | Event::MappingStart(..) if stack.len() >= MAX_DEPTH => {
                return Err(YamlError {
                    message: format!("nested more than {MAX_DEPTH} levels deep"),
                    line,
                    col,
                })
            }
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq(Vec::new(), line, col));
                None
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map(Vec::new(), None, line, col));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, line, col)) => Some(Node {
                    kind: Kind::Seq(items),
                    line,
                    col,
                }),
                Some(Frame::Map(pairs, _, line, col)) => Some(Node {
                    kind: Kind::Map(pairs),
                    line,
                    col,
                }),
                None => None,
            },
            _ => None,
        };
        let Some(node) = node else { continue };
        match stack.last_mut() {
            Some(Frame::Seq(items, _, _)) => items.push(node),
            Some(Frame::Map(pairs, key, _, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
            None => docs.push(node),
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_styles_and_positions() {
        let docs = parse_documents("a: null\nb: 'null'\n---\nc: [1, x]\n").unwrap();
        assert_eq!(docs.len(), 2);
        let a = docs[0].get("a").unwrap();
        assert!(matches!(&a.kind, Kind::Scalar(s, true) if s == "null"));
        let b = docs[0].get("b").unwrap();
        assert!(matches!(&b.kind, Kind::Scalar(s, false) if s == "null"));
        assert_eq!((b.line, b.col), (2, 4));
        assert_eq!(docs[1].get("c").unwrap().strings(), vec!["1", "x"]);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_documents("a: [1,\nb: ]]").unwrap_err();
        assert!(e.line >= 1 && !e.message.is_empty());
    }
}
