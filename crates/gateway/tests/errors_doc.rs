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
