//! `/docs`: the reference page, rendered on the server from the document
//! (no script, nothing fetched from elsewhere).

use serde_json::Value;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_ref_name(v: &Value) -> Option<&str> {
    v.get("$ref")?.as_str()?.rsplit('/').next()
}

/// A short type description of a schema, linking named schemas.
fn type_of(v: &Value) -> String {
    if let Some(name) = schema_ref_name(v) {
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(items) = v.get("items") {
        return format!("array of {}", type_of(items));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(xs)) = v.get(key) {
            return xs.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    let t = match v.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(xs)) => xs.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => "any".into(),
    };
    match v.get("format").and_then(Value::as_str) {
        Some(f) => format!("{t} ({})", esc(f)),
        None => esc(&t),
    }
}

type Groups<'a> = std::collections::BTreeMap<String, Vec<(String, String, &'a Value)>>;

pub(super) fn render(spec: &Value) -> String {
    let mut h = render_head(spec);
    let groups = group_operations(spec);
    render_nav(&mut h, &groups);
    let tag_desc = |name: &str| -> String {
        spec.get("tags")
            .and_then(Value::as_array)
            .and_then(|ts| ts.iter().find(|t| t.get("name").and_then(Value::as_str) == Some(name)))
            .and_then(|t| t.get("description"))
            .and_then(Value::as_str)
            .map(esc)
            .unwrap_or_default()
    };
    for (tag, ops) in &groups {
        let _ = write!(h, "<h2>{}</h2><p>{}</p>", esc(tag), tag_desc(tag));
        for (m, path, op) in ops {
            render_operation(&mut h, m, path, op);
        }
    }
    render_schemas(&mut h, spec);
    h.push_str("<p class=\"muted\">Fields marked * are required.</p></main></body></html>");
    h
}

/// The page's head, style and title.
fn render_head(spec: &Value) -> String {
    let mut h = String::new();
    let title = spec.pointer("/info/title").and_then(Value::as_str).unwrap_or("API");
    let version = spec.pointer("/info/version").and_then(Value::as_str).unwrap_or("");
    let desc = spec.pointer("/info/description").and_then(Value::as_str).unwrap_or("");
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} reference</title><style>\
         body{{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2733;background:#f7f9fb}}\
         header{{background:#0f4c5c;color:#fff;padding:1.2em 2em}}header h1{{margin:0;font-size:1.5em}}\
         main{{max-width:60em;margin:0 auto;padding:1em 2em 4em}}\
         nav ul{{columns:2;list-style:none;padding:0}}nav a{{text-decoration:none}}\
         section.op{{background:#fff;border:1px solid #d7dee5;border-radius:6px;margin:1em 0;padding:.6em 1em}}\
         .m{{display:inline-block;min-width:4.2em;font-weight:600;font-family:monospace;padding:0 .4em;border-radius:3px;color:#fff;text-align:center}}\
         .get{{background:#2b7a4b}}.post{{background:#1f5fa8}}.put,.patch{{background:#9a6a00}}.delete{{background:#a32e2e}}\
         code,.p{{font-family:ui-monospace,monospace}}table{{border-collapse:collapse;width:100%;margin:.4em 0}}\
         td,th{{border-top:1px solid #e3e8ee;padding:.25em .5em;text-align:left;vertical-align:top}}\
         h2{{margin-top:2em;border-bottom:2px solid #0f4c5c}}.muted{{color:#5b6875}}\
         </style></head><body><header><h1>{t} <span class=\"muted\" style=\"color:#cfe3e8\">{v}</span></h1>\
         <div>{d}</div><div>Machine-readable: <a style=\"color:#fff\" href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a></div></header><main>",
        t = esc(title),
        v = esc(version),
        d = esc(desc),
    );
    h
}

/// Operations grouped by their first tag.
fn group_operations(spec: &Value) -> Groups<'_> {
    let methods = ["get", "post", "put", "patch", "delete"];
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return Groups::default();
    };

    // Group operations by their first tag.
    let mut groups: Groups<'_> = Default::default();
    for (path, item) in paths {
        for m in methods {
            if let Some(op) = item.get(m) {
                let tag = op
                    .pointer("/tags/0")
                    .and_then(Value::as_str)
                    .unwrap_or("other")
                    .to_owned();
                groups.entry(tag).or_default().push((m.to_owned(), path.clone(), op));
            }
        }
    }
    groups
}

fn render_nav(h: &mut String, groups: &Groups<'_>) {
    h.push_str("<nav><h2>Operations</h2><ul>");
    for ops in groups.values() {
        for (m, path, _) in ops {
            let _ = write!(
                h,
                "<li><a href=\"#{m}-{a}\"><span class=\"m {m}\">{M}</span> <span class=\"p\">{p}</span></a></li>",
                a = anchor(path),
                M = m.to_uppercase(),
                p = esc(path)
            );
        }
    }
    h.push_str("</ul></nav>");
}

/// One operation: summary, parameters, request body, responses.
fn render_operation(h: &mut String, m: &str, path: &str, op: &Value) {
    let _ = write!(
        h,
        "<section class=\"op\" id=\"{m}-{a}\"><h3><span class=\"m {m}\">{M}</span> <span class=\"p\">{p}</span></h3>",
        a = anchor(path),
        M = m.to_uppercase(),
        p = esc(path)
    );
    if let Some(s) = op.get("summary").and_then(Value::as_str) {
        let _ = write!(h, "<p>{}</p>", esc(s));
    }
    if let Some(s) = op.get("description").and_then(Value::as_str) {
        let _ = write!(h, "<p class=\"muted\">{}</p>", esc(s));
    }
    if op.get("security").is_some() {
        h.push_str("<p class=\"muted\">Requires <code>Authorization: Bearer &lt;token&gt;</code>.</p>");
    }
    if let Some(Value::Array(params)) = op.get("parameters") {
        h.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>");
        for p in params {
            let _ = write!(
                h,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p.get("name").and_then(Value::as_str).unwrap_or("")),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    " *"
                } else {
                    ""
                },
                esc(p.get("in").and_then(Value::as_str).unwrap_or("")),
                p.get("schema").map(type_of).unwrap_or_default(),
                esc(p.get("description").and_then(Value::as_str).unwrap_or("")),
            );
        }
        h.push_str("</table>");
    }
    if let Some(content) = op.pointer("/requestBody/content").and_then(Value::as_object) {
        for (mime, c) in content {
            let _ = write!(
                h,
                "<p><b>Request body</b> <code>{}</code>: {}</p>",
                esc(mime),
                c.get("schema").map(type_of).unwrap_or_default()
            );
        }
    }
    if let Some(resps) = op.get("responses").and_then(Value::as_object) {
        h.push_str("<table><tr><th>status</th><th>description</th><th>body</th></tr>");
        for (code, r) in resps {
            let body = r
                .get("content")
                .and_then(Value::as_object)
                .map(|c| {
                    c.iter()
                        .map(|(mime, v)| {
                            format!(
                                "<code>{}</code> {}",
                                esc(mime),
                                v.get("schema").map(type_of).unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                })
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(code),
                esc(r.get("description").and_then(Value::as_str).unwrap_or("")),
                body
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
}

fn render_schemas(h: &mut String, spec: &Value) {
    if let Some(schemas) = spec.pointer("/components/schemas").and_then(Value::as_object) {
        h.push_str("<h2>Schemas</h2>");
        for (name, s) in schemas {
            let _ = write!(h, "<section class=\"op\" id=\"schema-{0}\"><h3>{0}</h3>", esc(name));
            if let Some(d) = s.get("description").and_then(Value::as_str) {
                let _ = write!(h, "<p>{}</p>", esc(d));
            }
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                h.push_str("<table><tr><th>field</th><th>type</th><th>description</th></tr>");
                for (pname, p) in props {
                    let _ = write!(
                        h,
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(pname),
                        if required.contains(&pname.as_str()) { " *" } else { "" },
                        type_of(p),
                        esc(p.get("description").and_then(Value::as_str).unwrap_or(""))
                    );
                }
                h.push_str("</table>");
            } else {
                let _ = write!(h, "<p>{}</p>", type_of(s));
            }
            h.push_str("</section>");
        }
    }
}

fn anchor(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}
