//! The problem codes of privacy operations (the catalogue; `docs/errors.md`
//! is generated from it).

dentex_http::codes!(ALL {
    PRIVACY_REQUEST_STATE = (409, "privacy_request_state", "The step does not apply to the request as it stands (already verified, running, done or rejected); the detail says which status it is in."),
    EXTENSION_REFUSED = (409, "extension_refused", "A request's deadline moves once, by at most two months, and only within its first month (GDPR Art. 12(3)); the detail says which rule."),
    PRIVACY_KIND_NOT_EXECUTABLE = (409, "privacy_kind_not_executable", "The platform carries out erasures; access, portability, rectification and restriction requests are verified, tracked and answered here but carried out by support by hand for now."),
});
