//! Every response the suite receives, checked against the OpenAPI document.
//!
//! A [`Proxy`] stands in front of each test's server (real HTTP on port 0 on
//! both sides): it forwards every request as it came and keeps what came
//! back — method, path, status, content type, `Location`, body. When the
//! [`crate::TestApp`] is dropped, [`problems`] compares each response with the
//! document's entry for its route: the status must be documented, the content
//! type must be one the entry declares, a JSON body must match the declared
//! schema (by [`dentex_http::schema`], the checker the server itself uses on
//! request bodies), and a 201 must say `Location`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

// The proxy reads a request's body whole before it forwards it: a test of
// streaming itself (a body without a length, one broken off half way) goes
// to `TestApp::direct_base`.

/// One response as the client received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Bytes,
}

pub struct Proxy {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Headers that belong to one connection, not to the message.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
    "te",
    "content-length",
];

impl Proxy {
    /// A proxy on 127.0.0.1:0 in front of `target` (`http://127.0.0.1:PORT`).
    pub async fn start(target: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let (s, t) = (seen.clone(), Arc::new(target));
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let (client, seen, target) = (client.clone(), s.clone(), t.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        forward(req, client.clone(), target.clone(), seen.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Ok(Self { base, seen, task })
    }
}

async fn forward(
    req: Request<Incoming>,
    client: reqwest::Client,
    target: Arc<String>,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // A body the client broke off is not forwarded as a shorter one.
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        let mut r = Response::new(Full::new(Bytes::from_static(b"proxy: the request body broke off")));
        *r.status_mut() = hyper::StatusCode::BAD_REQUEST;
        return Ok(r);
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = client.request(parts.method.clone(), format!("{target}{path_and_query}"));
    for (k, v) in &parts.headers {
        if k != hyper::header::HOST && !HOP_BY_HOP.contains(&k.as_str()) {
            out = out.header(k, v);
        }
    }
    let answer = match out.body(body).send().await {
        Ok(a) => a,
        Err(e) => {
            let mut r = Response::new(Full::new(Bytes::from(format!("proxy: {e}"))));
            *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            return Ok(r);
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Ok(mut s) = seen.lock() {
        s.push(Seen {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            status: status.as_u16(),
            content_type: header("content-type"),
            location: header("location"),
            body: bytes.clone(),
        });
    }
    let mut r = Response::new(Full::new(bytes));
    *r.status_mut() = status;
    for (k, v) in &headers {
        if !HOP_BY_HOP.contains(&k.as_str()) {
            r.headers_mut().append(k, v.clone());
        }
    }
    Ok(r)
}

/// The document's path template for a concrete path: the one that fits with
/// the most literal segments (`/quotes/{quote}/accept` over
/// `/quotes/{quote}/{x}`).
fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut best: Option<(&str, usize)> = None;
    for tpl in doc["paths"].as_object()?.keys() {
        let segs: Vec<&str> = tpl.trim_matches('/').split('/').collect();
        if segs.len() != parts.len() {
            continue;
        }
        let mut literal = 0;
        let fits = segs.iter().zip(&parts).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                literal += usize::from(t == p);
                t == p
            }
        });
        if fits && best.is_none_or(|(_, n)| literal > n) {
            best = Some((tpl.as_str(), literal));
        }
    }
    best.map(|(t, _)| t)
}

fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// What in `seen` the document does not say, one line per response.
pub fn problems(doc: &Value, seen: &[Seen]) -> Vec<String> {
    let schemas = dentex_http::schema::Schemas::new(doc);
    let mut out = Vec::new();
    for s in seen {
        let Some(tpl) = template(doc, &s.path) else { continue };
        let op = &doc["paths"][tpl][s.method.to_ascii_lowercase()];
        if op.is_null() {
            continue;
        }
        let at = format!("{} {tpl} {}", s.method, s.status);
        let r = &op["responses"][s.status.to_string()];
        if r.is_null() {
            out.push(format!("{at}: status not in the document"));
            continue;
        }
        if s.status == 201 && s.location.is_none() {
            out.push(format!("{at}: a 201 without Location"));
        }
        if s.body.is_empty() || s.method == "HEAD" {
            continue;
        }
        let Some(ct) = s.content_type.as_deref().map(essence) else {
            out.push(format!("{at}: a body without Content-Type"));
            continue;
        };
        let declared = r["content"].as_object().cloned().unwrap_or_default();
        let Some(media) = declared.get(&ct).or_else(|| declared.get("*/*")) else {
            let names: Vec<&String> = declared.keys().collect();
            out.push(format!("{at}: sent {ct}, the document declares {names:?}"));
            continue;
        };
        if !(ct == "application/json" || ct.ends_with("+json")) {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&s.body) else {
            out.push(format!("{at}: {ct} that is not JSON"));
            continue;
        };
        let Some(schema) = media.get("schema") else { continue };
        let found = schemas.check(schema, &v, "");
        if let Some(e) = found.first() {
            out.push(format!(
                "{at}: body does not match the schema ({} problem(s); first: `{}` {}: {})",
                found.len(),
                e.field,
                e.code,
                e.message
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seen(method: &str, path: &str, status: u16, ct: &str, body: &str) -> Seen {
        Seen {
            method: method.into(),
            path: path.into(),
            status,
            content_type: Some(ct.into()),
            location: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn what_the_document_does_not_say_is_found() {
        let doc = json!({"paths": {
            "/q/{id}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
                "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}}}}},
            "/q/{id}/x": {"post": {"responses": {"201": {"content": {"application/json": {"schema": {}}}}}}}
        }});
        let found = problems(
            &doc,
            &[
                seen("GET", "/q/1", 200, "application/json", r#"{"id": "1"}"#),
                seen("GET", "/q/1", 200, "application/json", r#"{"id": 1}"#),
                seen("GET", "/q/1", 404, "application/problem+json", "{}"),
                seen("GET", "/q/1", 200, "text/html", "<p>"),
                seen("POST", "/q/1/x", 201, "application/json", "{}"),
                seen("GET", "/elsewhere", 500, "text/plain", "x"),
            ],
        );
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found.iter().any(|p| p.contains("does not match")));
        assert!(found.iter().any(|p| p.contains("status not in the document")));
        assert!(found.iter().any(|p| p.contains("sent text/html")));
        assert!(found.iter().any(|p| p.contains("without Location")));
    }
}
