//! Two-step sign-in with TOTP and recovery codes (SECURITY.md items 5 and 6).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp, problem, totp_code};
use reqwest::Method;
use serde_json::{Value, json};

async fn enrol(app: &TestApp, who: &Actor) -> (String, Vec<String>) {
    let r = app
        .send(Method::POST, "/api/v1/auth/mfa/totp", Some(&who.token), None)
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let secret = v["secret"].as_str().unwrap().to_owned();
    assert!(v["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Dentex:"));
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/mfa/totp/confirm",
            Some(&who.token),
            Some(&json!({"code": "000000"})),
        )
        .await;
    // (A one-in-a-million chance that 000000 is the current code.)
    assert_eq!(r.status(), 400);
    assert_eq!(problem(r).await["code"], "invalid_mfa_code");
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/mfa/totp/confirm",
            Some(&who.token),
            Some(&json!({"code": totp_code(&secret, 0)})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let codes: Vec<String> = v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn login(app: &TestApp, who: &Actor, extra: Value) -> reqwest::Response {
    let mut body = json!({"email": who.email, "password": who.password});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post_json("/api/v1/auth/login", &body).await
}

#[tokio::test]
async fn totp_enrolment_then_every_sign_in_needs_a_fresh_code() {
    let app = TestApp::new().await;
    let owner = app.register("ada@clinic.example", "clinic").await;
    let other = app.sign_in(&owner.email, &owner.password).await;
    let (secret, codes) = enrol(&app, &owner).await;

    // Enrolling signs out the other sessions, not this one.
    assert_eq!(app.get_authed("/api/v1/me", &other.token).await.status(), 401);
    let me: Value = app.get_authed("/api/v1/me", &owner.token).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);
    app.mail_to(&owner.email, "Two-step sign-in was turned on").await;

    // Password alone is not enough any more.
    let r = login(&app, &owner, json!({})).await;
    assert_eq!(r.status(), 401);
    assert_eq!(problem(r).await["code"], "mfa_required");
    let r = login(&app, &owner, json!({"totp_code": "123456"})).await;
    assert_eq!(r.status(), 401);
    assert_eq!(problem(r).await["code"], "invalid_mfa_code");

    // The next code works, once.
    let code = totp_code(&secret, 30);
    assert_eq!(login(&app, &owner, json!({"totp_code": code})).await.status(), 200);
    let r = login(&app, &owner, json!({"totp_code": code})).await;
    assert_eq!(r.status(), 401, "a code is accepted once");

    // A recovery code works, once.
    assert_eq!(
        login(&app, &owner, json!({"recovery_code": codes[3].to_uppercase()}))
            .await
            .status(),
        200
    );
    assert_eq!(
        login(&app, &owner, json!({"recovery_code": codes[3]})).await.status(),
        401
    );

    // Nothing secret reaches the audit trail.
    let rows = app.state.audit.list_for_org(None, 200).await.unwrap();
    let all = format!("{rows:?}");
    assert!(!all.contains(&secret) && !all.contains(&codes[3]) && !all.contains(&code));
    assert!(
        rows.iter()
            .any(|r| r.action == "auth.mfa_enable" && r.outcome == "success")
    );
    assert!(rows.iter().any(|r| r.reason.as_deref() == Some("recovery code used")));
}

#[tokio::test]
async fn turning_mfa_off_needs_a_fresh_code_and_signs_out_elsewhere() {
    let app = TestApp::new().await;
    let owner = app.register("ada@clinic.example", "clinic").await;
    let (secret, codes) = enrol(&app, &owner).await;
    // A second session, opened with a recovery code (which leaves the TOTP step alone).
    let r = login(&app, &owner, json!({"recovery_code": codes[0]})).await;
    assert_eq!(r.status(), 200);
    let second = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();

    let r = app
        .send(
            Method::DELETE,
            "/api/v1/auth/mfa/totp",
            Some(&owner.token),
            Some(&json!({"code": "999999"})),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(problem(r).await["code"], "invalid_mfa_code");
    // The code that confirmed enrolment cannot be replayed here.
    let r = app
        .send(
            Method::DELETE,
            "/api/v1/auth/mfa/totp",
            Some(&owner.token),
            Some(&json!({"code": totp_code(&secret, 0)})),
        )
        .await;
    assert_eq!(r.status(), 400, "replayed code");
    let r = app
        .send(
            Method::DELETE,
            "/api/v1/auth/mfa/totp",
            Some(&owner.token),
            Some(&json!({"code": totp_code(&secret, 30)})),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.get_authed("/api/v1/me", &second).await.status(),
        401,
        "other sessions end"
    );
    let me: Value = app.get_authed("/api/v1/me", &owner.token).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], false);
    app.mail_to(&owner.email, "Two-step sign-in was turned off").await;
    assert_eq!(
        login(&app, &owner, json!({})).await.status(),
        200,
        "a password alone suffices again"
    );
    // The recovery codes died with it.
    let r = app
        .send(
            Method::DELETE,
            "/api/v1/auth/mfa/totp",
            Some(&owner.token),
            Some(&json!({"code": "123456"})),
        )
        .await;
    assert_eq!(problem(r).await["code"], "mfa_not_enabled");
}

#[tokio::test]
async fn staff_must_enrol_then_always_use_two_steps() {
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
    let org = format!("/api/v1/organizations/{}", clinic.org_id);
    let r = app.get_authed(&org, &staff.token).await;
    assert_eq!(problem(r).await["code"], "mfa_enrollment_required");

    let (secret, _) = enrol(&app, &staff).await;
    // The password-only session that enrolled stays enrol-only: support work
    // needs a sign-in with a code.
    let r = app.get_authed(&org, &staff.token).await;
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "mfa_enrollment_required");
    let r = app.get_authed("/api/v1/support/credentials", &staff.token).await;
    assert_eq!(
        r.status(),
        403,
        "the support queue stays closed to the enrolling session"
    );
    let staff = app
        .sign_in_with(
            &staff.email,
            &staff.password,
            json!({"totp_code": totp_code(&secret, 30)}),
        )
        .await;
    assert_eq!(
        app.get_authed(&org, &staff.token).await.status(),
        200,
        "metadata is readable in a session opened with a code"
    );
    assert_eq!(
        app.get_authed("/api/v1/support/credentials", &staff.token)
            .await
            .status(),
        200
    );
    // Staff cannot turn it off.
    let r = app
        .send(
            Method::DELETE,
            "/api/v1/auth/mfa/totp",
            Some(&staff.token),
            Some(&json!({"code": totp_code(&secret, 30)})),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(problem(r).await["code"], "mfa_required_for_staff");
    // And a password alone no longer signs them in.
    let r = login(&app, &staff, json!({})).await;
    assert_eq!(problem(r).await["code"], "mfa_required");
    // Staff never change members, even with MFA.
    let r = app
        .send(
            Method::POST,
            &format!("{org}/invitations"),
            Some(&staff.token),
            Some(&json!({"email": "x@clinic.example", "role": "member"})),
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn enrolment_cannot_be_confirmed_twice_or_restarted_while_on() {
    let app = TestApp::new().await;
    let owner = app.register("ada@clinic.example", "clinic").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/auth/mfa/totp/confirm",
            Some(&owner.token),
            Some(&json!({"code": "123456"})),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "mfa_not_enrolling");
    enrol(&app, &owner).await;
    let r = app
        .send(Method::POST, "/api/v1/auth/mfa/totp", Some(&owner.token), None)
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(problem(r).await["code"], "mfa_already_enabled");
}

/// TOTP secrets at rest (issue #17): sealed with AES-256-GCM under the
/// configured key, its id beside the value; a secret sealed under the
/// previous key, or stored before sealing, still signs in; the rotation
/// (`dentex admin rotate-mfa-key` runs `reseal_all`) reseals them under
/// the current key.
#[tokio::test]
async fn totp_secrets_are_sealed_at_rest_and_survive_a_key_rotation() {
    use dentex_accounts::mfa_keys::{Column, MfaKeys, generate, parse_pair};
    use dentex_db::entities::user;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let (old, new) = (generate("k1"), generate("k2"));
    let app = TestApp::builder()
        .config({
            let (old, new) = (old.clone(), new.clone());
            move |c| {
                c.auth.mfa_key = Some(new.into());
                c.auth.mfa_previous_keys = vec![old.into()];
            }
        })
        .start()
        .await;
    let owner = app.register("ada@clinic.example", "clinic").await;
    let (secret, _) = enrol(&app, &owner).await;
    let id = uuid::Uuid::parse_str(&owner.user_id).unwrap();
    let db = app.state.db.clone();
    let stored = || async { user::Entity::find_by_id(id).one(&db).await.unwrap().unwrap() };
    let row = stored().await;
    let sealed = row.mfa_secret.clone().unwrap();
    assert!(sealed.starts_with("enc1:k2:"), "{sealed}");
    assert!(
        !sealed.contains(&secret),
        "the secret is not readable from the database"
    );
    let keys = |current: &str, previous: &[&str]| {
        let (i, k) = parse_pair(current).unwrap();
        let prev: Vec<_> = previous.iter().map(|p| parse_pair(p).unwrap()).collect();
        MfaKeys::new((&i, &k), &prev).unwrap()
    };
    let set_stored = |value: String| {
        let (row, db) = (row.clone(), db.clone());
        async move {
            let mut am: user::ActiveModel = row.into();
            am.mfa_secret = Set(Some(value));
            // The current code may be used again by the next sign-in.
            am.mfa_last_step = Set(None);
            am.update(&db).await.unwrap();
        }
    };
    // Sealed before the rotation (under k1), and stored before sealing: both sign in.
    set_stored(keys(&old, &[]).seal(id, Column::Secret, &secret)).await;
    let r = login(&app, &owner, json!({"totp_code": totp_code(&secret, 0)})).await;
    assert_eq!(r.status(), 200, "the previous key opens it");
    set_stored(secret.clone()).await;
    let r = login(&app, &owner, json!({"totp_code": totp_code(&secret, 0)})).await;
    assert_eq!(r.status(), 200, "a secret from before sealing opens as itself");
    // The rotation reseals it under k2; a second run has nothing to do.
    let current = keys(&new, &[&old]);
    let mut seen = Vec::new();
    let done = dentex_accounts::service::mfa::reseal_all(&app.state.db, &current, |i, n| seen.push((i, n)))
        .await
        .unwrap();
    assert_eq!((done.total, done.resealed), (1, 1));
    assert_eq!(seen.last(), Some(&(1, 1)), "progress is told");
    let now = stored().await.mfa_secret.unwrap();
    assert!(now.starts_with("enc1:k2:") && !now.contains(&secret), "{now}");
    let again = dentex_accounts::service::mfa::reseal_all(&app.state.db, &current, |_, _| {})
        .await
        .unwrap();
    assert_eq!((again.resealed, again.current), (0, 1));
    set_stored(now).await;
    let r = login(&app, &owner, json!({"totp_code": totp_code(&secret, 0)})).await;
    assert_eq!(r.status(), 200);
}
