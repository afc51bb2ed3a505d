//! Stripe's request bodies: `application/x-www-form-urlencoded` with nested
//! keys (`metadata[order_id]=…`, `transfer_data[destination]=…`,
//! `expand[0]=…` or `expand[]=…`), read into a JSON value.

use serde_json::{Map, Value};

/// The form as nested JSON: every leaf a string, as Stripe receives it.
pub fn parse(body: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in form_urlencoded::parse(body) {
        let path = segments(&k);
        insert(&mut root, &path, Value::String(v.into_owned()));
    }
    root
}

/// `a[b][0]` → `["a", "b", "0"]`; `a[]` → `["a", ""]`.
fn segments(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    out.push(head.to_owned());
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(end) => {
                out.push(stripped[..end].to_owned());
                rest = &stripped[end + 1..];
            }
            None => break,
        }
    }
    out
}

fn insert(node: &mut Value, path: &[String], leaf: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = leaf;
        return;
    };
    let array_next = rest.first().is_some_and(|s| s.is_empty() || s.parse::<usize>().is_ok());
    if let Value::Array(items) = node {
        // An array segment: `[]` appends, `[n]` sets the n-th.
        let i = if first.is_empty() {
            items.len()
        } else {
            first.parse::<usize>().unwrap_or(items.len())
        };
        while items.len() <= i {
            items.push(Value::Null);
        }
        if rest.is_empty() {
            items[i] = leaf;
        } else {
            if items[i].is_null() {
                items[i] = if array_next {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                };
            }
            insert(&mut items[i], rest, leaf);
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(map) = node else { return };
    if rest.is_empty() {
        map.insert(first.clone(), leaf);
        return;
    }
    let child = map.entry(first.clone()).or_insert_with(|| {
        if array_next {
            Value::Array(Vec::new())
        } else {
            Value::Object(Map::new())
        }
    });
    insert(child, rest, leaf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys_and_arrays() {
        let v = parse(b"amount=5000&currency=jpy&metadata[order_id]=o-1&expand[0]=latest_charge&expand[1]=x&automatic_payment_methods[enabled]=true&t[]=a&t[]=b");
        assert_eq!(
            v,
            json!({
                "amount": "5000", "currency": "jpy",
                "metadata": {"order_id": "o-1"},
                "expand": ["latest_charge", "x"],
                "automatic_payment_methods": {"enabled": "true"},
                "t": ["a", "b"]
            })
        );
    }
}
