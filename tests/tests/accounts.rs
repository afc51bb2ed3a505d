//! Registration, verification, password reset, throttling, organisations,
//! members and invitations, over HTTP (SECURITY.md items 1, 2, 6, 7, 8, 18).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{TestApp, problem, token_in};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn registration(email: &str, password: &str) -> Value {
    json!({
        "email": email, "password": password, "display_name": "Dr Ada Molar",
        "organization": {"name": "Smile Clinic", "kind": "clinic", "country": "de", "region": "eu"}
    })
}

#[tokio::test]
async fn a_clinic_registers_confirms_its_address_and_signs_in_as_owner() {
    let app = TestApp::new().await;
    let email = "ada@smile-clinic.example";
    let pw = "amalgam-carving-tool";
    let r = app.post_json("/api/v1/auth/register", &registration(email, pw)).await;
    assert_eq!(r.status(), 202);

    // Before confirming, sign-in is refused with a clear reason.
    let r = app
        .post_json("/api/v1/auth/login", &json!({"email": email, "password": pw}))
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "email_not_verified");

    let mail = app.mail_to(email, "Confirm your e-mail").await;
    assert!(
        mail.text().contains("/verify-email#token="),
        "the token travels in the fragment"
    );
    let token = token_in(&mail);
    assert_eq!(token.len(), 64);
    let r = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 200);
    // Single use.
    let r = app
        .post_json("/api/v1/auth/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 400);
    let p = problem(r).await;
    assert_eq!(p["code"], "invalid_token");
    assert_eq!(p["errors"][0]["field"], "token");

    let me = app.sign_in(email, pw).await;
    let v: Value = app.get_authed("/api/v1/me", &me.token).await.json().await.unwrap();
    assert_eq!(v["email_verified"], true);
    assert_eq!(v["organizations"][0]["role"], "owner");
    assert_eq!(v["organizations"][0]["kind"], "clinic");
    let org: Value = app
        .get_authed(&format!("/api/v1/organizations/{}", me.org_id), &me.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(org["country"], "DE");
    assert_eq!(org["region"], "eu");
    assert_eq!(org["name"], "Smile Clinic");
}

#[tokio::test]
async fn registering_a_taken_address_reveals_nothing_and_tells_its_owner() {
    let app = TestApp::new().await;
    let email = "ada@smile-clinic.example";
    let first = app
        .post_json("/api/v1/auth/register", &registration(email, "amalgam-carving-tool"))
        .await;
    let first_status = first.status();
    let first_body: Value = first.json().await.unwrap();
    let again = app
        .post_json("/api/v1/auth/register", &registration(email, "a different passphrase"))
        .await;
    assert_eq!(again.status(), first_status);
    assert_eq!(again.json::<Value>().await.unwrap(), first_body, "identical answers");
    app.mail_to(email, "Someone tried to create").await;
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        dentex_db::entities::user::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        dentex_db::entities::organization::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn registration_names_every_bad_field() {
    let app = TestApp::new().await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({
                "email": "not-an-address", "password": "Password1234", "display_name": "",
                "organization": {"name": "X", "kind": "hospital", "country": "XX", "region": "mars"}
            }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    let fields: Vec<(&str, &str)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    for want in [
        ("email", "invalid_email"),
        ("password", "password_too_common"),
        ("display_name", "invalid_length"),
        ("organization.name", "invalid_length"),
        ("organization.kind", "invalid_choice"),
        ("organization.country", "invalid_country"),
        ("organization.region", "invalid_choice"),
    ] {
        assert!(fields.contains(&want), "{want:?} missing from {fields:?}");
    }
    let r = app
        .post_json("/api/v1/auth/register", &registration("a@b.example", "short"))
        .await;
    assert_eq!(problem(r).await["errors"][0]["code"], "password_too_short");
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        dentex_db::entities::user::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn password_reset_answers_alike_and_revokes_every_session() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    let other_session = app.sign_in(&owner.email, &owner.password).await;

    let known = app
        .post_json("/api/v1/auth/password-reset", &json!({"email": owner.email}))
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/password-reset",
            &json!({"email": "nobody@nowhere.example"}),
        )
        .await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(
        known.json::<Value>().await.unwrap(),
        unknown.json::<Value>().await.unwrap()
    );
    let mail = app.mail_to(&owner.email, "Reset your Dentex password").await;
    let token = token_in(&mail);
    assert!(
        !app.smtp
            .received()
            .iter()
            .any(|m| m.rcpt_to.iter().any(|r| r == "nobody@nowhere.example")),
        "no mail to an unknown address"
    );

    // A weak new password is refused and the link still works afterwards.
    let r = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "qwertyuiop123"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(problem(r).await["errors"][0]["field"], "new_password");
    let r = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "zirconia crown shade A2"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(r.status(), 400, "single use");

    for t in [&owner.token, &other_session.token] {
        assert_eq!(
            app.get_authed("/api/v1/me", t).await.status(),
            401,
            "sessions are revoked"
        );
    }
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": owner.email, "password": owner.password}),
        )
        .await;
    assert_eq!(r.status(), 401);
    app.sign_in(&owner.email, "zirconia crown shade A2").await;
    app.mail_to(&owner.email, "password was changed").await;
}

#[tokio::test]
async fn repeated_failures_slow_sign_in_then_let_the_owner_back() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    for _ in 0..5 {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": owner.email, "password": "wrong-guess-123"}),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    // Even the right password waits now.
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": owner.email, "password": owner.password}),
        )
        .await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(problem(r).await["code"], "too_many_attempts");
    tokio::time::sleep(Duration::from_millis(retry * 1000 + 200)).await;
    app.sign_in(&owner.email, &owner.password).await;
    let rows = app.state.audit.list_for_org(None, 100).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.action == "auth.login" && r.outcome == "denied" && r.reason.as_deref() == Some("throttled"))
    );
}

#[tokio::test]
async fn throttling_treats_known_and_unknown_addresses_alike() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    let mut answers = Vec::new();
    for email in [owner.email.as_str(), "nobody@smile-clinic.example"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let r = app
                .post_json(
                    "/api/v1/auth/login",
                    &json!({"email": email, "password": "wrong-guess-123"}),
                )
                .await;
            statuses.push(r.status().as_u16());
        }
        answers.push(statuses);
    }
    assert_eq!(
        answers[0], answers[1],
        "the same sequence for an address with and without an account"
    );
    assert_eq!(answers[0].last(), Some(&429));
}

#[tokio::test]
async fn a_password_reset_lifts_the_wait() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    for _ in 0..6 {
        app.post_json(
            "/api/v1/auth/login",
            &json!({"email": owner.email, "password": "wrong-guess-123"}),
        )
        .await;
    }
    app.post_json("/api/v1/auth/password-reset", &json!({"email": owner.email}))
        .await;
    let token = token_in(&app.mail_to(&owner.email, "Reset your Dentex password").await);
    let r = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "zirconia crown shade A2"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.sign_in(&owner.email, "zirconia crown shade A2").await;
}

#[tokio::test]
async fn strangers_elsewhere_cannot_lock_the_owner_out() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    let acct = dentex_accounts::throttle::account(&owner.email);
    // 200 failures for this account from 200 other addresses.
    for i in 0..200 {
        let keys = dentex_accounts::throttle::keys(Some(&acct), Some(&format!("203.0.113.{i}")));
        dentex_accounts::throttle::record_failure(&app.state.db, &keys)
            .await
            .unwrap();
    }
    // The owner signed in from 127.0.0.1 before (registration's sign-in): that
    // address is proven, so the account-wide block does not apply to it. (It
    // is kept as its keyed pseudonym.)
    let local = app.state.config.pseudonyms().unwrap().client_addr("127.0.0.1");
    let keys = dentex_accounts::throttle::keys(Some(&acct), Some(&local));
    assert_eq!(
        dentex_accounts::throttle::blocked(&app.state.db, &keys).await.unwrap(),
        None
    );
    assert_eq!(
        app.post_json(
            "/api/v1/auth/login",
            &json!({"email": owner.email, "password": owner.password})
        )
        .await
        .status(),
        200
    );
    // A new address is held back by at most a minute.
    let keys = dentex_accounts::throttle::keys(Some(&acct), Some("198.51.100.7"));
    let wait = dentex_accounts::throttle::blocked(&app.state.db, &keys)
        .await
        .unwrap()
        .unwrap();
    assert!(wait <= Duration::from_secs(60), "{wait:?}");
}

async fn status(app: &TestApp, m: Method, path: &str, token: &str, body: Option<Value>) -> u16 {
    app.send(m, path, Some(token), body.as_ref()).await.status().as_u16()
}

#[tokio::test]
async fn owners_invite_members_who_join_and_roles_are_enforced() {
    let app = TestApp::new().await;
    let owner = app.register("owner@lab.example", "dental_lab").await;
    let tech = app.invite_and_join(&owner, "tech@lab.example", "member").await;
    let org = &owner.org_id;
    let v: Value = app.get_authed("/api/v1/me", &tech.token).await.json().await.unwrap();
    assert_eq!(v["organizations"][0]["id"], org.as_str());
    assert_eq!(v["organizations"][0]["role"], "member");

    let members = format!("/api/v1/organizations/{org}/members");
    let list: Value = app.get_authed(&members, &tech.token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // A member may not invite or change roles.
    let inv = format!("/api/v1/organizations/{org}/invitations");
    assert_eq!(
        status(
            &app,
            Method::POST,
            &inv,
            &tech.token,
            Some(json!({"email": "x@lab.example", "role": "member"}))
        )
        .await,
        403
    );
    let owner_path = format!("{members}/{}", owner.user_id);
    assert_eq!(
        status(
            &app,
            Method::PATCH,
            &owner_path,
            &tech.token,
            Some(json!({"role": "member"}))
        )
        .await,
        403
    );

    // Promote to admin; an admin still cannot touch the owner or make owners.
    let tech_path = format!("{members}/{}", tech.user_id);
    assert_eq!(
        status(
            &app,
            Method::PATCH,
            &tech_path,
            &owner.token,
            Some(json!({"role": "admin"}))
        )
        .await,
        200
    );
    assert_eq!(
        status(
            &app,
            Method::PATCH,
            &owner_path,
            &tech.token,
            Some(json!({"role": "member"}))
        )
        .await,
        403
    );
    assert_eq!(
        status(
            &app,
            Method::POST,
            &inv,
            &tech.token,
            Some(json!({"email": "boss@lab.example", "role": "owner"}))
        )
        .await,
        403
    );
    assert_eq!(
        status(
            &app,
            Method::POST,
            &inv,
            &tech.token,
            Some(json!({"email": "new@lab.example", "role": "member"}))
        )
        .await,
        201
    );

    // Inviting a current member is a conflict.
    let r = app
        .send(
            Method::POST,
            &inv,
            Some(&owner.token),
            Some(&json!({"email": "tech@lab.example", "role": "member"})),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "already_member");

    // The last owner can neither leave nor be demoted.
    let r = app.send(Method::DELETE, &owner_path, Some(&owner.token), None).await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "last_owner");
    let r = app
        .send(
            Method::PATCH,
            &owner_path,
            Some(&owner.token),
            Some(&json!({"role": "admin"})),
        )
        .await;
    assert_eq!(problem(r).await["code"], "last_owner");

    // Removal takes effect on the member's very next request.
    assert_eq!(
        app.send(Method::DELETE, &tech_path, Some(&owner.token), None)
            .await
            .status(),
        204
    );
    assert_eq!(app.get_authed(&members, &tech.token).await.status(), 404);
    assert_eq!(
        app.get_authed(&format!("/api/v1/organizations/{org}"), &tech.token)
            .await
            .status(),
        404
    );

    let rows = app
        .state
        .audit
        .list_for_org(Some(org.parse().unwrap()), 100)
        .await
        .unwrap();
    for action in ["member.invite", "member.join", "member.role_change", "member.remove"] {
        assert!(rows.iter().any(|r| r.action == action), "no {action} audit row");
    }
    assert!(app.state.audit.verify().await.unwrap().is_intact());
}

#[tokio::test]
async fn an_invitation_attaches_an_existing_account_and_works_once() {
    let app = TestApp::new().await;
    let clinic = app.register("owner@clinic.example", "clinic").await;
    let lab = app.register("owner@lab.example", "dental_lab").await;
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/organizations/{}/invitations", clinic.org_id),
            Some(&clinic.token),
            Some(&json!({"email": "owner@lab.example", "role": "admin"})),
        )
        .await;
    assert_eq!(r.status(), 201);
    let token = token_in(&app.mail_to("owner@lab.example", "You are invited").await);
    let r = app
        .post_json("/api/v1/invitations/accept", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["account_created"], false);
    assert_eq!(v["user_id"], lab.user_id.as_str());
    let r = app
        .post_json("/api/v1/invitations/accept", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 400);
    let me: Value = app.get_authed("/api/v1/me", &lab.token).await.json().await.unwrap();
    assert_eq!(me["organizations"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_new_invitee_must_choose_a_good_password() {
    let app = TestApp::new().await;
    let owner = app.register("owner@clinic.example", "clinic").await;
    app.send(
        Method::POST,
        &format!("/api/v1/organizations/{}/invitations", owner.org_id),
        Some(&owner.token),
        Some(&json!({"email": "assistant@clinic.example", "role": "member"})),
    )
    .await;
    let token = token_in(&app.mail_to("assistant@clinic.example", "You are invited").await);
    let r = app
        .post_json("/api/v1/invitations/accept", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 422);
    let p = problem(r).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"password") && fields.contains(&"display_name"),
        "{fields:?}"
    );
    // The refused attempt did not spend the invitation.
    let r = app
        .post_json(
            "/api/v1/invitations/accept",
            &json!({"token": token, "password": "impression tray 44", "display_name": "Bo"}),
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn staff_without_mfa_can_do_nothing_but_enrol() {
    let app = TestApp::new().await;
    let clinic = app.register("owner@clinic.example", "clinic").await;
    app.create_staff(
        "support@dentex.example",
        dentex_domain::StaffRole::Support,
        "helpdesk rota 2026 thursday",
    )
    .await;
    let staff = app
        .sign_in("support@dentex.example", "helpdesk rota 2026 thursday")
        .await;
    assert_eq!(app.get_authed("/api/v1/me", &staff.token).await.status(), 200);
    let r = app
        .get_authed(&format!("/api/v1/organizations/{}", clinic.org_id), &staff.token)
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "mfa_enrollment_required");
}

#[tokio::test]
async fn browsers_can_use_a_host_cookie_with_csrf_protection() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": owner.email, "password": owner.password, "session": "cookie"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in [
        "__Host-dentex_session=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token"], "", "no bearer token in cookie mode");
    let csrf = v["csrf_token"].as_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();

    // Safe requests need only the cookie.
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Unsafe ones also need the CSRF token.
    let invite = format!("/api/v1/organizations/{}/invitations", owner.org_id);
    let body = json!({"email": "new@smile-clinic.example", "role": "member"});
    let r = app
        .client
        .post(app.url(&invite))
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "csrf_token_invalid");
    let r = app
        .client
        .post(app.url(&invite))
        .header("cookie", &cookie)
        .header("x-csrf-token", "0".repeat(64))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .client
        .post(app.url(&invite))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Logout revokes the session and clears the cookie.
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": owner.email, "password": owner.password, "session": "jar"}),
        )
        .await;
    assert_eq!(problem(r).await["errors"][0]["field"], "session");
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_even_when_busy() {
    let app = TestApp::builder()
        .config(|c| {
            c.auth.session_absolute_secs = 2;
            c.auth.session_idle_secs = 2;
        })
        .start()
        .await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    for _ in 0..4 {
        assert_eq!(app.get_authed("/api/v1/me", &owner.token).await.status(), 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.get_authed("/api/v1/me", &owner.token).await.status(), 401);
}

#[tokio::test]
async fn account_flows_log_no_addresses_passwords_tokens_or_codes() {
    let app = TestApp::new().await;
    let owner = app.register("planted.owner.5531@clinic.example", "clinic").await;
    let member = app
        .invite_and_join(&owner, "planted.member.5531@clinic.example", "member")
        .await;
    app.post_json("/api/v1/auth/password-reset", &json!({"email": owner.email}))
        .await;
    let reset = token_in(&app.mail_to(&owner.email, "Reset your Dentex password").await);
    app.post_json(
        "/api/v1/auth/password-reset/confirm",
        &json!({"token": reset, "new_password": "planted-newpass-5531"}),
    )
    .await;
    app.post_json(
        "/api/v1/auth/password-reset",
        &json!({"email": "planted.ghost.5531@nowhere.example"}),
    )
    .await;
    let logs = dentex_tests::captured_logs();
    assert!(logs.contains("registered"), "the test must see the server's logs");
    for planted in [
        "planted.owner.5531",
        "planted.member.5531",
        "planted.ghost.5531",
        "planted-newpass-5531",
        owner.password.as_str(),
        member.password.as_str(),
        owner.token.trim_start_matches("dtx_"),
        member.token.trim_start_matches("dtx_"),
        reset.as_str(),
    ] {
        assert!(!logs.contains(planted), "logs contain {planted:?}");
    }
}

#[tokio::test]
async fn staff_accounts_cannot_join_an_organisation() {
    let app = TestApp::new().await;
    let owner = app.register("owner@clinic.example", "clinic").await;
    app.create_staff(
        "support@dentex.example",
        dentex_domain::StaffRole::Support,
        "helpdesk rota 2026 thursday",
    )
    .await;
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/organizations/{}/invitations", owner.org_id),
            Some(&owner.token),
            Some(&json!({"email": "support@dentex.example", "role": "admin"})),
        )
        .await;
    assert_eq!(r.status(), 201, "the inviter learns nothing about the address");
    let token = token_in(&app.mail_to("support@dentex.example", "You are invited").await);
    let r = app
        .post_json("/api/v1/invitations/accept", &json!({"token": token}))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "staff_cannot_join");
}

#[tokio::test]
async fn a_suspended_organisation_loses_access_at_once() {
    let app = TestApp::new().await;
    let owner = app.register("owner@clinic.example", "clinic").await;
    let org = format!("/api/v1/organizations/{}", owner.org_id);
    assert_eq!(app.get_authed(&org, &owner.token).await.status(), 200);
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
    let o = dentex_db::entities::organization::Entity::find_by_id(owner.org_id.parse::<uuid::Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut am = o.into_active_model();
    am.suspended_at = Set(Some(dentex_db::now()));
    am.update(&app.state.db).await.unwrap();
    assert_eq!(app.get_authed(&org, &owner.token).await.status(), 404);
    assert_eq!(
        app.get_authed(&format!("{org}/members"), &owner.token).await.status(),
        404
    );
}

#[tokio::test]
async fn changing_the_password_signs_out_the_other_sessions() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    let other = app.sign_in(&owner.email, &owner.password).await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Some(&owner.token),
            Some(&json!({"current_password": "not it at all", "new_password": "zirconia crown shade A2"})),
        )
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(problem(r).await["errors"][0]["field"], "current_password");
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Some(&owner.token),
            Some(&json!({"current_password": owner.password, "new_password": "password1234"})),
        )
        .await;
    assert_eq!(problem(r).await["errors"][0]["code"], "password_too_common");
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/password",
            Some(&owner.token),
            Some(&json!({"current_password": owner.password, "new_password": "zirconia crown shade A2"})),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.get_authed("/api/v1/me", &owner.token).await.status(),
        200,
        "this session goes on"
    );
    assert_eq!(
        app.get_authed("/api/v1/me", &other.token).await.status(),
        401,
        "others end"
    );
    app.mail_to(&owner.email, "password was changed").await;
    app.sign_in(&owner.email, "zirconia crown shade A2").await;
}

#[tokio::test]
async fn reset_mails_are_capped_per_hour() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    for _ in 0..6 {
        let r = app
            .post_json("/api/v1/auth/password-reset", &json!({"email": owner.email}))
            .await;
        assert_eq!(r.status(), 202);
    }
    let count = |app: &TestApp| {
        app.smtp
            .received()
            .iter()
            .filter(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.contains("Reset your Dentex password"))
            })
            .count()
    };
    for _ in 0..400 {
        if count(&app) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Give any surplus message time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resets = count(&app);
    assert_eq!(resets, 3);
}

#[tokio::test]
async fn already_registered_notices_are_capped_per_hour() {
    let app = TestApp::new().await;
    let email = "ada@smile-clinic.example";
    let first = app
        .post_json("/api/v1/auth/register", &registration(email, "amalgam-carving-tool"))
        .await;
    assert_eq!(first.status(), 202);
    let expected: Value = first.json().await.unwrap();
    // Eight attempts side by side: each answers exactly like a new registration.
    let attempts = (0..8).map(|i| {
        let app = &app;
        async move {
            let r = app
                .post_json(
                    "/api/v1/auth/register",
                    &registration(email, &format!("another passphrase {i}")),
                )
                .await;
            (r.status(), r.json::<Value>().await.unwrap())
        }
    });
    for (status, body) in futures_util::future::join_all(attempts).await {
        assert_eq!(status, 202);
        assert_eq!(body, expected);
    }
    let notices = |app: &TestApp| {
        app.smtp
            .received()
            .iter()
            .filter(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.contains("Someone tried to create"))
            })
            .count()
    };
    for _ in 0..400 {
        if notices(&app) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Give any surplus message time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(notices(&app), 3, "three notices an hour, however many attempts");
}

#[tokio::test]
async fn parallel_wrong_passwords_are_each_counted() {
    let app = TestApp::new().await;
    let owner = app.register("ada@smile-clinic.example", "clinic").await;
    let guesses = (0..50).map(|i| {
        let app = &app;
        let email = owner.email.clone();
        async move {
            app.post_json(
                "/api/v1/auth/login",
                &json!({"email": email, "password": format!("wrong-guess-{i:03}")}),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let wrong = answers.iter().filter(|s| **s == 401).count();
    let throttled = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(wrong + throttled, 50, "{answers:?}");
    assert!(wrong >= 5, "at least the first five are checked: {answers:?}");
    // Every guess that was checked is counted, under every key it falls under.
    use sea_orm::EntityTrait;
    let account = dentex_accounts::throttle::account(&owner.email);
    let local = app.state.config.pseudonyms().unwrap().client_addr("127.0.0.1");
    for key in [format!("acct:{account}"), format!("acct-addr:{account}:{local}")] {
        let row = dentex_db::entities::login_throttle::Entity::find_by_id(key.clone())
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key} has a counter"));
        assert_eq!(row.failures as usize, wrong, "{key}: {answers:?}");
    }
}
