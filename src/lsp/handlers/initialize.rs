//! `initialize`: negotiate the position encoding, read the client's features and the
//! settings in `initializationOptions`, advertise what the server can do.

use tower_lsp_server::ls_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    ExecuteCommandOptions, HoverProviderCapability, InitializeParams, InitializeResult, MarkupKind,
    PositionEncodingKind, SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};

use crate::lsp::line_index::PositionEncoding;
use crate::lsp::session::{ClientFeatures, Session};

/// Returns the result and the settings problems to report once the client is ready.
pub fn initialize(session: &Session, params: &InitializeParams) -> (InitializeResult, Vec<String>) {
    let features = client_features(params);
    let encoding = features.encoding;
    session.set_features(features);
    session.runner.set_workspace(workspace_dir(params));
    let problems = params
        .initialization_options
        .as_ref()
        .map(|options| session.merge_settings(options))
        .unwrap_or_default();
    let capabilities = ServerCapabilities {
        position_encoding: Some(encoding_kind(encoding)),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::REFACTOR,
                CodeActionKind::REFACTOR_REWRITE,
            ]),
            ..Default::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "(".into(), ",".into()]),
            resolve_provider: Some(true),
            ..Default::default()
        }),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![super::execute_command::GENERATE.into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let result = InitializeResult {
        capabilities,
        server_info: Some(ServerInfo {
            name: "cadquery-lsp".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        offset_encoding: None,
    };
    (result, problems)
}

fn client_features(params: &InitializeParams) -> ClientFeatures {
    let caps = &params.capabilities;
    // the client lists encodings in its order of preference; UTF-16 is the fallback all support
    let encoding = caps
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .and_then(|offered| {
            offered.iter().find_map(|kind| match kind.as_str() {
                "utf-8" => Some(PositionEncoding::Utf8),
                "utf-16" => Some(PositionEncoding::Utf16),
                "utf-32" => Some(PositionEncoding::Utf32),
                _ => None,
            })
        })
        .unwrap_or_default();
    let workspace = caps.workspace.as_ref();
    let text = caps.text_document.as_ref();
    ClientFeatures {
        encoding,
        configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
        work_done_progress: caps
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false),
        markdown_hover: text
            .and_then(|t| t.hover.as_ref())
            .and_then(|h| h.content_format.as_ref())
            .is_some_and(|formats| formats.contains(&MarkupKind::Markdown)),
        markdown_completion: text
            .and_then(|t| t.completion.as_ref())
            .and_then(|c| c.completion_item.as_ref())
            .and_then(|i| i.documentation_format.as_ref())
            .is_some_and(|formats| formats.contains(&MarkupKind::Markdown)),
    }
}

fn encoding_kind(encoding: PositionEncoding) -> PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
    }
}

/// The first workspace folder (or the deprecated root URI) as a local path: where the
/// runtime looks for a `.venv`.
#[allow(deprecated)] // root_uri: older clients send only that
fn workspace_dir(params: &InitializeParams) -> Option<std::path::PathBuf> {
    let uri = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .map(|f| &f.uri)
        .or(params.root_uri.as_ref())?;
    uri.to_file_path().map(|p| p.into_owned())
}
