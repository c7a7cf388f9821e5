// Which Python documents the server sees. The extension activates on every Python file, but only
// files that import cadquery are the server's business: the server runs documents on save, and a
// random script in the workspace must not be executed just because it was saved.
import * as vscode from "vscode";
import { DidOpenTextDocumentNotification, LanguageClient, Middleware } from "vscode-languageclient/node";
import { importsCadQuery } from "./imports";

export function isCadQueryDocument(doc: vscode.TextDocument): boolean {
  return doc.languageId === "python" && importsCadQuery(doc.getText());
}

/**
 * Text synchronization middleware that opens a document with the server only once it imports
 * cadquery (on open, or on the edit that adds the import) and forwards nothing for the others.
 */
export function cadqueryOnlySync(client: () => LanguageClient | undefined): Middleware {
  const open = new Set<string>();
  return {
    didOpen: async (doc, next) => {
      if (!importsCadQuery(doc.getText())) return;
      open.add(doc.uri.toString());
      return next(doc);
    },
    didChange: async (event, next) => {
      const key = event.document.uri.toString();
      if (open.has(key)) return next(event);
      if (!importsCadQuery(event.document.getText())) return;
      // The edit that adds the import: open it now, with its current text and version.
      open.add(key);
      const c = client();
      await c?.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: {
          uri: c.code2ProtocolConverter.asUri(event.document.uri),
          languageId: event.document.languageId,
          version: event.document.version,
          text: event.document.getText(),
        },
      });
    },
    didSave: async (doc, next) => {
      if (open.has(doc.uri.toString())) return next(doc);
    },
    willSave: async (event, next) => {
      if (open.has(event.document.uri.toString())) return next(event);
    },
    didClose: async (doc, next) => {
      if (open.delete(doc.uri.toString())) return next(doc);
    },
  };
}
