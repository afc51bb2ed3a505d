//! Runs the Stripe stand-in on its own, to try the payment flow by hand:
//!
//! ```text
//! cargo run -p dentex-stripe-standin -- --webhook-url http://127.0.0.1:8080/api/v1/webhooks/stripe
//! ```
//!
//! Point Dentex at it with `DENTEX_PAYMENTS__STRIPE_API_BASE=http://127.0.0.1:12111/`,
//! `DENTEX_PAYMENTS__STRIPE_SECRET_KEY=sk_test_standin` and
//! `DENTEX_PAYMENTS__WEBHOOK_SECRET=whsec_standin`; move a payment on with
//! `curl -X POST http://127.0.0.1:12111/_standin/payment_intents/{pi}/succeed`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "A stand-in for the parts of Stripe's API that Dentex calls (not Stripe).")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:12111")]
    addr: String,
    #[arg(long, default_value = "sk_test_standin")]
    secret_key: String,
    /// Where events are delivered (Dentex's `/api/v1/webhooks/stripe`).
    #[arg(long)]
    webhook_url: Option<String>,
    #[arg(long, default_value = "whsec_standin")]
    webhook_secret: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let s = dentex_stripe_standin::StandIn::start(&args.addr, &args.secret_key).await?;
    if let Some(url) = args.webhook_url {
        s.deliver_to(dentex_stripe_standin::Endpoint {
            url,
            secret: args.webhook_secret,
        });
    }
    println!("Stripe stand-in (not Stripe) at {}", s.base);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
