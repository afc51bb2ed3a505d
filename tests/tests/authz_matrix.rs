//! Every route of the accounts slice × every role × own/foreign organisation
//! (SECURITY.md item 1): a foreign or unknown organisation is 404, never a
//! hint; a role too weak is 403; no session is 401.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::{Actor, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
enum Who {
    Owner,
    Admin,
    Member,
    ForeignOwner,
    Anonymous,
    /// Platform support staff with two-step sign-in on.
    Support,
}

struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    /// A raw (non-JSON) body instead.
    raw: Option<Vec<u8>>,
    /// Expected status for Owner, Admin, Member, ForeignOwner, Anonymous, Support.
    want: [u16; 6],
}

#[tokio::test]
async fn every_route_every_role_own_and_foreign() {
    let app = TestApp::new().await;
    let owner = app.register("owner@clinic.example", "clinic").await;
    let admin = app.invite_and_join(&owner, "admin@clinic.example", "admin").await;
    let member = app.invite_and_join(&owner, "member@clinic.example", "member").await;
    let d1 = app.invite_and_join(&owner, "d1@clinic.example", "member").await;
    let d2 = app.invite_and_join(&owner, "d2@clinic.example", "member").await;
    let d3 = app.invite_and_join(&owner, "d3@clinic.example", "member").await;
    let foreign = app.register("owner@lab.example", "dental_lab").await;
    let support = app.support_agent("support@dentex.example").await;
    let org = &owner.org_id;
    let unknown = uuid::Uuid::now_v7();

    let mut n = 0;
    let mut invite = || {
        n += 1;
        Some(json!({"email": format!("new{n}@clinic.example"), "role": "member"}))
    };
    // A pending credential with a document, for the credential routes.
    let expires = (chrono::Utc::now().date_naive() + chrono::Duration::days(365))
        .format("%Y-%m-%d")
        .to_string();
    let cred_body = json!({"kind": "dental_license", "number": "1", "issuing_authority": "Chamber", "country": "DE", "expires_on": expires});
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/organizations/{org}/credentials"),
            Some(&owner.token),
            Some(&cred_body),
        )
        .await;
    let cred = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let pdf = b"%PDF-1.4 scanned".to_vec();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/organizations/{org}/credentials/{cred}/document")))
        .bearer_auth(&owner.token)
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rows = vec![
        Row {
            method: Method::GET,
            path: "/api/v1/me".into(),
            body: None,
            raw: None,
            want: [200, 200, 200, 200, 401, 200],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{org}"),
            body: None,
            raw: None,
            want: [200, 200, 200, 404, 401, 200],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{unknown}"),
            body: None,
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::GET,
            path: "/api/v1/organizations/not-a-uuid".into(),
            body: None,
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{org}/members"),
            body: None,
            raw: None,
            want: [200, 200, 200, 404, 401, 200],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{unknown}/members"),
            body: None,
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::POST,
            path: format!("/api/v1/organizations/{org}/invitations"),
            body: invite(),
            raw: None,
            want: [201, 201, 403, 404, 401, 403],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{org}/invitations"),
            body: None,
            raw: None,
            want: [200, 200, 403, 404, 401, 200],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{unknown}/invitations"),
            body: None,
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{org}/invitations/{unknown}"),
            body: None,
            raw: None,
            want: [404, 404, 403, 404, 401, 404],
        },
        Row {
            method: Method::DELETE,
            path: format!("/api/v1/organizations/{org}/invitations/{unknown}"),
            body: None,
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::POST,
            path: format!("/api/v1/organizations/{org}/members"),
            body: invite(),
            raw: None,
            want: [201, 201, 403, 404, 401, 403],
        },
        Row {
            method: Method::POST,
            path: format!("/api/v1/organizations/{unknown}/invitations"),
            body: invite(),
            raw: None,
            want: [404, 404, 404, 404, 401, 403],
        },
        Row {
            method: Method::PATCH,
            path: format!("/api/v1/organizations/{org}/members/{}", member.user_id),
            body: Some(json!({"role": "member"})),
            raw: None,
            want: [200, 200, 403, 404, 401, 403],
        },
        Row {
            method: Method::PATCH,
            path: format!("/api/v1/organizations/{org}/members/{}", foreign.user_id),
            body: Some(json!({"role": "member"})),
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::PATCH,
            path: format!("/api/v1/organizations/{}/members/{}", foreign.org_id, foreign.user_id),
            body: Some(json!({"role": "admin"})),
            raw: None,
            want: [404, 404, 404, 409, 401, 403],
        },
        Row {
            method: Method::PATCH,
            path: format!("/api/v1/organizations/{org}"),
            body: Some(json!({"name": "Renamed Clinic"})),
            raw: None,
            want: [200, 200, 403, 404, 401, 403],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{org}/credentials"),
            body: None,
            raw: None,
            want: [200, 200, 200, 404, 401, 200],
        },
        Row {
            method: Method::POST,
            path: format!("/api/v1/organizations/{org}/credentials"),
            body: Some(cred_body.clone()),
            raw: None,
            want: [201, 201, 403, 404, 401, 403],
        },
        Row {
            method: Method::POST,
            path: format!("/api/v1/organizations/{org}/credentials/{cred}/document"),
            body: None,
            raw: Some(pdf.clone()),
            want: [200, 200, 403, 404, 401, 403],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{org}/credentials/{cred}/document"),
            body: None,
            raw: None,
            want: [200, 200, 403, 404, 401, 200],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{org}/credentials/{cred}"),
            body: None,
            raw: None,
            want: [200, 200, 200, 404, 401, 200],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{}/credentials/{cred}", foreign.org_id),
            body: None,
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::GET,
            path: format!("/api/v1/organizations/{}/credentials/{cred}/document", foreign.org_id),
            body: None,
            raw: None,
            want: [404, 404, 404, 404, 401, 404],
        },
        Row {
            method: Method::GET,
            path: "/api/v1/support/credentials".into(),
            body: None,
            raw: None,
            want: [403, 403, 403, 403, 401, 200],
        },
        Row {
            method: Method::POST,
            path: format!("/api/v1/support/credentials/{cred}/decision"),
            body: Some(json!({"decision": "approve", "reason": "self-approval attempt"})),
            raw: None,
            want: [403, 403, 403, 403, 401, 200],
        },
        Row {
            method: Method::GET,
            path: "/api/v1/labs".into(),
            body: None,
            raw: None,
            want: [200, 200, 200, 200, 401, 200],
        },
    ];
    let actors: [(Who, Option<&Actor>); 6] = [
        (Who::Owner, Some(&owner)),
        (Who::Admin, Some(&admin)),
        (Who::Member, Some(&member)),
        (Who::ForeignOwner, Some(&foreign)),
        (Who::Anonymous, None),
        (Who::Support, Some(&support)),
    ];
    let mut failures = Vec::new();
    for row in &rows {
        for (i, (who, actor)) in actors.iter().enumerate() {
            let r = match &row.raw {
                Some(bytes) => {
                    let mut rb = app
                        .client
                        .request(row.method.clone(), app.url(&row.path))
                        .body(bytes.clone());
                    if let Some(a) = actor {
                        rb = rb.bearer_auth(&a.token);
                    }
                    rb.send().await.unwrap()
                }
                None => {
                    app.send(
                        row.method.clone(),
                        &row.path,
                        actor.map(|a| a.token.as_str()),
                        row.body.as_ref(),
                    )
                    .await
                }
            };
            let got = r.status().as_u16();
            if got != row.want[i] {
                failures.push(format!(
                    "{} {} as {who:?}: got {got}, want {}",
                    row.method, row.path, row.want[i]
                ));
            }
            if got == 404 && row.raw.is_none() {
                // A 404 never says more than "not found".
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["code"], "not_found");
            }
        }
    }

    // Removal, each with its own target so one does not disturb the next.
    let del = |target: &Actor| format!("/api/v1/organizations/{org}/members/{}", target.user_id);
    let cases: [(&str, Option<&Actor>, &Actor, u16); 6] = [
        ("owner removes", Some(&owner), &d1, 204),
        ("admin removes", Some(&admin), &d2, 204),
        ("member removes another", Some(&member), &d3, 403),
        ("foreign owner removes", Some(&foreign), &d3, 404),
        ("anonymous removes", None, &d3, 401),
        ("support removes", Some(&support), &d3, 403),
    ];
    for (what, actor, target, want) in cases {
        let got = app
            .send(Method::DELETE, &del(target), actor.map(|a| a.token.as_str()), None)
            .await
            .status()
            .as_u16();
        if got != want {
            failures.push(format!("DELETE {what}: got {got}, want {want}"));
        }
    }
    // Revoking open invitations, each case with its own invitation where it
    // would succeed.
    let invitation = |email: &str, role: &str| {
        let (app, token, org) = (&app, owner.token.clone(), org.clone());
        let body = json!({"email": email, "role": role});
        async move {
            let r = app
                .send(
                    Method::POST,
                    &format!("/api/v1/organizations/{org}/invitations"),
                    Some(&token),
                    Some(&body),
                )
                .await;
            assert_eq!(r.status(), 201);
            let v: Value = r.json().await.unwrap();
            format!("/api/v1/organizations/{org}/invitations/{}", v["id"].as_str().unwrap())
        }
    };
    let (i1, i2) = (
        invitation("i1@clinic.example", "member").await,
        invitation("i2@clinic.example", "admin").await,
    );
    let to_owner = invitation("i3@clinic.example", "owner").await;
    let revocations: [(&str, Option<&Actor>, &str, u16); 8] = [
        ("member revokes", Some(&member), &i1, 403),
        ("foreign owner revokes", Some(&foreign), &i1, 404),
        ("anonymous revokes", None, &i1, 401),
        ("support revokes", Some(&support), &i1, 403),
        (
            "admin revokes an invitation to become owner",
            Some(&admin),
            &to_owner,
            403,
        ),
        ("admin revokes", Some(&admin), &i1, 204),
        ("owner revokes", Some(&owner), &i2, 204),
        ("owner revokes it again", Some(&owner), &i2, 404),
    ];
    for (what, actor, path, want) in revocations {
        let got = app
            .send(Method::DELETE, path, actor.map(|a| a.token.as_str()), None)
            .await
            .status()
            .as_u16();
        if got != want {
            failures.push(format!("DELETE invitation, {what}: got {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
