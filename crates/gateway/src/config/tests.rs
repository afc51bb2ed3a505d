#![allow(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]

use super::*;
use figment::Jail;

#[test]
fn defaults_are_valid_and_embedded() {
    let c = Config::default();
    c.validate().unwrap();
    assert!(c.uses_embedded_storage());
    assert!(c.database_url().starts_with("sqlite://"));
}

#[test]
fn file_then_environment_with_named_errors() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "dentex.toml",
            r#"
            data_dir = "/var/lib/dentex"
            [http]
            addr = "0.0.0.0:9000"
            [database]
            url = "postgres://dentex:hunter2@db/dentex"
            "#,
        )?;
        jail.set_env("DENTEX_HTTP__ADDR", "0.0.0.0:9001");
        jail.set_env("DENTEX_TEST_POSTGRES_URL", "ignored");
        let c = Config::load(Some(Path::new("dentex.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(c.http.addr, "0.0.0.0:9001", "environment wins over the file");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/dentex"));
        assert_eq!(c.database_url(), "postgres://dentex:hunter2@db/dentex");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "Debug must mask secrets: {dbg}");
        Ok(())
    });
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("DENTEX_HTTP__ADRESS", "x");
        let e = Config::load(None).unwrap_err();
        assert!(e.contains("adress"), "{e}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("DENTEX_STORAGE__PRESIGN_TTL_SECS", "900");
        jail.set_env("DENTEX_HTTP__ADDR", "nowhere");
        let e = Config::load(None).unwrap_err();
        assert!(e.contains("storage.presign_ttl_secs"), "{e}");
        assert!(e.contains("http.addr"), "{e}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("DENTEX_JOBS__WORKERS", "many");
        let e = Config::load(None).unwrap_err();
        assert!(e.contains("jobs.workers"), "{e}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("DENTEX_STORAGE__ENDPOINT", "https://s3.eu-central-1.amazonaws.com");
        let e = Config::load(None).unwrap_err();
        assert!(
            e.contains("storage.access_key_id") && e.contains("storage.secret_access_key"),
            "{e}"
        );
        Ok(())
    });
}
