//! Per-case chat and live events over real HTTP (issue #15): a clinic and
//! three labs on one case; each lab sees only its own thread; messages,
//! attachments, tombstones, read marks and unread counts as each side sees
//! them; a lab that lost the award loses its thread and its events at once;
//! a real SSE client receives what the other side does, resumes with
//! `Last-Event-ID`, and a ticket works once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::setup::market::{Market, move_order};
use dentex_tests::setup::{call, json_of};
use dentex_tests::sse;
use dentex_tests::{Actor, problem};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn threads(m: &Market, who: &Actor) -> Value {
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{}/threads", m.case),
        who,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    json_of(r).await
}

async fn own_thread(m: &Market, lab: &Actor) -> String {
    let t = threads(m, lab).await;
    let items = t["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "a lab sees its own thread only: {t}");
    assert_eq!(items[0]["lab"]["id"], lab.org_id.as_str());
    items[0]["id"].as_str().unwrap().to_owned()
}

async fn post(m: &Market, who: &Actor, thread: &str, body: Value) -> reqwest::Response {
    call(
        &m.app,
        Method::POST,
        &format!("/api/v1/threads/{thread}/messages"),
        who,
        Some(body),
    )
    .await
}

async fn page(m: &Market, who: &Actor, thread: &str, query: &str) -> reqwest::Response {
    call(
        &m.app,
        Method::GET,
        &format!("/api/v1/threads/{thread}/messages{query}"),
        who,
        None,
    )
    .await
}

async fn file_ids(m: &Market, who: &Actor) -> Vec<String> {
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{}/files", m.case),
        who,
        None,
    )
    .await;
    let v = json_of(r).await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn first_file(m: &Market) -> String {
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{}/files", m.case),
        &m.clinic,
        None,
    )
    .await;
    json_of(r).await["items"][0]["id"].as_str().unwrap().to_owned()
}

/// Each lab sees only its own thread, the clinic one per lab; messages
/// carry their sender and attachments; unread counts and read marks are
/// per person and only move forward; a sender's delete leaves a tombstone.
#[tokio::test]
async fn each_lab_sees_its_own_thread_and_marks_are_per_person() {
    let m = Market::new().await;
    let ta = own_thread(&m, &m.a).await;
    let tb = own_thread(&m, &m.b).await;
    assert_ne!(ta, tb);
    let clinic_view = threads(&m, &m.clinic).await;
    assert_eq!(
        clinic_view["items"].as_array().unwrap().len(),
        3,
        "one thread per named lab: {clinic_view}"
    );

    // A lab asks; the clinic answers with the scan attached.
    let r = post(&m, &m.a, &ta, json!({"body": "  Which shade for 11?  "})).await;
    assert_eq!(r.status(), 201);
    let asked = json_of(r).await;
    assert_eq!(asked["body"], "Which shade for 11?", "trimmed");
    assert_eq!(asked["seq"], 1);
    assert_eq!(asked["sender"]["organization_id"], m.a.org_id.as_str());
    let file = first_file(&m).await;
    let r = post(
        &m,
        &m.clinic,
        &ta,
        json!({"body": "A2, see the scan", "attachments": [file]}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let answer = json_of(r).await;
    assert_eq!(answer["seq"], 2);
    assert_eq!(answer["attachments"][0]["file_id"], file.as_str());

    // Another lab's thread is not there for B; nor is B's for A.
    assert_eq!(page(&m, &m.b, &ta, "").await.status(), 404);
    assert_eq!(post(&m, &m.a, &tb, json!({"body": "hi"})).await.status(), 404);

    // Bad input names the field and stores nothing.
    let p = problem(post(&m, &m.a, &ta, json!({"body": "   "})).await).await;
    assert_eq!(p["errors"][0]["field"], "body");
    let p = problem(
        post(
            &m,
            &m.a,
            &ta,
            json!({"body": "x", "attachments": [uuid::Uuid::now_v7()]}),
        )
        .await,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "attachments[0]");
    let p = problem(post(&m, &m.a, &ta, json!({"body": "x".repeat(10_001)})).await).await;
    assert_eq!(p["errors"][0]["code"], "too_long");

    // Unread: the lab has the clinic's answer waiting, the clinic nothing
    // (its own message moved its mark).
    let a_view = threads(&m, &m.a).await;
    assert_eq!(a_view["items"][0]["unread"], 1);
    let c_view = threads(&m, &m.clinic).await;
    let c_ta = c_view["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == ta.as_str())
        .unwrap()
        .clone();
    assert_eq!(c_ta["unread"], 0);
    assert_eq!(c_ta["last_seq"], 2);

    // The lab reads up to 2; a mark sent back to 1 does not move back.
    let r = call(
        &m.app,
        Method::POST,
        &format!("/api/v1/threads/{ta}/read"),
        &m.a,
        Some(json!({"up_to": 2})),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(r).await["unread"], 0);
    let r = call(
        &m.app,
        Method::POST,
        &format!("/api/v1/threads/{ta}/read"),
        &m.a,
        Some(json!({"up_to": 1})),
    )
    .await;
    assert_eq!(json_of(r).await["up_to"], 2);
    let r = call(
        &m.app,
        Method::POST,
        &format!("/api/v1/threads/{ta}/read"),
        &m.a,
        Some(json!({"up_to": 9})),
    )
    .await;
    assert_eq!(problem(r).await["errors"][0]["field"], "up_to");

    // Only the sender deletes; a tombstone keeps the thread's shape.
    let mid = answer["id"].as_str().unwrap();
    let r = call(
        &m.app,
        Method::DELETE,
        &format!("/api/v1/threads/{ta}/messages/{mid}"),
        &m.a,
        None,
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = call(
        &m.app,
        Method::DELETE,
        &format!("/api/v1/threads/{ta}/messages/{mid}"),
        &m.clinic,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = call(
        &m.app,
        Method::DELETE,
        &format!("/api/v1/threads/{ta}/messages/{mid}"),
        &m.clinic,
        None,
    )
    .await;
    assert_eq!(problem(r).await["code"], "message_not_deletable");
    let all = json_of(page(&m, &m.a, &ta, "").await).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["deleted"], true);
    assert_eq!(items[1]["body"], Value::Null);
    assert_eq!(items[1]["attachments"], json!([]));

    // Paging by sequence number.
    let older = json_of(page(&m, &m.a, &ta, "?before=2&limit=5").await).await;
    assert_eq!(older["items"].as_array().unwrap().len(), 1);
    assert_eq!(older["items"][0]["seq"], 1);
    let newer = json_of(page(&m, &m.a, &ta, "?after=1").await).await;
    assert_eq!(newer["items"][0]["seq"], 2);
    let between = json_of(page(&m, &m.a, &ta, "?after=0&before=2").await).await;
    let seqs: Vec<&Value> = between["items"].as_array().unwrap().iter().map(|i| &i["seq"]).collect();
    assert_eq!(seqs, vec![&json!(1)], "both bounds: the messages between them");
}

/// After the award the declined labs' threads are 404 at once, the winner's
/// goes on with the market's system messages, and a read of a thread is
/// audited in the clinic's chain.
#[tokio::test]
async fn a_lab_that_lost_the_award_loses_its_thread_at_once() {
    let m = Market::new().await;
    let ta = own_thread(&m, &m.a).await;
    let tb = own_thread(&m, &m.b).await;
    assert_eq!(
        post(&m, &m.a, &ta, json!({"body": "we can do it in 5 days"}))
            .await
            .status(),
        201
    );
    let (_, order) = m.awarded().await;
    assert_eq!(page(&m, &m.a, &ta, "").await.status(), 404, "declined lab A");
    assert_eq!(post(&m, &m.a, &ta, json!({"body": "still there?"})).await.status(), 404);
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{}/threads", m.case),
        &m.a,
        None,
    )
    .await;
    assert_eq!(r.status(), 404);
    // The clinic keeps every thread to read, not to write into; B's goes on.
    assert_eq!(page(&m, &m.clinic, &ta, "").await.status(), 200);
    let r = post(&m, &m.clinic, &ta, json!({"body": "are you there?"})).await;
    assert_eq!(problem(r).await["code"], "thread_closed");
    let shipped = move_order(
        &m.app,
        &m.b,
        &order,
        json!({"to": "shipped", "carrier": "DHL", "tracking_number": "JD0123"}),
    )
    .await;
    assert_eq!(shipped.status(), 200, "ship");
    let b = json_of(page(&m, &m.clinic, &tb, "").await).await;
    let codes: Vec<&str> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["system_code"].as_str())
        .collect();
    assert!(codes.contains(&"quote.accepted"), "{codes:?}");
    assert!(codes.contains(&"order.shipped"), "{codes:?}");
    let shipped_text = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["system_code"] == "order.shipped")
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(shipped_text.contains("JD0123"), "{shipped_text}");
    assert!(!shipped_text.contains(dentex_tests::setup::market::PLANTED_REF));
}

/// A real SSE client of the clinic receives the lab's message as it is
/// posted and the order's move; one that reconnects with `Last-Event-ID`
/// after missing five events gets exactly those five, in order; a declined
/// lab's stream carries nothing of the case after the award.
#[tokio::test]
async fn the_event_stream_delivers_live_and_resumes_where_it_left_off() {
    let m = Market::new().await;
    let ta = own_thread(&m, &m.a).await;
    let base = m.app.direct_base.clone();
    let mut clinic = sse::Client::connect(&base, "", Some(&m.clinic.token), None).await;
    assert_eq!(clinic.status, 200);
    assert!(
        clinic.content_type.starts_with("text/event-stream"),
        "{}",
        clinic.content_type
    );
    let mut lab_a = sse::Client::connect(&base, "", Some(&m.a.token), None).await;
    assert_eq!(lab_a.status, 200);

    let r = post(&m, &m.a, &ta, json!({"body": "hello"})).await;
    let sent = json_of(r).await;
    let e = clinic
        .next_of("message.created", WAIT)
        .await
        .expect("the clinic hears the message");
    assert_eq!(e.data["thread_id"], ta.as_str());
    assert_eq!(e.data["message_id"], sent["id"]);
    assert!(e.data.get("body").is_none(), "ids only: {}", e.data);
    let last_seen = e.id.clone();

    // Five events while the clinic is away.
    drop(clinic);
    for i in 0..5 {
        assert_eq!(
            post(&m, &m.a, &ta, json!({"body": format!("note {i}")})).await.status(),
            201
        );
    }
    let mut back = sse::Client::connect(&base, "", Some(&m.clinic.token), Some(&last_seen)).await;
    let mut seqs = Vec::new();
    // (The scan's analysis may finish meanwhile: its `file.analyzed` is
    // another event of the stream.)
    for _ in 0..5 {
        let e = back.next_of("message.created", WAIT).await.expect("a missed message");
        seqs.push(e.data["seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, vec![2, 3, 4, 5, 6], "exactly the five missed, in order");
    let extra = back.next_of("message.created", Duration::from_millis(300)).await;
    assert!(extra.is_none(), "nothing more: {extra:?}");

    // From the start of the clinic's stream: the submission, and the
    // scan's report once its analysis is done.
    let from_start = format!("{}-0", uuid::Uuid::parse_str(&m.clinic.org_id).unwrap().simple());
    let mut all = sse::Client::connect(&base, "", Some(&m.clinic.token), Some(&from_start)).await;
    let first = all.next(WAIT).await.expect("the first event");
    assert_eq!(first.kind, "case.submitted");
    assert_eq!(first.data["case_id"], m.case.as_str());
    let analysed = match all.next_of("file.analyzed", Duration::from_millis(500)).await {
        Some(e) => e,
        None => back.next_of("file.analyzed", WAIT).await.expect("file.analyzed"),
    };
    assert_eq!(analysed.data["analysis_status"], "done");

    // The award: the clinic hears it; lab A (declined) hears nothing of the
    // case after it, though B's order moves.
    let (_, order) = m.awarded().await;
    assert!(back.next_of("case.awarded", WAIT).await.is_some());
    // Lab A (declined) hears that it lost (its stream is alive), then
    // nothing more of the case, though B's order moves.
    let lost = lab_a
        .next_of("quote.declined", WAIT)
        .await
        .expect("the declined lab is told");
    assert_eq!(lost.data["case_id"], m.case.as_str());
    let r = move_order(
        &m.app,
        &m.b,
        &order,
        json!({"to": "shipped", "carrier": "DHL", "tracking_number": "T1"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let moved = back
        .next_of("order.transitioned", WAIT)
        .await
        .expect("order.transitioned");
    assert_eq!(moved.data["order_id"], order.as_str());
    assert_eq!(moved.data["to"], "shipped");
    assert!(
        lab_a.next(Duration::from_millis(500)).await.is_none(),
        "the declined lab hears nothing"
    );
    assert!(
        !lab_a.ended(),
        "the declined lab's stream is still open: it just hears nothing"
    );

    // A cursor we never gave resets the client.
    let mut odd = sse::Client::connect(&base, "?after=nonsense", Some(&m.clinic.token), None).await;
    assert_eq!(odd.next(WAIT).await.expect("reset").kind, "reset");
}

/// A browser's `EventSource` cannot send `Authorization`: a ticket works
/// once, within its minute, and only through a live session.
#[tokio::test]
async fn a_stream_ticket_works_once() {
    let m = Market::new().await;
    let base = m.app.direct_base.clone();
    let r = call(&m.app, Method::POST, "/api/v1/events/ticket", &m.clinic, None).await;
    assert_eq!(r.status(), 201);
    let ticket = json_of(r).await["ticket"].as_str().unwrap().to_owned();
    let ok = sse::Client::connect(&base, &format!("?ticket={ticket}"), None, None).await;
    assert_eq!(ok.status, 200);
    let again = sse::Client::connect(&base, &format!("?ticket={ticket}"), None, None).await;
    assert_eq!(again.status, 401, "a ticket is single-use");
    let none = sse::Client::connect(&base, "", None, None).await;
    assert_eq!(none.status, 401);
}

/// A lab uploads a design file into its thread: the clinic sees it, the
/// other labs do not; it rides on a message of that thread only; the
/// clinic's `/me` counts what waits unread.
#[tokio::test]
async fn a_lab_design_file_is_the_clinics_and_that_labs_only() {
    let m = Market::new().await;
    let ta = own_thread(&m, &m.a).await;
    let tb = own_thread(&m, &m.b).await;
    let up = |who: &Actor, thread: &str| {
        m.app
            .client
            .post(m.app.url(&format!("/api/v1/threads/{thread}/files")))
            .bearer_auth(&who.token)
            .header("X-File-Name", "design-preview.stl")
            .body(dentex_tests::cube_stl())
            .send()
    };
    let r = up(&m.clinic, &ta).await.unwrap();
    assert_eq!(r.status(), 403, "the clinic uploads to its case, not as a design");
    let r = up(&m.a, &ta).await.unwrap();
    assert_eq!(r.status(), 201);
    let design = json_of(r).await;
    let id = design["id"].as_str().unwrap().to_owned();
    assert_eq!(design["kind"], "scan");

    // Seen by the clinic and lab A, not by lab B.
    assert!(file_ids(&m, &m.clinic).await.contains(&id));
    assert!(file_ids(&m, &m.a).await.contains(&id));
    assert!(!file_ids(&m, &m.b).await.contains(&id));
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{}/files/{id}", m.case),
        &m.b,
        None,
    )
    .await;
    assert_eq!(r.status(), 404);

    // It rides on A's thread, never on B's.
    let r = post(&m, &m.a, &ta, json!({"body": "preview attached", "attachments": [id]})).await;
    assert_eq!(r.status(), 201);
    let r = post(&m, &m.b, &tb, json!({"body": "look", "attachments": [id]})).await;
    assert_eq!(problem(r).await["errors"][0]["field"], "attachments[0]");

    // The clinic has one message waiting, in the thread list and in /me.
    let me = json_of(call(&m.app, Method::GET, "/api/v1/me", &m.clinic, None).await).await;
    assert_eq!(me["unread_messages"], 1, "{me}");
    let me_a = json_of(call(&m.app, Method::GET, "/api/v1/me", &m.a, None).await).await;
    assert_eq!(me_a["unread_messages"], 0, "the sender's own message is read");
}

/// The notice mail of a waiting message names the case and links to it,
/// and carries no message text, sender name or patient reference; nor do
/// the logs. One mail per thread and person, however often the job runs.
#[tokio::test]
async fn the_notice_mail_says_a_message_waits_and_nothing_more() {
    let m = Market::configured(|c| c.chat.notify_after_secs = 1).await;
    let ta = own_thread(&m, &m.a).await;
    let planted = "PLANTED-MSG-7731 the margin on 36 is short";
    assert_eq!(post(&m, &m.a, &ta, json!({"body": planted})).await.status(), 201);
    let mail = m.app.mail_to(&m.clinic.email, "A message is waiting").await;
    let text = mail.text();
    assert!(text.contains(&m.case), "names the case: {text}");
    assert!(text.contains("/threads"), "links to it: {text}");
    for secret in [
        planted,
        "PLANTED-MSG-7731",
        "Dr Test",
        dentex_tests::setup::market::PLANTED_REF,
    ] {
        assert!(!text.contains(secret), "the mail leaks {secret:?}");
    }
    // The job runs again (every second here): still one notice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let count = m
        .app
        .smtp
        .received()
        .iter()
        .filter(|r| {
            r.rcpt_to.iter().any(|t| t.contains(&m.clinic.email))
                && r.header("Subject").is_some_and(|s| s.contains("A message is waiting"))
        })
        .count();
    assert_eq!(count, 1, "one notice per thread and window");
    let logs = dentex_tests::captured_logs();
    assert!(!logs.contains("PLANTED-MSG-7731"), "the logs carry a message's text");
}

/// A case open to all is announced live to the verified labs it reaches,
/// and not to a lab that is not verified; the lab's thread is there as
/// soon as it sees the case.
#[tokio::test]
async fn an_open_case_is_announced_to_the_labs_it_reaches() {
    let m = Market::configured(|c| c.events.keep_alive_secs = 1).await;
    let reached = m.outsider().await;
    // Offers the services, takes new work, sits in the region: only its
    // verification is missing, so only the gate keeps the event from it.
    let unverified = m.app.register("unverified@lab.test", "dental_lab").await;
    let r = call(
        &m.app,
        Method::PATCH,
        &format!("/api/v1/organizations/{}", unverified.org_id),
        &unverified,
        Some(json!({"services": ["crown", "bridge"], "accepts_new_work": true})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let base = m.app.direct_base.clone();
    let mut heard = sse::Client::connect(&base, "", Some(&reached.token), None).await;
    let mut deaf = sse::Client::connect(&base, "", Some(&unverified.token), None).await;
    assert_eq!((heard.status, deaf.status), (200, 200));
    let open = m.app.submitted_case(&m.clinic, "Open Case Ref", &[]).await;
    let e = heard
        .next_of("case.submitted", WAIT)
        .await
        .expect("the reached lab hears it");
    assert_eq!(e.data["case_id"], open.as_str());
    let before = deaf.comments();
    assert!(
        deaf.next_of("case.submitted", Duration::from_millis(2500))
            .await
            .is_none()
    );
    assert!(!deaf.ended(), "the unverified lab's stream survived the delivery");
    assert!(deaf.comments() > before, "and keeps receiving keep-alives");
    assert!(
        deaf.comments() > 1,
        "the unverified lab's stream is open (keep-alives); it hears nothing"
    );
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{open}/threads"),
        &reached,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{open}/threads"),
        &unverified,
        None,
    )
    .await;
    assert_eq!(r.status(), 404);
}

/// Every thread route answers 404 to another clinic, a lab the case is not
/// open to and platform staff (SECURITY items 1 and 3), and reading a
/// thread leaves one audit row per page in the clinic's chain (item 18).
#[tokio::test]
async fn thread_routes_are_404_to_everyone_else_and_reads_are_audited() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let m = Market::new().await;
    let ta = own_thread(&m, &m.a).await;
    let sent = json_of(post(&m, &m.a, &ta, json!({"body": "for the clinic"})).await).await;
    let mid = sent["id"].as_str().unwrap().to_owned();
    let other = m.other_clinic().await;
    let outsider = m.outsider().await;
    let staff = &m.staff;
    let case = &m.case;
    for who in [&other, &outsider, staff] {
        let routes: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/cases/{case}/threads"), None),
            (Method::GET, format!("/api/v1/threads/{ta}/messages"), None),
            (
                Method::POST,
                format!("/api/v1/threads/{ta}/messages"),
                Some(json!({"body": "x"})),
            ),
            (Method::DELETE, format!("/api/v1/threads/{ta}/messages/{mid}"), None),
            (
                Method::POST,
                format!("/api/v1/threads/{ta}/read"),
                Some(json!({"up_to": 1})),
            ),
        ];
        for (method, path, body) in routes {
            let r = call(&m.app, method.clone(), &path, who, body).await;
            assert_eq!(r.status(), 404, "{method} {path} as {}", who.email);
        }
        let r = m
            .app
            .client
            .post(m.app.url(&format!("/api/v1/threads/{ta}/files")))
            .bearer_auth(&who.token)
            .body(dentex_tests::cube_stl())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "design upload as {}", who.email);
    }
    // Three pages read by the clinic: three rows, in the clinic's chain.
    for _ in 0..3 {
        assert_eq!(page(&m, &m.clinic, &ta, "").await.status(), 200);
    }
    use dentex_db::entities::audit_event;
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("chat.read"))
        .filter(audit_event::Column::ResourceId.eq(ta.clone()))
        .filter(audit_event::Column::ActorId.eq(uuid::Uuid::parse_str(&m.clinic.user_id).unwrap()))
        .count(&m.app.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 3);
    let in_chain = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("chat.message.create"))
        .filter(audit_event::Column::OrgId.eq(uuid::Uuid::parse_str(&m.clinic.org_id).unwrap()))
        .filter(audit_event::Column::ActingOrgId.eq(uuid::Uuid::parse_str(&m.a.org_id).unwrap()))
        .count(&m.app.state.db)
        .await
        .unwrap();
    assert_eq!(in_chain, 1, "the lab's message, in the clinic's chain, naming the lab");
}

/// A stream ends when its session does (SECURITY item 2): the next event
/// after a sign-out is not delivered and ends the stream (the hub asks
/// which subscribers' sessions are live before each batch); an idle stream
/// ends at its next keep-alive.
#[tokio::test]
async fn a_stream_ends_with_its_session() {
    let m = Market::new().await;
    let ta = own_thread(&m, &m.a).await;
    let base = m.app.direct_base.clone();
    let mut s = sse::Client::connect(&base, "", Some(&m.a.token), None).await;
    assert_eq!(s.status, 200);
    let r = call(&m.app, Method::POST, "/api/v1/auth/logout", &m.a, None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        post(&m, &m.clinic, &ta, json!({"body": "for a signed-out lab"}))
            .await
            .status(),
        201
    );
    // Keep-alives are every 15 s here: the end comes from the delivery.
    let started = std::time::Instant::now();
    let mut leaked = Vec::new();
    while let Some(e) = s.next(Duration::from_secs(30)).await {
        leaked.push(e.kind);
    }
    assert!(leaked.is_empty(), "delivered after sign-out: {leaked:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended by the delivery, not a keep-alive"
    );
    // And it does not come back on the old token.
    let again = sse::Client::connect(&base, "", Some(&m.a.token), None).await;
    assert_eq!(again.status, 401);
}
