//! The client side of the peers' recovery endpoints: `GET /galera/state`,
//! `POST /galera/recover-position` and `POST /galera/apart` on another node's `quorate serve`
//! ([`ask`]), with the bearer token and/or a client certificate, bounded by a timeout. HTTP/1.1
//! over TCP (hyper), one connection per request; `https://` endpoints over TLS, their
//! certificate checked against `quorate.recovery.ca_file` (the token is only sent once the peer
//! has proven its name), this node's `quorate.recovery.client_cert_file` presented when the
//! peer asks for one.

use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::RecoverError;
use crate::config::{ClientCertificate, RecoverySettings, Secret};

/// The largest answer read from a peer (a `/galera/state` answer is well under 4 KiB).
pub const MAX_ANSWER: usize = crate::bounded::SMALL_FILE_CAP as usize;

/// One answer: the status code and the body text.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

/// One request: where, what, and how to trust the peer.
pub struct Call<'a> {
    pub method: Method,
    /// `http://host:port` or `https://host:port`.
    pub endpoint: &'a str,
    pub path: &'a str,
    /// The bearer token, when one is configured.
    pub token: Option<&'a Secret>,
    /// CA bundle for `https://` endpoints (`quorate.recovery.ca_file`).
    pub ca_file: Option<&'a Path>,
    /// The certificate presented to `https://` peers (`quorate.recovery.client_cert_file`).
    pub client_cert: Option<&'a ClientCertificate>,
    /// A JSON request body (`POST /galera/apart`), if any.
    pub json: Option<String>,
}

impl<'a> Call<'a> {
    /// A call with this node's credentials for peers: the token and/or the client
    /// certificate; with neither configured, peers cannot be asked ([`RecoverError::NoToken`]).
    pub fn with_credentials(
        settings: &'a RecoverySettings,
        method: Method,
        endpoint: &'a str,
        path: &'a str,
    ) -> Result<Call<'a>, RecoverError> {
        if settings.token.is_none() && settings.client_cert.is_none() {
            return Err(RecoverError::NoToken);
        }
        Ok(Call {
            method,
            endpoint,
            path,
            token: settings.token.as_ref(),
            ca_file: settings.ca_file.as_deref(),
            client_cert: settings.client_cert.as_ref(),
            json: None,
        })
    }
}

/// An answer of a node's `quorate serve`, with where it came from.
#[derive(Debug)]
pub struct Asked {
    /// The node's configured endpoint (`quorate.recovery.nodes.NODE.endpoint`).
    pub endpoint: String,
    pub path: String,
    pub answer: Answer,
}

impl Asked {
    /// An answer the caller did not expect, in words: `ENDPOINT/PATH answered STATUS: BODY`.
    pub fn unexpected(&self) -> String {
        format!(
            "{}{} answered {}: {}",
            self.endpoint,
            self.path,
            self.answer.status,
            self.answer.body.trim()
        )
    }
}

/// Asks node `node`'s `quorate serve` (its configured endpoint, with this node's credentials)
/// `method path`, with a JSON body if given, within `timeout`. Every error names the endpoint.
pub async fn ask(
    settings: &RecoverySettings,
    node: &str,
    method: Method,
    path: &str,
    json: Option<String>,
    timeout: Duration,
) -> Result<Asked, String> {
    let nr = settings
        .node(node)
        .ok_or("no quorate.recovery settings for this node")?;
    let mut call =
        Call::with_credentials(settings, method, &nr.endpoint, path).map_err(|e| e.to_string())?;
    call.json = json;
    let answer = request(call, timeout)
        .await
        .map_err(|e| format!("{}{path}: {e}", nr.endpoint))?;
    Ok(Asked {
        endpoint: nr.endpoint.clone(),
        path: path.to_string(),
        answer,
    })
}

/// Sends one request and reads the whole answer, all within `timeout`.
pub async fn request(call: Call<'_>, timeout: Duration) -> Result<Answer, String> {
    match tokio::time::timeout(timeout, request_unbounded(call)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// `host` of `host:port` / `[v6]:port`, as the certificate must name it.
fn host_of(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => authority,
    }
}

async fn request_unbounded(call: Call<'_>) -> Result<Answer, String> {
    let (tls, authority) = match call.endpoint.split_once("://") {
        Some(("http", rest)) => (false, rest),
        Some(("https", rest)) => (true, rest),
        _ => {
            return Err(format!(
                "{:?} is not an http:// or https:// URL",
                call.endpoint
            ))
        }
    };
    let authority = authority.trim_end_matches('/');
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    if !tls {
        return exchange(TokioIo::new(stream), authority, &call).await;
    }
    let ca_file = call
        .ca_file
        .ok_or("an https:// endpoint needs quorate.recovery.ca_file")?;
    let config = crate::tls::client_config(ca_file, call.client_cert).map_err(|e| e.to_string())?;
    let name = rustls_pki_types::ServerName::try_from(host_of(authority).to_string())
        .map_err(|e| format!("{authority}: not a host name or address: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    exchange(TokioIo::new(stream), authority, &call).await
}

/// The HTTP/1.1 exchange on an open connection (plain or TLS).
async fn exchange<S>(io: TokioIo<S>, authority: &str, call: &Call<'_>) -> Result<Answer, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (method, path, token) = (call.method.clone(), call.path, call.token);
    let body = call.json.clone().unwrap_or_default();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority);
    if let Some(token) = token {
        req = req.header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", token.expose()),
        );
    }
    if call.json.is_some() {
        req = req.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .header(hyper::header::CONNECTION, "close")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("building the request: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    // Capped while streaming: a peer that never ends its body costs at most the cap.
    let body = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                format!("reading the answer: it is larger than the limit of {MAX_ANSWER} bytes")
            } else {
                format!("reading the answer: {e}")
            }
        })?
        .to_bytes();
    driver.abort();
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that streams an endless chunked body: the answer is refused at the cap, quickly
    /// and without holding more than the cap in memory.
    #[tokio::test]
    async fn an_endless_answer_is_cut_at_the_cap() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut head = [0u8; 1024];
            let _ = sock.read(&mut head).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
            while sock.write_all(chunk.as_bytes()).await.is_ok() {}
        });
        let token = Secret::new("t");
        let endpoint = format!("http://{addr}");
        let started = std::time::Instant::now();
        let call = Call {
            method: Method::GET,
            endpoint: &endpoint,
            path: "/galera/state",
            token: Some(&token),
            ca_file: None,
            client_cert: None,
            json: None,
        };
        let e = request(call, Duration::from_secs(5))
            .await
            .expect_err("capped");
        assert!(e.contains("larger than the limit of 1048576 bytes"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(3), "{e}");
        server.abort();
    }

    #[test]
    fn hosts_for_certificate_names() {
        assert_eq!(host_of("127.0.0.1:9878"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9878"), "::1");
        assert_eq!(host_of("db2.example.net:9878"), "db2.example.net");
    }
}
