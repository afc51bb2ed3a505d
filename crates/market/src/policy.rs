//! Who may do what to a quote or an order: the decision every market route
//! asks for, with typed actions ([`QuoteAction`], [`OrderAction`]) and one
//! function per resource ([`decide_quote`], [`decide_order`]).
//!
//! - Who sees a quote: the clinic of its case, and the lab that made it
//!   while that lab may still see the case ([`quote_viewer`]); who sees an
//!   order: the members of its clinic and of its lab ([`side_of`]). Anyone
//!   else: 404.
//! - Labs quote (owners and admins of the lab that quotes); only the lab
//!   that made a quote revises or withdraws it; owners and admins of the
//!   clinic accept.
//! - An order moves as `dentex_domain::market::check_move` allows the
//!   actor's side; cancelling is for owners and admins of that side; the
//!   clinic's owners and admins ask for remakes.

use dentex_accounts::Principal;
use dentex_cases::access;
pub use dentex_cases::access::Viewer;
use dentex_domain::market::{OrderStatus, TransitionError, check_move};
use dentex_domain::{OrgId, OrgRole};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::store::{Case, Order, Quote};

/// The side of an order someone acts for (the domain's order actor).
pub use dentex_domain::market::Actor as Side;

/// What a caller does on a case's quotes, or to a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteAction {
    /// Quote on a case, for the lab the viewer is.
    Create,
    List,
    /// One quote: the clinic of its case, or the lab that made it.
    Read,
    Revise,
    Withdraw,
    Accept,
}

/// What a caller does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    Read,
    Transition { from: OrderStatus, to: OrderStatus },
    Remake,
}

/// Why a caller who sees the resource may not do the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 403, audited as `access.refused` in the clinic's chain.
    Forbidden(&'static str),
    /// The order cannot make this move, or not by this side (409).
    Move { error: TransitionError, side: Side },
}

fn manager(p: &Principal, org: Uuid, refused: &'static str) -> Result<(), Refusal> {
    match p.role_in(OrgId(org)) {
        Some(OrgRole::Owner | OrgRole::Admin) => Ok(()),
        _ => Err(Refusal::Forbidden(refused)),
    }
}

/// Whether `p`, who sees the case (or the quote) as `viewer`, may do
/// `action`. For [`QuoteAction::Create`] the viewer is the lab that quotes.
pub fn decide_quote(p: &Principal, viewer: Viewer, action: QuoteAction) -> Result<(), Refusal> {
    match (action, viewer) {
        // Break-glass reads the case and its files, not the market.
        (_, Viewer::Support { .. }) => Err(Refusal::Forbidden("Break-glass reads the case only.")),
        (QuoteAction::List | QuoteAction::Read, _) => Ok(()),
        (QuoteAction::Create, Viewer::Lab { org }) => manager(p, org, "Only owners and admins of a lab quote."),
        (QuoteAction::Create, Viewer::Clinic { .. }) => Err(Refusal::Forbidden("Labs quote; the clinic accepts.")),
        (QuoteAction::Revise | QuoteAction::Withdraw, Viewer::Lab { org }) => {
            manager(p, org, "Only owners and admins of the lab that made a quote change it.")
        }
        (QuoteAction::Revise | QuoteAction::Withdraw, Viewer::Clinic { .. }) => {
            Err(Refusal::Forbidden("Only the lab that made a quote changes it."))
        }
        (QuoteAction::Accept, Viewer::Clinic { org, .. }) => {
            manager(p, org, "Only owners and admins of the clinic accept quotes.")
        }
        (QuoteAction::Accept, Viewer::Lab { .. }) => Err(Refusal::Forbidden("Only the clinic accepts a quote.")),
    }
}

/// Whether `p`, on `side` of order `o`, may do `action`.
pub fn decide_order(p: &Principal, o: &Order, side: Side, action: OrderAction) -> Result<(), Refusal> {
    match action {
        OrderAction::Read => Ok(()),
        OrderAction::Transition { from, to } => {
            check_move(from, to, side).map_err(|error| Refusal::Move { error, side })?;
            if to == OrderStatus::Canceled {
                let org = if side == Side::Clinic {
                    o.clinic_org_id
                } else {
                    o.lab_org_id
                };
                manager(p, org, "Only owners and admins cancel an order.")?;
            }
            Ok(())
        }
        OrderAction::Remake if side == Side::Clinic => manager(
            p,
            o.clinic_org_id,
            "Only owners and admins of the clinic ask for remakes.",
        ),
        OrderAction::Remake => Err(Refusal::Forbidden("The clinic asks for a remake.")),
    }
}

/// How `p` sees quote `q` on case `c`: the clinic, or the lab that made the
/// quote (acting for that lab, whichever other labs the user is in).
pub async fn quote_viewer<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    q: &Quote,
    c: &Case,
    today: chrono::NaiveDate,
) -> Result<Option<Viewer>, DbErr> {
    match access::viewer(db, p, c, today).await? {
        Some(v) if v.is_clinic() || v.org() == q.lab_org_id => Ok(Some(v)),
        _ => access::viewer_for(db, p, c, today, Some(q.lab_org_id)).await,
    }
}

/// The side of order `o` that `p` is on, if any: the clinic first.
pub fn side_of(p: &Principal, o: &Order) -> Option<Side> {
    if p.role_in(OrgId(o.clinic_org_id)).is_some() {
        Some(Side::Clinic)
    } else if p.role_in(OrgId(o.lab_org_id)).is_some() {
        Some(Side::Lab)
    } else {
        None
    }
}

/// How an order's rows and mails name a side.
pub fn side_name(s: Side) -> &'static str {
    match s {
        Side::Clinic => "clinic",
        Side::Lab => "lab",
        Side::Support => "support",
        Side::Payment => "payment",
    }
}

impl QuoteAction {
    /// How the audit trail names it.
    pub fn label(self) -> &'static str {
        match self {
            QuoteAction::Create => "quote.create",
            QuoteAction::List => "quote.list",
            QuoteAction::Read => "quote.read",
            QuoteAction::Revise => "quote.revise",
            QuoteAction::Withdraw => "quote.withdraw",
            QuoteAction::Accept => "quote.accept",
        }
    }
}

impl OrderAction {
    /// How the audit trail names it.
    pub fn label(self) -> &'static str {
        match self {
            OrderAction::Read => "order.read",
            OrderAction::Transition { .. } => "order.transition",
            OrderAction::Remake => "order.remake",
        }
    }
}
