//! The routes a client reached for and could not find (issue #14): an
//! organization's open invitations, listed and revoked; a new verification
//! mail; one quote; and paging on the lists that had none.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::setup::market::Market;
use dentex_tests::{TestApp, token_in};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

#[tokio::test]
async fn open_invitations_are_listed_and_a_revoked_one_no_longer_works() {
    let app = TestApp::new().await;
    let owner = app.register("owner@clinic.test", "clinic").await;
    let org = &owner.org_id;
    let invitations = format!("/api/v1/organizations/{org}/invitations");
    let r = app
        .send(
            Method::POST,
            &invitations,
            Some(&owner.token),
            Some(&json!({"email": "late@clinic.test", "role": "member"})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let invited = json_of(r).await;
    assert_eq!(location, format!("{invitations}/{}", invited["id"].as_str().unwrap()));
    let token = token_in(&app.mail_to("late@clinic.test", "invited").await);

    let one = json_of(app.get_authed(&location, &owner.token).await).await;
    assert_eq!(one["email"], "late@clinic.test", "Location names the invitation: {one}");
    let list = json_of(app.get_authed(&invitations, &owner.token).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["email"], "late@clinic.test");
    assert_eq!(list["items"][0]["role"], "member");
    assert!(list["next_cursor"].is_null());

    let r = app.send(Method::DELETE, &location, Some(&owner.token), None).await;
    assert_eq!(r.status(), 204);
    let list = json_of(app.get_authed(&invitations, &owner.token).await).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
    let r = app
        .post_json(
            "/api/v1/invitations/accept",
            &json!({"token": token, "password": "a long enough passphrase", "display_name": "Late"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(json_of(r).await["code"], "invalid_token");
    app.stop().await;
}

#[tokio::test]
async fn a_new_verification_mail_answers_alike_and_replaces_the_old_link() {
    let app = TestApp::new().await;
    let body = json!({
        "email": "slow@clinic.test", "password": "a long enough passphrase", "display_name": "Dr Slow",
        "organization": {"name": "Slow Clinic", "kind": "clinic", "country": "DE", "region": "eu"}
    });
    assert_eq!(app.post_json("/api/v1/auth/register", &body).await.status(), 202);
    let first = token_in(&app.mail_to("slow@clinic.test", "Confirm your e-mail").await);
    let known = resend(&app, "slow@clinic.test").await;
    let unknown = resend(&app, "nobody@nowhere.test").await;
    assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (202, 202));
    assert_eq!(json_of(known).await, json_of(unknown).await);
    // A malformed address cannot be anyone's: refused, naming the field.
    let r = resend_bad(&app).await;
    assert_eq!(r["errors"][0]["field"], "email");
    for _ in 0..400 {
        if app
            .smtp
            .received()
            .iter()
            .filter(|m| m.rcpt_to.iter().any(|t| t == "slow@clinic.test"))
            .count()
            >= 2
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let second = token_in(&app.mail_to("slow@clinic.test", "Confirm your e-mail").await);
    assert_ne!(first, second);
    let r = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": first}))
        .await;
    assert_eq!(r.status(), 400, "the older link stopped working");
    let r = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": second}))
        .await;
    assert_eq!(r.status(), 200);
    // Confirmed now: a further request answers alike and sends nothing
    // (its audit row says why, written before the answer).
    assert_eq!(resend(&app, "slow@clinic.test").await.status(), 202);
    assert_eq!(
        resend_reasons(&app).await.last().map(String::as_str),
        Some("already verified")
    );

    // At most three verification mails an hour: the registration's and two more.
    let other = json!({
        "email": "hasty@clinic.test", "password": "a long enough passphrase", "display_name": "Dr Hasty",
        "organization": {"name": "Hasty Clinic", "kind": "clinic", "country": "DE", "region": "eu"}
    });
    assert_eq!(app.post_json("/api/v1/auth/register", &other).await.status(), 202);
    for _ in 0..4 {
        assert_eq!(resend(&app, "hasty@clinic.test").await.status(), 202);
    }
    let reasons = resend_reasons(&app).await;
    assert_eq!(
        reasons[reasons.len() - 4..],
        ["", "", "hourly limit reached", "hourly limit reached"].map(String::from),
        "{reasons:?}"
    );
    app.stop().await;
}

/// The reasons of the resend audit rows, oldest first ("" for a mail sent).
async fn resend_reasons(app: &TestApp) -> Vec<String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    dentex_db::entities::audit_event::Entity::find()
        .filter(dentex_db::entities::audit_event::Column::Action.eq("auth.verification_resend"))
        .order_by_asc(dentex_db::entities::audit_event::Column::OccurredAt)
        .order_by_asc(dentex_db::entities::audit_event::Column::Seq)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.reason.unwrap_or_default())
        .collect()
}

async fn resend(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/verify-email/resend", &json!({ "email": email }))
        .await
}

async fn resend_bad(app: &TestApp) -> Value {
    let r = app
        .post_json("/api/v1/auth/verify-email/resend", &json!({"email": "no-at-sign"}))
        .await;
    assert_eq!(r.status(), 422);
    json_of(r).await
}

#[tokio::test]
async fn one_quote_reads_alone_and_lists_page_with_a_cursor() {
    let m = Market::new().await;
    let q = m.three_quotes().await;
    let app = &m.app;
    let one = json_of(
        app.get_authed(&format!("/api/v1/quotes/{}", q.qa), &m.clinic.token)
            .await,
    )
    .await;
    assert_eq!(one["id"], q.qa.as_str());
    assert_eq!(
        app.get_authed(&format!("/api/v1/quotes/{}", q.qa), &m.b.token)
            .await
            .status(),
        404
    );
    // Two at a time: a cursor, then the rest, then nothing more.
    let quotes = format!("/api/v1/cases/{}/quotes", m.case);
    let first = json_of(app.get_authed(&format!("{quotes}?limit=2"), &m.clinic.token).await).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a next page").to_owned();
    let rest = json_of(
        app.get_authed(&format!("{quotes}?limit=2&cursor={cursor}"), &m.clinic.token)
            .await,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let mut ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    // The labs list pages too, and names an unknown service.
    let labs = json_of(app.get_authed("/api/v1/labs?limit=2", &m.clinic.token).await).await;
    assert_eq!(labs["items"].as_array().unwrap().len(), 2);
    assert!(labs["next_cursor"].is_string(), "{labs}");
    let r = app.get_authed("/api/v1/labs?service=nonsense", &m.clinic.token).await;
    assert_eq!(r.status(), 422);
    let v = json_of(r).await;
    assert_eq!(v["errors"][0]["field"], "service");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("model"), "{v}");
    // The same for every filter of a list: 422 naming it and its words.
    for (list, who) in [
        ("/api/v1/cases", &m.clinic),
        ("/api/v1/orders", &m.clinic),
        ("/api/v1/support/credentials", &m.staff),
    ] {
        let r = app.get_authed(&format!("{list}?status=nonsense"), &who.token).await;
        assert_eq!(r.status(), 422, "{list}");
        let v = json_of(r).await;
        assert_eq!(
            (v["errors"][0]["field"].as_str(), v["errors"][0]["code"].as_str()),
            (Some("status"), Some("unknown_value")),
            "{list}: {v}"
        );
    }
    // Every list refuses a limit out of range alike (the support queue
    // used to clamp it).
    let lists = [
        ("/api/v1/cases", &m.clinic),
        ("/api/v1/orders", &m.clinic),
        ("/api/v1/labs", &m.clinic),
        (quotes.as_str(), &m.clinic),
        ("/api/v1/support/credentials", &m.staff),
    ];
    for (list, who) in lists {
        for limit in ["9223372036854775808", "201", "0"] {
            let r = app.get_authed(&format!("{list}?limit={limit}"), &who.token).await;
            assert_eq!(r.status(), 400, "{list}?limit={limit}");
            assert_eq!(json_of(r).await["code"], "invalid_query");
        }
    }
    m.app.stop().await;
}
