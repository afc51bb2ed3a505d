//! The problem codes of payments (the catalogue; `docs/errors.md` is
//! generated from it).

dentex_http::codes!(ALL {
    PAYMENTS_MANUAL = (409, "payments_manual", "Payments run in manual mode here (no Stripe key is configured): support records each order's payment status."),
    PAYMENTS_STRIPE = (409, "payments_stripe", "Payments run through Stripe here: the status follows Stripe, support refunds through the refunds route."),
    PAYMENT_NOT_DUE = (409, "payment_not_due", "The order is not waiting for payment (it is paid, being paid, or was cancelled); the detail says which."),
    LAB_NOT_PAYABLE = (409, "lab_not_payable", "The lab cannot be paid through the platform yet (it has not finished onboarding with Stripe)."),
    REFUND_NOT_POSSIBLE = (409, "refund_not_possible", "Nothing can be refunded on this order now (not paid, already refunded, or disputed); the detail says why."),
    PAYMENT_PROVIDER_ERROR = (502, "payment_provider_error", "Stripe refused or could not be reached; nothing was changed here. The detail says what Stripe answered."),
    WEBHOOK_SIGNATURE_INVALID = (400, "webhook_signature_invalid", "The Stripe-Signature header is missing, malformed, too old (over 300 s) or matches no configured secret."),
    WEBHOOK_NOT_CONFIGURED = (503, "webhook_not_configured", "No webhook signing secret is configured (payments.webhook_secrets): every event is refused."),
});
