//! The `dentex` binary as an operator meets it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

mod common;

use common::{Env, sigterm, wait_exit};
use sea_orm::ConnectionTrait;
use std::time::Duration;

#[tokio::test]
async fn help_lists_every_command_and_reads_well() {
    let env = Env::new().await;
    let (code, out, _) = env.run(&["--help"], None);
    assert_eq!(code, 0);
    for word in [
        "serve",
        "migrate",
        "admin",
        "jobs",
        "audit",
        "--config",
        "--data-dir",
        "embedded defaults",
    ] {
        assert!(out.contains(word), "--help lacks {word:?}:\n{out}");
    }
    let (code, out, _) = env.run(&["admin", "--help"], None);
    assert_eq!(code, 0);
    assert!(out.contains("create-staff") && out.contains("send-test-mail"), "{out}");
    let (code, out, _) = env.run(&["admin", "create-staff", "--help"], None);
    assert_eq!(code, 0);
    assert!(out.contains("--password-stdin") && out.contains("support"), "{out}");
}

#[tokio::test]
async fn serve_on_port_0_uses_the_embedded_defaults_and_stops_on_sigterm() {
    let env = Env::new().await;
    let (mut child, url) = serve_without_db_url(&env);
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "{url}");
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{url}/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{url}/readyz")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{url}/docs")).send().await.unwrap().status(), 200);
    assert_eq!(
        http.get(format!("{url}/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let data = env.data();
    assert!(data.join("objects").is_dir(), "objects live in the data dir");
    if !env.db.is_postgres() {
        assert!(
            data.join("dentex.db").is_file(),
            "the SQLite file lives in the data dir"
        );
    }
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
}

/// `serve`, with the database URL removed from the environment on SQLite so the
/// server falls back to `DATA_DIR/dentex.db`.
fn serve_without_db_url(env: &Env) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut c = env.command(&["serve", "--addr", "127.0.0.1:0"]);
    if !env.db.is_postgres() {
        c.env_remove("DENTEX_DATABASE__URL");
    }
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("listening on ").unwrap().to_owned();
    let second = lines.next().unwrap().unwrap();
    assert_eq!(second, format!("API reference: {url}/docs"));
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

#[tokio::test]
async fn create_staff_reads_the_password_from_stdin_and_refuses_bad_input() {
    let env = Env::new().await;
    let (code, out, err) = env.run(
        &[
            "admin",
            "create-staff",
            "--email",
            "ops@dentex.example",
            "--role",
            "support",
            "--password-stdin",
        ],
        Some("a sufficiently long passphrase\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("created support account "), "{out}");

    // The same address again.
    let (code, _, err) = env.run(
        &[
            "admin",
            "create-staff",
            "--email",
            "OPS@dentex.example",
            "--role",
            "support",
            "--password-stdin",
        ],
        Some("another long passphrase\n"),
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");

    // Too short a password names the rule.
    let (code, _, err) = env.run(
        &[
            "admin",
            "create-staff",
            "--email",
            "b@dentex.example",
            "--role",
            "support",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("12 characters"), "{err}");

    // An unknown role is refused by the parser with the choices.
    let (code, _, err) = env.run(
        &[
            "admin",
            "create-staff",
            "--email",
            "c@dentex.example",
            "--role",
            "owner",
            "--password-stdin",
        ],
        Some("a sufficiently long passphrase\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("support") && err.contains("platform_admin"), "{err}");

    // The password is never accepted on the command line.
    let (code, _, _) = env.run(
        &[
            "admin",
            "create-staff",
            "--email",
            "d@dentex.example",
            "--role",
            "support",
        ],
        None,
    );
    assert_eq!(code, 2);

    // The account works: a server on the same database lets it log in.
    let (mut child, url) = env.serve();
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "ops@dentex.example", "password": "a sufficiently long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(20)).success());
}

#[tokio::test]
async fn jobs_list_shows_queued_work_and_checks_its_filter() {
    let env = Env::new().await;
    let (code, out, err) = env.run(&["admin", "send-test-mail", "--to", "ops@lab.example"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("queued job "), "{out}");
    let (code, out, _) = env.run(&["jobs", "list"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("mail.send") && out.contains("queued") && out.contains("0/8"),
        "{out}"
    );
    assert!(out.contains("1 job(s)"), "{out}");
    // The listing never shows the payload (it holds the address).
    assert!(!out.contains("ops@lab.example"), "{out}");
    let (code, out, _) = env.run(&["jobs", "list", "--status", "dead"], None);
    assert_eq!(code, 0);
    assert!(out.contains("0 job(s)"), "{out}");
    let (code, _, err) = env.run(&["jobs", "list", "--status", "sleeping"], None);
    assert_eq!(code, 2);
    assert!(err.contains("--status"), "{err}");
    let (code, _, err) = env.run(&["admin", "send-test-mail", "--to", "not an address"], None);
    assert_eq!(code, 1);
    assert!(err.contains("--to"), "{err}");
}

#[tokio::test]
async fn audit_verify_reports_intact_then_the_first_broken_link() {
    let env = Env::new().await;
    for i in 0..3 {
        let (code, _, err) = env.run(
            &[
                "admin",
                "create-staff",
                "--email",
                &format!("s{i}@dentex.example"),
                "--role",
                "support",
                "--password-stdin",
            ],
            Some("a sufficiently long passphrase"),
        );
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, _) = env.run(&["audit", "verify"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact") && out.contains("3 row(s)"), "{out}");

    // Someone with database rights rewrites history.
    let db = env.db.connect().await.unwrap();
    if env.db.is_postgres() {
        db.execute_unprepared("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
            .await
            .unwrap();
    } else {
        db.execute_unprepared("DROP TRIGGER audit_events_no_update")
            .await
            .unwrap();
    }
    db.execute_unprepared("UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 2")
        .await
        .unwrap();
    let (code, out, _) = env.run(&["audit", "verify"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN chain platform at row 2"), "{out}");
}

#[tokio::test]
async fn configuration_errors_name_the_key_and_exit_2() {
    let mut env = Env::new().await;
    env.set("DENTEX_HTTP__ADRESS", "0.0.0.0:1");
    let (code, _, err) = env.run(&["migrate"], None);
    assert_eq!(code, 2);
    assert!(err.contains("configuration error") && err.contains("adress"), "{err}");

    let mut env = Env::new().await;
    env.set("DENTEX_STORAGE__PRESIGN_TTL_SECS", "3600");
    let (code, _, err) = env.run(&["migrate"], None);
    assert_eq!(code, 2);
    assert!(err.contains("storage.presign_ttl_secs"), "{err}");

    let env = Env::new().await;
    let (code, _, err) = env.run(&["serve", "--addr", "no-port-here"], None);
    assert_eq!(code, 2);
    assert!(err.contains("http.addr"), "{err}");
}

#[tokio::test]
async fn migrate_applies_the_schema() {
    let env = Env::new().await;
    let (code, out, err) = env.run(&["migrate"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "migrations applied");
    let (code, _, _) = env.run(&["migrate"], None);
    assert_eq!(code, 0, "migrating twice is harmless");
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files_in_the_data_dir() {
    let env = Env::new().await;
    let (code, _, err) = env.run(&["admin", "send-test-mail", "--to", "ops@lab.example"], None);
    assert_eq!(code, 0, "{err}");
    let (mut child, _url) = env.serve();
    let mail_dir = env.data().join("mail");
    let mut found = None;
    for _ in 0..200 {
        if let Ok(rd) = std::fs::read_dir(&mail_dir) {
            found = rd
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"));
        }
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(20)).success());
    let path = found.expect("an .eml file in DATA_DIR/mail");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains("To: ops@lab.example") && text.contains("Subject: Dentex test message"),
        "{text}"
    );
}

fn corpus(file: &str) -> String {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/meshes")
        .join(file);
    assert!(
        p.is_file(),
        "the mesh corpus is in the repository at tests/fixtures/meshes: {}",
        p.display()
    );
    p.display().to_string()
}

#[tokio::test]
async fn mesh_inspect_prints_a_table_or_json() {
    let env = Env::new().await;
    let file = corpus("trimesh/unit_cube.STL");
    let (code, out, err) = env.run(&["mesh", "inspect", &file], None);
    assert_eq!(code, 0, "{err}");
    for want in [
        "triangles             12",
        "vertices (merged)     8",
        "watertight            true",
        "volume",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    let (code, out, _) = env.run(&["mesh", "inspect", "--json", &file], None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["triangles"], 12);
    assert_eq!(v["format"], "stl_binary");
    assert!((v["volume"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    // Not a mesh: a clear error and exit status 2.
    let junk = env.data().join("notes.txt");
    std::fs::write(&junk, "just some notes\n").unwrap();
    let (code, _, err) = env.run(&["mesh", "inspect", junk.to_str().unwrap()], None);
    assert_eq!(code, 2);
    assert!(err.contains("not a mesh"), "{err}");
}

#[tokio::test]
async fn mesh_thumbnail_writes_a_png() {
    let env = Env::new().await;
    let out = env.data().join("teapot.png");
    let (code, stdout, err) = env.run(
        &[
            "mesh",
            "thumbnail",
            &corpus("trimesh/teapot.stl"),
            "-o",
            out.to_str().unwrap(),
            "--size",
            "128",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("128x128"));
    let png = std::fs::read(&out).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Width and height in the IHDR chunk.
    assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 128);
}

#[tokio::test]
async fn storage_sweep_reports_orphans_and_removes_them_only_when_asked() {
    let env = Env::new().await;
    let (code, out, err) = env.run(&["storage", "sweep"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("objects without a row") && out.contains("report only"),
        "{out}"
    );
    // An object no row names, as a crash between storing and recording leaves.
    let dir = env
        .data()
        .join("objects")
        .join("dentex")
        .join("eu")
        .join("org")
        .join("case");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stray"), b"left behind").unwrap();
    let (code, out, _) = env.run(&["storage", "sweep", "--grace-secs", "0"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("eu/org/case/stray"), "{out}");
    assert!(dir.join("stray").exists(), "a report-only sweep removed something");
    // Young objects are left alone by default.
    let (code, out, _) = env.run(&["storage", "sweep"], None);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = env.run(&["storage", "sweep", "--remove", "--grace-secs", "0", "--json"], None);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["objects_without_row"][0], "eu/org/case/stray");
    assert_eq!(v["removed"], true);
    assert!(!dir.join("stray").exists());
    let (code, out, _) = env.run(&["storage", "sweep", "--grace-secs", "0"], None);
    assert_eq!(code, 0, "{out}");
}
