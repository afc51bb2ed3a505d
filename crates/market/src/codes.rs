//! The problem codes of quotes and orders (the catalogue; `docs/errors.md`
//! is generated from it).

dentex_http::codes!(ALL {
    IDEMPOTENCY_KEY_REQUIRED = (400, "idempotency_key_required", "Accepting a quote needs an Idempotency-Key header (1–255 printable characters, e.g. a UUID)."),
    CASE_NOT_OPEN = (409, "case_not_open", "The case is no longer open to quotes (awarded or cancelled)."),
    QUOTE_EXISTS = (409, "quote_exists", "The lab already has an active quote on this case: revise it instead."),
    QUOTE_NOT_ACTIVE = (409, "quote_not_active", "Only an active quote changes or is accepted; the detail gives its status."),
    QUOTE_REVISED = (409, "quote_revised", "The quote was revised after the version named: read it again before accepting."),
    QUOTE_EXPIRED = (409, "quote_expired", "The quote's validity has passed."),
    IDEMPOTENCY_IN_PROGRESS = (409, "idempotency_in_progress", "A request with this Idempotency-Key is still at work: retry shortly."),
    TRANSITION_NOT_ALLOWED = (409, "transition_not_allowed", "The order cannot make this move from its state, or not by this side; the detail says which."),
    ORDER_CHANGED = (409, "order_changed", "The order moved meanwhile: read it again."),
    REMAKE_NOT_ALLOWED = (409, "remake_not_allowed", "A remake follows delivery; the detail gives the order's state."),
    LAB_UNAVAILABLE = (409, "lab_unavailable", "The lab is suspended: it cannot take the remake."),
    IDEMPOTENCY_KEY_REUSED = (422, "idempotency_key_reused", "The Idempotency-Key was used for another request: use a new key for a new action."),
});
