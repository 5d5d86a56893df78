//! What most commands start with: the config loaded, the state opened, who runs the command, and the daemon started.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use webcare::config::Config;
use webcare::pipeline::Pipeline;
use webcare::search::MentionIndex;
use webcare::state::StateDb;
use webcare::{daemon, demo};

pub(crate) fn load(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

/// [`load`] for a command that writes in the data directory (or audits there). As root
/// in a data directory of another account (`sudo webcare forget …`) it stops: the files
/// it would make there (the list of erasures, index files, exports) would be root's, and
/// the daemon, running as that account, could not read them or start.
pub(crate) fn load_to_write(path: &Path) -> Result<Config> {
    let config = load(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = std::fs::metadata("/proc/self").map(|m| m.uid());
        let owner = std::fs::metadata(&config.storage.data_dir).map(|m| m.uid());
        if let (Ok(0), Ok(owner)) = (me, owner) {
            if owner != 0 {
                bail!(
                    "{} belongs to uid {owner}, and this runs as root: files made here would be root's, and the daemon's account could not read them. Run it as that account (sudo -u '#{owner}' webcare …)",
                    config.storage.data_dir.display()
                );
            }
        }
    }
    Ok(config)
}

pub(crate) fn open_state(config: &Config) -> Result<StateDb> {
    // Creates the data directory, private to its owner, where it is missing. Only the
    // daemon and `reindex` upgrade the file of an older webcare.
    Ok(StateDb::open_current(&config.storage.data_dir)?)
}

/// Who did it, for the audit trail of command-line actions: the account the process runs
/// as, named from the system's account list (not from `$USER`, which anyone can set).
pub(crate) fn cli_actor() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(me) = std::fs::metadata("/proc/self") {
            let uid = me.uid();
            let name = std::fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|passwd| {
                    passwd.lines().find_map(|line| {
                        let mut fields = line.split(':');
                        let name = fields.next()?;
                        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
                    })
                })
                .unwrap_or_else(|| "unknown".into());
            return format!("cli:{name} (uid {uid})");
        }
    }
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Records a command-line action in the audit trail, personal data in `detail` (a
/// searched phone number, a handle) taken out first.
pub(crate) fn audit_cli(config: &Config, action: &str, detail: &str) -> Result<()> {
    let privacy = webcare::pipeline::Privacy::from_config(&config.pipeline)?;
    audit_cli_plain(config, action, &privacy.redact(detail))
}

/// [`audit_cli`] for a detail composed of account names and ids, with nothing typed
/// into a search: not redacted (a user name like an e-mail address must stay who it is).
pub(crate) fn audit_cli_plain(config: &Config, action: &str, detail: &str) -> Result<()> {
    open_state(config)?
        .audit(chrono::Utc::now(), &cli_actor(), action, detail)
        .context("cannot write the audit trail")?;
    Ok(())
}

/// A period as configured: "90d", or exactly where it is not whole days.
pub(crate) fn days_or_exact(period: std::time::Duration) -> String {
    const DAY: u64 = 24 * 3600;
    match period.as_secs() {
        secs if secs % DAY == 0 && period.subsec_nanos() == 0 => format!("{}d", secs / DAY),
        _ => humantime::format_duration(period).to_string(),
    }
}

pub(crate) fn run(config_path: &Path, demo_mode: bool) -> Result<()> {
    let config = load_to_write(config_path)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let config = if demo_mode {
            let feeds = demo::serve_feeds()
                .await
                .context("cannot start the demo feed server")?;
            tracing::info!(%feeds, "demo mode: polling the bundled sample feeds");
            demo::demo_config(config, feeds)
        } else {
            config
        };
        if demo_mode {
            std::fs::create_dir_all(&config.storage.data_dir)?;
            demo::reset_if_incompatible(&config.storage.data_dir)?;
        }
        // Listening before the start: a signal during it stops the daemon cleanly.
        let stop = daemon::shutdown_signal();
        let daemon = daemon::start(&config).await?;
        // Only once this daemon holds the demo's index: a second demo, refused there,
        // would otherwise have changed the running one's password. The daemon reads the
        // users file again when it changes.
        let credentials = if demo_mode {
            Some(demo::demo_credentials(&config)?)
        } else {
            None
        };
        outln!(
            "webcare is running on http://{} (Ctrl-C stops)",
            daemon.addr()
        );
        if let Some(c) = credentials {
            outln!("demo login: user {:?}, password {:?}", c.user, c.password);
            outln!(
                "try: curl -H 'Authorization: Bearer {}' 'http://{}/api/search?q=asielzoekers'",
                c.token,
                daemon.addr()
            );
        }
        stop.await;
        daemon.shutdown().await?;
        Ok(())
    })
}

pub(crate) fn check_config(path: &Path) -> Result<()> {
    let config = load(path)?;
    // Validates without changing anything: the key is checked, not made.
    config.pipeline.pseudonym_key.check().with_context(|| {
        format!(
            "{}: key `privacy.pseudonym_key_file` (or {})",
            path.display(),
            webcare::pipeline::pseudonym::KEY_ENV
        )
    })?;
    let pipeline = Pipeline::from_config(&webcare::config::Pipeline {
        pseudonym_key: webcare::pipeline::pseudonym::KeySource::Ephemeral,
        ..config.pipeline.clone()
    })?;
    // What `run` would refuse at start, refused here too.
    let users_file = &config.access.users_file;
    let users = webcare::access::Users::load(users_file)
        .with_context(|| format!("{}: key `access.users_file`", path.display()))?;
    // A users file that cannot be made was refused with the config (its line named).
    // The refusal names the file, the line and the key itself, as `run` says it.
    daemon::check_listen(&config, &users)?;
    outln!(
        "{}: OK ({} sources, {} enabled; {} topic rules from {})",
        path.display(),
        config.sources.len(),
        config.enabled_sources().count(),
        pipeline.topics().rule_count(),
        config.pipeline.topics_dir.display()
    );
    outln!("{}", pipeline.models_summary());
    for note in pipeline.config_notes() {
        outln!("note: {}: {note}", config.pipeline.topics_dir.display());
    }
    if users.is_empty() {
        outln!(
            "note: no users in {}: nobody can sign in to the API until one is added with `webcare user add`",
            users_file.display()
        );
    }
    Ok(())
}

/// Whether the demo's index or state database in `data_dir` is of another webcare
/// version (which `run --demo` replaces or upgrades).
pub(crate) fn demo_of_another_version(data_dir: &Path) -> bool {
    use webcare::search::IndexError;
    use webcare::state::StateError;
    matches!(
        MentionIndex::open(data_dir),
        Err(IndexError::SchemaVersion { .. } | IndexError::SchemaNewer { .. })
    ) || matches!(
        StateDb::open_current(data_dir),
        Err(StateError::TooOld { .. })
    )
}
