//! The HTTP side: Stripe's routes under `/v1/`, the control routes under
//! `/_standin/`, and the state changes both share.

use crate::objects::{self, error};
use crate::{Inner, Request, State, events_answer, lock};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Digest;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

type Answer = (u16, Value);

pub(crate) fn spawn(listener: tokio::net::TcpListener, inner: Arc<Inner>) {
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let inner = inner.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(req, inner.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
}

async fn handle(req: hyper::Request<Incoming>, inner: Arc<Inner>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let key = parts
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (status, value, replayed) = if path.starts_with("/_standin/") {
        let (s, v) = control(&inner, &parts.method, &path).await;
        (s, v, false)
    } else if auth.strip_prefix("Bearer ") != Some(inner.secret_key.as_str()) {
        let msg = "Invalid API Key provided. You did not provide a valid secret key (Authorization: Bearer sk_…).";
        (401, error("invalid_request_error", None, msg, None), false)
    } else {
        api(&inner, &parts.method, &path, &query, &body, key).await
    };
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&objects::id("req")) {
        h.insert("request-id", v);
    }
    if replayed {
        h.insert("idempotent-replayed", hyper::header::HeaderValue::from_static("true"));
    }
    Ok(r)
}

/// A Stripe API request, with `Idempotency-Key` semantics for `POST`.
async fn api(
    inner: &Arc<Inner>,
    method: &Method,
    path: &str,
    query: &str,
    body: &Bytes,
    key: Option<String>,
) -> (u16, Value, bool) {
    let form = crate::form::parse(body);
    lock(&inner.state).requests.push(Request {
        method: method.to_string(),
        path: path.to_owned(),
        idempotency_key: key.clone(),
        form: form.clone(),
    });
    let Some(key) = key.filter(|_| method == Method::POST) else {
        let (s, v, events) = route(inner, method, path, query, &form);
        after_events(inner, &events).await;
        return (s, v, false);
    };
    // One keyed request at a time: a race on one key makes one object.
    let _one = inner.keyed.lock().await;
    let fingerprint = hex::encode(sha2::Sha256::digest([path.as_bytes(), b"\n", body].concat()));
    if let Some((seen, s, v)) = lock(&inner.state).idempotency.get(&key).cloned() {
        if seen == fingerprint {
            return (s, v, true);
        }
        let msg = format!(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
        );
        return (400, error("idempotency_error", None, &msg, None), false);
    }
    let (s, v, events) = route(inner, method, path, query, &form);
    // Stripe keeps the answer of a key unless the request never ran (a 5xx).
    if s < 500 {
        lock(&inner.state).idempotency.insert(key, (fingerprint, s, v.clone()));
    }
    after_events(inner, &events).await;
    (s, v, false)
}

/// Delivers new events when delivery is automatic (in the background, as
/// Stripe does; failures are retried a few times).
pub(crate) async fn after_events(inner: &Arc<Inner>, events: &[Value]) {
    if events.is_empty() || !inner.auto_deliver.load(Ordering::SeqCst) {
        return;
    }
    let Some(endpoint) = lock(&inner.endpoint).clone() else {
        return;
    };
    let (http, events) = (inner.http.clone(), events.to_vec());
    tokio::spawn(async move {
        for e in events {
            for attempt in 0..5u64 {
                match crate::webhook::post(&http, &endpoint, &e).await {
                    Ok(s) if (200..300).contains(&s) => break,
                    _ => tokio::time::sleep(std::time::Duration::from_millis(200 * (attempt + 1))).await,
                }
            }
        }
    });
}

fn missing(kind: &str, id: &str, param: &str) -> Answer {
    (
        404,
        error(
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such {kind}: '{id}'"),
            Some(param),
        ),
    )
}

fn invalid(code: &str, message: &str, param: &str) -> Answer {
    (400, error("invalid_request_error", Some(code), message, Some(param)))
}

fn int(form: &Value, field: &str) -> Result<i64, Answer> {
    form[field]
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid("parameter_missing", &format!("Missing required param: {field}."), field))
}

fn get(s: &State, id: &str, kind: &str, param: &str) -> Result<Value, Answer> {
    s.objects
        .get(id)
        .filter(|o| o["object"] == kind)
        .cloned()
        .ok_or_else(|| missing(kind, id, param))
}

fn route(inner: &Inner, method: &Method, path: &str, query: &str, form: &Value) -> (u16, Value, Vec<Value>) {
    let mut s = lock(&inner.state);
    let segs: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let r: Result<(Value, Vec<Value>), Answer> = match (method, segs.as_slice()) {
        (&Method::POST, ["accounts"]) => Ok(put(&mut s, objects::account(form))),
        (&Method::GET, ["accounts", id]) => get(&s, id, "account", "account").map(|v| (v, vec![])),
        (&Method::POST, ["account_links"]) => {
            let acct = form["account"].as_str().unwrap_or("");
            get(&s, acct, "account", "account").map(|_| (objects::account_link(&inner.base, acct), vec![]))
        }
        (&Method::POST, ["payment_intents"]) => create_intent(&mut s, form),
        (&Method::GET, ["payment_intents", id]) => get(&s, id, "payment_intent", "intent").map(|v| (v, vec![])),
        (&Method::POST, ["payment_intents", id, "cancel"]) => cancel_intent(&mut s, id),
        (&Method::GET, ["charges", id]) => get(&s, id, "charge", "charge").map(|v| (v, vec![])),
        (&Method::POST, ["refunds"]) => create_refund(&mut s, form),
        (&Method::GET, ["refunds", id]) => get(&s, id, "refund", "refund").map(|v| (v, vec![])),
        (&Method::POST, ["transfers"]) => create_transfer(&mut s, form),
        (&Method::GET, ["transfers", id]) => get(&s, id, "transfer", "transfer").map(|v| (v, vec![])),
        (&Method::POST, ["transfers", id, "reversals"]) => create_reversal(&mut s, id, form),
        (&Method::GET, ["disputes", id]) => get(&s, id, "dispute", "dispute").map(|v| (v, vec![])),
        (&Method::GET, ["events"]) => Ok((list_events(&s, query), vec![])),
        (&Method::GET, ["events", id]) => get(&s, id, "event", "id").map(|v| (v, vec![])),
        _ => Err((
            404,
            error(
                "invalid_request_error",
                None,
                &format!(
                    "Unrecognized request URL ({method}: {path}). The stand-in serves only the calls Dentex makes."
                ),
                None,
            ),
        )),
    };
    match r {
        Ok((v, events)) => (200, v, events),
        Err((status, v)) => (status, v, vec![]),
    }
}

fn put(s: &mut State, v: Value) -> (Value, Vec<Value>) {
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    s.objects.insert(id, v.clone());
    (v, vec![])
}

/// Records an event of `object` (as it stands now).
fn emit(s: &mut State, kind: &str, object: &Value, account: Option<&str>) -> Value {
    let e = objects::event(kind, object, account);
    s.objects
        .insert(e["id"].as_str().unwrap_or_default().to_owned(), e.clone());
    s.events.push(e.clone());
    e
}

fn create_intent(s: &mut State, form: &Value) -> Result<(Value, Vec<Value>), Answer> {
    let amount = int(form, "amount")?;
    let currency = form["currency"]
        .as_str()
        .filter(|c| c.len() == 3)
        .ok_or_else(|| invalid("parameter_missing", "Missing required param: currency.", "currency"))?
        .to_ascii_lowercase();
    let pi = objects::payment_intent(form, amount, &currency);
    let e = emit(s, "payment_intent.created", &pi, None);
    Ok((put(s, pi).0, vec![e]))
}

fn cancel_intent(s: &mut State, id: &str) -> Result<(Value, Vec<Value>), Answer> {
    let mut pi = get(s, id, "payment_intent", "intent")?;
    if pi["status"] == "succeeded" || pi["status"] == "canceled" {
        return Err(invalid(
            "payment_intent_unexpected_state",
            &format!(
                "You cannot cancel this PaymentIntent because it has a status of {}.",
                pi["status"]
            ),
            "intent",
        ));
    }
    pi["status"] = json!("canceled");
    pi["canceled_at"] = json!(objects::now());
    let e = emit(s, "payment_intent.canceled", &pi, None);
    Ok((put(s, pi).0, vec![e]))
}

fn create_refund(s: &mut State, form: &Value) -> Result<(Value, Vec<Value>), Answer> {
    let charge_id = match (form["charge"].as_str(), form["payment_intent"].as_str()) {
        (Some(c), _) => c.to_owned(),
        (None, Some(pi)) => get(s, pi, "payment_intent", "payment_intent")?["latest_charge"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                invalid(
                    "charge_not_refundable",
                    "This PaymentIntent has no successful charge to refund.",
                    "payment_intent",
                )
            })?,
        _ => {
            return Err(invalid(
                "parameter_missing",
                "Missing required param: charge.",
                "charge",
            ));
        }
    };
    let mut charge = get(s, &charge_id, "charge", "charge")?;
    let (amount_total, refunded) = (
        charge["amount"].as_i64().unwrap_or(0),
        charge["amount_refunded"].as_i64().unwrap_or(0),
    );
    let amount = match form.get("amount") {
        Some(_) => int(form, "amount")?,
        None => amount_total - refunded,
    };
    if amount > amount_total - refunded || amount <= 0 {
        return Err(invalid(
            "amount_too_large",
            &format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({}).",
                amount_total - refunded
            ),
            "amount",
        ));
    }
    let refund = objects::refund(&charge, amount, form);
    charge["amount_refunded"] = json!(refunded + amount);
    charge["refunded"] = json!(refunded + amount == amount_total);
    s.objects.insert(charge_id, charge.clone());
    let e1 = emit(s, "refund.created", &refund, None);
    let e2 = emit(s, "charge.refunded", &charge, None);
    Ok((put(s, refund).0, vec![e1, e2]))
}

fn create_transfer(s: &mut State, form: &Value) -> Result<(Value, Vec<Value>), Answer> {
    let amount = int(form, "amount")?;
    let dest = form["destination"].as_str().unwrap_or_default().to_owned();
    let acct = get(s, &dest, "account", "destination")?;
    if acct["payouts_enabled"] != true {
        return Err(invalid(
            "account_invalid",
            "The destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments.",
            "destination",
        ));
    }
    if let Some(src) = form["source_transaction"].as_str() {
        let charge = get(s, src, "charge", "source_transaction")?;
        if amount > charge["amount"].as_i64().unwrap_or(0) - charge["amount_refunded"].as_i64().unwrap_or(0) {
            return Err(invalid(
                "amount_too_large",
                "The transfer amount exceeds what remains of the source transaction.",
                "amount",
            ));
        }
    }
    let t = objects::transfer(form, amount);
    *s.balances.entry(dest.clone()).or_insert(0) += amount;
    let e = emit(s, "transfer.created", &t, None);
    Ok((put(s, t).0, vec![e]))
}

fn create_reversal(s: &mut State, id: &str, form: &Value) -> Result<(Value, Vec<Value>), Answer> {
    let mut t = get(s, id, "transfer", "id")?;
    let left = t["amount"].as_i64().unwrap_or(0) - t["amount_reversed"].as_i64().unwrap_or(0);
    let amount = match form.get("amount") {
        Some(_) => int(form, "amount")?,
        None => left,
    };
    let dest = t["destination"].as_str().unwrap_or_default().to_owned();
    if amount > left {
        return Err(invalid(
            "amount_too_large",
            "The reversal amount exceeds what remains of the transfer.",
            "amount",
        ));
    }
    // A transfer is reversed only while the connected account holds the funds.
    if s.balances.get(&dest).copied().unwrap_or(0) < amount {
        return Err(invalid(
            "insufficient_funds",
            "The connected account has insufficient funds to cover this reversal.",
            "amount",
        ));
    }
    let r = objects::reversal(&t, amount, form);
    *s.balances.entry(dest).or_insert(0) -= amount;
    t["amount_reversed"] = json!(t["amount_reversed"].as_i64().unwrap_or(0) + amount);
    t["reversed"] = json!(amount == left);
    if let Some(list) = t["reversals"]["data"].as_array_mut() {
        list.push(r.clone());
    }
    s.objects.insert(id.to_owned(), t.clone());
    let e = emit(s, "transfer.reversed", &t, None);
    Ok((put(s, r).0, vec![e]))
}

/// `GET /v1/events`: newest first; `created[gt]`, `limit`, `starting_after`.
fn list_events(s: &State, query: &str) -> Value {
    let q = crate::form::parse(query.as_bytes());
    let gt = q["created"]["gt"].as_str().and_then(|v| v.parse::<i64>().ok());
    let gte = q["created"]["gte"].as_str().and_then(|v| v.parse::<i64>().ok());
    let limit = q["limit"]
        .as_str()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let mut all: Vec<&Value> = s
        .events
        .iter()
        .rev()
        .filter(|e| {
            let c = e["created"].as_i64().unwrap_or(0);
            gt.is_none_or(|g| c > g) && gte.is_none_or(|g| c >= g)
        })
        .collect();
    if let Some(after) = q["starting_after"].as_str()
        && let Some(i) = all.iter().position(|e| e["id"] == after)
    {
        all.drain(..=i);
    }
    let has_more = all.len() > limit;
    all.truncate(limit);
    json!({"object": "list", "data": all, "has_more": has_more, "url": "/v1/events"})
}

pub(crate) fn complete_onboarding(s: &mut State, account: &str) -> Result<Vec<Value>, String> {
    let mut a = get(s, account, "account", "account").map_err(|e| e.1.to_string())?;
    a["charges_enabled"] = json!(true);
    a["payouts_enabled"] = json!(true);
    a["details_submitted"] = json!(true);
    a["requirements"] = objects::requirements(&[]);
    s.objects.insert(account.to_owned(), a.clone());
    Ok(vec![emit(s, "account.updated", &a, Some(account))])
}

fn intent(s: &State, id: &str) -> Result<Value, String> {
    get(s, id, "payment_intent", "intent").map_err(|e| e.1.to_string())
}

pub(crate) fn process(s: &mut State, id: &str) -> Result<Vec<Value>, String> {
    let mut pi = intent(s, id)?;
    pi["status"] = json!("processing");
    s.objects.insert(id.to_owned(), pi.clone());
    Ok(vec![emit(s, "payment_intent.processing", &pi, None)])
}

pub(crate) fn succeed(s: &mut State, id: &str) -> Result<Vec<Value>, String> {
    let mut pi = intent(s, id)?;
    if pi["status"] == "succeeded" || pi["status"] == "canceled" {
        return Err(format!("the intent is {}", pi["status"]));
    }
    let ch = objects::charge(&pi);
    pi["status"] = json!("succeeded");
    pi["amount_received"] = pi["amount"].clone();
    pi["latest_charge"] = ch["id"].clone();
    pi["last_payment_error"] = Value::Null;
    s.objects
        .insert(ch["id"].as_str().unwrap_or_default().to_owned(), ch.clone());
    s.objects.insert(id.to_owned(), pi.clone());
    let e1 = emit(s, "charge.succeeded", &ch, None);
    let e2 = emit(s, "payment_intent.succeeded", &pi, None);
    Ok(vec![e1, e2])
}

pub(crate) fn fail(s: &mut State, id: &str) -> Result<Vec<Value>, String> {
    let mut pi = intent(s, id)?;
    pi["status"] = json!("requires_payment_method");
    pi["last_payment_error"] = json!({
        "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
        "message": "Your card was declined."
    });
    s.objects.insert(id.to_owned(), pi.clone());
    Ok(vec![emit(s, "payment_intent.payment_failed", &pi, None)])
}

pub(crate) fn open_dispute(s: &mut State, intent_id: &str) -> Result<Vec<Value>, String> {
    let pi = intent(s, intent_id)?;
    let charge_id = pi["latest_charge"].as_str().ok_or("no charge to dispute")?.to_owned();
    let mut ch = get(s, &charge_id, "charge", "charge").map_err(|e| e.1.to_string())?;
    let d = objects::dispute(&ch);
    ch["disputed"] = json!(true);
    s.objects.insert(charge_id, ch);
    s.objects
        .insert(d["id"].as_str().unwrap_or_default().to_owned(), d.clone());
    let e1 = emit(s, "charge.dispute.created", &d, None);
    let e2 = emit(s, "charge.dispute.funds_withdrawn", &d, None);
    Ok(vec![e1, e2])
}

pub(crate) fn close_dispute(s: &mut State, id: &str, won: bool) -> Result<Vec<Value>, String> {
    let mut d = get(s, id, "dispute", "dispute").map_err(|e| e.1.to_string())?;
    d["status"] = json!(if won { "won" } else { "lost" });
    s.objects.insert(id.to_owned(), d.clone());
    let mut out = vec![emit(s, "charge.dispute.closed", &d, None)];
    if won {
        out.push(emit(s, "charge.dispute.funds_reinstated", &d, None));
    }
    Ok(out)
}

/// The connected account's balance went to its bank (a payout): nothing is
/// left there for a reversal to take back.
pub fn pay_out(s: &mut State, account: &str) -> Result<Vec<Value>, String> {
    if !s.objects.get(account).is_some_and(|a| a["object"] == "account") {
        return Err(format!("no account {account}"));
    }
    s.balances.insert(account.to_owned(), 0);
    Ok(Vec::new())
}

/// `/_standin/{kind}/{id}/{action}` (POST): the control calls over HTTP,
/// for trying the flow by hand.
async fn control(inner: &Arc<Inner>, method: &Method, path: &str) -> Answer {
    if method != Method::POST {
        return (
            405,
            error("invalid_request_error", None, "Control calls are POST.", None),
        );
    }
    let segs: Vec<&str> = path.trim_start_matches("/_standin/").split('/').collect();
    let run: Result<Vec<Value>, String> = {
        let mut s = lock(&inner.state);
        match segs.as_slice() {
            ["accounts", id, "complete"] => complete_onboarding(&mut s, id),
            ["accounts", id, "pay_out"] => pay_out(&mut s, id),
            ["payment_intents", id, "process"] => process(&mut s, id),
            ["payment_intents", id, "succeed"] => succeed(&mut s, id),
            ["payment_intents", id, "fail"] => fail(&mut s, id),
            ["payment_intents", id, "dispute"] => open_dispute(&mut s, id),
            ["disputes", id, "win"] => close_dispute(&mut s, id, true),
            ["disputes", id, "lose"] => close_dispute(&mut s, id, false),
            _ => Err(format!("unknown control call {path}")),
        }
    };
    match run {
        Ok(events) => {
            after_events(inner, &events).await;
            (200, events_answer(&events))
        }
        Err(e) => (400, error("invalid_request_error", None, &e, None)),
    }
}
