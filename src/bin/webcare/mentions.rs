//! Commands on the stored mentions: import, forget, erase, purge (retention) and reindex.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use webcare::config::Config;
use webcare::import;
use webcare::pipeline::Pipeline;
use webcare::search::{Erasure, ErasurePreview, IndexError, MentionIndex};
use webcare::state::StateDb;

use crate::setup::{audit_cli, days_or_exact, load_to_write, open_state};

pub(crate) fn import_file(config_path: &Path, file: &Path) -> Result<()> {
    let config = load_to_write(config_path)?;
    let pipeline = Pipeline::from_config(&config.pipeline)?;
    let index = MentionIndex::open(&config.storage.data_dir)?;
    index.load_duplicates(&mut pipeline.duplicates())?;
    let reader =
        std::fs::File::open(file).with_context(|| format!("{}: cannot open", file.display()))?;
    let name = file.display().to_string();
    let cutoff = webcare::retention::mention_cutoff(&config.privacy, chrono::Utc::now());
    let report = import::import(
        &name,
        std::io::BufReader::new(reader),
        &pipeline,
        &index,
        Some(cutoff),
    )?;
    for (line, error) in &report.errors {
        errln!("{name}:{line}: {error}");
    }
    for (line, note) in &report.notes {
        errln!("{name}:{line}: note: {note}");
    }
    outln!(
        "{name}: {} lines{}, {} indexed, {} not relevant, {} published before the retention period ({}), {} skipped",
        report.lines,
        match report.blank {
            0 => String::new(),
            blank => format!(" ({blank} blank)"),
        },
        report.indexed,
        report.not_relevant,
        report.too_old,
        days_or_exact(config.privacy.retention),
        report.errors.len()
    );
    if report.repeated > 0 {
        outln!(
            "{name}: {} lines repeat the id of an earlier line and replaced it",
            report.repeated
        );
    }
    if report.erased_before > 0 {
        outln!(
            "{name}: {} not stored again: their permalink or author was erased before",
            report.erased_before
        );
    }
    let records = report.lines - report.blank;
    if records > 0 && report.errors.len() == records {
        bail!("{name}: no line could be imported");
    }
    Ok(())
}

fn print_preview(out: &mut impl Write, preview: &ErasurePreview) -> Result<()> {
    for m in &preview.examples {
        writeln!(
            out,
            "  {}  {}  {}",
            m.published.format("%Y-%m-%d"),
            m.source,
            m.url.as_deref().unwrap_or(&m.id)
        )?;
    }
    if preview.matching > preview.examples.len() {
        writeln!(
            out,
            "  … and {} more",
            preview.matching - preview.examples.len()
        )?;
    }
    Ok(())
}

pub(crate) fn forget(
    config_path: &Path,
    url: Option<&str>,
    author: Option<&str>,
    dry_run: bool,
) -> Result<()> {
    let config = load_to_write(config_path)?;
    let pipeline = Pipeline::from_config(&config.pipeline)?;
    let erasure = webcare::http::erasure_for(&pipeline, url, author).map_err(anyhow::Error::msg)?;
    erase(
        &config,
        &erasure,
        "forget",
        dry_run,
        "while the daemon runs, use POST /api/admin/forget",
    )
}

pub(crate) fn reindex(config_path: &Path, keep_old: bool) -> Result<()> {
    use webcare::search::reindex::Reindexed;
    let config = load_to_write(config_path)?;
    // The audit entry at the end needs the key: a wrong one is refused before the
    // rebuild, not after it.
    config.pipeline.pseudonym_key.check()?;
    let data_dir = &config.storage.data_dir;
    let rebuilt = webcare::search::reindex::reindex(data_dir, keep_old)?;
    // The data directory is this version's now (the index's lock was held: no daemon
    // runs), and so is its state database, also where the index needed nothing: a
    // daemon that cannot start yet (no user, on an open address) must not wait for it.
    StateDb::open(data_dir)?;
    match rebuilt {
        Reindexed::Current => outln!(
            "the index in {} already has schema version {}: nothing to rebuild",
            data_dir.display(),
            webcare::search::schema::SCHEMA_VERSION
        ),
        Reindexed::Finished { mentions } => {
            outln!("finished a rebuild that had stopped before the new index was in place: {mentions} mentions");
            audit_cli(
                &config,
                "reindex",
                &format!("finished: {mentions} mentions"),
            )?;
        }
        Reindexed::Rebuilt {
            mentions,
            from_version,
            kept_at,
        } => {
            let old = match kept_at {
                Some(path) => format!(
                    "the old index is kept at {} (erasure and retention do not reach it: delete it once the daemon runs well)",
                    path.display()
                ),
                None => "the old index is deleted".into(),
            };
            outln!(
                "rebuilt {mentions} mentions from schema version {from_version} to {}; {old}",
                webcare::search::schema::SCHEMA_VERSION
            );
            audit_cli(
                &config,
                "reindex",
                &format!("{mentions} mentions from schema {from_version}"),
            )?;
        }
    }
    Ok(())
}

pub(crate) fn purge(config_path: &Path, dry_run: bool) -> Result<()> {
    let config = load_to_write(config_path)?;
    let now = chrono::Utc::now();
    let cutoff = webcare::retention::mention_cutoff(&config.privacy, now);
    erase(
        &config,
        &Erasure::PublishedBefore(cutoff),
        "purge",
        dry_run,
        "the running daemon applies retention daily by itself",
    )?;
    // The rest of what the daemon's daily run removes.
    let exports = &config.export.out_dir;
    if dry_run {
        let old = webcare::retention::old_export_files(exports, cutoff);
        outln!(
            "would delete {} export files in {}",
            old.len(),
            exports.display()
        );
        for path in old {
            outln!("  {}", path.display());
        }
        return Ok(());
    }
    let webcare::retention::RetentionReport {
        mails,
        export_files: files,
        audit_entries,
        sessions,
        ..
    } = webcare::retention::purge_beside_mentions(
        &open_state(&config)?,
        &config.privacy,
        Some(exports),
        now,
    )?;
    outln!(
        "deleted {files} export files, {mails} mails (sent or given up), {audit_entries} audit entries and {sessions} expired sessions"
    );
    audit_cli(
        &config,
        "purge",
        &format!("{files} export files; {mails} mails; {audit_entries} audit entries; {sessions} expired sessions"),
    )
}

/// Erases (or, with `dry_run`, shows) what `erasure` matches, and audits it as `action`
/// (a permalink may name its author: [`audit_cli`] pseudonymises it).
pub(crate) fn erase(
    config: &Config,
    erasure: &Erasure,
    action: &str,
    dry_run: bool,
    when_locked: &str,
) -> Result<()> {
    let index = MentionIndex::open(&config.storage.data_dir)?;
    if dry_run {
        let preview = index.preview_erasure(erasure, 20)?;
        // Recorded before the examples (which quote mentions) are shown.
        let detail = format!("{}: {} mentions", erasure.audited(), preview.matching);
        audit_cli(config, &format!("{action}_dry_run"), &detail)?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "would erase {} mentions ({}; in the audit trail: {})",
            preview.matching,
            erasure.describe(),
            erasure.audited()
        )?;
        print_preview(&mut out, &preview)?;
        return Ok(());
    }
    // On record before anything goes: an erasure cut short is carried out by the next
    // writer of the index, but never reported.
    audit_cli(config, &format!("{action}_requested"), &erasure.audited())?;
    let erased = match index.erase_now(erasure) {
        Ok(erased) => erased,
        Err(e) => {
            // The request is on record: so is that it was not carried out (an erasure
            // remembered in `erased.json` before the failure is applied by the next
            // writer of the index, as the daemon's `forget_failed` says too).
            let detail = format!("{}: not erased now ({e})", erasure.audited());
            audit_cli(config, &format!("{action}_failed"), &detail)?;
            return Err(match e {
                IndexError::Locked { .. } => anyhow::anyhow!("{e}; {when_locked}"),
                e => e.into(),
            });
        }
    };
    // Recorded first: the mentions are gone even if a copy's clean-up fails below.
    let detail = format!("{}: {erased} mentions", erasure.audited());
    audit_cli(config, action, &detail)?;
    if erased > 0 {
        webcare::retention::forget_in_copies(
            &index,
            &open_state(config)?,
            Some(&config.export.out_dir),
        )?;
    }
    outln!(
        "erased {erased} mentions ({}; in the audit trail: {})",
        erasure.describe(),
        erasure.audited()
    );
    Ok(())
}
