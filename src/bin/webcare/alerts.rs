//! `webcare alerts` and `webcare backtest`: the outbox, a test mail, recurring complaints on past data.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::setup::{audit_cli, load, open_state};

/// `webcare alerts outbox`: the mail as `GET /api/admin/outbox` lists it.
pub(crate) fn outbox(
    config_path: &Path,
    status: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<()> {
    use webcare::alerts::outbox::OutboxFilter;
    let config = load(config_path)?;
    let filter = match status {
        None => OutboxFilter::All,
        Some(name) => OutboxFilter::parse(name)
            .with_context(|| format!("--status {name:?}: use {}", OutboxFilter::NAMES))?,
    };
    let messages = open_state(&config)?.outbox_entries(filter, limit)?;
    audit_cli(&config, "outbox_read", "")?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&messages)?)?;
        return Ok(());
    }
    if messages.is_empty() {
        match status {
            None => writeln!(out, "the outbox is empty")?,
            Some(status) => writeln!(out, "no message in the outbox is {status}")?,
        }
    }
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    for m in &messages {
        let state = match (m.sent, m.given_up, m.next_attempt) {
            (Some(t), _, _) => format!("sent {}", at(t)),
            (_, Some(t), _) => format!("given up {}", at(t)),
            (_, _, Some(t)) if m.attempts > 0 => format!("waiting, next attempt {}", at(t)),
            _ => "queued".to_string(),
        };
        let about = m
            .incident
            .map_or_else(String::new, |i| format!(" (alert {i})"));
        writeln!(
            out,
            "#{}  {}  {state}, {} attempts{about}\n    {}\n    to: {}",
            m.id,
            at(m.created),
            m.attempts,
            m.subject,
            m.recipients.join(", ")
        )?;
        for (address, answer) in &m.refused {
            writeln!(out, "    refused by {address}: {answer}")?;
        }
        if let Some(error) = m.last_error.as_deref().filter(|_| m.sent.is_none()) {
            writeln!(out, "    last error: {error}")?;
        }
    }
    Ok(())
}

pub(crate) fn backtest(config_path: &Path, file: &Path, json: bool) -> Result<()> {
    let config = load(config_path)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("{}: cannot open", file.display()))?;
    let name = file.display().to_string();
    let report = webcare::backtest::backtest(
        &name,
        std::io::BufReader::new(input),
        &config.pipeline,
        &config.alerts,
    )?;
    for (line, error) in &report.errors {
        errln!("{name}:{line}: {error}");
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({ "incidents": report.incidents }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{name}: {} lines, {} relevant mentions replayed, {} incidents",
        report.lines,
        report.indexed,
        report.incidents.len()
    )?;
    for i in &report.incidents {
        writeln!(
            out,
            "  {} {:<8} {:<28} peak {:>3} voices  {} mentions  {}",
            i.opened.format("%Y-%m-%d %H:%M"),
            i.kind,
            i.key,
            i.peak,
            i.mentions.len(),
            i.closed
                .map(|c| format!("closed {}", c.format("%Y-%m-%d %H:%M")))
                .unwrap_or_else(|| "still open".into())
        )?;
    }
    Ok(())
}

pub(crate) fn test_mail(config_path: &Path) -> Result<()> {
    let config = load(config_path)?;
    let Some(smtp) = config.mail.smtp.clone() else {
        bail!(
            "{}: [mail] is not enabled (set enabled = true, smtp_host and [[mail.rules]])",
            config_path.display()
        );
    };
    let to: Vec<String> = config
        .mail
        .rules
        .iter()
        .flat_map(|r| r.to.clone())
        .collect();
    // Sent at once, not through the outbox: a test that fails must not be delivered
    // later by the daemon.
    let text = "Dit is een testbericht van webcare: de e-mailinstellingen werken.\nThis is a test message from webcare: the mail settings work.";
    let test =
        webcare::alerts::mail::Outgoing::plain(&to, "webcare: testbericht / test message", text);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let failures = runtime.block_on(async {
        let mailer = webcare::alerts::mail::Mailer::new(&smtp, &config.mail.from)?;
        let mut failures = Vec::new();
        for recipient in &to {
            match mailer.send_now(&test, recipient).await {
                Ok(()) => outln!(
                    "test message accepted by {}:{} for {recipient}",
                    smtp.host,
                    smtp.port
                ),
                Err(e) => failures.push(format!("{recipient}: {e}")),
            }
        }
        anyhow::Ok(failures)
    })?;
    if !failures.is_empty() {
        bail!(
            "the SMTP server did not accept the test message: {}",
            failures.join("; ")
        );
    }
    Ok(())
}
