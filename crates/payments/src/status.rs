//! A payment's status, derived from what Stripe reports now (events are
//! hints: the object is fetched and the status worked out from it, so an
//! event late or twice cannot move a payment backwards).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Unpaid,
    Processing,
    Paid,
    /// The last attempt failed; the clinic may pay again.
    Failed,
    Refunded,
    PartiallyRefunded,
    Disputed,
}

impl PaymentStatus {
    pub const ALL: [Self; 7] = [
        Self::Unpaid,
        Self::Processing,
        Self::Paid,
        Self::Failed,
        Self::Refunded,
        Self::PartiallyRefunded,
        Self::Disputed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpaid => "unpaid",
            Self::Processing => "processing",
            Self::Paid => "paid",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
            Self::PartiallyRefunded => "partially_refunded",
            Self::Disputed => "disputed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The money arrived (whatever happened to it since).
    pub fn was_paid(self) -> bool {
        matches!(
            self,
            Self::Paid | Self::Refunded | Self::PartiallyRefunded | Self::Disputed
        )
    }
}

/// What Stripe says of the PaymentIntent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    /// Waiting for the clinic (no attempt yet, or confirmation pending).
    Open,
    /// The last attempt was declined; a payment method is needed again.
    Declined,
    Processing,
    Succeeded,
    Canceled,
}

/// What Stripe says of a dispute on the charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeState {
    /// An inquiry (`warning_needs_response`, `warning_under_review`): no
    /// money was withdrawn, but it may become a chargeback, so the release
    /// waits.
    Inquiry,
    /// A chargeback under way: the amount was withdrawn.
    Open,
    Won,
    Lost,
    /// Ended without a chargeback (`warning_closed`, `prevented`): no money
    /// moved.
    Closed,
}

impl DisputeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inquiry => "inquiry",
            Self::Open => "open",
            Self::Won => "won",
            Self::Lost => "lost",
            Self::Closed => "closed",
        }
    }

    /// Whether Stripe took the disputed amount from the platform's balance.
    pub fn withdrew(self) -> bool {
        matches!(self, Self::Open | Self::Won | Self::Lost)
    }
}

/// Everything the status is derived from.
#[derive(Debug, Clone, Copy)]
pub struct Observed {
    pub intent: IntentState,
    pub amount: i64,
    pub refunded: i64,
    pub dispute: Option<DisputeState>,
}

/// The status Stripe's objects say the payment is in.
pub fn derive(o: Observed) -> PaymentStatus {
    match o.intent {
        IntentState::Open => PaymentStatus::Unpaid,
        IntentState::Declined | IntentState::Canceled => PaymentStatus::Failed,
        IntentState::Processing => PaymentStatus::Processing,
        IntentState::Succeeded => match o.dispute {
            Some(DisputeState::Inquiry | DisputeState::Open | DisputeState::Lost) => PaymentStatus::Disputed,
            _ if o.refunded >= o.amount && o.amount > 0 => PaymentStatus::Refunded,
            _ if o.refunded > 0 => PaymentStatus::PartiallyRefunded,
            _ => PaymentStatus::Paid,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(intent: IntentState, refunded: i64, dispute: Option<DisputeState>) -> PaymentStatus {
        derive(Observed {
            intent,
            amount: 1000,
            refunded,
            dispute,
        })
    }

    #[test]
    fn derived_from_the_objects() {
        assert_eq!(of(IntentState::Open, 0, None), PaymentStatus::Unpaid);
        assert_eq!(of(IntentState::Declined, 0, None), PaymentStatus::Failed);
        assert_eq!(of(IntentState::Processing, 0, None), PaymentStatus::Processing);
        assert_eq!(of(IntentState::Succeeded, 0, None), PaymentStatus::Paid);
        assert_eq!(of(IntentState::Succeeded, 400, None), PaymentStatus::PartiallyRefunded);
        assert_eq!(of(IntentState::Succeeded, 1000, None), PaymentStatus::Refunded);
        assert_eq!(
            of(IntentState::Succeeded, 0, Some(DisputeState::Open)),
            PaymentStatus::Disputed
        );
        assert_eq!(
            of(IntentState::Succeeded, 0, Some(DisputeState::Won)),
            PaymentStatus::Paid
        );
        assert_eq!(
            of(IntentState::Succeeded, 0, Some(DisputeState::Lost)),
            PaymentStatus::Disputed
        );
        assert_eq!(
            of(IntentState::Succeeded, 0, Some(DisputeState::Inquiry)),
            PaymentStatus::Disputed
        );
        assert_eq!(
            of(IntentState::Succeeded, 0, Some(DisputeState::Closed)),
            PaymentStatus::Paid
        );
    }
}
