//! The `webcare` binary: config checking, import and search from the shell.

use std::path::Path;
use std::process::Command;

use crate::fixtures::repo;

fn webcare(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(args)
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn shipped_config_is_valid() {
    let (code, out, err) = webcare(&["check-config"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("config/webcare.toml: OK"), "{out}");
}

#[test]
fn shipped_config_documents_every_key() {
    let text = std::fs::read_to_string(repo().join("config/webcare.toml")).unwrap();
    for key in [
        "data_dir",
        "commit_interval",
        "commit_max_docs",
        "listen",
        "user_agent",
        "timeout",
        "max_body_bytes",
        "max_redirects",
        "max_per_host",
        "backoff_max",
        "jitter",
        "topics_dir",
        "languages",
        "name",
        "kind",
        "url",
        "interval",
        "lang",
        "redact_patterns",
        "aspects_dir",
        "complaint_dir",
        "pseudonym_key_file",
        "public_accounts",
        "retention",
        "audit_retention",
        "users_file",
        "session_ttl",
        "secure_cookies",
        "weekday",
        "time",
        "time_zone",
        "out_dir",
        "weeks",
        "formats",
        "bom",
        "mail_to",
    ] {
        assert!(
            text.contains(&format!("{key} =")),
            "config/webcare.toml does not show `{key}`"
        );
    }
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for key in [
        "data_dir",
        "commit_interval",
        "max_body_bytes",
        "max_per_host",
        "backoff_max",
        "topics_dir",
        "enabled",
        "redact_patterns",
        "aspects_dir",
        "complaint_dir",
        "pseudonym_key_file",
        "public_accounts",
        "retention",
        "audit_retention",
        "users_file",
        "session_ttl",
        "secure_cookies",
        "weekday",
        "time_zone",
        "out_dir",
        "weeks",
        "formats",
        "bom",
        "mail_to",
    ] {
        assert!(
            readme.contains(&format!("`{key}`")),
            "README does not document `{key}`"
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn bad_configs_are_refused_naming_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let topics = repo().join("config/topics").display().to_string();
    let cases = [
        ("unknown-key.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[poll]\ntimeot = \"5s\"\n"), vec!["unknown-key.toml", "timeot", "line 4"]),
        ("bad-duration.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/\"\ninterval = \"often\"\n"), vec!["bad-duration.toml", "invalid duration", "line 7"]),
        ("dup.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/\"\n[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/2\"\n"), vec!["dup.toml:8:", "sources[1].name", "duplicate source name"]),
        ("no-topics.toml", "[pipeline]\ntopics_dir = \"/nonexistent/topics\"\n".to_string(), vec!["no-topics.toml:2:", "pipeline.topics_dir"]),
        ("bad-url.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"ftp://e.org/\"\n"), vec!["sources[0].url", "http(s) URL"]),
        ("bad-recipient.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nenabled = true\nsmtp_host = \"127.0.0.1\"\n[[mail.rules]]\nto = [\"communicatie at example\"]\n"), vec!["bad-recipient.toml:7:", "mail.rules[0].to", "not an e-mail address"]),
        ("rule-aspect.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[[mail.rules]]\nto = [\"a@example.org\"]\naspects = [\"tolk\"]\n"), vec!["rule-aspect.toml:5:", "mail.rules[0].aspects", "\"tolk\" is not an aspect"]),
        ("mail-password.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\npassword = \"geheim\"\n"), vec!["mail-password.toml:4:", "mail.password", "never goes in the config"]),
        ("bad-facet.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[alerts]\nfacets = [\"location\"]\n"), vec!["bad-facet.toml:4:", "alerts.facets", "unknown facet"]),
        ("export-weekday.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\nweekday = \"maandag\"\n"), vec!["export-weekday.toml:4:", "export.weekday", "mon, tue"]),
        ("export-time.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\ntime = \"7 uur\"\n"), vec!["export-time.toml:4:", "export.time", "\"07:00\""]),
        ("export-zone.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\ntime_zone = \"Europe/Amsterdamm\"\n"), vec!["export-zone.toml:4:", "export.time_zone", "IANA"]),
        ("export-format.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\nformats = [\"csv\", \"pdf\"]\n"), vec!["export-format.toml:4:", "export.formats", "unknown format \"pdf\""]),
        ("export-weeks.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\nweeks = 0\n"), vec!["export-weeks.toml:4:", "export.weeks", "between 1 and 104"]),
        ("export-mail.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\nmail_to = [\"a@example.org\"]\n"), vec!["export-mail.toml:4:", "export.mail_to", "[mail] enabled"]),
    ];
    for (name, text, expected) in cases {
        let path = write(dir.path(), name, &text);
        let (code, out, err) = webcare(&["check-config", "-c", &path]);
        assert_ne!(code, 0, "{name} was accepted: {out}");
        for needle in expected {
            assert!(
                err.contains(needle),
                "{name}: expected {needle:?} in: {err}"
            );
        }
    }
    let (code, _, err) = webcare(&["check-config", "-c", "/nonexistent/webcare.toml"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("/nonexistent/webcare.toml: cannot read the config file"),
        "{err}"
    );
}

#[test]
fn malformed_topic_file_stops_startup_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let topics = dir.path().join("topics");
    std::fs::create_dir(&topics).unwrap();
    std::fs::write(
        topics.join("nl.toml"),
        "[[include]]\nid = \"x\"\nany = []\n",
    )
    .unwrap();
    let config = write(
        dir.path(),
        "c.toml",
        &format!(
            "[pipeline]\ntopics_dir = {:?}\n",
            topics.display().to_string()
        ),
    );
    let (code, _, err) = webcare(&["check-config", "-c", &config]);
    assert_ne!(code, 0);
    assert!(
        err.contains("nl.toml:2:") && err.contains("empty term list"),
        "{err}"
    );
}

#[test]
fn import_then_search_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let topics = repo().join("config/topics").display().to_string();
    let data = dir.path().join("data").display().to_string();
    let config = write(
        dir.path(),
        "c.toml",
        &format!("[storage]\ndata_dir = {data:?}\n[pipeline]\ntopics_dir = {topics:?}\n"),
    );
    let input = write(
        dir.path(),
        "in.jsonl",
        concat!(
            r#"{"id":"1","title":"Tolk bij nader gehoor","text":"De tolk bij mijn nader gehoor sprak een ander dialect.","published":"2026-11-20T10:00:00Z"}"#,
            "\n",
            "geen json\n",
            r#"{"id":"2","text":"The interpreter at my IND interview in Ter Apel did not speak my dialect.","published":"2026-11-21T10:00:00Z"}"#,
            "\n",
        ),
    );
    let (code, out, err) = webcare(&["import", "-c", &config, &input]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("3 lines, 2 indexed, 0 not relevant, 1 skipped"),
        "{out}"
    );
    assert!(err.contains("in.jsonl:2: invalid JSON"), "{err}");

    let (code, out, err) = webcare(&["search", "-c", &config, "tolk", "--lang", "nl", "--json"]);
    assert_eq!(code, 0, "{err}");
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["hits"][0]["title"], "Tolk bij nader gehoor");
    assert!(body["hits"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("<b>tolk</b>"));

    let (code, out, _) = webcare(&["search", "-c", &config]);
    assert_eq!(code, 0);
    assert!(out.starts_with("2 mentions"), "{out}");
    let (code, _, err) = webcare(&["search", "-c", &config, "\"unclosed"]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid query"), "{err}");
}
