//! A Server-Sent Events client over real HTTP (reqwest's byte stream),
//! parsing frames as a browser's `EventSource` does: `id`, `event`, `data`
//! lines, a blank line ending each event, comment lines (`:`) ignored.

use futures_util::StreamExt;
use std::time::Duration;

/// One event as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub data: serde_json::Value,
}

pub struct Client {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
    comments: usize,
    ended: bool,
    pub status: u16,
    pub content_type: String,
}

impl Client {
    /// Opens `GET {base}/api/v1/events{query}` with a bearer token (or none,
    /// for a ticket in the query), resuming after `last_event_id`.
    pub async fn connect(base: &str, query: &str, token: Option<&str>, last_event_id: Option<&str>) -> Client {
        let mut rb = reqwest::Client::new().get(format!("{base}/api/v1/events{query}"));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(id) = last_event_id {
            rb = rb.header("Last-Event-ID", id);
        }
        let r = rb.send().await.expect("connect to the event stream");
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Client {
            body: Box::pin(r.bytes_stream()),
            buf: String::new(),
            comments: 0,
            ended: false,
            status,
            content_type,
        }
    }

    /// The next event, or `None` when none comes within `wait` (or the
    /// stream ended).
    pub async fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (String::new(), String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if data.is_empty() {
                    // A comment (the opening line, a keep-alive), a retry line.
                    self.comments += 1;
                    continue;
                }
                return Some(Event {
                    id,
                    kind,
                    data: serde_json::from_str(&data).expect("event data is JSON"),
                });
            }
            let Ok(chunk) = tokio::time::timeout_at(deadline, self.body.next()).await else {
                return None; // nothing within `wait`
            };
            match chunk {
                Some(Ok(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => {
                    self.ended = true;
                    return None;
                }
            }
        }
    }

    /// Whether the server ended the stream (as opposed to a quiet wait).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Comment frames received so far (the opening line, keep-alives).
    pub fn comments(&self) -> usize {
        self.comments
    }

    /// The next event of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let e = self.next(left).await?;
            if e.kind == kind {
                return Some(e);
            }
        }
    }
}
