//! What every route of a kind answers, added to the document once instead of
//! in every annotation: the refusals of the shared extractors (sign-in, JSON
//! body, query, path id), each error as the `application/problem+json` it is
//! sent as, `Location` on every 201, and the server entry.
//!
//! The annotations list a route's own codes; this adds the shared ones the
//! route can answer because of its shape:
//!
//! | shape | statuses and codes |
//! |---|---|
//! | signed in (`security`) | 401 `unauthenticated`; 403 `mfa_enrollment_required` (staff without two-step sign-in; not on the routes that enrol, sign out, change the password or show who you are), `csrf_token_invalid` (cookie sessions; unsafe methods only) |
//! | a JSON body | 400 `malformed_json`, `unreadable_body`; 413 `payload_too_large`; 415 `unsupported_media_type`; 422 `validation_failed` |
//! | a query | 400 `invalid_query`; 422 `validation_failed` when a parameter is a word list |
//! | an id in the path | 404 `not_found` |
//! | any `/api/v1` route but this document | 503 `database_unavailable`, `audit_unavailable` (and `storage_unavailable` where file bytes are read or written) |

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Completes the document in place (see the module documentation).
pub(super) fn complete(doc: &mut Value, server_url: &str) {
    doc["servers"] = json!([{ "url": server_url, "description": "This server" }]);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for m in METHODS {
            let shape = Shape {
                has_path_id: path.contains('{'),
                backed: path.starts_with("/api/v1/") && path != "/api/v1/openapi.json",
                // Abandoning an upload removes its parts best effort (the
                // sweep finishes the job), so it never answers 503 for them.
                files: BYTES.iter().any(|b| path.ends_with(b))
                    || (path.contains("/uploads") && m != "delete")
                    || (m == "post" && path.ends_with("/files")),
                unsafe_method: m != "get",
                full_session: !BEFORE_FULL_SESSION.contains(&path.as_str()),
            };
            if let Some(op) = item.get_mut(m) {
                complete_operation(op, &shape);
            }
        }
    }
}

/// The routes that read or write a file's bytes (with the uploads and a
/// file's `POST`).
const BYTES: [&str; 3] = ["/content", "/thumbnail.png", "/document"];

/// The routes a staff session that has not enrolled two-step sign-in may
/// use: who am I, sign out, enrol, change the password.
const BEFORE_FULL_SESSION: [&str; 5] = [
    "/api/v1/me",
    "/api/v1/auth/logout",
    "/api/v1/auth/mfa/totp",
    "/api/v1/auth/mfa/totp/confirm",
    "/api/v1/auth/password",
];

/// What a route's address and method say about what it can answer.
struct Shape {
    has_path_id: bool,
    /// Reads or writes the database and the audit trail.
    backed: bool,
    /// Reads or writes a file's bytes in the object store.
    files: bool,
    /// A cookie session's CSRF token is checked.
    unsafe_method: bool,
    /// Staff need a session opened with two steps.
    full_session: bool,
}

/// The shared statuses and codes an operation of this shape can answer.
fn shared_for(op: &Value, shape: &Shape) -> Vec<(u16, &'static [&'static str])> {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let json_body = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
        .is_some_and(|c| c.keys().any(|k| k == "application/json"));
    let query: Vec<&Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().filter(|p| p["in"] == "query").collect())
        .unwrap_or_default();
    let has_query = !query.is_empty();
    // A word list is a named schema (or an inline enum), perhaps optional.
    let words = query.iter().any(|p| {
        let s = p["schema"].to_string();
        s.contains("$ref") || s.contains("\"enum\"")
    });
    let mut shared: Vec<(u16, &'static [&'static str])> = Vec::new();
    if secured {
        shared.push((401, &["unauthenticated"]));
        if shape.full_session {
            shared.push((403, &["mfa_enrollment_required"]));
        }
        if shape.unsafe_method {
            shared.push((403, &["csrf_token_invalid"]));
        }
    }
    if json_body {
        shared.push((400, &["malformed_json", "unreadable_body"]));
        shared.push((413, &["payload_too_large"]));
        shared.push((415, &["unsupported_media_type"]));
        shared.push((422, &["validation_failed"]));
    }
    if has_query {
        shared.push((400, &["invalid_query"]));
    }
    if words {
        shared.push((422, &["validation_failed"]));
    }
    if shape.has_path_id {
        shared.push((404, &["not_found"]));
    }
    if shape.backed {
        shared.push((503, &["database_unavailable", "audit_unavailable"]));
    }
    if shape.files {
        shared.push((503, &["storage_unavailable"]));
    }
    shared
}

fn complete_operation(op: &mut Value, shape: &Shape) {
    let shared = shared_for(op, shape);
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    // A status the annotation gives without a code answers the shared code
    // of that status (403 `forbidden`, 404 `not_found`, …).
    for (status, r) in responses.iter_mut() {
        if let Ok(code) = status.parse::<u16>()
            && !names_a_code(r)
            && let Some(shared) = super::shared_code_for(code)
        {
            add_to_description(r, &[shared]);
        }
    }
    for (status, codes) in shared {
        add_codes(responses, status, codes);
    }
    for (status, r) in responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else { continue };
        if r["description"].as_str().is_none_or(str::is_empty) {
            r["description"] = Value::String(reason(code).to_owned());
        }
        if code >= 400 {
            r["content"] = json!({
                "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } }
            });
        }
        if code == 201 {
            r["headers"]["Location"] = json!({
                "description": "The address of what was created.",
                "required": true,
                "schema": { "type": "string" }
            });
        }
    }
}

/// The words of a status, for a response the annotations leave undescribed.
fn reason(code: u16) -> &'static str {
    actix_web::http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Answer")
}

/// The codes a response's description names (in backticks).
pub fn codes_in(description: &str) -> impl Iterator<Item = &str> {
    description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

fn names_a_code(r: &Value) -> bool {
    codes_in(r["description"].as_str().unwrap_or("")).next().is_some()
}

fn add_codes(responses: &mut Map<String, Value>, status: u16, codes: &[&str]) {
    let r = responses
        .entry(status.to_string())
        .or_insert_with(|| json!({ "description": "" }));
    add_to_description(r, codes);
}

fn add_to_description(r: &mut Value, codes: &[&str]) {
    let mut d = r["description"].as_str().unwrap_or("").to_owned();
    let missing: Vec<String> = codes
        .iter()
        .filter(|c| !codes_in(&d).any(|have| have == **c))
        .map(|c| format!("`{c}`"))
        .collect();
    if missing.is_empty() {
        return;
    }
    if !d.is_empty() {
        d.push_str(if names_a_code(r) { ", " } else { " " });
    }
    d.push_str(&missing.join(", "));
    r["description"] = Value::String(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_in_json_route_lists_the_shared_refusals_as_problem_json() {
        let mut doc = json!({"paths": {"/api/v1/things/{thing}": {"patch": {
            "security": [{"bearer": []}],
            "parameters": [{"name": "thing", "in": "path"}],
            "requestBody": {"content": {"application/json": {"schema": {}}}},
            "responses": {
                "200": {"description": ""},
                "409": {"description": "`thing_busy`", "content": {"application/json": {}}}
            }
        }}}});
        complete(&mut doc, "http://127.0.0.1:8080");
        let op = &doc["paths"]["/api/v1/things/{thing}"]["patch"]["responses"];
        for (status, code) in [
            ("401", "unauthenticated"),
            ("400", "malformed_json"),
            ("404", "not_found"),
            ("415", "unsupported_media_type"),
            ("422", "validation_failed"),
            ("409", "thing_busy"),
        ] {
            let d = op[status]["description"].as_str().unwrap();
            assert!(codes_in(d).any(|c| c == code), "{status}: {d}");
            assert!(
                op[status]["content"]["application/problem+json"].is_object(),
                "{status}"
            );
            assert!(op[status]["content"]["application/json"].is_null(), "{status}");
        }
        assert!(op["200"]["content"].is_null());
        assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:8080");
    }
}
