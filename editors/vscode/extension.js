// The client half: starts `scry lsp` (stdio) for .scry files. Everything else (diagnostics,
// completion, hover, formatting, fixes) is the server's.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("scry").get("server.path") || "scry";
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient(
    "scry",
    "scry language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "scry" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
