//! The pages the e-mailed links open are served (unless a front end of its
//! own serves them), under a policy that lets nothing but their own script
//! and style run. `.ci/browser.py` follows the links in a real browser; these
//! check what a browser is given.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use base64::Engine;
use dentex_tests::TestApp;
use serde_json::json;
use sha2::Digest;

#[tokio::test]
async fn the_three_pages_are_served_under_a_policy_of_their_own() {
    let app = TestApp::new().await;
    for (page, api) in [
        ("/verify-email", "/api/v1/auth/verify-email"),
        ("/reset-password", "/api/v1/auth/password-reset/confirm"),
        ("/accept-invitation", "/api/v1/invitations/accept"),
    ] {
        let r = app.get(page).await;
        assert_eq!(r.status(), 200, "{page}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'sha256-") && csp.contains("connect-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("data-api=\"{api}\"")), "{page}");
        // The policy allows exactly the script and the style the page holds.
        for (open, close, directive) in [
            ("<script>", "</script>", "script-src"),
            ("<style>", "</style>", "style-src"),
        ] {
            let start = html.find(open).unwrap() + open.len();
            let text = &html[start..start + html[start..].find(close).unwrap()];
            let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()));
            assert!(csp.contains(&format!("{directive} 'sha256-{hash}'")), "{page}: {csp}");
        }
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{page} loads nothing from elsewhere"
        );
        let r = app.post_json(page, &json!({})).await;
        assert_eq!(r.status(), 405, "{page}");
    }
    app.stop().await;
}

#[tokio::test]
async fn links_point_at_a_front_end_of_its_own_when_one_is_named() {
    let app = TestApp::builder()
        .config(|c| c.http.app_base_url = Some("https://app.dentex.example".into()))
        .start()
        .await;
    assert_eq!(app.get("/verify-email").await.status(), 404);
    assert_eq!(app.post_json("/verify-email", &json!({})).await.status(), 404);
    let r = app
        .post_json(
            "/api/v1/auth/register",
            &json!({
                "email": "front@end.test", "password": "a long enough passphrase", "display_name": "Dr Front",
                "organization": {"name": "Front Clinic", "kind": "clinic", "country": "DE", "region": "eu"}
            }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let mail = app.mail_to("front@end.test", "Confirm your e-mail").await;
    assert!(
        mail.text().contains("https://app.dentex.example/verify-email#token="),
        "{}",
        mail.text()
    );
    app.stop().await;
}
