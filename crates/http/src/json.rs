//! [`Json`], the extractor for every JSON request body. Over actix's own it
//! adds two refusals:
//!
//! - The media type must be `application/json` or `application/*+json`, in
//!   UTF-8 (no `charset`, or `charset=utf-8`): anything else is 415, so a
//!   `text/json` or UTF-16 body is never guessed at.
//! - A key may appear once per object, at every depth (422 `duplicate_key`
//!   naming its path, e.g. `rx.items[0].shade`). serde refuses a repeated
//!   field of a struct but lets the last one win inside maps and free-form
//!   values, so two readers of one body could disagree on what it said.
//!
//! - A body of the wrong shape is checked against `T`'s schema (the one the
//!   OpenAPI document publishes), so every bad field is named at once with
//!   its path and, for an enumeration, the words allowed
//!   ([`crate::schema`]).
//!
//! The body limit is [`JsonLimit`] (app data), 1 MiB when none is registered.

use crate::{ApiError, FieldError, json_deserialize_problem, malformed};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// The largest JSON body accepted, registered as app data by the gateway.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

/// A JSON request body of type `T`; see the module documentation.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

fn unsupported() -> ApiError {
    ApiError::new(
        &crate::codes::UNSUPPORTED_MEDIA_TYPE,
        "Send the body as JSON in UTF-8 with Content-Type: application/json.",
    )
}

/// `application/json` or `application/*+json`, with no charset but UTF-8.
pub fn is_json_utf8(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let Some(subtype) = essence.strip_prefix("application/") else {
        return false;
    };
    if !(subtype == "json" || (subtype.ends_with("+json") && subtype.len() > "+json".len())) {
        return false;
    }
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

impl<T: DeserializeOwned + utoipa::ToSchema + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<JsonLimit>().map_or(1024 * 1024, |l| l.0);
        let type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_utf8);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !type_ok {
                return Err(unsupported());
            }
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(ApiError::payload_too_large(limit));
            }
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    ApiError::new(&crate::codes::UNREADABLE_BODY, "The request body could not be read.")
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::payload_too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

/// Parses a JSON body: syntax first (400), then repeated keys (422), then the
/// shape `T` (422 naming every field at fault).
pub fn parse<T: DeserializeOwned + utoipa::ToSchema>(body: &[u8]) -> Result<T, ApiError> {
    if let Some(path) = first_duplicate_key(body).map_err(|e| malformed(&e))? {
        let mut e = ApiError::validation(vec![FieldError::new(
            path.clone(),
            "duplicate_key",
            format!("`{path}` appears more than once; send each key once."),
        )]);
        e.detail = "The JSON body repeats a key; see errors.".into();
        return Err(e);
    }
    let e = match serde_json::from_slice(body) {
        Ok(t) => return Ok(t),
        Err(e) if e.is_syntax() || e.is_eof() => return Err(malformed(&e)),
        Err(e) => e,
    };
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Err(json_deserialize_problem(&e));
    };
    // JSON has one number type: 3.0 is the integer 3 (as JSON Schema
    // says), which serde would refuse for an integer field.
    if integral_floats_to_integers(&mut v)
        && let Ok(t) = serde_json::from_value(v.clone())
    {
        return Ok(t);
    }
    let (root, schema) = crate::schema::document_of::<T>();
    let found = crate::schema::Schemas::new(&root).check(&schema, &v, "");
    if found.is_empty() {
        // A rule the schema cannot say (a tooth number's notation, say):
        // serde's own words, with the field when it names one.
        return Err(json_deserialize_problem(&e));
    }
    let mut api = ApiError::validation(found);
    api.detail = "The JSON body does not have the expected shape; see errors.".into();
    Err(api)
}

/// Rewrites every number with no fraction (`3.0`, `-2e3`) as an integer, at
/// every depth; whether anything changed.
fn integral_floats_to_integers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Exactly representable: |f| < 2^53.
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                #[allow(clippy::cast_possible_truncation, reason = "integral and in range, checked above")]
                let i = f as i64;
                *v = Value::from(i);
                return true;
            }
            false
        }
        Value::Array(xs) => xs.iter_mut().fold(false, |c, x| integral_floats_to_integers(x) | c),
        Value::Object(m) => m.values_mut().fold(false, |c, x| integral_floats_to_integers(x) | c),
        _ => false,
    }
}

/// The path of the first key repeated inside one object, if any; a syntax
/// error when the body is not JSON. Linear in the body: the path is a chain
/// of borrowed segments, written out only for the repeated key.
pub fn first_duplicate_key(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let walked = Walk {
        at: None,
        found: &found,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (walked, found.into_inner()) {
        (_, Some(path)) => Ok(Some(path)),
        (Err(e), None) => Err(e),
        (Ok(()), None) => Ok(None),
    }
}

/// One step of a path, and the steps before it.
struct Step<'p> {
    parent: Option<&'p Step<'p>>,
    seg: Seg<'p>,
}

enum Seg<'p> {
    Key(&'p str),
    Index(usize),
}

impl Step<'_> {
    fn render(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(s) = at {
            steps.push(&s.seg);
            at = s.parent;
        }
        let mut out = String::new();
        for seg in steps.into_iter().rev() {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

/// Walks any JSON value, knowing where it is, and stops at the first key
/// seen twice in one object.
struct Walk<'a, 'p> {
    at: Option<&'p Step<'p>>,
    found: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let step = Step {
                parent: self.at,
                seg: Seg::Index(i),
            };
            let more = seq
                .next_element_seed(Walk {
                    at: Some(&step),
                    found: self.found,
                })?
                .is_some();
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let step = Step {
                parent: self.at,
                seg: Seg::Key(&key),
            };
            if seen.contains(&key) {
                *self.found.borrow_mut() = Some(step.render());
                return Err(de::Error::custom("duplicate key"));
            }
            map.next_value_seed(Walk {
                at: Some(&step),
                found: self.found,
            })?;
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn only_json_in_utf8_is_json() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON; Charset=\"UTF-8\"",
            "application/problem+json",
            "application/merge-patch+json",
        ] {
            assert!(is_json_utf8(ok), "{ok}");
        }
        for bad in [
            "text/json",
            "application/json; charset=utf-16",
            "application/json; charset=latin1",
            "application/+json",
            "application/jsonx",
            "text/plain",
            "",
        ] {
            assert!(!is_json_utf8(bad), "{bad}");
        }
    }

    #[test]
    fn repeated_keys_are_found_at_every_depth() {
        assert_eq!(first_duplicate_key(br#"{"a":1,"b":2}"#).unwrap(), None);
        assert_eq!(first_duplicate_key(br#"{"a":1,"a":2}"#).unwrap().as_deref(), Some("a"));
        assert_eq!(
            first_duplicate_key(br#"{"rx":{"items":[{"shade":"A1"},{"shade":"A2","shade":"B1"}]}}"#)
                .unwrap()
                .as_deref(),
            Some("rx.items[1].shade")
        );
        // The same key in two different objects is fine.
        assert_eq!(first_duplicate_key(br#"[{"a":1},{"a":2}]"#).unwrap(), None);
        assert!(first_duplicate_key(b"{\"a\":").is_err());
        assert!(first_duplicate_key(b"{} x").is_err());
    }

    #[test]
    fn a_long_key_over_a_long_array_is_read_in_linear_time() {
        // 512 KiB of key over 250,000 elements: a path copied per element
        // would move about 128 GB.
        let mut body = format!("{{\"{}\":[", "k".repeat(512 * 1024)).into_bytes();
        for i in 0..250_000 {
            if i > 0 {
                body.push(b',');
            }
            body.push(b'0');
        }
        body.extend_from_slice(b"]}");
        let t = std::time::Instant::now();
        assert_eq!(first_duplicate_key(&body).unwrap(), None);
        // Not a speed target: a bound a quadratic walk misses by minutes.
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    struct Body {
        #[allow(dead_code, reason = "parsed, not read")]
        rx: serde_json::Value,
    }

    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[allow(dead_code, reason = "parsed, not read")]
    struct Counted {
        n: u32,
        items: Vec<i64>,
        ratio: f64,
    }

    #[test]
    fn a_number_without_fraction_is_an_integer() {
        let c = parse::<Counted>(br#"{"n": 3.0, "items": [1, -2e3], "ratio": 2.0}"#).unwrap();
        assert_eq!((c.n, c.items.as_slice(), c.ratio), (3, &[1, -2000][..], 2.0));
        let e = parse::<Counted>(br#"{"n": 3.5, "items": [], "ratio": 1}"#).unwrap_err();
        assert_eq!(e.errors[0].field, "n");
    }

    #[test]
    fn a_repeated_key_inside_a_free_form_value_is_422() {
        let e = parse::<Body>(br#"{"rx":{"notes":"a","notes":"b"}}"#).unwrap_err();
        assert_eq!(e.status, actix_web::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.errors[0].field, "rx.notes");
        assert_eq!(e.errors[0].code, "duplicate_key");
        let e = parse::<Body>(b"{\"rx\":").unwrap_err();
        assert_eq!(e.code, "malformed_json");
    }
}
