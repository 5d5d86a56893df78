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
    // The shipped models are loaded, and the shipped topical sources counted.
    let models = out.lines().find(|l| l.starts_with("models: ")).unwrap();
    assert!(
        models.contains("features (11 topical sources), complaint ") && !models.contains("none"),
        "{models}"
    );
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

/// A config in `dir` (`c.toml`) with its data in `dir/data`, the shipped topic rules,
/// and `extra` tables; its path.
fn config_in(dir: &Path, extra: &str) -> String {
    config_with_topics(dir, extra, &repo().join("config/topics"))
}

/// [`config_in`] with the topic rules of `topics`.
fn config_with_topics(dir: &Path, extra: &str, topics: &Path) -> String {
    let topics = topics.display().to_string();
    let data = dir.join("data").display().to_string();
    write(
        dir,
        "c.toml",
        &format!("[storage]\ndata_dir = {data:?}\n{extra}[pipeline]\ntopics_dir = {topics:?}\n"),
    )
}

#[test]
fn bad_configs_are_refused_naming_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let topics = repo().join("config/topics").display().to_string();
    let a_file = write(dir.path(), "a-file", "not a directory");
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
        ("short-baseline.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[alerts]\nwindows = [\"6h\"]\nbaseline = \"7d\"\n"), vec!["short-baseline.toml:5:", "alerts.baseline", "longer than 7 days"]),
        // Against the default baseline (28 days): the windows' line.
        ("long-window.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[alerts]\nwindows = [\"6h\", \"20d\"]\n"), vec!["long-window.toml:4:", "alerts.baseline", "twice the longest of `windows`"]),
        ("export-out-dir.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\nout_dir = {:?}\n", format!("{a_file}/exports")), vec!["export-out-dir.toml:4:", "export.out_dir", "a-file is not a directory"]),
        ("export-weeks.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\nweeks = 0\n"), vec!["export-weeks.toml:4:", "export.weeks", "between 1 and 104"]),
        ("export-mail.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[export]\nmail_to = [\"a@example.org\"]\n"), vec!["export-mail.toml:4:", "export.mail_to", "[mail] enabled"]),
        ("too-often.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/\"\ninterval = \"10ms\"\n"), vec!["too-often.toml", "line 7", "must be at least 1s"]),
        ("mail-host.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nenabled = true\nsmtp_host = \"\"\n[[mail.rules]]\nto = [\"a@example.org\"]\n"), vec!["mail-host.toml:5:", "mail.smtp_host", "it is empty"]),
        ("mail-host-crlf.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nenabled = true\nsmtp_host = \"smtp.example.org\\r\\nRCPT TO:<x@evil>\"\n[[mail.rules]]\nto = [\"a@example.org\"]\n"), vec!["mail-host-crlf.toml:5:", "mail.smtp_host", "host name or address only"]),
        ("mail-timeout.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nenabled = true\nsmtp_host = \"127.0.0.1\"\ntimeout = \"10ms\"\n[[mail.rules]]\nto = [\"a@example.org\"]\n"), vec!["mail-timeout.toml", "line 6", "must be at least 1s"]),
        ("mail-port.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nenabled = true\nsmtp_host = \"127.0.0.1\"\nsmtp_port = 0\n[[mail.rules]]\nto = [\"a@example.org\"]\n"), vec!["mail-port.toml:6:", "mail.smtp_port", "from 1 to 65535"]),
        ("proxy.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[http]\ntrusted_proxies = [\"127.0.0.1\", \"proxy.local\"]\n"), vec!["proxy.toml:4:", "http.trusted_proxies", "\"proxy.local\" is not an IP address"]),
        // A value written is checked while mail is off too.
        ("mail-off-security.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nenabled = false\nsecurity = \"ssl\"\n"), vec!["mail-off-security.toml:5:", "mail.security", "\"ssl\": use \"starttls\""]),
        ("mail-off-port.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nsmtp_port = 0\n"), vec!["mail-off-port.toml:4:", "mail.smtp_port", "from 1 to 65535"]),
        ("mail-link.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[mail]\nlink_base = \"127.0.0.1:8080\"\n"), vec!["mail-link.toml:4:", "mail.link_base", "not an http(s) address"]),
        // What `run` would refuse at start.
        ("open-listen.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[http]\nlisten = \"0.0.0.0:18080\"\n[access]\nusers_file = {:?}\n", dir.path().join("nobody.toml").display().to_string()), vec!["open-listen.toml:4: key `http.listen`: refusing", "without any user"]),
        ("users-dir.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[access]\nusers_file = {:?}\n", dir.path().display().to_string()), vec!["users-dir.toml:4:", "access.users_file", "is a directory; name a file"]),
        ("users-parent.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[access]\nusers_file = \"{topics}/README.md/users.toml\"\n"), vec!["users-parent.toml:4:", "access.users_file", "README.md/users.toml cannot be made there", "is not a directory"]),
        // Made on first use, where nothing can ever be made: refused now, not then.
        ("users-nowhere.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[access]\nusers_file = \"/proc/nowhere/users.toml\"\n"), vec!["users-nowhere.toml:4:", "access.users_file", "/proc/nowhere/users.toml cannot be made there"]),
        ("key-nowhere.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[privacy]\npseudonym_key_file = \"/proc/nowhere/k\"\n"), vec!["key-nowhere.toml:4:", "privacy.pseudonym_key_file", "/proc/nowhere/k cannot be made there"]),
        ("key-dir.toml", format!("[pipeline]\ntopics_dir = {topics:?}\n[privacy]\npseudonym_key_file = {topics:?}\n"), vec!["key-dir.toml:4:", "privacy.pseudonym_key_file", "is a directory; name a file"]),
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
fn errors_for_the_user_carry_no_stack_backtrace() {
    // An administrator's shell may have RUST_BACKTRACE=1 set; a bad path or argument is
    // theirs to mend, and the message must not drown in the program's internals.
    for args in [
        &["check-config", "-c", "/nonexistent/webcare.toml"][..],
        &["search", "-c", "/nonexistent/webcare.toml", "tolk"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
            .args(args)
            .current_dir(repo())
            .env("RUST_BACKTRACE", "1")
            .env("RUST_LIB_BACKTRACE", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("Error: /nonexistent/webcare.toml: cannot read the config file"),
            "{args:?}: {err}"
        );
        assert!(!err.to_lowercase().contains("backtrace"), "{args:?}: {err}");
        // The cause is in the message already; it is not repeated under it.
        assert_eq!(err.matches("No such file").count(), 1, "{args:?}: {err}");
    }
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

/// A topic rule for a language the configuration leaves out is accepted (a language can
/// be dropped without editing every rule) but named, since it never fires for it.
#[test]
fn a_rule_for_a_language_left_out_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let topics = repo().join("config/topics").display().to_string();
    let data = dir.path().join("data").display().to_string();
    let config = write(
        dir.path(),
        "c.toml",
        &format!("[storage]\ndata_dir = {data:?}\n[pipeline]\ntopics_dir = {topics:?}\nlanguages = [\"nl\", \"en\", \"ar\", \"fa\", \"tr\", \"uk\", \"ru\", \"fr\", \"de\", \"es\", \"so\"]\n"),
    );
    let (code, out, err) = webcare(&["check-config", "-c", &config]);
    assert_eq!(code, 0, "{err}");
    let notes: Vec<&str> = out.lines().filter(|l| l.starts_with("note: ")).collect();
    assert!(
        notes
            .iter()
            .any(|l| l.contains("is for language \"ti\", which `[pipeline] languages` leaves out")),
        "{out}"
    );
    assert!(!out.contains("language \"so\""), "{out}");
}

#[test]
fn import_then_search_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    // The lines carry fixed dates: a retention they stay within, whatever today is.
    let config = config_in(dir.path(), "[privacy]\nretention = \"36500d\"\n");
    let input = write(
        dir.path(),
        "in.jsonl",
        concat!(
            r#"{"id":"1","title":"Tolk bij nader gehoor","text":"De tolk bij mijn nader gehoor sprak een ander dialect.","published":"2026-11-20T10:00:00Z"}"#,
            "\n",
            "geen json\n",
            // A blank line is read past: neither a record nor an error.
            "\n",
            r#"{"id":"2","text":"The interpreter at my IND interview in Ter Apel did not speak my dialect.","published":"2026-11-21T10:00:00Z","url":"data:text/html,hi"}"#,
            "\n",
            // Older than the retention period: retention would erase it, so it is not stored.
            r#"{"id":"3","text":"De IND-medewerker bij het aanmeldgehoor in Ter Apel was onbeschoft.","published":"1900-01-01T10:00:00Z"}"#,
            "\n",
        ),
    );
    let (code, out, err) = webcare(&["import", "-c", &config, &input]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("5 lines (1 blank), 2 indexed, 0 not relevant, 1 published before the retention period (36500d), 1 skipped"),
        "{out}"
    );
    assert!(err.contains("in.jsonl:2: invalid JSON"), "{err}");
    assert!(
        err.contains("in.jsonl:4: note: field `url`: \"data:text/html,hi\" is not an http(s) link; stored without a link"),
        "{err}"
    );
    // The log written to a pipe, as to a file or the journal: no colour codes.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::create_dir(fresh.path().join("data")).unwrap();
    // Opened to others, as a new directory often is: the daemon says it closes it.
    std::fs::set_permissions(
        fresh.path().join("data"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let fresh_config = config_in(fresh.path(), "");
    let logged = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(["import", "-c", &fresh_config, &input])
        .current_dir(repo())
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let logged = String::from_utf8_lossy(&logged.stderr);
    assert!(
        logged.contains("INFO") && !logged.contains('\x1b'),
        "{logged:?}"
    );
    // Nothing but unreadable and blank lines: the import fails, blank lines or not.
    let broken = write(dir.path(), "broken.jsonl", "geen json\n\n{\"id\":\"9\"}\n");
    let (code, out, err) = webcare(&["import", "-c", &config, &broken]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("3 lines (1 blank), 0 indexed"), "{out}");
    assert!(err.contains("no line could be imported"), "{err}");

    let (code, out, err) = webcare(&["search", "-c", &config, "tolk", "--lang", "nl", "--json"]);
    assert_eq!(code, 0, "{err}");
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["hits"][0]["title"], "Tolk bij nader gehoor");
    assert!(body["hits"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("<b>tolk</b>"));

    // A language code no mention has and the daemon never answers: a typo, said so.
    let (code, out, err) = webcare(&["search", "-c", &config, "tolk", "--lang", "xx"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("no mention is in \"xx\", nor is it a language the daemon answers"),
        "{err}"
    );
    // Nor one whatlang knows that the config leaves out (`[pipeline] languages`).
    let (code, out, err) = webcare(&["search", "-c", &config, "tolk", "--lang", "it"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("no mention is in \"it\", nor is it a language the daemon answers ([pipeline] languages): nl, en, ar, fa"),
        "{err}"
    );

    let (code, out, _) = webcare(&["search", "-c", &config]);
    assert_eq!(code, 0);
    assert!(out.starts_with("2 mentions\n"), "{out}");
    // On the team's clocks, as the date filters read them: 10:00 UTC is 11:00 in Amsterdam.
    assert!(out.contains("2026-11-21 11:00 CET"), "{out}");
    // The next page: newest first, so the second hit is the older post.
    let page = ["search", "-c", &config, "--limit", "1", "--offset", "1"];
    let (code, out, err) = webcare(&page);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("2 mentions, 2-2 shown\n"), "{out}");
    assert!(
        out.contains("Tolk bij nader gehoor") && !out.contains("did not speak"),
        "{out}"
    );
    let (code, out, err) = webcare(&[&page[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            body["total"].as_u64(),
            body["hits"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1))
    );
    assert_eq!(body["hits"][0]["title"], "Tolk bij nader gehoor");
    let (_, out, _) = webcare(&["search", "-c", &config, "--offset", "5"]);
    assert!(out.starts_with("2 mentions, none from 6\n"), "{out}");
    // The README's example: a query's words as several arguments, one of them a `-`.
    let (code, words, err) = webcare(&["search", "-c", &config, "--", "-coa", "tolk"]);
    assert_eq!(code, 0, "{err}");
    let (_, quoted, _) = webcare(&["search", "-c", &config, "--", "-coa tolk"]);
    assert_eq!(words, quoted);
    assert!(words.starts_with("1 mention\n"), "{words}");
    let (code, _, err) = webcare(&["search", "-c", &config, "\"unclosed"]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid query"), "{err}");
    let (code, out, err) = webcare(&["search", "-c", &config, "--aspect", "tolk"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("--aspect") && err.contains("known aspects: waiting_time"),
        "{err}"
    );

    // Retention: nothing is 90 days old yet.
    let (code, out, err) = webcare(&["purge", "-c", &config, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("would erase 0 mentions"), "{out}");
    assert!(out.contains("would delete 0 export files"), "{out}");
    let (code, out, err) = webcare(&["purge", "-c", &config]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("erased 0 mentions")
            && out.contains("deleted 0 export files, 0 mails (sent or given up)"),
        "{out}"
    );
    // Into a pipe nobody reads (`webcare purge | head -1`): the output is lost, not the
    // rest of the run, and nothing panics.
    let (closed, unread) = std::io::pipe().unwrap();
    drop(closed);
    let piped = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(["purge", "-c", &config])
        .current_dir(repo())
        .stdout(unread)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&piped.stderr);
    assert_eq!(piped.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (_, out, _) = webcare(&["audit", "-c", &config, "--limit", "2"]);
    assert!(
        out.lines().next().is_some_and(
            |l| l.contains(" purge ") && l.contains("export files; 0 mails; 0 audit entries")
        ),
        "the whole run, on record: {out}"
    );
    // Erasure by permalink: shown first, then gone, and audited.
    let input = write(
        dir.path(),
        "url.jsonl",
        r#"{"id":"3","url":"https://forum.example/t/9","text":"Asielzoekers in Ter Apel slapen weer buiten.","published":"2026-11-22T10:00:00Z"}"#,
    );
    let (code, _, err) = webcare(&["import", "-c", &config, &input]);
    assert_eq!(code, 0, "{err}");
    let url = "https://forum.example/t/9?utm_source=mail";
    let (code, out, err) = webcare(&["forget", "-c", &config, "--url", url, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("would erase 1 mentions") && out.contains("https://forum.example/t/9"),
        "{out}"
    );
    // While another process holds the index (the daemon): refused, and on record so.
    {
        let index = webcare::search::MentionIndex::open(&dir.path().join("data")).unwrap();
        let _held = index.writer().unwrap();
        let (code, _, err) = webcare(&["forget", "-c", &config, "--url", url]);
        assert_ne!(code, 0);
        assert!(err.contains("use POST /api/admin/forget"), "{err}");
        let (_, out, _) = webcare(&["audit", "-c", &config]);
        let failed = out.lines().find(|l| l.contains("forget_failed"));
        assert!(
            failed.is_some_and(
                |l| l.contains("url on forum.example #") && l.contains("not erased now")
            ),
            "{out}"
        );
    }
    let (code, out, err) = webcare(&["forget", "-c", &config, "--url", url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("erased 1 mentions"), "{out}");
    let (_, out, _) = webcare(&["search", "-c", &config]);
    assert!(out.starts_with("2 mentions"), "{out}");
    // What was erased stays erased: the same post imported again is not stored.
    let (code, out, err) = webcare(&["import", "-c", &config, &input]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 indexed")
            && out.contains("1 not stored again: their permalink or author was erased before"),
        "{out}"
    );
    let (_, out, _) = webcare(&["search", "-c", &config]);
    assert!(out.starts_with("2 mentions"), "{out}");
    let (code, out, _) = webcare(&["audit", "-c", &config]);
    assert_eq!(code, 0);
    assert!(
        out.contains("forget_dry_run")
            && out.contains("forget_requested")
            && out.contains("url on forum.example #")
            && !out.contains("https://forum.example/t/9"),
        "{out}"
    );
    // Searches from the shell are audited too, with the account the process runs as,
    // and without the personal data typed into them.
    let (code, _, err) = webcare(&["search", "-c", &config, "0612345678", "--lang", "nl"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = webcare(&["audit", "-c", &config]);
    let search = out
        .lines()
        .find(|l| l.contains("search") && l.contains(r#"lang="nl""#))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        search.contains(r#"q="[phone]""#) && search.contains("(uid "),
        "{search}"
    );
    assert!(!out.contains("0612345678"), "{out}");
    let (code, _, err) = webcare(&["forget", "-c", &config]);
    assert_ne!(code, 0, "neither --url nor --author: {err}");

    // Another key in the environment (a typo in a service file, another installation's):
    // refused by its fingerprint; and, in a data directory from before fingerprints, by
    // the key file that made its pseudonyms.
    let other_key = "0123456789abcdef".repeat(4);
    let with_other_key = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
            .args(args)
            .current_dir(repo())
            .env("RUST_LOG", "warn")
            .env("WEBCARE_PSEUDONYM_KEY", &other_key)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let fingerprint = dir.path().join("data/pseudonym.fingerprint");
    assert!(fingerprint.exists());
    let (code, err) = with_other_key(&["import", "-c", &config, &input]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("WEBCARE_PSEUDONYM_KEY is not the key that made the pseudonyms"),
        "{err}"
    );
    // None kept, or one made but never written (a crash in between).
    for gone in [false, true] {
        match gone {
            true => std::fs::remove_file(&fingerprint).unwrap(),
            false => std::fs::write(&fingerprint, "").unwrap(),
        }
        let (code, err) = with_other_key(&["import", "-c", &config, &input]);
        assert_ne!(code, Some(0));
        assert!(
            err.contains("WEBCARE_PSEUDONYM_KEY is not the key in"),
            "{err}"
        );
    }
    let (code, err) = with_other_key(&["import", "-c", &config, &input]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("WEBCARE_PSEUDONYM_KEY is not the key in")
            && err.contains("pseudonym.key, which made this data directory's pseudonyms"),
        "{err}"
    );
    assert!(
        !fingerprint.exists(),
        "the other key was not taken as the one"
    );
    // The file's key records its fingerprint again.
    let (code, _, err) = webcare(&["import", "-c", &config, &input]);
    assert_eq!(code, 0, "{err}");
    assert!(fingerprint.exists());

    // A data directory without the key its pseudonyms were made with (restored without
    // it): nothing goes on with a new key, which would let erased authors back in.
    let key = dir.path().join("data/pseudonym.key");
    std::fs::remove_file(&key).unwrap();
    for args in [
        &["import", "-c", &config, &input][..],
        &["forget", "-c", &config, "--author", "@someone"][..],
    ] {
        let (code, out, err) = webcare(args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(
            err.contains("pseudonym.key: pseudonym key file: missing, but")
                && err.contains("restore the key file"),
            "{err}"
        );
    }
    assert!(!key.exists(), "no new key was made");
}

/// Personal data from input never reaches the logs, even at the most verbose level and
/// even when a bad line quotes it back.
#[test]
fn logs_hold_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    // The lines carry fixed dates: a retention they stay within, whatever today is.
    let config = config_in(dir.path(), "[privacy]\nretention = \"36500d\"\n");
    let input = write(
        dir.path(),
        "pii.jsonl",
        concat!(
            r#"{"id":"1","author":"@amina_w","text":"Asielzoeker in Ter Apel: bel me op 06-12345678 of mail sara.m@example.org, V-nummer 2612345678.","published":"2026-11-20T10:00:00Z"}"#,
            "\n",
            r#"{"id":"2","text":"Asielzoekers in Ter Apel","published":"06-87654321"}"#,
            "\n",
            r#"{"id":3,"text":"sara.m@example.org","published":"2026-11-20T10:00:00Z"}"#,
            "\n",
        ),
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(["import", "-c", &config, &input])
        .env("RUST_LOG", "trace")
        .current_dir(repo())
        .output()
        .unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(logs.contains("1 indexed"), "{logs}");
    for pii in [
        "06-12345678",
        "12345678",
        "sara.m@example.org",
        "2612345678",
        "06-87654321",
        "87654321",
        "amina",
    ] {
        assert!(!logs.contains(pii), "{pii:?} in the logs:\n{logs}");
    }
}

/// Topic, complaint and aspect directories with the shipped rules and word lists and no
/// models, and a config using them.
struct Untrained {
    config: String,
    topics: std::path::PathBuf,
    complaint: std::path::PathBuf,
    aspects: std::path::PathBuf,
}

fn lists_without_models(dir: &Path) -> Untrained {
    let copy_lists = |name: &str| {
        let to = dir.join(name);
        std::fs::create_dir(&to).unwrap();
        for entry in std::fs::read_dir(repo().join("config").join(name)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
            }
        }
        to
    };
    let (topics, complaint, aspects) = (
        copy_lists("topics"),
        copy_lists("complaint"),
        copy_lists("aspects"),
    );
    let config = write(
        dir,
        "c.toml",
        &format!(
            "[pipeline]\ntopics_dir = {:?}\ncomplaint_dir = {:?}\naspects_dir = {:?}\n",
            topics.display().to_string(),
            complaint.display().to_string(),
            aspects.display().to_string()
        ),
    );
    Untrained {
        config,
        topics,
        complaint,
        aspects,
    }
}

/// `webcare train` with few steps and folds: the tests check what it writes and how
/// the pipeline uses it, not how well it learns (BENCHMARKS.md measures that).
fn train_quickly(config: &str, files: &[&str]) -> (i32, String, String) {
    let mut args = vec!["train", "-c", config, "--steps", "150", "--folds", "2"];
    args.extend(files);
    webcare(&args)
}

#[test]
fn train_writes_models_that_the_pipeline_then_uses() {
    let dir = tempfile::tempdir().unwrap();
    let Untrained {
        config,
        topics,
        complaint,
        aspects,
    } = lists_without_models(dir.path());
    let (code, out, err) = webcare(&["check-config", "-c", &config]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("models: relevance none (0 topical sources), complaint none, aspects none"),
        "{out}"
    );
    let (code, out, err) = train_quickly(&config, &["tests/data/labeled-train.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("relevance model: 381 labeled items, 251 relevant"),
        "{out}"
    );
    assert!(
        out.contains("2-fold cross-validation, the rules weighed by the model"),
        "{out}"
    );
    assert!(
        out.contains("complaint model: 251 relevant posts, 144 complaints"),
        "{out}"
    );
    assert!(
        out.contains("2-fold cross-validation, model alone"),
        "{out}"
    );
    assert!(out.contains("aspect model: 251 relevant posts"), "{out}");
    assert!(
        out.contains("2-fold cross-validation, model with the lists' findings, micro"),
        "{out}"
    );
    let model = std::fs::read_to_string(complaint.join("model.tsv")).unwrap();
    assert!(
        model.starts_with("# webcare complaint model"),
        "{model:.200}"
    );
    assert!(model.contains("\n(bias)\t"), "{model:.600}");
    // The words that speak most for a complaint come first, and are words of the data.
    let strongest = model
        .lines()
        .find(|l| !l.starts_with('#') && !l.starts_with("(bias)"))
        .unwrap();
    let weight: f64 = strongest.split('\t').nth(1).unwrap().parse().unwrap();
    assert!(weight > 0.1, "{strongest}");
    // The aspect model: a row per feature, its idf and a weight per aspect; what the
    // lists found is a feature, and speaks for its own aspect; word parts are features.
    let aspect_model = std::fs::read_to_string(aspects.join("model.tsv")).unwrap();
    assert!(
        aspect_model.starts_with("# webcare aspect model"),
        "{aspect_model:.200}"
    );
    assert!(
        aspect_model.contains("\nfeature\tidf\twaiting_time\tinterpreter\t")
            && aspect_model.contains("\n~_tol\t"),
        "{aspect_model:.900}"
    );
    let interpreter_row = aspect_model
        .lines()
        .find(|l| l.starts_with("lists:interpreter\t"))
        .unwrap();
    let weight: f64 = interpreter_row.split('\t').nth(3).unwrap().parse().unwrap();
    assert!(weight > 0.5, "{interpreter_row}");
    // The relevance model: what the rules found is a feature, and an including rule
    // speaks for relevance.
    let relevance_model = std::fs::read_to_string(topics.join("model.tsv")).unwrap();
    assert!(
        relevance_model.starts_with("# webcare relevance model"),
        "{relevance_model:.200}"
    );
    let include_row = relevance_model
        .lines()
        .find(|l| l.starts_with("rules:include\t"))
        .unwrap();
    let weight: f64 = include_row.split('\t').nth(1).unwrap().parse().unwrap();
    assert!(weight > 0.5, "{include_row}");

    // The pipeline now uses the models, and says which words they weighed; the
    // relevance model only for mentions from a topical source.
    let predict = |topical: bool| {
        let predictions = dir.path().join("p.jsonl");
        let mut args = vec![
            "eval",
            "-c",
            &config,
            "tests/data/labeled-dev.jsonl",
            "--predictions",
            predictions.to_str().unwrap(),
        ];
        if topical {
            args.push("--topical");
        }
        let (code, _, err) = webcare(&args);
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(&predictions)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect::<Vec<serde_json::Value>>()
    };
    let relevance_reasons = |lines: &[serde_json::Value]| -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| l["terms"].as_array().into_iter().flatten())
            .filter_map(|w| w.as_str().map(String::from))
            .filter(|w| w.starts_with("model:"))
            .collect()
    };
    let general = predict(false);
    assert_eq!(relevance_reasons(&general), Vec::<String>::new());
    let lines = predict(true);
    let why = lines[0]["complaint_why"].as_array().unwrap();
    assert!(
        why.iter()
            .any(|w| w.as_str().unwrap().starts_with("model:")),
        "{why:?}"
    );
    let aspect_reasons: Vec<&str> = lines
        .iter()
        .flat_map(|l| l["aspect_why"].as_array().into_iter().flatten())
        .filter_map(|w| w.as_str())
        .collect();
    assert!(
        aspect_reasons
            .iter()
            .any(|w| w.contains("model:") && w.contains("lists:")),
        "{aspect_reasons:?}"
    );
    let weighed = relevance_reasons(&lines);
    assert!(weighed.iter().any(|w| w.contains("rules:")), "{weighed:?}");

    // A damaged model file stops startup, naming file and line.
    std::fs::write(complaint.join("model.tsv"), "(bias)\t0.1\nslecht 2.0\n").unwrap();
    let (code, _, err) = webcare(&["check-config", "-c", &config]);
    assert_ne!(code, 0);
    assert!(err.contains("model.tsv:2:") && err.contains("tab"), "{err}");
    std::fs::write(aspects.join("model.tsv"), "feature\twaiting_time\n").unwrap();
    let (code, _, err) = webcare(&["check-config", "-c", &config]);
    assert_ne!(code, 0);
    assert!(
        err.contains("model.tsv:1:") && err.contains("header row"),
        "{err}"
    );
    std::fs::write(topics.join("model.tsv"), "(bias)\t0\nasiel\tveel\n").unwrap();
    let (code, _, err) = webcare(&["check-config", "-c", &config]);
    assert_ne!(code, 0);
    assert!(
        err.contains("topics/model.tsv:2:") && err.contains("not a number"),
        "{err}"
    );
    // Training new ones replaces them: the damaged files are not read for that, and
    // are kept beside the new ones.
    let (code, out, err) = train_quickly(&config, &["tests/data/labeled-train.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(the one it replaced is "), "{out}");
    assert_eq!(
        std::fs::read_to_string(complaint.join("model.tsv.previous")).unwrap(),
        "(bias)\t0.1\nslecht 2.0\n"
    );
    // Readable as the files it replaced were (as others, a daemon's user, may read).
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&complaint.join("model.tsv")),
            mode(&complaint.join("model.tsv.previous"))
        );
    }
    let (code, _, err) = webcare(&["check-config", "-c", &config]);
    assert_eq!(code, 0, "{err}");
}

/// The models learn from texts as the pipeline reads them: a name after "mijn naam is",
/// an e-mail address, a private @mention and a link are not there, so no model file
/// holds a word of them (the stored texts never did; the models are shipped).
#[test]
fn train_learns_no_word_of_personal_data_or_links() {
    let dir = tempfile::tempdir().unwrap();
    let untrained = lists_without_models(dir.path());
    let mut lines = std::fs::read_to_string(repo().join("tests/data/labeled-train.jsonl")).unwrap();
    for i in 0..8 {
        let text = format!(
            "Mijn naam is Khadija Bouzid, al {i}0 weken geen beslissing van de IND. Mail \
             khadija.bouzid@example.org of vraag @farid_zuidhorn, mijn verhaal: \
             https://blog.example.org/wachtverhaal"
        );
        let item = serde_json::json!({
            "id": format!("pd-{i}"), "lang": "nl", "text": text, "relevant": true,
            "complaint": true, "aspects": ["waiting_time"], "pii": [], "dup_group": null,
        });
        lines.push_str(&format!("{item}\n"));
    }
    let labeled = write(dir.path(), "labeled-personal.jsonl", &lines);
    let (code, _, err) = train_quickly(&untrained.config, &[&labeled]);
    assert_eq!(code, 0, "{err}");
    let dirs = [&untrained.topics, &untrained.complaint, &untrained.aspects];
    for model in dirs.map(|d| d.join("model.tsv")) {
        let text = std::fs::read_to_string(&model).unwrap().to_lowercase();
        for word in ["khadija", "bouzid", "farid", "zuidhorn", "wachtverhaal"] {
            assert!(!text.contains(word), "{}: holds {word:?}", model.display());
        }
        // The rest of those posts was learned from.
        assert!(text.contains("\nbeslissing\t"), "{}", model.display());
    }
}

#[test]
fn train_refuses_the_held_out_file_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let Untrained {
        config,
        topics,
        complaint,
        aspects,
    } = lists_without_models(dir.path());
    let (code, _, err) = webcare(&[
        "train",
        "-c",
        &config,
        "tests/data/labeled-train.jsonl",
        "tests/data/labeled-heldout.jsonl",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("labeled-heldout.jsonl") && err.contains("never for training"),
        "{err}"
    );
    let bad = write(
        dir.path(),
        "bad.jsonl",
        "{\"id\":\"a\",\"lang\":\"nl\",\"text\":\"x\",\"relevant\":false}\n{\"id\": 3}\n",
    );
    let (code, _, err) = webcare(&["train", "-c", &config, &bad]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.jsonl:2:"), "{err}");
    // eval gives no figures that would quietly leave a line out.
    let (code, out, err) = webcare(&["eval", "-c", &config, &bad]);
    assert_ne!(code, 0, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("bad.jsonl:2: invalid labeled item: field `id`: invalid type: integer `3`, expected a string (column 8)")
            && err.contains("1 of its labeled lines could not be read"),
        "{err}"
    );
    // A copy of held-out items under another name, an id twice, settings that cannot
    // train, an output over a labeled file or where it cannot be written: each refused
    // before any training, naming what is wrong.
    let held_out = std::fs::read_to_string(repo().join("tests/data/labeled-heldout.jsonl"))
        .unwrap()
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    let copied = write(dir.path(), "more.jsonl", &held_out);
    let train = "tests/data/labeled-train.jsonl";
    let (code, _, err) = webcare(&["train", "-c", &config, train, &copied]);
    assert_ne!(code, 0);
    assert!(
        err.contains("more.jsonl:1: item \"ho-") && err.contains("marked \"held_out\""),
        "{err}"
    );
    let (code, _, err) = webcare(&["train", "-c", &config, train, train]);
    assert_ne!(code, 0);
    assert!(
        err.contains(
            "labeled-train.jsonl:1: id \"tr-0001\" is on tests/data/labeled-train.jsonl:1 already"
        ),
        "{err}"
    );
    for (flag, value, says) in [
        ("--c", "nan", "--c NaN: must be a positive number"),
        ("--c", "0", "--c 0: must be a positive number"),
        ("--steps", "0", "--steps 0"),
        (
            "--folds",
            "1",
            "--folds 1: cross-validation needs at least 2 folds",
        ),
    ] {
        let (code, _, err) = webcare(&["train", "-c", &config, train, flag, value]);
        assert_ne!(code, 0, "{flag} {value}");
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
    let labeled = write(
        dir.path(),
        "labeled.jsonl",
        &std::fs::read_to_string(repo().join(train)).unwrap(),
    );
    let (code, out, err) = webcare(&["train", "-c", &config, &labeled, "--out", &labeled]);
    assert_ne!(code, 0);
    assert!(
        err.contains("this is a labeled file to train on") && out.is_empty(),
        "{out}{err}"
    );
    // Over a labeled file that is no input, in a dry run too; more folds than posts.
    let few: String = std::fs::read_to_string(repo().join(train))
        .unwrap()
        .lines()
        .take(3)
        .map(|line| format!("{line}\n"))
        .collect();
    let few = write(dir.path(), "few.jsonl", &few);
    let other = write(
        dir.path(),
        "dev.jsonl",
        &std::fs::read_to_string(&few).unwrap(),
    );
    let (code, _, err) = webcare(&[
        "train",
        "-c",
        &config,
        &few,
        "--dry-run",
        "--relevance-out",
        &other,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("dev.jsonl: holds labeled items"), "{err}");
    let (code, _, err) = webcare(&["train", "-c", &config, &few, "--dry-run", "--folds", "5"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--folds 5: more folds than the 3 labeled posts"),
        "{err}"
    );
    assert!(std::fs::read_to_string(&labeled)
        .unwrap()
        .starts_with("{\"id\": \"tr-0001\""));
    // Two spellings of one new file; a directory where a model would go.
    let same = dir.path().join("m.tsv");
    let again = dir.path().join("sub/../m.tsv");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let (code, out, err) = webcare(&[
        "train",
        "-c",
        &config,
        train,
        "--out",
        same.to_str().unwrap(),
        "--aspects-out",
        again.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("two models would be written to this one file") && out.is_empty(),
        "{out}{err}"
    );
    let (code, out, err) = webcare(&[
        "train",
        "-c",
        &config,
        train,
        "--relevance-out",
        dir.path().join("sub").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("is not a regular file; a model is written to a file") && out.is_empty(),
        "{out}{err}"
    );
    let nowhere = dir.path().join("missing/model.tsv");
    let (code, out, err) = webcare(&[
        "train",
        "-c",
        &config,
        train,
        "--relevance-out",
        nowhere.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("missing/model.tsv: cannot write there") && out.is_empty(),
        "{out}{err}"
    );
    // Nothing was written on any failure, and nothing left beside.
    assert!(!complaint.join("model.tsv").exists());
    assert!(!aspects.join("model.tsv").exists());
    assert!(!topics.join("model.tsv").exists());
    for d in [&complaint, &aspects, &topics, &dir.path().to_path_buf()] {
        let left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".webcare-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// What eval refuses: labels it cannot score as written, a file without items, and
/// predictions over the labeled file; a failed run leaves earlier predictions alone.
#[test]
fn eval_refuses_labels_it_cannot_score_and_keeps_the_files_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "");
    let good = r#"{"id":"a","lang":"nl","text":"De tolk bij mijn gehoor bij de IND sprak geen Tigrinya.","relevant":true,"complaint":true,"aspects":["interpreter"],"pii":[]}"#;
    for (line, says) in [
        (
            r#"{"id":"b","lang":"nl","text":"De IND in Ter Apel.","relevant":true,"aspects":[]}"#,
            "field `complaint` is missing; an item labeled relevant needs it",
        ),
        (
            r#"{"id":"b","lang":"nl","text":"Asielkat zoekt baasje.","relevant":false,"complaint":false,"aspects":["reception"]}"#,
            "field `aspects` is not empty on an item labeled not relevant",
        ),
        (
            r#"{"id":"b","lang":"nl","text":"Bel 06 1234 5678 voor de IND.","relevant":true,"complaint":false,"aspects":[],"pii":["0612345678"]}"#,
            "field `pii`: string 1 of 1 does not occur in `text`",
        ),
        (
            r#"{"id":"b","lang":"nl","text":"Bel 06 1234 5678 voor de IND.","relevant":true,"complaint":false,"aspects":[],"pii":["06 1234 5678",""]}"#,
            "field `pii`: string 2 of 2 is empty",
        ),
        (
            r#"{"id":"b","lang":"nl","text":"x","relevant":"yes"}"#,
            "field `relevant`: invalid type: string \"yes\", expected a boolean",
        ),
        (
            r#"{"id":"b","lang":"NL","text":"Asielkat zoekt baasje.","relevant":false}"#,
            "field `lang`: \"NL\" is not a language code",
        ),
    ] {
        let file = write(dir.path(), "bad.jsonl", &format!("{good}\n{line}\n"));
        let (code, out, err) = webcare(&["eval", "-c", &config, &file]);
        assert_ne!(code, 0, "{line}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("bad.jsonl:2: ") && err.contains(says), "{err}");
        // The personal data of a label is not quoted.
        assert!(!err.contains("0612345678"), "{err}");
    }
    let empty = write(dir.path(), "empty.jsonl", "\n");
    let (code, _, err) = webcare(&["eval", "-c", &config, &empty]);
    assert_ne!(code, 0);
    assert!(err.contains("empty.jsonl: no labeled items"), "{err}");

    let labeled = write(dir.path(), "labeled.jsonl", &format!("{good}\n"));
    let (code, _, err) = webcare(&["eval", "-c", &config, &labeled, "--predictions", &labeled]);
    assert_ne!(code, 0);
    assert!(err.contains("this is the labeled file"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&labeled).unwrap(),
        format!("{good}\n")
    );
    let predictions = dir.path().join("p.jsonl");
    let predictions = predictions.to_str().unwrap();
    let (code, _, err) = webcare(&[
        "eval",
        "-c",
        &config,
        &labeled,
        "--predictions",
        predictions,
    ]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read_to_string(predictions).unwrap();
    assert!(before.starts_with("{\"id\":\"a\""), "{before}");
    let bad = write(dir.path(), "bad.jsonl", &format!("{good}\n{{\n"));
    let (code, _, _) = webcare(&["eval", "-c", &config, &bad, "--predictions", predictions]);
    assert_ne!(code, 0);
    assert_eq!(std::fs::read_to_string(predictions).unwrap(), before);
    // Written through a link, which stays a link; not over labeled data.
    let real = dir.path().join("run1.jsonl");
    let link = dir.path().join("latest.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (code, _, err) = webcare(&[
        "eval",
        "-c",
        &config,
        &labeled,
        "--predictions",
        link.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), before);
    let other = write(dir.path(), "other-labeled.jsonl", &format!("{good}\n"));
    let (code, _, err) = webcare(&["eval", "-c", &config, &labeled, "--predictions", &other]);
    assert_ne!(code, 0);
    assert!(
        err.contains("holds labeled items, not predictions"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        format!("{good}\n")
    );
    // Not over a model or into the directory of the word lists: the daemon would not
    // start again. A copy of the topics, so that a failure spoils no shipped file.
    let topics = dir.path().join("topics");
    std::fs::create_dir(&topics).unwrap();
    for entry in std::fs::read_dir(repo().join("config/topics")).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), topics.join(entry.file_name())).unwrap();
        }
    }
    // In place of the test's config (`c.toml`), which is not used after this.
    let own = config_with_topics(dir.path(), "", &topics);
    let model = topics.join("model.tsv");
    let shipped = std::fs::read(&model).unwrap();
    let (code, _, err) = webcare(&[
        "eval",
        "-c",
        &own,
        &labeled,
        "--predictions",
        model.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("holds the analysis's word lists and models"),
        "{err}"
    );
    assert_eq!(std::fs::read(&model).unwrap(), shipped);
}

/// The binary started with `args` from the repository, and every line it writes to
/// either stream as it comes.
fn spawn_logged(args: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(args)
        .current_dir(repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let streams = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ];
    for stream in streams {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    (child, rx)
}

/// The lines until one containing `needle` (a minute at most), that one included.
fn lines_until(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) {
        let found = line.contains(needle);
        seen.push(line);
        if found {
            break;
        }
    }
    assert!(
        seen.iter().any(|l| l.contains(needle)),
        "{needle}: {seen:#?}"
    );
    seen
}

/// A second demo on the same data is refused, and leaves the running one's login as it
/// was printed.
#[cfg(unix)]
#[test]
fn a_second_demo_is_refused_and_changes_nothing_of_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "[http]\nlisten = \"127.0.0.1:0\"\n");
    let (mut first, rx) = spawn_logged(&["run", "--demo", "-c", &config]);
    lines_until(&rx, "demo login:");
    let users = dir.path().join("data/demo/users.toml");
    let before = std::fs::read(&users).unwrap();
    let (code, _, err) = webcare(&["run", "--demo", "-c", &config]);
    let _ = first.kill();
    let _ = first.wait();
    assert_ne!(code, 0);
    assert!(err.contains("in use by another webcare process"), "{err}");
    assert_eq!(
        std::fs::read(&users).unwrap(),
        before,
        "the first demo's login changed"
    );
}

/// The daemon as the binary: a hang-up or a termination stops it cleanly (its last
/// commit made), with exit status 0.
#[cfg(unix)]
#[test]
fn the_daemon_stops_cleanly_on_a_hangup_or_a_termination() {
    for signal in ["-HUP", "-TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), "[http]\nlisten = \"127.0.0.1:0\"\n");
        let (mut daemon, rx) = spawn_logged(&["run", "-c", &config]);
        let mut seen = lines_until(&rx, "webcare is listening");
        let killed = Command::new("kill")
            .args([signal, &daemon.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        // Bounded: a daemon that ignored the signal is ended and the test fails.
        let mut status = None;
        for _ in 0..600 {
            status = daemon.try_wait().unwrap();
            if status.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let Some(status) = status else {
            let _ = daemon.kill();
            panic!("{signal}: the daemon did not stop within a minute");
        };
        seen.extend(rx.iter());
        assert!(status.success(), "{signal}: {status:?}\n{seen:#?}");
        assert!(
            seen.iter().any(|l| l.contains("stopped cleanly")),
            "{signal}: {seen:#?}"
        );
    }
}

/// Users and tokens from the shell: a token is shown once, a leaked one is ended with
/// all of the user's tokens (the user stays), and every step is audited.
/// `sudo webcare …` in a data directory of the daemon's account stops before it makes
/// root's files there (root runs the tests here; elsewhere this cannot be set up).
#[cfg(unix)]
#[test]
fn root_does_not_write_in_another_accounts_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let config = write(
        dir.path(),
        "c.toml",
        &format!(
            "[storage]\ndata_dir = {:?}\n[pipeline]\ntopics_dir = {:?}\n",
            data.display().to_string(),
            repo().join("config/topics").display().to_string()
        ),
    );
    if std::os::unix::fs::chown(&data, Some(65534), Some(65534)).is_err() {
        eprintln!("skipped: only root can give a directory to another account");
        return;
    }
    for args in [
        vec!["forget", "-c", &config, "--author", "@x", "--dry-run"],
        vec!["search", "-c", &config, "tolk"],
        vec!["purge", "-c", &config],
    ] {
        let (code, out, err) = webcare(&args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(
            err.contains("belongs to uid 65534") && err.contains("sudo -u"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&data).unwrap().count(),
        0,
        "files were made"
    );
    // Reading the configuration is no write.
    let (code, _, err) = webcare(&["check-config", "-c", &config]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn users_and_tokens_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "");
    // Validating changes nothing: no data directory, no key made.
    let (code, out, err) = webcare(&["check-config", "-c", &config]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("note: no users in"), "{out}");
    assert!(
        !dir.path().join("data").exists(),
        "check-config made the data directory"
    );
    // Before any demo ran, the demo's search says so, and makes nothing.
    let (code, _, err) = webcare(&["search", "--demo", "-c", &config, "tolk"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no demo has run here yet") && err.contains("webcare run --demo"),
        "{err}"
    );
    assert!(!dir.path().join("data/demo").exists());
    // Once one has, it keeps to the demo's files: no key of the real installation.
    {
        let mut demo = webcare::Config::from_toml(
            Path::new(&config),
            &std::fs::read_to_string(&config).unwrap(),
        )
        .unwrap();
        webcare::demo::use_demo_files(&mut demo);
        webcare::search::MentionIndex::open(&demo.storage.data_dir).unwrap();
    }
    let (code, _, err) = webcare(&["search", "--demo", "-c", &config, "tolk"]);
    assert_eq!(code, 0, "{err}");
    assert!(!dir.path().join("data/pseudonym.key").exists());
    // It knows the demo's sources, not the installation's: a typo is answered with them.
    let (code, out, err) = webcare(&[
        "search",
        "--demo",
        "-c",
        &config,
        "--source",
        "demo-regio-noord",
        "tolk",
    ]);
    assert_eq!((code, out.trim()), (0, "0 mentions"), "{err}");
    let (code, _, err) = webcare(&[
        "search",
        "--demo",
        "-c",
        &config,
        "--source",
        "demo-regio",
        "tolk",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no source \"demo-regio\"")
            && err.contains("demo-refugee-voices, demo-regio-noord"),
        "{err}"
    );
    // The installation's key in the environment is not the demo's: the demo keeps its own.
    let with_key = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(["search", "--demo", "-c", &config, "tolk"])
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .env(
            "WEBCARE_PSEUDONYM_KEY",
            "5e1f0c2a9b7d4e3f8a6c1b0d2e4f6a8c9b7d5e3f1a0c2b4d6e8f0a1c3b5d7e9f",
        )
        .output()
        .unwrap();
    assert!(
        with_key.status.success(),
        "{}",
        String::from_utf8_lossy(&with_key.stderr)
    );
    assert!(
        dir.path().join("data/demo/state.sqlite").exists(),
        "audited in the demo's state"
    );
    // A demo left by an older webcare: its own start replaces it, not `reindex`.
    {
        let index = tantivy::Index::open_in_dir(dir.path().join("data/demo/mentions")).unwrap();
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        let mut prepared = writer.prepare_commit().unwrap();
        prepared.set_payload(r#"{"schema_version": 3, "sources": {}}"#);
        prepared.commit().unwrap();
    }
    let (code, _, err) = webcare(&["search", "--demo", "-c", &config, "tolk"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("made by another webcare version")
            && err.contains("`webcare run --demo`")
            && !err.contains("reindex"),
        "{err}"
    );
    let (code, out, _) = webcare(&["user", "list", "-c", &config]);
    assert_eq!(code, 0);
    assert!(out.starts_with("no users in "), "{out}");
    let add = {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_webcare"))
            .args(["user", "add", "tess", "--role", "viewer", "-c", &config])
            .current_dir(repo())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long enough password\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let in_90_days = || {
            (chrono::Utc::now() + chrono::Duration::days(90))
                .format("expires %Y-%m-%d")
                .to_string()
        };
        let before = in_90_days();
        let (code, out, err) = webcare(&["token", "-c", &config, "tess"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.trim().starts_with("wct_"), "{out}");
        // Unless told otherwise a token works for 90 days (the day may turn meanwhile).
        assert!(
            err.contains(&before) || err.contains(&in_90_days()),
            "{err}"
        );
        tokens.push(out.trim().to_string());
    }
    assert_ne!(tokens[0], tokens[1]);
    let (code, out, err) = webcare(&[
        "token",
        "-c",
        &config,
        "tess",
        "--expires",
        "never",
        "--label",
        "export script",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("never expires"), "{err}");
    let kept = out.trim().to_string();
    let (code, _, err) = webcare(&["token", "-c", &config, "tess", "--expires", "soon"]);
    assert_ne!(code, 0);
    assert!(err.contains("--expires") && err.contains("never"), "{err}");
    let (_, out, _) = webcare(&["user", "list", "-c", &config]);
    assert!(out.contains("tess  viewer  3 tokens"), "{out}");
    // One token ended by the id the list shows; the others stay.
    let (code, listed, err) = webcare(&["token", "-c", &config, "tess", "--list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listed.lines().count(), 3, "{listed}");
    let labeled = listed
        .lines()
        .find(|l| l.contains("export script"))
        .unwrap();
    assert!(labeled.ends_with("never"), "{labeled}");
    let first = listed
        .lines()
        .find(|l| !l.contains("export script"))
        .unwrap();
    let id = first.split_whitespace().next().unwrap();
    // Copied in capitals, it is the same id.
    let (code, out, err) = webcare(&[
        "token",
        "-c",
        &config,
        "tess",
        "--revoke",
        &id.to_uppercase(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("token {id} revoked")), "{out}");
    let (code, _, err) = webcare(&["token", "-c", &config, "tess", "--revoke", id]);
    assert_ne!(code, 0);
    assert!(err.contains("--list"), "{err}");
    let (_, listed, _) = webcare(&["token", "-c", &config, "tess", "--list"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(!listed.contains(id), "{listed}");
    assert!(
        !listed.contains(&kept) && !listed.contains(&tokens[0]),
        "{listed}"
    );
    let (code, out, err) = webcare(&["token", "-c", &config, "tess", "--revoke-all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tess: 2 tokens revoked"), "{out}");
    let (_, out, _) = webcare(&["user", "list", "-c", &config]);
    assert!(out.contains("tess  viewer  0 tokens"), "{out}");
    let (code, _, err) = webcare(&["token", "-c", &config, "nobody", "--revoke-all"]);
    assert_ne!(code, 0);
    assert!(err.contains("no user \"nobody\""), "{err}");
    // Names are exact; one in other capitals is pointed to.
    let (code, _, err) = webcare(&["token", "-c", &config, "TESS", "--list"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no user \"TESS\"; names are exact: did you mean \"tess\"?"),
        "{err}"
    );
    let (_, out, _) = webcare(&["audit", "-c", &config]);
    for action in ["user_set", "token_add", "token_revoke"] {
        assert!(out.contains(action), "{action} not audited: {out}");
    }
    assert!(
        out.lines()
            .any(|l| l.contains("users_read") && l.contains("tess: tokens")),
        "token --list not audited: {out}"
    );
    assert!(!out.contains("wct_"), "{out}");
}

/// With `--log-format json`, why the daemon did not start is a JSON line like every
/// other: a log pipeline that reads JSON would drop the one line that matters.
#[test]
fn a_daemon_that_cannot_start_says_why_in_its_json_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "commit_interval = \"1x\"\n");
    let (code, _, err) = webcare(&["run", "-c", &config, "--log-format", "json"]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR", "{err}");
    let error = last["fields"]["error"].as_str().unwrap();
    assert!(
        error.contains("c.toml") && error.contains("commit_interval") && error.contains("1x"),
        "{error}"
    );
}

/// A command of a newer webcare refused or run beside the older one's daemon leaves
/// the state database as that daemon needs it (it upgraded the file, after which the
/// older daemon could not start again); only the daemon's start and `reindex` upgrade it.
#[test]
fn a_command_leaves_an_older_state_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let state = data.join("state.sqlite");
    let version = || -> i64 {
        rusqlite::Connection::open(&state)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    // As the first webcare left it.
    let first = |path: &Path| {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(webcare::state::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    };
    first(&state);
    for args in [
        &["search", "-c", &config, "tolk"][..],
        &["audit", "-c", &config],
    ] {
        let (code, _, err) = webcare(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("older webcare (schema 1") && err.contains("`webcare run`"),
            "{args:?}: {err}"
        );
        assert_eq!(version(), 1, "{args:?}");
    }
    // Nor is a change made that the trail could not record.
    let mut add = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(["user", "add", "-c", &config, "ann", "--role", "admin"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let _ = add
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n");
    let added = add.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&added.stderr);
    assert_eq!(added.status.code(), Some(1), "{err}");
    assert!(err.contains("older webcare"), "{err}");
    assert!(!data.join("users.toml").exists(), "{err}");
    assert_eq!(version(), 1);
    // A start refused for its index (one to rebuild) leaves it too.
    let index = webcare::search::MentionIndex::open(&data).unwrap();
    let mut w = index.writer().unwrap();
    w.commit(&webcare::search::Checkpoints::new()).unwrap();
    drop((w, index));
    let raw = tantivy::Index::open_in_dir(data.join("mentions")).unwrap();
    let mut writer: tantivy::IndexWriter<tantivy::TantivyDocument> =
        raw.writer(20_000_000).unwrap();
    let mut prepared = writer.prepare_commit().unwrap();
    prepared.set_payload(r#"{"schema_version": 3, "sources": {}}"#);
    prepared.commit().unwrap();
    drop(writer);
    let (code, _, err) = webcare(&["run", "-c", &config]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("run `webcare reindex`"), "{err}");
    assert_eq!(version(), 1);
    // `reindex` upgrades both, as its message says, and the commands work again.
    let (code, out, err) = webcare(&["reindex", "-c", &config]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(version() > 1);
    let (code, _, err) = webcare(&["audit", "-c", &config]);
    assert_eq!(code, 0, "{err}");
    // Again where the index needs nothing: a daemon that cannot start yet (no user on an
    // open address) must not be the only way out.
    std::fs::remove_file(&state).unwrap();
    first(&state);
    let (code, out, err) = webcare(&["reindex", "-c", &config]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to rebuild"), "{out}");
    assert!(version() > 1);
}
