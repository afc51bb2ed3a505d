//! Checks a JSON value against the JSON Schema the OpenAPI document gives
//! for it, reporting every problem with its field path (`rx.items[1].shade`)
//! at once: the words allowed for an enumeration, the fields of an object,
//! the type expected.
//!
//! [`crate::Json`] runs it when a body does not deserialize, so a body with
//! several bad fields names all of them, by the same schema the document
//! publishes; the suite runs it over every response it receives. It reads
//! the subset of JSON Schema that utoipa writes: `$ref` (to
//! `#/components/schemas/…`), `type` (one or a list), `enum`, `properties`,
//! `required`, `additionalProperties`, `items`, `oneOf`/`anyOf`/`allOf`,
//! `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems` and
//! the formats `uuid`, `date` and `date-time`.

use dentex_domain::FieldError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The most problems one check reports (then one more says there are more).
pub const MAX_PROBLEMS: usize = 50;

/// The document (or a piece of one) whose `components.schemas` the `$ref`s
/// of a schema point into.
pub struct Schemas<'a> {
    root: &'a Value,
}

impl<'a> Schemas<'a> {
    pub fn new(root: &'a Value) -> Self {
        Self { root }
    }

    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let name = reference.strip_prefix("#/components/schemas/")?;
        self.root.get("components")?.get("schemas")?.get(name)
    }

    /// The problems of `value` against `schema`, each with its path under
    /// `at` (empty for the whole value): every one up to [`MAX_PROBLEMS`],
    /// then one that says there are more (a body of a million bad items
    /// costs one short answer, not a million lines).
    pub fn check(&self, schema: &Value, value: &Value, at: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        self.walk(schema, value, at, &mut errors, 0);
        if errors.len() > MAX_PROBLEMS {
            errors.truncate(MAX_PROBLEMS);
            errors.push(FieldError::new(
                at,
                "too_many_problems",
                format!("More problems than these {MAX_PROBLEMS}; fix them and send again."),
            ));
        }
        errors
    }

    fn walk(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<FieldError>, depth: usize) {
        // Past the cap (one more, to say so) nothing more is looked at.
        if errors.len() > MAX_PROBLEMS {
            return;
        }
        if depth > 64 {
            errors.push(FieldError::new(at, "too_deep", "Nested too deeply."));
            return;
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            match self.resolve(r) {
                Some(s) => self.walk(s, value, at, errors, depth + 1),
                None => errors.push(FieldError::new(
                    at,
                    "unknown_schema",
                    format!("The schema {r} is not in the document."),
                )),
            }
            return;
        }
        if let Some(Value::Array(all)) = schema.get("allOf") {
            for s in all {
                self.walk(s, value, at, errors, depth + 1);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(alts)) = schema.get(key) {
                self.one_of(alts, value, at, errors, depth);
            }
        }
        if !self.check_type(schema, value, at, errors) {
            return;
        }
        if let Some(Value::Array(words)) = schema.get("enum")
            && !words.contains(value)
        {
            let list: Vec<String> = words
                .iter()
                .map(|w| w.as_str().map_or_else(|| w.to_string(), str::to_owned))
                .collect();
            errors.push(FieldError::new(
                at,
                "unknown_value",
                format!("Use one of: {}.", list.join(", ")),
            ));
            return;
        }
        match value {
            Value::Object(map) => self.object(schema, map, at, errors, depth),
            Value::Array(items) => self.array(schema, items, at, errors, depth),
            Value::String(s) => string(schema, s, at, errors),
            Value::Number(n) => number(schema, n, at, errors),
            _ => {}
        }
    }

    /// `oneOf`/`anyOf`: fine when one alternative fits. Otherwise the
    /// problems of the one alternative that is not `null` (utoipa's shape
    /// for an optional value), or a single problem naming the shapes.
    fn one_of(&self, alts: &[Value], value: &Value, at: &str, errors: &mut Vec<FieldError>, depth: usize) {
        let mut tried = Vec::new();
        for s in alts {
            let mut e = Vec::new();
            self.walk(s, value, at, &mut e, depth + 1);
            if e.is_empty() {
                return;
            }
            let null_only = s.get("type").and_then(Value::as_str) == Some("null");
            if !null_only {
                tried.push(e);
            }
        }
        if tried.len() == 1 {
            errors.append(&mut tried[0]);
        } else {
            errors.push(FieldError::new(
                at,
                "invalid_type",
                "Matches none of the shapes allowed here.",
            ));
        }
    }

    /// Whether the value has one of the schema's types (or the schema names
    /// none); if not, says which were expected.
    fn check_type(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<FieldError>) -> bool {
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return true,
        };
        let fits = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            // 3.0 is an integer in JSON Schema (and to the server).
            "integer" => value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if types.iter().any(|t| fits(t)) {
            return true;
        }
        let expected: Vec<&str> = types.iter().map(|t| article(t)).collect();
        let message = if value.is_null() && !types.contains(&"null") {
            format!("Required: give {}.", expected.join(" or "))
        } else {
            format!("Expected {}.", expected.join(" or "))
        };
        let code = if value.is_null() { "required" } else { "invalid_type" };
        errors.push(FieldError::new(at, code, message));
        false
    }

    fn object(&self, schema: &Value, map: &Map<String, Value>, at: &str, errors: &mut Vec<FieldError>, depth: usize) {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    errors.push(FieldError::new(join(at, name), "required", "Required."));
                }
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        let extra = schema.get("additionalProperties").filter(|v| v.is_object());
        let known: BTreeMap<&str, &Value> = props
            .map(|p| p.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        for (name, v) in map {
            if errors.len() > MAX_PROBLEMS {
                break;
            }
            let field = join(at, name);
            match (known.get(name.as_str()), extra) {
                (Some(s), _) => self.walk(s, v, &field, errors, depth + 1),
                (None, Some(s)) => self.walk(s, v, &field, errors, depth + 1),
                (None, None) if closed => {
                    let names: Vec<&str> = known.keys().copied().collect();
                    errors.push(FieldError::new(
                        field,
                        "unknown_field",
                        format!("Not a field here; the fields are: {}.", names.join(", ")),
                    ));
                }
                (None, None) => {}
            }
        }
    }

    fn array(&self, schema: &Value, items: &[Value], at: &str, errors: &mut Vec<FieldError>, depth: usize) {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            errors.push(FieldError::new(at, "too_many", format!("At most {max} items.")));
        }
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            errors.push(FieldError::new(at, "too_few", format!("At least {min} items.")));
        }
        if let Some(s) = schema.get("items") {
            for (i, v) in items.iter().enumerate() {
                if errors.len() > MAX_PROBLEMS {
                    break;
                }
                self.walk(s, v, &format!("{at}[{i}]"), errors, depth + 1);
            }
        }
    }
}

fn article(t: &str) -> &'static str {
    match t {
        "null" => "null",
        "boolean" => "true or false",
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "a string",
        "array" => "an array",
        "object" => "an object",
        _ => "a value",
    }
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

fn string(schema: &Value, s: &str, at: &str, errors: &mut Vec<FieldError>) {
    let len = s.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        errors.push(FieldError::new(at, "too_long", format!("At most {max} characters.")));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        errors.push(FieldError::new(at, "too_short", format!("At least {min} characters.")));
    }
    let ok = match schema.get("format").and_then(Value::as_str) {
        Some("uuid") => uuid::Uuid::try_parse(s).is_ok(),
        Some("date") => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        Some("date-time") => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        _ => true,
    };
    if !ok {
        let f = schema.get("format").and_then(Value::as_str).unwrap_or("");
        let example = match f {
            "uuid" => "a UUID such as 0190c1f2-7a3b-7c4d-8e5f-000000000000",
            "date" => "a date such as 2026-12-31",
            _ => "a date and time such as 2026-12-31T09:30:00Z",
        };
        errors.push(FieldError::new(at, "invalid_format", format!("Expected {example}.")));
    }
}

/// A number as an exact integer when it is one (so 2^63 is past an i64
/// maximum, which as f64 it would equal).
fn exact(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

fn number(schema: &Value, n: &serde_json::Number, at: &str, errors: &mut Vec<FieldError>) {
    let Some(x) = n.as_f64() else { return };
    let below = |bound: &Value| match (exact(n), bound.as_number().and_then(exact)) {
        (Some(a), Some(b)) => a < b,
        _ => bound.as_f64().is_some_and(|b| x < b),
    };
    let above = |bound: &Value| match (exact(n), bound.as_number().and_then(exact)) {
        (Some(a), Some(b)) => a > b,
        _ => bound.as_f64().is_some_and(|b| x > b),
    };
    if let Some(min) = schema.get("minimum")
        && below(min)
    {
        errors.push(FieldError::new(at, "out_of_range", format!("At least {min}.")));
    }
    if let Some(max) = schema.get("maximum")
        && above(max)
    {
        errors.push(FieldError::new(at, "out_of_range", format!("At most {max}.")));
    }
}

/// The schema of `T` and of every schema it refers to, as one document
/// ([`Schemas`] over it checks a value against `T`).
pub fn document_of<T: utoipa::ToSchema>() -> (Value, Value) {
    let mut deps = Vec::new();
    T::schemas(&mut deps);
    let mut components = Map::new();
    for (name, s) in deps {
        components.insert(name, serde_json::to_value(s).unwrap_or(Value::Null));
    }
    let root = serde_json::json!({ "components": { "schemas": components } });
    let schema = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
    (root, schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, value: Value) -> Vec<(String, &'static str)> {
        let root = json!({"components": {"schemas": {"Kind": {"type": "string", "enum": ["a", "b"]}}}});
        let mut found: Vec<_> = Schemas::new(&root)
            .check(&schema, &value, "")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn every_bad_field_is_named_with_its_path() {
        let schema = json!({
            "type": "object", "additionalProperties": false, "required": ["kind", "n"],
            "properties": {
                "kind": {"$ref": "#/components/schemas/Kind"},
                "n": {"type": "integer", "minimum": 0},
                "items": {"type": ["array", "null"], "items": {"type": "object", "properties": {"at": {"type": "string", "format": "date"}}}},
                "maybe": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Kind"}]}
            }
        });
        let found = check(
            schema.clone(),
            json!({"kind": "c", "n": -1, "items": [{"at": "2026-13-01"}], "maybe": "z", "extra": 1}),
        );
        assert_eq!(
            found,
            vec![
                ("extra".to_owned(), "unknown_field"),
                ("items[0].at".to_owned(), "invalid_format"),
                ("kind".to_owned(), "unknown_value"),
                ("maybe".to_owned(), "unknown_value"),
                ("n".to_owned(), "out_of_range"),
            ]
        );
        assert_eq!(check(schema.clone(), json!({})).len(), 2);
        assert_eq!(
            check(schema.clone(), json!({"kind": "a", "n": 1, "maybe": null})),
            vec![]
        );
        assert_eq!(check(schema, json!({"kind": 3, "n": "1"})).len(), 2);
    }

    #[test]
    fn a_flood_of_faults_is_cut_short_and_big_integers_are_compared_exactly() {
        let schema = json!({"type": "array", "items": {"type": "string"}});
        let found = check(schema, Value::Array((0..100_000).map(Value::from).collect()));
        assert_eq!(found.len(), MAX_PROBLEMS + 1);
        assert!(found.iter().any(|f| f.1 == "too_many_problems"));
        let capped = json!({"type": "integer", "maximum": 9223372036854775807_i64});
        assert_eq!(check(capped.clone(), json!(9223372036854775807_u64)), vec![]);
        assert_eq!(check(capped, json!(9223372036854775808_u64)).len(), 1);
        assert_eq!(check(json!({"$ref": "#/components/schemas/Gone"}), json!(1)).len(), 1);
    }
}
