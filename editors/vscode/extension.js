// Starts `drbook lsp` for .drbook files (the binary from the `drbook.server.path` setting).
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('drbook').get('server.path') || 'drbook';
  client = new LanguageClient(
    'drbook',
    'drbook',
    { command, args: ['lsp'] },
    { documentSelector: [{ scheme: 'file', language: 'drbook' }] },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
