//! A rule's predicate as the generator sees it: a tree of `and` / `or` over string tests on
//! input columns, with negations pushed down to the leaves.
//!
//! `has_any` and `in` arrive from the compiler as one `or` per element already (or one `In`
//! node, which is split here), so every needle is its own leaf and can be tested on its own.
//! Anything that is not a string test on a column (regex, arithmetic, ordering, computed
//! columns, `distinct` sets) is refused with a name for it: the generator never guesses.

use crate::ir::{CmpOp, Expr, ExprKind, Func, StrPred};
use crate::value::Value;
use scry_grammar::StrOpKind;

/// How a leaf compares its column with its needle (the positive form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `has`
    Has,
    /// `hasprefix`
    HasPrefix,
    /// `hassuffix`
    HasSuffix,
    /// `contains`
    Contains,
    /// `startswith`
    StartsWith,
    /// `endswith`
    EndsWith,
    /// `==`, `=~`, one element of `in` / `in~`
    Equals,
}

impl OpKind {
    /// The operator as written in a rule, for labels.
    pub fn spelling(self, case_sensitive: bool) -> String {
        let base = match self {
            OpKind::Has => "has",
            OpKind::HasPrefix => "hasprefix",
            OpKind::HasSuffix => "hassuffix",
            OpKind::Contains => "contains",
            OpKind::StartsWith => "startswith",
            OpKind::EndsWith => "endswith",
            OpKind::Equals => return if case_sensitive { "==" } else { "=~" }.into(),
        };
        if case_sensitive {
            format!("{base}_cs")
        } else {
            base.into()
        }
    }
}

/// What a leaf tests on its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// `Column <op> 'needle'`.
    Op {
        /// The operator's kind.
        kind: OpKind,
        /// `_cs`, `==`, `in`.
        case_sensitive: bool,
        /// The needle, never empty.
        needle: String,
    },
    /// `isempty(Column)`.
    Empty,
}

/// One string test on one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The input column.
    pub field: String,
    /// The test.
    pub test: Test,
    /// Leaves that came from one list (`has_any`, `in`) or one `or` share a group.
    pub group: usize,
}

impl Leaf {
    /// `Signer has 'x'`, for labels.
    pub fn describe(&self) -> String {
        match &self.test {
            Test::Op {
                kind,
                case_sensitive,
                needle,
            } => format!(
                "{} {} '{}'",
                self.field,
                kind.spelling(*case_sensitive),
                needle
            ),
            Test::Empty => format!("isempty({})", self.field),
        }
    }
}

/// A predicate in negation normal form.
#[derive(Debug, Clone)]
pub enum Node {
    /// All hold.
    And(Vec<Node>),
    /// One holds.
    Or(Vec<Node>),
    /// Leaf `i` holds (`true`) or does not (`false`).
    Lit(usize, bool),
    /// A constant.
    Const(bool),
}

/// Builds trees and owns their leaves.
#[derive(Debug, Default)]
pub struct Builder {
    /// Every leaf, in the order the predicate mentions them.
    pub leaves: Vec<Leaf>,
    groups: usize,
}

impl Builder {
    fn leaf(&mut self, field: String, test: Test, group: usize) -> usize {
        self.leaves.push(Leaf { field, test, group });
        self.leaves.len() - 1
    }

    fn new_group(&mut self) -> usize {
        self.groups += 1;
        self.groups
    }

    /// Converts `e` (negated when `neg`) or names what it cannot handle.
    pub fn convert(&mut self, e: &Expr, neg: bool) -> Result<Node, String> {
        self.node(e, neg, None)
    }

    fn node(&mut self, e: &Expr, neg: bool, group: Option<usize>) -> Result<Node, String> {
        Ok(match &e.kind {
            ExprKind::Const(Value::Bool(b)) => Node::Const(*b != neg),
            ExprKind::Not(x) => self.node(x, !neg, group)?,
            ExprKind::And(xs) | ExprKind::Or(xs) => {
                let is_and = matches!(e.kind, ExprKind::And(_));
                // Siblings of one `or` (or of a negated `and`) form a group: has_any lowers
                // to exactly that.
                let g = if is_and == neg {
                    Some(self.new_group())
                } else {
                    None
                };
                let parts = xs
                    .iter()
                    .map(|x| self.node(x, neg, g))
                    .collect::<Result<Vec<_>, _>>()?;
                if is_and != neg {
                    Node::And(parts)
                } else {
                    Node::Or(parts)
                }
            }
            ExprKind::Str(pred, lhs, rhs) => {
                let field = field_of(lhs)?;
                let needle = needle_of(rhs)?;
                let (kind, case_sensitive) = match pred {
                    StrPred::Op(op) => (kind_of(op.kind), op.case_sensitive),
                    StrPred::EqCi { .. } => (OpKind::Equals, false),
                };
                let g = group.unwrap_or_else(|| self.new_group());
                let i = self.leaf(
                    field,
                    Test::Op {
                        kind,
                        case_sensitive,
                        needle,
                    },
                    g,
                );
                Node::Lit(i, pred.negated() == neg)
            }
            ExprKind::Cmp(op @ (CmpOp::Eq | CmpOp::NotEq), a, b) => {
                // `Column == 'x'` or `'x' == Column`.
                let (f, n) = if matches!(a.kind, ExprKind::Field { .. }) {
                    (a, b)
                } else {
                    (b, a)
                };
                let field = field_of(f)?;
                let needle = needle_of(n)?;
                let g = group.unwrap_or_else(|| self.new_group());
                let i = self.leaf(
                    field,
                    Test::Op {
                        kind: OpKind::Equals,
                        case_sensitive: true,
                        needle,
                    },
                    g,
                );
                Node::Lit(i, (*op == CmpOp::Eq) != neg)
            }
            ExprKind::In {
                case_insensitive,
                negated,
                lhs,
                list,
            } => {
                let field = field_of(lhs)?;
                let neg = *negated != neg;
                let g = self.new_group();
                let mut parts = Vec::new();
                for v in &list.values {
                    let Value::Str(s) = v else {
                        return Err(format!("a list element that is not a string ({v:?})"));
                    };
                    if s.is_empty() {
                        return Err("an empty needle".into());
                    }
                    let i = self.leaf(
                        field.clone(),
                        Test::Op {
                            kind: OpKind::Equals,
                            case_sensitive: !case_insensitive,
                            needle: s.clone(),
                        },
                        g,
                    );
                    parts.push(Node::Lit(i, !neg));
                }
                // `x in (a, b)` is `x == a or x == b`; `!in` is the negation of that.
                if neg {
                    Node::And(parts)
                } else {
                    Node::Or(parts)
                }
            }
            ExprKind::Call(f @ (Func::IsEmpty | Func::IsNotEmpty), args) if args.len() == 1 => {
                let field = field_of(&args[0])?;
                let g = group.unwrap_or_else(|| self.new_group());
                let i = self.leaf(field, Test::Empty, g);
                Node::Lit(i, (*f == Func::IsEmpty) != neg)
            }
            other => return Err(describe_unsupported(other)),
        })
    }
}

fn kind_of(k: StrOpKind) -> OpKind {
    match k {
        StrOpKind::Has => OpKind::Has,
        StrOpKind::HasPrefix => OpKind::HasPrefix,
        StrOpKind::HasSuffix => OpKind::HasSuffix,
        StrOpKind::Contains => OpKind::Contains,
        StrOpKind::StartsWith => OpKind::StartsWith,
        StrOpKind::EndsWith => OpKind::EndsWith,
    }
}

fn field_of(e: &Expr) -> Result<String, String> {
    match &e.kind {
        ExprKind::Field { name, .. } if e.ty.is_stringish() => Ok(name.to_string()),
        ExprKind::Field { name, .. } => Err(format!("a test on the {} column {name}", e.ty)),
        ExprKind::Computed { name, .. } => Err(format!("a test on `{name}`, computed by extend")),
        other => Err(describe_unsupported(other)),
    }
}

fn needle_of(e: &Expr) -> Result<String, String> {
    match &e.kind {
        ExprKind::Const(Value::Str(s)) if s.is_empty() => Err("an empty needle".into()),
        ExprKind::Const(Value::Str(s)) => Ok(s.clone()),
        ExprKind::Const(v) => Err(format!("a needle that is not a string ({v:?})")),
        other => Err(describe_unsupported(other)),
    }
}

fn describe_unsupported(k: &ExprKind) -> String {
    match k {
        ExprKind::Regex(..) => "matches regex".into(),
        ExprKind::Arith(..) => "arithmetic".into(),
        ExprKind::Cmp(..) => "an ordering comparison".into(),
        ExprKind::Between { .. } => "between".into(),
        ExprKind::TrimStart(..) => "trim_start".into(),
        ExprKind::Call(f, _) => format!("{}()", f.name()),
        ExprKind::Index(..) => "indexing".into(),
        ExprKind::List(..) => "a dynamic list".into(),
        ExprKind::Now(_) => "now() inside a condition".into(),
        ExprKind::Computed { name, .. } => format!("`{name}`, computed by extend"),
        ExprKind::Field { name, .. } => format!("the column {name} used as a condition"),
        ExprKind::Atom(_) => {
            "a planned needle atom (generate from compiled rules, not a plan)".into()
        }
        ExprKind::Const(v) => format!("the constant {v:?} as a condition"),
        ExprKind::InSet { name, .. } => format!(
            "the set `{name}` from other events (write `given` examples for its table by hand)"
        ),
        _ => "this expression".into(),
    }
}

/// Leaf truths the construction must reach: `(leaf, test value)`, where the test value is
/// the truth of the leaf's [`Test`] itself (before the literal's polarity).
pub type Reqs = Vec<(usize, bool)>;

/// Adds to `out` leaf requirements that make `node` evaluate to `want`; false when the
/// tree offers no way (a constant of the other value, or every choice contradicts `out`).
pub fn require(node: &Node, want: bool, leaves: &[Leaf], out: &mut Reqs) -> bool {
    match node {
        Node::Const(b) => *b == want,
        Node::Lit(i, pos) => {
            let val = want == *pos;
            if contradicts(out, leaves, *i, val) {
                return false;
            }
            out.push((*i, val));
            true
        }
        // Every child must take `want`: `and` true, `or` false.
        Node::And(cs) | Node::Or(cs) if want == matches!(node, Node::And(_)) => {
            let mark = out.len();
            for c in cs {
                if !require(c, want, leaves, out) {
                    out.truncate(mark);
                    return false;
                }
            }
            true
        }
        // One child decides: the first one that can.
        Node::And(cs) | Node::Or(cs) => {
            for c in cs {
                let mark = out.len();
                if require(c, want, leaves, out) {
                    return true;
                }
                out.truncate(mark);
            }
            false
        }
    }
}

/// Requirements under which `node` has the value of leaf `target`'s literal: every `and`
/// on the way down has its other children true, every `or` its other children false.
/// `None` when `target` is not in `node` or the context cannot be built.
pub fn decisive(node: &Node, target: usize, leaves: &[Leaf]) -> Option<Reqs> {
    let mut out = Vec::new();
    if decisive_into(node, target, leaves, &mut out) {
        Some(out)
    } else {
        None
    }
}

fn decisive_into(node: &Node, target: usize, leaves: &[Leaf], out: &mut Reqs) -> bool {
    match node {
        Node::Lit(i, _) => *i == target,
        Node::Const(_) => false,
        Node::And(cs) | Node::Or(cs) => {
            let Some(k) = cs.iter().position(|c| mentions(c, target)) else {
                return false;
            };
            let others = matches!(node, Node::And(_));
            for (j, c) in cs.iter().enumerate() {
                if j != k && !require(c, others, leaves, out) {
                    return false;
                }
            }
            decisive_into(&cs[k], target, leaves, out)
        }
    }
}

/// True when leaf `i` occurs in `node`.
pub fn mentions(node: &Node, i: usize) -> bool {
    match node {
        Node::Lit(j, _) => *j == i,
        Node::Const(_) => false,
        Node::And(cs) | Node::Or(cs) => cs.iter().any(|c| mentions(c, i)),
    }
}

/// A requirement that says the opposite about the same test on the same column.
fn contradicts(reqs: &Reqs, leaves: &[Leaf], i: usize, val: bool) -> bool {
    reqs.iter().any(|&(j, v)| {
        v != val && leaves[j].field == leaves[i].field && leaves[j].test == leaves[i].test
    })
}
