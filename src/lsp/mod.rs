//! `scry lsp`: a Language Server Protocol server over stdio.
//!
//! Built on `lsp-server` and `lsp-types`, rust-analyzer's own crates: a synchronous message
//! loop on crossbeam channels. Every request here is answered from one document in well under
//! a frame (a compile of one file), so there is nothing to overlap and no async runtime to
//! carry; requests are handled in arrival order, which also keeps replies deterministic.
//!
//! Diagnostics are the compiler's own (the codes, spans and notes `scry check` prints), on
//! open and on every change; on save the rule's examples run too, and each one that misbehaves
//! is marked where it is written. Completion, hover and definitions read the text around the
//! cursor, so they keep working while the file does not parse.

mod analysis;
mod text;

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, Formatting, GotoDefinition, HoverRequest, Request as _,
};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionProviderCapability,
    CompletionOptions, CompletionResponse, GotoDefinitionResponse, Hover, HoverContents,
    HoverProviderCapability, Location, OneOf, PublishDiagnosticsParams, SaveOptions,
    ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, TextEdit, Uri, WorkspaceEdit,
};
use scry_engine::schema::Catalog;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

/// Serves until the client says `exit`; `catalog` holds the built-in tables and the user's
/// `--schema` files, so diagnostics and completion know what `scry check` knows.
pub fn cmd_lsp(catalog: Arc<Catalog>) -> Result<ExitCode, String> {
    let (conn, io) = Connection::stdio();
    let caps = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(true),
                })),
                ..Default::default()
            },
        )),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".into(), ".".into(), ",".into()]),
            ..Default::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    };
    let caps = serde_json::to_value(caps).map_err(|e| e.to_string())?;
    // The client's parameters change nothing here: every capability is always on.
    conn.initialize(caps)
        .map_err(|e| format!("lsp: initialize: {e}"))?;
    let mut server = Server {
        conn: &conn,
        docs: HashMap::new(),
        catalog,
    };
    server.run()?;
    drop(conn);
    io.join().map_err(|e| format!("lsp: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

struct Server<'c> {
    conn: &'c Connection,
    docs: HashMap<String, (Uri, String)>,
    catalog: Arc<Catalog>,
}

impl Server<'_> {
    fn run(&mut self) -> Result<(), String> {
        for msg in &self.conn.receiver {
            match msg {
                Message::Request(req) => {
                    if self
                        .conn
                        .handle_shutdown(&req)
                        .map_err(|e| format!("lsp: {e}"))?
                    {
                        return Ok(());
                    }
                    let resp = self.request(req);
                    self.send(Message::Response(resp))?;
                }
                Message::Notification(n) => self.notification(n)?,
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    fn send(&self, m: Message) -> Result<(), String> {
        self.conn
            .sender
            .send(m)
            .map_err(|e| format!("lsp: client gone: {e}"))
    }

    fn notification(&mut self, n: Notification) -> Result<(), String> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams = parse(n.params)?;
                let key = p.text_document.uri.as_str().to_string();
                self.docs
                    .insert(key.clone(), (p.text_document.uri, p.text_document.text));
                self.publish(&key, false)
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = parse(n.params)?;
                let key = p.text_document.uri.as_str().to_string();
                // Full sync: the last change holds the whole text.
                if let Some(c) = p.content_changes.into_iter().last() {
                    self.docs.insert(key.clone(), (p.text_document.uri, c.text));
                }
                self.publish(&key, false)
            }
            DidSaveTextDocument::METHOD => {
                let p: lsp_types::DidSaveTextDocumentParams = parse(n.params)?;
                let key = p.text_document.uri.as_str().to_string();
                if let Some(t) = p.text {
                    self.docs.insert(key.clone(), (p.text_document.uri, t));
                }
                self.publish(&key, true)
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = parse(n.params)?;
                self.docs.remove(p.text_document.uri.as_str());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn publish(&self, key: &str, with_examples: bool) -> Result<(), String> {
        let Some((uri, src)) = self.docs.get(key) else {
            return Ok(());
        };
        let (mut diags, plan) = analysis::compile_doc(&text::uri_path(uri), src, &self.catalog);
        if let (true, Some(plan)) = (with_examples, &plan) {
            let now = crate::parse_now(None)?;
            diags.extend(analysis::example_diagnostics(src, plan, now));
        }
        let params = PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics: diags,
            version: None,
        };
        self.send(Message::Notification(Notification::new(
            PublishDiagnostics::METHOD.to_string(),
            params,
        )))
    }

    fn doc(&self, uri: &Uri) -> Option<&str> {
        self.docs.get(uri.as_str()).map(|(_, t)| t.as_str())
    }

    fn request(&self, req: Request) -> Response {
        let id = req.id.clone();
        match self.answer(req) {
            Ok(v) => Response::new_ok(id, v),
            Err((code, msg)) => Response::new_err(id, code, msg),
        }
    }

    fn answer(&self, req: Request) -> Result<serde_json::Value, (i32, String)> {
        let bad = |e: String| (lsp_server::ErrorCode::InvalidParams as i32, e);
        let unknown = || {
            (
                lsp_server::ErrorCode::InvalidParams as i32,
                "document not open".to_string(),
            )
        };
        let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| bad(e.to_string()));
        match req.method.as_str() {
            Completion::METHOD => {
                let p: lsp_types::CompletionParams = parse(req.params).map_err(bad)?;
                let src = self
                    .doc(&p.text_document_position.text_document.uri)
                    .ok_or_else(unknown)?;
                let at = text::offset(src, p.text_document_position.position);
                let items = analysis::completion(src, at, &self.catalog);
                json(serde_json::to_value(CompletionResponse::Array(items)))
            }
            HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = parse(req.params).map_err(bad)?;
                let src = self
                    .doc(&p.text_document_position_params.text_document.uri)
                    .ok_or_else(unknown)?;
                let at = text::offset(src, p.text_document_position_params.position);
                let h = analysis::hover(src, at, &self.catalog).map(|(range, md)| Hover {
                    contents: HoverContents::Markup(md),
                    range: Some(range),
                });
                json(serde_json::to_value(h))
            }
            GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = parse(req.params).map_err(bad)?;
                let uri = p.text_document_position_params.text_document.uri;
                let src = self.doc(&uri).ok_or_else(unknown)?;
                let at = text::offset(src, p.text_document_position_params.position);
                let loc = analysis::definition(src, at).map(|span| {
                    GotoDefinitionResponse::Scalar(Location {
                        uri: uri.clone(),
                        range: text::range(src, span),
                    })
                });
                json(serde_json::to_value(loc))
            }
            Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = parse(req.params).map_err(bad)?;
                let src = self.doc(&p.text_document.uri).ok_or_else(unknown)?;
                // A file that does not parse is left alone (its diagnostics say why).
                let edits = match scry_grammar::fmt::format(src) {
                    Ok(out) if out != src => Some(vec![TextEdit {
                        range: text::range(src, scry_grammar::Span::new(0, src.len())),
                        new_text: out,
                    }]),
                    Ok(_) => Some(Vec::new()),
                    Err(_) => None,
                };
                json(serde_json::to_value(edits))
            }
            CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = parse(req.params).map_err(bad)?;
                let mut actions = Vec::new();
                for d in &p.context.diagnostics {
                    let Some(fix) = analysis::did_you_mean(&d.message) else {
                        continue;
                    };
                    let edit = TextEdit {
                        range: d.range,
                        new_text: fix.to_string(),
                    };
                    actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                        title: format!("Replace with `{fix}`"),
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![d.clone()]),
                        edit: Some(WorkspaceEdit {
                            changes: Some(HashMap::from([(
                                p.text_document.uri.clone(),
                                vec![edit],
                            )])),
                            ..Default::default()
                        }),
                        is_preferred: Some(true),
                        ..Default::default()
                    }));
                }
                json(serde_json::to_value(actions))
            }
            other => Err((
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("method not supported: {other}"),
            )),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("lsp: bad params: {e}"))
}
