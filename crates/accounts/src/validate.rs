//! Field rules declared on request bodies with `validator`
//! (`#[validate(length(min = 1, max = 100, code = "invalid_length", message = "…"))]`),
//! reported as [`FieldError`]s: the field path (`organization.name`,
//! `services[1]`), the rule's `code` and its `message`. Rules validator cannot
//! express (e-mail addresses, passwords, choices) stay hand-written and join
//! the same list; [`in_order`] puts them in the order the fields are declared.

use dentex_domain::FieldError;
use std::borrow::Cow;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

/// What `value`'s declared rules find, sorted by field path.
pub fn field_errors<T: Validate>(value: &T) -> Vec<FieldError> {
    value.validate().err().map(|e| to_field_errors(&e)).unwrap_or_default()
}

/// `errors` as field errors with their paths, sorted by path.
pub fn to_field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    flatten("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn flatten(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(errs) => {
                out.extend(errs.iter().map(|e| FieldError::new(path.clone(), code(e), message(e))));
            }
            ValidationErrorsKind::Struct(inner) => flatten(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

/// The rule's `code`: always a literal when it comes from the derive.
fn code(e: &ValidationError) -> &'static str {
    match e.code {
        Cow::Borrowed(c) => c,
        Cow::Owned(_) => "invalid",
    }
}

fn message(e: &ValidationError) -> String {
    e.message.as_deref().map_or_else(|| e.code.to_string(), str::to_owned)
}

/// Sorts `errs` (stably) by the position of their field in `order`: a field
/// path matches its entry or an entry it extends (`services[1]` → `services`).
/// Fields not listed go last.
pub fn in_order(errs: &mut [FieldError], order: &[&str]) {
    errs.sort_by_key(|e| {
        order
            .iter()
            .position(|f| e.field == *f || e.field.strip_prefix(f).is_some_and(|rest| rest.starts_with(['.', '['])))
            .unwrap_or(order.len())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Validate)]
    struct Inner {
        #[validate(length(min = 2, code = "invalid_length", message = "Two or more."))]
        name: String,
    }

    #[derive(Validate)]
    struct Outer {
        #[validate(length(max = 3, code = "too_long", message = "Three at most."))]
        title: String,
        #[validate(nested)]
        inner: Inner,
        #[validate(nested)]
        items: Vec<Inner>,
    }

    #[test]
    fn paths_codes_and_messages_come_from_the_rules() {
        let v = Outer {
            title: "long".into(),
            inner: Inner { name: "x".into() },
            items: vec![Inner { name: "ok".into() }, Inner { name: "y".into() }],
        };
        let mut errs = field_errors(&v);
        let got: Vec<_> = errs
            .iter()
            .map(|e| (e.field.as_str(), e.code, e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("inner.name", "invalid_length", "Two or more."),
                ("items[1].name", "invalid_length", "Two or more."),
                ("title", "too_long", "Three at most."),
            ]
        );
        errs.push(FieldError::new("first", "required", "x"));
        in_order(&mut errs, &["first", "title", "items", "inner"]);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["first", "title", "items[1].name", "inner.name"]);
    }
}
