//! `join [kind=K] [hint.x=y] (pipeline) on keys` and `lookup [kind=K] (pipeline) on keys`:
//! the parameters, the right side (a parenthesized pipeline or a table name) and the keys.
//! Which kinds and shapes scry can run is decided by the translator; this reads the syntax.

use super::*;

impl QueryParser<'_> {
    /// The stage after the operator `op` (`join` or `lookup`), over the tokens `body`.
    pub(super) fn join(
        &mut self,
        op: &Ident,
        body: (usize, usize),
        depth: u32,
    ) -> Option<JoinStage> {
        let lookup = op.name == "lookup";
        let (mut i, b) = lex::trim(&self.toks, body);
        let mut kind: Option<Ident> = None;
        // Parameters: `kind=inner`, `hint.strategy=shuffle` (hints change how Kusto runs the
        // join, not its rows, so they are read and left out).
        while i < b && self.toks[i].kind == TokKind::Word {
            let name_end = (i..b)
                .find(|&k| self.toks[k].kind == TokKind::Punct(b'='))
                .filter(|&k| {
                    (i..k)
                        .all(|j| matches!(self.toks[j].kind, TokKind::Word | TokKind::Punct(b'.')))
                });
            let Some(eq) = name_end else { break };
            let Some(value) = self.toks.get(eq + 1).filter(|t| t.kind == TokKind::Word) else {
                break;
            };
            let param = self.q[self.toks[i].start..self.toks[eq - 1].end].to_string();
            if param == "kind" {
                kind = Some(Ident {
                    name: value.text(self.q).to_string(),
                    span: self.fspan(value.start, value.end),
                });
            } else if !param.starts_with("hint.") {
                let d = self
                    .error(
                        codes::UNSUPPORTED_OPERATOR,
                        self.tspan((i, eq + 2)),
                        format!("`{}` parameter `{param}` is not supported", op.name),
                    )
                    .with_label("unknown parameter")
                    .with_note(
                        "supported: `kind=...` (and `hint.*`, which do not change the rows)",
                    );
                self.push(d);
                return None;
            }
            i = eq + 2;
        }
        let kind = kind.unwrap_or_else(|| Ident {
            name: if lookup { "leftouter" } else { "innerunique" }.into(),
            span: op.span,
        });
        let on_at =
            (i..b).find(|&k| self.toks[k].depth == depth && self.toks[k].is_word(self.q, "on"));
        let Some(on_at) = on_at else {
            let d = self
                .error(
                    codes::KQL_SYNTAX,
                    self.tspan((i, b)),
                    format!("expected `{} (T | ...) on Key`", op.name),
                )
                .with_label("no `on`");
            self.push(d);
            return None;
        };
        let (ra, rb) = lex::trim(&self.toks, (i, on_at));
        let right = if ra < rb
            && self.toks[ra].kind == TokKind::Punct(b'(')
            && self.toks[rb - 1].kind == TokKind::Punct(b')')
        {
            self.pipeline((ra + 1, rb - 1), depth + 1)?
        } else if rb == ra + 1 && self.toks[ra].kind == TokKind::Word {
            self.pipeline((ra, rb), depth)?
        } else {
            let d = self
                .error(
                    codes::KQL_SYNTAX,
                    self.tspan((ra, rb)),
                    format!(
                        "expected the right side of `{}`: `(T | where ...)` or a table",
                        op.name
                    ),
                )
                .with_label("not a table or a parenthesized query");
            self.push(d);
            return None;
        };
        let mut on = Vec::new();
        for item in lex::split(&self.toks, (on_at + 1, b), depth, b',') {
            on.push(self.join_key(item)?);
        }
        Some(JoinStage {
            kind,
            lookup,
            right,
            on,
        })
    }

    /// `A`, or `$left.A == $right.B` (either order).
    fn join_key(&mut self, item: (usize, usize)) -> Option<ast::JoinKey> {
        let (a, b) = lex::trim(&self.toks, item);
        let span = self.tspan((a, b));
        if b == a + 1 && self.toks[a].kind == TokKind::Word {
            let t = self.toks[a];
            let id = Ident {
                name: t.text(self.q).to_string(),
                span: self.fspan(t.start, t.end),
            };
            return Some(ast::JoinKey {
                left: id.clone(),
                right: id,
                span,
            });
        }
        let eq = (a..b).find(|&k| self.toks[k].text(self.q) == "==");
        let side = |p: &Self, (x, y): (usize, usize)| -> Option<Ident> {
            let (x, y) = lex::trim(&p.toks, (x, y));
            let t = &p.toks;
            let ok = y == x + 4
                && t[x].text(p.q) == "$"
                && (t[x + 1].is_word(p.q, "left") || t[x + 1].is_word(p.q, "right"))
                && t[x + 2].kind == TokKind::Punct(b'.')
                && t[x + 3].kind == TokKind::Word;
            ok.then(|| Ident {
                name: format!("${}.{}", t[x + 1].text(p.q), t[x + 3].text(p.q)),
                span: p.fspan(t[x].start, t[y - 1].end),
            })
        };
        let sides = eq.and_then(|e| Some((side(self, (a, e))?, side(self, (e + 1, b))?)));
        match sides {
            Some((left, right)) => Some(ast::JoinKey { left, right, span }),
            None => {
                let d = self
                    .error(codes::KQL_SYNTAX, span, "expected a join key")
                    .with_label("not `Column` or `$left.A == $right.B`");
                self.push(d);
                None
            }
        }
    }
}
