//! The configuration of chat and of the live event stream.

use serde::Deserialize;

/// Chat between clinics and labs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Messages unread this long get one notice mail per thread and window.
    pub notify_after_secs: u64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self { notify_after_secs: 600 }
    }
}

/// The live event stream (`GET /api/v1/events`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Events are kept this long for clients that reconnect; an older
    /// cursor gets one `reset` event.
    pub keep_secs: u64,
    /// A comment line on an idle stream this often.
    pub keep_alive_secs: u64,
    /// Events one connection may have waiting; a client that falls further
    /// behind is disconnected (it resumes from its cursor).
    pub buffer: usize,
    /// How often each process looks at the outbox without being woken (a
    /// safety net: PostgreSQL's NOTIFY and the in-process wake-up deliver
    /// at once).
    pub poll_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            keep_secs: 7 * 86_400,
            keep_alive_secs: 15,
            buffer: 256,
            poll_ms: 1000,
        }
    }
}
