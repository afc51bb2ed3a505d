//! The worlds the black-box tests start from: each function builds, over the
//! public API, the state a rule is checked in (verified organisations, a
//! submitted case, quotes, an order at a given step). They check each step
//! they take, so a broken setup fails at the step, not at the rule after it.

pub mod cases;
pub mod market;
pub mod payments;

use crate::{Actor, TestApp};
use reqwest::Method;
use serde_json::Value;

/// Any request as `who`, with an optional JSON body.
pub async fn call(app: &TestApp, method: Method, path: &str, who: &Actor, body: Option<Value>) -> reqwest::Response {
    app.send(method, path, Some(&who.token), body.as_ref()).await
}

/// The JSON body of a response.
pub async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("a JSON body")
}
