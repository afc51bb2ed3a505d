//! Who may do what with payments, one decision per resource with typed
//! actions. Anyone who is not a side of the order (or a member of the
//! organisation) gets 404 before any of this is asked.
//!
//! - Payouts: owners and admins of a lab onboard and read its account.
//! - An order's payment: owners and admins of the clinic pay; members of
//!   both sides read it and its receipt.
//! - Support (platform staff) refunds and, in manual mode, records status.

use dentex_accounts::Principal;
use dentex_domain::{OrgId, OrgRole};
use dentex_market::policy::Side;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutAction {
    Onboard,
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentAction {
    Pay,
    Read,
}

fn manager(p: &Principal, org: uuid::Uuid) -> bool {
    matches!(p.role_in(OrgId(org)), Some(OrgRole::Owner | OrgRole::Admin))
}

/// `Err` carries the 403's detail.
pub fn decide_payout(p: &Principal, org: uuid::Uuid, is_lab: bool, action: PayoutAction) -> Result<(), &'static str> {
    if !is_lab {
        return Err("Payouts are for labs; a clinic pays through its orders.");
    }
    match action {
        PayoutAction::Onboard | PayoutAction::Read if manager(p, org) => Ok(()),
        _ => Err("Only owners and admins of the lab manage its payouts."),
    }
}

pub fn decide_payment(
    p: &Principal,
    clinic: uuid::Uuid,
    side: Side,
    action: PaymentAction,
) -> Result<(), &'static str> {
    match (action, side) {
        (PaymentAction::Read, _) => Ok(()),
        (PaymentAction::Pay, Side::Clinic) if manager(p, clinic) => Ok(()),
        (PaymentAction::Pay, Side::Clinic) => Err("Only owners and admins of the clinic pay for orders."),
        (PaymentAction::Pay, _) => Err("The clinic pays for its orders."),
    }
}
