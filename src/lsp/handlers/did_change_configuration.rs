//! `workspace/didChangeConfiguration` and the initial pull: merge settings from the
//! notification's payload or, when the client supports it, from `workspace/configuration`.

use std::sync::Arc;

use tower_lsp_server::ls_types::{ConfigurationItem, MessageType};

use crate::lsp::session::Session;
use crate::lsp::settings::SECTION;

/// Merges pushed settings, or pulls them when the push carries none (the usual case for
/// clients that support `workspace/configuration`).
pub async fn did_change_configuration(session: &Arc<Session>, pushed: serde_json::Value) {
    if session.features().configuration {
        pull(session).await;
    } else {
        report(session, session.merge_settings(&pushed)).await;
    }
}

/// Asks the client for the `cadquery` section and merges it.
pub async fn pull(session: &Arc<Session>) {
    let items = vec![ConfigurationItem {
        scope_uri: None,
        section: Some(SECTION.into()),
    }];
    match session.client.configuration(items).await {
        Ok(values) => {
            for value in values {
                let problems = session.merge_settings(&value);
                report(session, problems).await;
            }
        }
        Err(e) => {
            session
                .log(
                    MessageType::WARNING,
                    format!("could not read settings with workspace/configuration: {e}"),
                )
                .await
        }
    }
}

/// Shows settings problems to the user and logs them.
pub async fn report(session: &Session, problems: Vec<String>) {
    for problem in problems {
        session.log(MessageType::WARNING, problem.clone()).await;
        session
            .client
            .show_message(MessageType::WARNING, problem)
            .await;
    }
}
