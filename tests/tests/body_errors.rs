//! Every route that takes a JSON body, sent a body with several things wrong
//! at once — a field that does not exist, an enumeration word that is not
//! one, a value of the wrong type — answers 422 `validation_failed` naming
//! each of them by its path, with the allowed words for the enumeration.
//! The table is the OpenAPI document itself: a new route is in it at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_tests::document;
use dentex_tests::setup::market::Market;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// `$ref`s followed, and an optional value's non-null alternative.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array)
        && let Some(alt) = alts.iter().find(|a| a["type"] != "null")
    {
        return resolve(doc, alt);
    }
    s
}

fn is_type(s: &Value, t: &str) -> bool {
    s["type"] == t || s["type"].as_array().is_some_and(|ts| ts.iter().any(|x| x == t))
}

/// A value holding a word its enumeration does not have, somewhere below
/// `s` (through objects and arrays, at most `depth` deep), and its path.
fn plant_bad_word(doc: &Value, s: &Value, depth: usize) -> Option<(Value, String)> {
    let s = resolve(doc, s);
    if s.get("enum").is_some() {
        return Some((json!("not-a-word"), String::new()));
    }
    if depth == 0 {
        return None;
    }
    if is_type(s, "array") {
        let (v, at) = plant_bad_word(doc, &s["items"], depth - 1)?;
        let at = if at.is_empty() || at.starts_with('[') {
            at
        } else {
            format!(".{at}")
        };
        return Some((json!([v]), format!("[0]{at}")));
    }
    for (name, p) in s["properties"].as_object()? {
        if let Some((v, at)) = plant_bad_word(doc, p, depth - 1) {
            let mut o = Map::new();
            o.insert(name.clone(), v);
            let path = if at.starts_with('[') {
                format!("{name}{at}")
            } else if at.is_empty() {
                name.clone()
            } else {
                format!("{name}.{at}")
            };
            return Some((Value::Object(o), path));
        }
    }
    None
}

/// A body with several faults, and the (field, code) each must be reported as.
fn bad_body(doc: &Value, schema: &Value) -> (Value, Vec<(String, &'static str)>) {
    let s = resolve(doc, schema);
    let mut body = Map::new();
    let mut expect = Vec::new();
    if s["additionalProperties"] == false {
        body.insert("not_a_field".into(), json!(true));
        expect.push(("not_a_field".to_owned(), "unknown_field"));
    }
    let props = s["properties"].as_object().cloned().unwrap_or_default();
    // Every required field is left out, except one planted with a fault.
    let required: Vec<String> = s["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut word_at = None;
    for (name, p) in &props {
        if let Some((v, at)) = plant_bad_word(doc, p, 4) {
            body.insert(name.clone(), v);
            let path = if at.is_empty() {
                name.clone()
            } else if at.starts_with('[') {
                format!("{name}{at}")
            } else {
                format!("{name}.{at}")
            };
            expect.push((path, "unknown_value"));
            word_at = Some(name.clone());
            break;
        }
    }
    for (name, p) in &props {
        if Some(name) == word_at.as_ref() {
            continue;
        }
        let p = resolve(doc, p);
        let wrong = if is_type(p, "string") {
            json!(12345)
        } else {
            json!("text")
        };
        body.insert(name.clone(), wrong);
        expect.push((name.clone(), "invalid_type"));
        break;
    }
    for name in required {
        if !body.contains_key(&name) {
            expect.push((name, "required"));
        }
    }
    (Value::Object(body), expect)
}

#[tokio::test]
async fn every_json_body_names_every_bad_field_with_its_path() {
    let m = Market::new().await;
    let q = m.three_quotes().await;
    let doc = document();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
                continue;
            };
            // Stripe's events are Stripe's: the signature is checked over the
            // raw body and nothing in it is a field of this API's (tested in
            // payments.rs: a tampered or unsigned body is 400).
            if path == "/api/v1/webhooks/stripe" {
                continue;
            }
            let (body, expect) = bad_body(doc, schema);
            // An unknown field and a wrong type always; a word not in a list
            // and missing fields where the schema has them.
            assert!(expect.len() >= 2, "{method} {path}: too little to plant in {schema}");
            // Any id will do (the body is refused before it is looked up),
            // except for an acceptance, which finds the quote first.
            let concrete = if path == "/api/v1/quotes/{quote}/accept" {
                path.replace("{quote}", &q.qa)
            } else {
                let mut p = path.clone();
                while let (Some(i), Some(j)) = (p.find('{'), p.find('}')) {
                    p.replace_range(i..=j, &uuid::Uuid::now_v7().to_string());
                }
                p
            };
            let mut req = m
                .app
                .client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    m.app.url(&concrete),
                )
                .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
                .json(&body);
            if op.get("security").is_some() {
                req = req.bearer_auth(&m.clinic.token);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            checked += 1;
            if status != 422 || v["code"] != "validation_failed" {
                failures.push(format!("{method} {path}: {status} {v}"));
                continue;
            }
            let errors = v["errors"].as_array().cloned().unwrap_or_default();
            for (field, code) in &expect {
                let found = errors
                    .iter()
                    .find(|e| e["field"] == field.as_str() && e["code"] == *code);
                match found {
                    None => failures.push(format!("{method} {path}: `{field}` {code} not reported in {errors:?}")),
                    Some(e)
                        if *code == "unknown_value" && !e["message"].as_str().unwrap().starts_with("Use one of:") =>
                    {
                        failures.push(format!("{method} {path}: `{field}` names no allowed words: {e}"));
                    }
                    Some(_) => {}
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} routes with a JSON body");
    assert!(
        failures.is_empty(),
        "{} of {checked} routes:\n{}",
        failures.len(),
        failures.join("\n")
    );
    m.app.stop().await;
}

/// The case the issue named: a remake with a reason that is not one.
#[tokio::test]
async fn a_remake_with_an_unknown_reason_names_the_field_and_the_reasons() {
    let m = Market::new().await;
    let (_q, order) = m.awarded().await;
    let r = m
        .app
        .client
        .post(m.app.url(&format!("/api/v1/orders/{order}/remakes")))
        .bearer_auth(&m.clinic.token)
        .json(&json!({"reason": "looks odd", "cost_bearer": "lab", "notes": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    let errors = v["errors"].as_array().unwrap();
    let reason = errors.iter().find(|e| e["field"] == "reason").expect("reason named");
    assert_eq!(reason["code"], "unknown_value");
    assert_eq!(
        reason["message"],
        "Use one of: fit, margin, contact, occlusion, shade, damage, other."
    );
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == "notes" && e["code"] == "invalid_type"),
        "{v}"
    );
    m.app.stop().await;
}
