//! `docs/errors.md` is generated from the error catalogues: this test fails
//! when the page and the code differ (`DENTEX_BLESS=1` rewrites the page), and
//! when two entries share a code and a status or a name is not snake_case.

use std::collections::HashSet;

#[test]
fn errors_doc_matches_the_catalogues() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
    let want = dentex_gateway::docs::errors_markdown();
    if std::env::var_os("DENTEX_BLESS").is_some() {
        std::fs::write(path, &want).expect("write docs/errors.md");
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/errors.md differs from the catalogues: run DENTEX_BLESS=1 cargo test -p dentex-gateway --test errors_doc"
    );
}

#[test]
fn each_code_is_declared_once_with_one_status() {
    let mut seen = HashSet::new();
    for (_, codes) in dentex_gateway::docs::error_catalogues() {
        for c in codes {
            assert!(
                seen.insert((c.code, c.status)),
                "{} {} is declared twice",
                c.code,
                c.status
            );
            assert!(
                !c.code.is_empty() && c.code.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{} is not snake_case",
                c.code
            );
            assert!((400..600).contains(&c.status), "{} has status {}", c.code, c.status);
            assert!(!c.meaning.is_empty(), "{} has no meaning", c.code);
        }
    }
}

/// Each route's OpenAPI entry names, for every problem status it documents,
/// the codes it answers with (`` `case_not_draft` ``); each must be in a
/// catalogue with that status. The shared codes every route may answer
/// (401, 503, 500; `docs/errors.md`, "Shared") are not repeated per route.
#[test]
fn route_problem_codes_are_catalogued_with_their_status() {
    let doc = serde_json::to_value(dentex_gateway::docs::document_as_annotated(dentex_gateway::app::routes)).unwrap();
    let catalogued: HashSet<(String, u16)> = dentex_gateway::docs::error_catalogues()
        .into_iter()
        .flat_map(|(_, codes)| codes.iter().map(|c| (c.code.to_owned(), c.status)))
        .collect();
    // The tags whose routes are annotated; a route of these without codes fails.
    let annotated = ["cases", "auth", "organizations", "credentials", "support", "market"];
    let mut problems = Vec::new();
    let mut named = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or("");
            for (status, r) in op["responses"].as_object().unwrap() {
                let is_problem = r.to_string().contains("#/components/schemas/Problem");
                if !is_problem {
                    continue;
                }
                let status: u16 = status.parse().unwrap();
                let desc = r["description"].as_str().unwrap_or("");
                // Backticked snake_case words are codes (`Retry-After` is a header).
                let codes: Vec<&str> = desc
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                    .collect();
                // A status without codes of its own answers its shared code
                // (filled in when the document is served); only statuses
                // whose meaning is the same everywhere may rely on that.
                if codes.is_empty()
                    && annotated.contains(&tag)
                    && dentex_gateway::docs::shared_code_for(status).is_none()
                {
                    problems.push(format!(
                        "{method} {path} {status}: names no code, and {status} has no shared one"
                    ));
                }
                for c in codes {
                    named += 1;
                    if !catalogued.contains(&(c.to_owned(), status)) {
                        problems.push(format!(
                            "{method} {path} {status}: `{c}` is not catalogued with {status}"
                        ));
                    }
                }
            }
        }
    }
    assert!(named > 0, "no route names a code");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
