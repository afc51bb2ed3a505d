//! Sign-in, sessions and their audit trail (SECURITY.md items 6, 7, 8 in part, 18, 20).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_domain::StaffRole;
use dentex_tests::{TestApp, captured_logs, problem};
use serde_json::{Value, json};

const PASSWORD: &str = "orthodontic-bracket-42";

#[tokio::test]
async fn staff_log_in_and_their_session_works_until_logout() {
    let app = TestApp::new().await;
    let id = app
        .create_staff("Support.Lead@Dentex.example", StaffRole::Support, PASSWORD)
        .await;
    // Addresses match whatever their case.
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "support.lead@dentex.EXAMPLE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    // 256 random bits, hex, behind a recognisable prefix.
    assert!(token.starts_with("dtx_") && token.len() == 4 + 64, "{token}");
    assert_eq!(v["user"]["id"], id.to_string());
    assert_eq!(v["user"]["staff_role"], "support");

    let me: Value = app.get_authed("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["id"], id.to_string());

    // That password-only session was the one allowed for enrolment: a second
    // password-only sign-in gets no session at all.
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "support.lead@dentex.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "mfa_enrollment_required");

    // Logout revokes the session on the server.
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app.get_authed("/api/v1/me", &token).await;
    assert_eq!(r.status(), 401);
    assert_eq!(problem(r).await["code"], "unauthenticated");
}

#[tokio::test]
async fn a_second_session_gets_a_new_token_and_logout_ends_only_its_own() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    let second = app.sign_in(&owner.email, &owner.password).await;
    assert_ne!(owner.token, second.token);
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get_authed("/api/v1/me", &owner.token).await.status(), 401);
    assert_eq!(app.get_authed("/api/v1/me", &second.token).await.status(), 200);
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    let app = TestApp::new().await;
    app.create_staff("ops@dentex.example", StaffRole::PlatformAdmin, PASSWORD)
        .await;
    let token = app.login("ops@dentex.example", PASSWORD).await;
    use sea_orm::EntityTrait;
    let rows = dentex_db::entities::session::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].token_hash, token);
    assert!(!rows[0].token_hash.contains(&token[4..]));
    assert_eq!(rows[0].token_hash, dentex_accounts::sessions::token_hash(&token));
}

#[tokio::test]
async fn wrong_password_and_unknown_address_get_the_same_answer() {
    let app = TestApp::new().await;
    app.create_staff("ops@dentex.example", StaffRole::Support, PASSWORD)
        .await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "ops@dentex.example", "password": "not-the-password"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "nobody@dentex.example", "password": "not-the-password"}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let a = problem(wrong).await;
    let b = problem(unknown).await;
    assert_eq!(a, b, "the two refusals must be indistinguishable");
    assert_eq!(a["code"], "invalid_credentials");
}

#[tokio::test]
async fn missing_malformed_and_forged_tokens_are_refused() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/me").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(problem(r).await["code"], "unauthenticated");
    for bad in ["garbage", "dtx_", &format!("dtx_{}", "0".repeat(64))] {
        let r = app.get_authed("/api/v1/me", bad).await;
        assert_eq!(r.status(), 401, "{bad}");
    }
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = TestApp::builder()
        .config(|c| {
            c.auth.session_idle_secs = 1;
            c.auth.session_absolute_secs = 3600;
        })
        .start()
        .await;
    app.create_staff("ops@dentex.example", StaffRole::Support, PASSWORD)
        .await;
    let token = app.login("ops@dentex.example", PASSWORD).await;
    assert_eq!(app.get_authed("/api/v1/me", &token).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(app.get_authed("/api/v1/me", &token).await.status(), 401);
}

#[tokio::test]
async fn a_deleted_account_loses_access_on_its_next_request() {
    let app = TestApp::new().await;
    let id = app
        .create_staff("ops@dentex.example", StaffRole::Support, PASSWORD)
        .await;
    let token = app.login("ops@dentex.example", PASSWORD).await;
    use sea_orm::EntityTrait;
    dentex_db::entities::user::Entity::delete_by_id(id.0)
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(app.get_authed("/api/v1/me", &token).await.status(), 401);
}

#[tokio::test]
async fn every_login_attempt_is_audited_without_secrets() {
    let app = TestApp::new().await;
    let id = app
        .create_staff("ops@dentex.example", StaffRole::Support, PASSWORD)
        .await;
    app.post_json(
        "/api/v1/auth/login",
        &json!({"email": "ops@dentex.example", "password": "wrong-password-1"}),
    )
    .await;
    app.post_json(
        "/api/v1/auth/login",
        &json!({"email": "ghost@dentex.example", "password": "wrong-password-2"}),
    )
    .await;
    let token = app.login("ops@dentex.example", PASSWORD).await;
    let rows = app.state.audit.list_for_org(None, 100).await.unwrap();
    let logins: Vec<_> = rows.iter().filter(|r| r.action == "auth.login").collect();
    assert_eq!(logins.len(), 3);
    let outcomes: Vec<&str> = logins.iter().rev().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["failure", "failure", "success"]);
    let ok = logins.iter().find(|r| r.outcome == "success").unwrap();
    assert_eq!(ok.actor_id, Some(id.0));
    assert_eq!(ok.actor_kind, "staff");
    // The client address is kept as its keyed pseudonym, never as it is.
    let local = app.state.config.pseudonyms().unwrap().client_addr("127.0.0.1");
    assert!(ok.request_id.is_some() && ok.client_addr.as_deref() == Some(local.as_str()));
    // No address, password or token in any audit row.
    let all = format!("{rows:?}");
    for secret in [
        "ops@dentex.example",
        "ghost@dentex.example",
        PASSWORD,
        "wrong-password",
        &token[4..],
    ] {
        assert!(!all.contains(secret), "audit rows contain {secret:?}");
    }
    assert!(app.state.audit.verify().await.unwrap().is_intact());
}

#[tokio::test]
async fn logs_never_contain_addresses_passwords_or_tokens() {
    let app = TestApp::new().await;
    let email = "planted.marker.7731@dentex.example";
    let password = "planted-password-7731";
    app.create_staff(email, StaffRole::Support, password).await;
    app.post_json(
        "/api/v1/auth/login",
        &json!({"email": email, "password": "planted-wrong-7731"}),
    )
    .await;
    let token = app.login(email, password).await;
    app.get_authed("/api/v1/me", &token).await;
    app.client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let logs = captured_logs();
    assert!(logs.contains("login succeeded"), "the test must see the server's logs");
    for planted in ["planted.marker.7731", password, "planted-wrong-7731", &token[4..]] {
        assert!(!logs.contains(planted), "logs contain {planted:?}");
    }
}
