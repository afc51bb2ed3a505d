//! Money as Stripe takes it: integer minor units per ISO 4217, the
//! platform's fee, and the currencies Stripe treats specially.
//!
//! - Zero-decimal currencies (JPY, KRW here): the amount is in whole units;
//!   5000 JPY is sent as `5000`. Every other currency of the market has two
//!   decimals and is sent in cents (`amount_minor` as stored).
//! - HUF: Stripe charges it with two decimals (fillér, as stored) but pays
//!   it out only in whole forints, so what a lab is transferred is rounded
//!   down to a multiple of 100 (the remainder stays with the fee).

/// ISO 4217 minor-unit exponent of a market currency.
pub fn exponent(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "JPY" | "KRW" => 0,
        _ => 2,
    }
}

/// The amount as Stripe's API takes it (the stored minor units: the
/// exponents of the market's currencies are Stripe's).
pub fn to_stripe(amount_minor: i64, _currency: &str) -> i64 {
    amount_minor
}

/// Stripe's currency code (lower case).
pub fn stripe_currency(currency: &str) -> stripe_types::Currency {
    let lower = currency.to_ascii_lowercase();
    match lower.parse::<stripe_types::Currency>() {
        Ok(c) => c,
        Err(never) => match never {},
    }
}

/// The platform's fee on `amount`: `bps` basis points, at least `min`,
/// never more than the amount; for HUF raised so that what the lab gets is
/// whole forints.
pub fn fee(amount: i64, currency: &str, bps: u32, min: i64) -> i64 {
    let share = (i128::from(amount) * i128::from(bps) / 10_000) as i64;
    let mut fee = share.max(min).min(amount).max(0);
    if currency.eq_ignore_ascii_case("HUF") {
        let payout = (amount - fee) / 100 * 100;
        fee = amount - payout;
    }
    fee
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_currency() {
        // Two decimals: 125.00 EUR at 5 %, at least 0.50.
        assert_eq!(fee(12_500, "EUR", 500, 50), 625);
        assert_eq!(fee(500, "EUR", 500, 50), 50);
        // Zero decimals: 5000 JPY is 5000, its fee 250 yen.
        assert_eq!(exponent("JPY"), 0);
        assert_eq!(to_stripe(5000, "JPY"), 5000);
        assert_eq!(fee(5000, "JPY", 500, 50), 250);
        assert_eq!(fee(30_000, "KRW", 500, 50), 1500);
        // HUF: 12 345.67 Ft at 5 % is 617.28; the lab gets whole forints.
        assert_eq!(exponent("HUF"), 2);
        let f = fee(1_234_567, "HUF", 500, 50);
        assert_eq!((1_234_567 - f) % 100, 0);
        assert_eq!(f, 61_767);
        // Never more than the price.
        assert_eq!(fee(30, "EUR", 500, 50), 30);
        assert_eq!(stripe_currency("EUR"), stripe_types::Currency::EUR);
    }
}
