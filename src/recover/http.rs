//! The recovery endpoints of `quorate serve`, about the local node only:
//!
//! - `GET /galera/state`: the node's [`NodeReport`](super::report::NodeReport) as JSON.
//! - `POST /galera/recover-position`: runs `--wsrep-recover` (refused while mysqld runs, an
//!   SST is in progress or a recovery action holds the node's lock) and returns the outcome.
//! - `POST /galera/apart`: keeps a peer's finding that this node is apart from the running
//!   Primary's history (an [`ApartRecord`](super::report::ApartRecord) as JSON, at most
//!   [`apart::MAX_RECORD`] bytes): 201 when written, 200 when already kept.
//!
//! All need `Authorization: Bearer <quorate.recovery.token>` (compared in constant time) or
//! a connection whose client certificate `quorate serve` verified against its client CA
//! (`tls_server_config.client_ca_file`, mutual TLS): a peer holding either is trusted. With
//! neither a token nor client certificate verification configured they are disabled (404);
//! otherwise a request with neither gets 401. Basic authentication does not apply to them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::act::{self, ActError};
use super::{apart, gather, RecoverError};
use crate::galera::collector::{LocalNode, LocalSource};
use crate::tls::VerifiedClient;

/// The client certificate the connection was verified with, if any.
type ClientCert = Option<Extension<VerifiedClient>>;

/// Equal-length byte strings compared without an early exit, so the time taken does not tell
/// how much of a guessed token was right. (The length itself is not secret.)
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_string_pretty(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body + "\n").into_response(),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding: {e}\n"),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (status, body).into_response()
}

/// `None` when the request comes with a verified client certificate or carries the
/// configured token, else the answer to send.
fn authorize(state: &impl LocalSource, headers: &HeaderMap, cert: ClientCert) -> Option<Response> {
    if cert.is_some() {
        return None;
    }
    let settings = state.settings();
    let verifies_clients = settings.tls.as_ref().is_some_and(|t| t.verifies_clients());
    let token_matches = settings.recovery.token.as_ref().is_some_and(|token| {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        constant_time_eq(given.trim().as_bytes(), token.expose().as_bytes())
    });
    if settings.recovery.token.is_none() && !verifies_clients {
        return Some(text(
            StatusCode::NOT_FOUND,
            "recovery endpoints are disabled: set quorate.recovery.token or token_file, or verify client certificates (tls_server_config.client_ca_file)\n".into(),
        ));
    }
    if token_matches {
        None
    } else {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a valid bearer token or a verified client certificate is required\n",
            )
                .into_response(),
        )
    }
}

/// The local node to answer for, once the request is authorized; else the answer to send.
fn authorized_local<S: LocalSource>(
    state: &S,
    headers: &HeaderMap,
    cert: ClientCert,
) -> Result<LocalNode, Box<Response>> {
    if let Some(r) = authorize(state, headers, cert) {
        return Err(Box::new(r));
    }
    state
        .local_source()
        .map_err(|msg| Box::new(text(StatusCode::SERVICE_UNAVAILABLE, format!("{msg}\n"))))
}

pub async fn state<S: LocalSource>(
    State(state): State<Arc<S>>,
    cert: ClientCert,
    headers: HeaderMap,
) -> Response {
    let LocalNode {
        settings,
        node,
        source,
    } = match authorized_local(state.as_ref(), &headers, cert) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(n) = settings.node(&node) else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unknown node {node}\n"),
        );
    };
    let report = gather::local_report(&settings, n, source.client()).await;
    json(&report)
}

pub async fn recover_position<S: LocalSource>(
    State(state): State<Arc<S>>,
    cert: ClientCert,
    headers: HeaderMap,
) -> Response {
    let LocalNode { settings, node, .. } = match authorized_local(state.as_ref(), &headers, cert) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    tracing::info!(node, "recovering the position (--wsrep-recover) on request");
    match act::recover_local_position(&settings, &node).await {
        Ok(rec) => json(&rec),
        Err(ActError {
            error: e @ RecoverError::Refused { .. },
            ..
        }) => text(StatusCode::CONFLICT, format!("{e}\n")),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", e.error)),
    }
}

/// How long a peer may take to send the body of `POST /galera/apart`.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn keep_apart<S: LocalSource>(
    State(state): State<Arc<S>>,
    cert: ClientCert,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let LocalNode { settings, node, .. } = match authorized_local(state.as_ref(), &headers, cert) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let bytes =
        match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, apart::MAX_RECORD))
            .await
        {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                return text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the body is unreadable or larger than {} bytes: {e}\n",
                        apart::MAX_RECORD
                    ),
                )
            }
            Err(_) => {
                return text(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the body did not arrive within {BODY_TIMEOUT:?}\n"),
                )
            }
        };
    let record = match apart::parse_posted(&bytes) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let kept = {
        let node = node.clone();
        tokio::task::spawn_blocking(move || apart::keep(&settings, &node, &record)).await
    };
    match kept {
        Ok(Ok(true)) => {
            tracing::warn!(
                node,
                "a peer found this node apart from the running Primary's history: recorded"
            );
            text(StatusCode::CREATED, "recorded\n".into())
        }
        Ok(Ok(false)) => text(StatusCode::OK, "already recorded\n".into()),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnop"));
        assert!(!constant_time_eq(b"abcdefghijklmnop", b"abcdefghijklmnoq"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
