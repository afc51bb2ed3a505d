//! The live stream: `GET /api/v1/events` (Server-Sent Events) and
//! `POST /api/v1/events/ticket`.

use crate::http::views::{StreamEvent, TicketView};
use crate::service::live::{self, Stream};
use crate::state::ChatState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, post, web};
use bytes::Bytes;
use dentex_accounts::{Actor, Principal};
use dentex_http::ApiError;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (as `Last-Event-ID` does).
    pub after: Option<String>,
    /// A single-use ticket from `POST /api/v1/events/ticket`, for clients
    /// that cannot send `Authorization` (a browser's `EventSource`).
    pub ticket: Option<String>,
}

/// Server-Sent Events for everything the caller's screens show
/// (`message.created`, `message.deleted`, `thread.read`, `case.*`,
/// `file.analyzed`, `quote.*`, `order.transitioned`, `remake.created`):
/// ids, states and counts only; fetch the resource for the rest. Each event's
/// `id` is a cursor: reconnect with `Last-Event-ID` (or `?after=`) to get
/// what was missed, in order; a cursor older than what is kept gets one
/// `reset` (reload). A comment line keeps an idle stream open every 15 s.
#[utoipa::path(get, path = "/api/v1/events", tag = "chat", security(("bearer" = [])),
    params(EventsQuery, ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received.")),
    responses((status = 200, description = "An endless `text/event-stream`: each event as described (comment lines keep it open).", content_type = "text/event-stream", body = StreamEvent), (status = 401, description = "`unauthenticated`, `ticket_invalid`", body = dentex_http::Problem)))]
#[get("/api/v1/events")]
pub async fn events(
    req: HttpRequest,
    state: web::Data<ChatState>,
    q: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let principal = match &q.ticket {
        Some(t) => live::redeem(&state, t).await?,
        None => Principal::from_request(&req, &mut Payload::None).await?,
    };
    dentex_accounts::policy::require_full_session(&principal)?;
    let from = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| q.after.clone());
    let opened = live::open(&state, &principal, from.as_deref()).await?;
    let body = futures_util::stream::unfold(Pump::new(&state, opened), Pump::next);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// Feeds one connection: waiting frames first, then live events and
/// keep-alives; ends at shutdown, when the hub drops it (it fell behind),
/// or when its session is no longer live (checked at each keep-alive).
struct Pump {
    stream: Stream,
    state: ChatState,
    tick: tokio::time::Interval,
    shutdown: tokio_util::sync::CancellationToken,
    started: bool,
}

impl Pump {
    fn new(state: &ChatState, stream: Stream) -> Self {
        let every = state.config.keep_alive.max(Duration::from_millis(10));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            shutdown: state.hub.shutdown(),
            stream,
            state: state.clone(),
            tick,
            started: false,
        }
    }

    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if !self.started {
            self.started = true;
            // The client's reconnect delay, and a first line so that
            // proxies and clients see the stream open at once.
            return Some((Ok(Bytes::from_static(b"retry: 2000\n: open\n\n")), self));
        }
        if let Some(f) = self.stream.pending.pop_front() {
            return Some((Ok(f), self));
        }
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                got = self.stream.sub.rx.recv() => {
                    let d = got?;
                    if let Some(f) = self.stream.live(&d) {
                        return Some((Ok(f), self));
                    }
                }
                _ = self.tick.tick() => {
                    let live = Principal::of_session(&self.state.db, self.stream.session, self.state.accounts.sessions)
                        .await
                        .ok()
                        .flatten()
                        .is_some_and(|p| p.user_id.0 == self.stream.user && same_orgs(&p, &self.stream));
                    if !live {
                        return None;
                    }
                    return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), self));
                }
            }
        }
    }
}

/// A membership that changed ends the stream (the client reconnects with
/// what it may see now).
fn same_orgs(p: &Principal, s: &Stream) -> bool {
    let mut now: Vec<_> = p.memberships.iter().map(|(o, _)| o.0).collect();
    now.sort();
    let mut had: Vec<_> = s.sub.start.keys().copied().collect();
    had.sort();
    now == had
}

/// A single-use ticket for `GET /api/v1/events?ticket=`, valid 60 seconds.
#[utoipa::path(post, path = "/api/v1/events/ticket", tag = "chat", security(("bearer" = [])),
    responses((status = 201, body = TicketView)))]
#[post("/api/v1/events/ticket")]
pub async fn ticket(actor: Actor, state: web::Data<ChatState>) -> Result<HttpResponse, ApiError> {
    let t = live::ticket(&state, &actor).await?;
    Ok(dentex_http::created("/api/v1/events").json(TicketView {
        ticket: t.ticket,
        expires_at: t.expires_at,
    }))
}
