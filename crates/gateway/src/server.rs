//! The HTTP server: actix-web's stack assembled by hand so that each
//! connection's byte stream passes through [`GuardedIo`].
//!
//! A few answers are written by actix-http's HTTP/1 dispatcher itself, before
//! any service, middleware or error handler runs: `400 Bad Request` for a
//! request line or header it cannot parse (a path with raw non-ASCII bytes, a
//! broken header), `431 Request Header Fields Too Large`, and `408 Request
//! Timeout` for a head that arrives too slowly. They are built inside the
//! dispatcher from an empty `Response` and encoded straight into the
//! connection's write buffer; actix offers no hook for them. Each of them is the
//! last answer on its connection (the dispatcher stops reading and closes), and
//! is a bare head: a status line, `content-length: 0`, `connection: close` and
//! `date`, with no `x-request-id`, which every answer of ours carries.
//!
//! [`GuardedIo`] recognises exactly that shape, when a single write holds
//! nothing else, and writes in its place the answer the edge middleware would
//! have given: a fresh request id, the security headers and a problem+json
//! body. It also logs and counts the refusal. A bare head that shares a write
//! with other bytes (pipelined requests) is passed on unchanged: the client
//! still gets the status, only without our decoration. Body bytes of a streamed
//! download could only be mistaken for one if a single write held exactly such
//! a head with a `date` of the last few seconds; the check allows for no
//! other bytes around it.

use crate::edge::{self, SECURITY_HEADERS};
use crate::metrics::Metrics;
use actix_http::body::MessageBody;
use actix_http::{HttpService, Protocol, Request, Response};
use actix_service::{IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::http::StatusCode;
use actix_web::http::header::HttpDate;
use std::fmt;
use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// What the main listener needs besides the application.
#[derive(Clone)]
pub struct ServerOptions {
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    /// Send `Strict-Transport-Security` (the public URL is https).
    pub hsts: bool,
    pub metrics: Arc<Metrics>,
}

/// Serves the application made by `factory` on `listener`, like
/// `actix_web::HttpServer` with its defaults (5 s keep-alive and head
/// timeout, 1 s disconnect timeout), with [`GuardedIo`] on every connection.
pub fn serve<F, I, S, B>(listener: TcpListener, opts: ServerOptions, factory: F) -> io::Result<actix_server::Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let mut builder = actix_server::Server::build()
        .disable_signals()
        .shutdown_timeout(opts.shutdown_timeout_secs);
    if opts.workers > 0 {
        builder = builder.workers(opts.workers);
    }
    let signal = builder.graceful_shutdown_signal();
    let guard = Arc::new(Guard {
        hsts: opts.hsts,
        metrics: opts.metrics,
    });
    Ok(builder
        .listen("dentex-http", listener, move || {
            let signal = signal.clone();
            let guard = guard.clone();
            let app = factory().into_factory().map_err(|err| err.into().error_response());
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = signal.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(Duration::from_secs(5))
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(addr)
                .finish(map_config(app, |_| AppConfig::default()));
            fn_service(move |io: TcpStream| {
                let guard = guard.clone();
                async move {
                    let peer = io.peer_addr().ok();
                    Ok((GuardedIo::new(io, guard), Protocol::Http1, peer))
                }
            })
            .and_then(http)
        })?
        .run())
}

struct Guard {
    hsts: bool,
    metrics: Arc<Metrics>,
}

/// A connection whose writes are watched for the dispatcher's bare error
/// answers (see the module documentation).
pub struct GuardedIo<T> {
    io: T,
    guard: Arc<Guard>,
    /// Our answer in place of a bare one, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
    /// The length of the bare answer being replaced: reported as written
    /// only once all of ours is, so the caller keeps retrying the same write
    /// (and keeps the connection) until then.
    replacing: Option<usize>,
}

impl<T> GuardedIo<T> {
    fn new(io: T, guard: Arc<Guard>) -> Self {
        Self {
            io,
            guard,
            pending: None,
            replacing: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> GuardedIo<T> {
    /// Writes what is left of our replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            if *done == bytes.len() {
                self.pending = None;
                break;
            }
            match Pin::new(&mut self.io).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *done += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.poll_pending(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(n) = this.replacing.take() {
            // Ours is out: the bare answer counts as written.
            return Poll::Ready(Ok(n.min(buf.len())));
        }
        if let Some(status) = bare_error_status(buf, SystemTime::now()) {
            let rid = uuid::Uuid::now_v7().to_string();
            tracing::info!(
                request_id = %rid,
                status = status.as_u16(),
                "the HTTP layer refused a request it could not read"
            );
            this.guard
                .metrics
                .observe("other", "unmatched", status.as_u16(), Duration::ZERO);
            this.pending = Some((decorated(status, &rid, this.guard.hsts), 0));
            // Ours goes out in its place; the bare one counts as written
            // when all of ours is.
            if this.poll_pending(cx)?.is_pending() {
                this.replacing = Some(buf.len());
                return Poll::Pending;
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.poll_pending(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.poll_pending(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The statuses actix-http's dispatcher answers by itself.
const BARE: [StatusCode; 4] = [
    StatusCode::BAD_REQUEST,
    StatusCode::REQUEST_TIMEOUT,
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    StatusCode::INTERNAL_SERVER_ERROR,
];

/// The status of `buf` when it is exactly one bare answer of the dispatcher:
/// one head and nothing else, `content-length: 0`, no `x-request-id`, and a
/// `date` within a few seconds of `now`.
fn bare_error_status(buf: &[u8], now: SystemTime) -> Option<StatusCode> {
    if buf.len() > 512 || !buf.starts_with(b"HTTP/1.") || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let head = &text[..text.len() - 4];
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let code: u16 = lines.next()?.get(9..12)?.parse().ok()?;
    let status = StatusCode::from_u16(code).ok().filter(|s| BARE.contains(s))?;
    let (mut zero_length, mut recent) = (false, false);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => zero_length = value == "0",
            "date" => {
                let at: SystemTime = value.parse::<HttpDate>().ok()?.into();
                let apart = now.duration_since(at).or_else(|e| Ok::<_, ()>(e.duration())).ok()?;
                // The dispatcher's date is cached for half a second.
                recent = apart <= Duration::from_secs(2);
            }
            "connection" | "content-type" => {}
            _ => return None,
        }
    }
    (zero_length && recent).then_some(status)
}

/// The answer the edge middleware would have given for `status`.
fn decorated(status: StatusCode, rid: &str, hsts: bool) -> Vec<u8> {
    let (code, detail) = {
        let c = dentex_http::code_for_status(status);
        (c.code, dentex_http::detail_for_status(status))
    };
    let body = dentex_http::problem_body(status, code, detail, &[]);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\ndate: {}\r\n{}: {rid}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        dentex_http::PROBLEM_JSON,
        body.len(),
        HttpDate::from(SystemTime::now()),
        edge::X_REQUEST_ID.as_str(),
    );
    for (name, value) in SECURITY_HEADERS {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("cache-control: no-store\r\n");
    out.push_str(&format!("content-security-policy: {}\r\n", edge::DEFAULT_CSP));
    if hsts {
        out.push_str(&format!("strict-transport-security: {}\r\n", edge::HSTS));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: &str, date: SystemTime, extra: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n{extra}date: {}\r\n\r\n",
            HttpDate::from(date)
        )
        .into_bytes()
    }

    #[test]
    fn the_dispatchers_bare_answers_are_recognised() {
        let now = SystemTime::now();
        assert_eq!(
            bare_error_status(&head("431 Request Header Fields Too Large", now, ""), now),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert_eq!(
            bare_error_status(&head("400 Bad Request", now, ""), now),
            Some(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn anything_else_is_left_alone() {
        let now = SystemTime::now();
        // One of ours.
        assert_eq!(
            bare_error_status(&head("400 Bad Request", now, "x-request-id: abc\r\n"), now),
            None
        );
        // Not a status the dispatcher makes.
        assert_eq!(bare_error_status(&head("404 Not Found", now, ""), now), None);
        // An old date: bytes of a stored file, not a fresh answer.
        let old = now - Duration::from_secs(3600);
        assert_eq!(bare_error_status(&head("400 Bad Request", old, ""), now), None);
        // Anything after the head.
        let mut more = head("400 Bad Request", now, "");
        more.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(bare_error_status(&more, now), None);
        // A body.
        let mut body = head("400 Bad Request", now, "");
        body.extend_from_slice(b"x");
        assert_eq!(bare_error_status(&body, now), None);
    }

    /// Takes one byte per call, answering `Pending` every other call.
    #[derive(Default)]
    struct Trickle {
        written: Vec<u8>,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            self.calls += 1;
            if self.calls.is_multiple_of(2) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.written.push(buf[0]);
            Poll::Ready(Ok(1))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_slow_connection_gets_all_of_the_replacement_before_the_bare_answer_counts_as_sent() {
        use tokio::io::AsyncWriteExt;
        let guard = Arc::new(Guard {
            hsts: false,
            metrics: Arc::new(Metrics::default()),
        });
        let mut io = GuardedIo::new(Trickle::default(), guard);
        let bare = head("400 Bad Request", SystemTime::now(), "");
        // One write call as the dispatcher makes it: it completes only when
        // the whole replacement is out.
        let n = std::future::poll_fn(|cx| Pin::new(&mut io).poll_write(cx, &bare))
            .await
            .unwrap();
        assert_eq!(n, bare.len());
        let sent = String::from_utf8(io.io.written.clone()).unwrap();
        assert!(sent.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{sent}");
        assert!(sent.ends_with("\"code\":\"bad_request\"}"), "{sent}");
        // What follows goes through untouched.
        io.write_all(b"next").await.unwrap();
        assert!(io.io.written.ends_with(b"next"));
    }

    #[test]
    fn the_replacement_is_a_problem_with_our_headers() {
        let r = String::from_utf8(decorated(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "rid-1", false))
            .unwrap_or_default();
        assert!(r.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{r}");
        assert!(r.contains("\r\nx-request-id: rid-1\r\n"), "{r}");
        assert!(r.contains("\r\nx-content-type-options: nosniff\r\n"), "{r}");
        let (h, body) = r.split_once("\r\n\r\n").unwrap_or_default();
        assert!(h.contains(&format!("content-length: {}", body.len())), "{r}");
        assert!(body.contains("\"code\":\"headers_too_large\""), "{body}");
    }
}
