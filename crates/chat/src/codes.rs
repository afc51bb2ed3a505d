//! The problem codes of chat and the event stream (the catalogue;
//! `docs/errors.md` is generated from it).

dentex_http::codes!(ALL {
    TICKET_INVALID = (401, "ticket_invalid", "The event-stream ticket is unknown, used or expired: ask for a new one (POST /api/v1/events/ticket)."),
    THREAD_CLOSED = (409, "thread_closed", "The case is cancelled: its threads are kept to read, not written to."),
    MESSAGE_NOT_DELETABLE = (409, "message_not_deletable", "A message is deleted by its sender within 15 minutes of sending, once; the detail says which."),
});
