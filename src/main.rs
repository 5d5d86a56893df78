//! The `webcare` command line: parses arguments, loads the config, calls the library.

use std::io::Write;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use webcare::access::{Role, Users};
use webcare::config::{Config, DEFAULT_CONFIG_PATH};
use webcare::export::week::IsoWeek;
use webcare::export::{Format, Language, Progress, Request, Sources};
use webcare::pipeline::Pipeline;
use webcare::search::{
    Erasure, ErasurePreview, IndexError, MentionIndex, SearchRequest, SearchResults, Sort,
};
use webcare::state::StateDb;
use webcare::{daemon, demo, import};

/// `println!` that does not panic when standard output is a pipe whose reader has gone
/// (`webcare purge | head -1`): the output is lost, not the work after it (the rest of
/// a retention run).
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// [`outln!`] for standard error (`webcare check-config 2>&1 | head`).
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "webcare",
    version,
    about = "Public social listening on the Dutch asylum procedure"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll sources, index mentions, serve the HTTP API.
    Run {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Poll a bundled sample of feeds from a local server instead (no internet needed).
        #[arg(long)]
        demo: bool,
        /// Log format.
        #[arg(long, value_enum, default_value_t = LogFormat::Human)]
        log_format: LogFormat,
    },
    /// Validate the configuration and topic files without starting.
    CheckConfig {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
    },
    /// Search the index from the shell.
    Search {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Query: words, "phrases", AND/OR/NOT; empty or * lists the newest mentions. Its
        /// words may come as one argument or several (`tolk gehoor`, `-- -coa tolk`).
        query: Vec<String>,
        #[arg(long)]
        lang: Option<String>,
        #[arg(long)]
        source: Option<String>,
        /// Only mentions about this aspect (interpreter, hearing, waiting_time, …).
        #[arg(long, value_parser = known_aspect)]
        aspect: Option<String>,
        /// Only complaints (true) or only what is not a complaint (false).
        #[arg(long)]
        complaint: Option<bool>,
        /// From (RFC 3339 time or YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// To (RFC 3339 time or YYYY-MM-DD, inclusive).
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Skip this many hits: the next page is `--offset` plus `--limit`.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, value_enum)]
        sort: Option<SortArg>,
        /// Print the same JSON as the HTTP API.
        #[arg(long)]
        json: bool,
        /// Search the demo index (`<data_dir>/demo`).
        #[arg(long)]
        demo: bool,
    },
    /// Measure the pipeline on labeled JSON Lines (language, relevance, …).
    Eval {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also write one prediction per item to this JSON Lines file.
        #[arg(long)]
        predictions: Option<PathBuf>,
        /// Judge every item as from a source marked `topical = true` (where the learned
        /// relevance model may keep what no topic rule recognised).
        #[arg(long)]
        topical: bool,
    },
    /// Feed mentions from a JSON Lines file through the pipeline into the index.
    Import {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        file: PathBuf,
    },
    /// Erase every mention with this permalink or by this author (daemon stopped;
    /// while it runs, use POST /api/admin/forget).
    #[command(group = clap::ArgGroup::new("what").required(true).args(["url", "author"]))]
    Forget {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// The permalink of the post to erase.
        #[arg(long)]
        url: Option<String>,
        /// The handle as the platform shows it (hashed like stored authors), or the
        /// pseudonym `p_…` that search shows.
        #[arg(long)]
        author: Option<String>,
        /// Show what would be erased, erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Apply retention now, as the daemon does daily: mentions, export files and mails
    /// (sent, or refused by every recipient) older than `[privacy] retention`, old audit
    /// entries, expired sessions.
    Purge {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Show what would be erased, erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Rebuild the index in this version's schema from the mentions it stores, after an
    /// upgrade that changed how text is indexed; the old index is deleted once the new
    /// one is in place (or kept with --keep-old). Stop the daemon first.
    Reindex {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Keep the old index beside the new one (erasure and retention do not reach it:
        /// delete it once the daemon runs well).
        #[arg(long)]
        keep_old: bool,
    },
    /// Show the audit trail: who searched, opened, erased, logged in (newest first).
    Audit {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Only entries since (RFC 3339 time or YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Only entries of this user.
        #[arg(long)]
        user: Option<String>,
        /// At most this many entries, newest first (1 or more).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
    /// Manage users of the API (the users file holds only hashes).
    User {
        // Global: `-c` may follow the action too (`webcare user add NAME -c FILE`).
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH, global = true)]
        config: PathBuf,
        #[command(subcommand)]
        action: UserAction,
    },
    /// Replay timestamped mentions (the import format) through the pipeline and the
    /// detector on a simulated clock, and print the incidents that would have opened.
    Backtest {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Learn the relevance, complaint and aspect models from labeled JSON Lines (the
    /// `eval` format) and write each beside its rules (`<topics_dir>/model.tsv`,
    /// `<complaint_dir>/model.tsv`, `<aspects_dir>/model.tsv`).
    Train {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the complaint model here instead.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the aspect model here instead.
        #[arg(long)]
        aspects_out: Option<PathBuf>,
        /// Write the relevance model here instead.
        #[arg(long)]
        relevance_out: Option<PathBuf>,
        /// Folds of the cross-validation reported before writing.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Only report the cross-validation; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Inverse strength of the L2 penalty, for every model: larger fits the
        /// examples more closely (default: 16).
        #[arg(long)]
        c: Option<f64>,
        /// Texts a word (pair) must occur in to get a weight, for every model
        /// (default: 2 for the relevance and complaint models, 3 for the aspect model).
        #[arg(long)]
        min_count: Option<usize>,
        /// Gradient steps, for every model (default: 600 for the relevance and
        /// complaint models, 1,200 for the aspect model).
        #[arg(long)]
        steps: Option<usize>,
    },
    /// Recurring-complaint alerts.
    Alerts {
        // Global: `-c` may follow the action too (`webcare alerts outbox -c FILE`).
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH, global = true)]
        config: PathBuf,
        #[command(subcommand)]
        action: AlertsAction,
    },
    /// Write the weekly trend export of one ISO week and the weeks before it: CSV,
    /// JSON, an HTML report, and SVG and PNG charts.
    Export {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// The ISO week, e.g. 2026-W47 (default: the last complete week).
        #[arg(long)]
        week: Option<String>,
        /// Weeks before it in the trends and the mean (default: `[export] weeks`).
        #[arg(long)]
        weeks: Option<u32>,
        /// Formats, comma-separated: csv,json,html,svg,png (default: all).
        #[arg(long, value_delimiter = ',')]
        format: Vec<String>,
        /// Output directory (default: `[export] out_dir`); created when missing.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Language of the report and the charts: nl or en (default: `[export] language`).
        #[arg(long)]
        lang: Option<String>,
        /// Start the CSV with a UTF-8 byte-order mark, for spreadsheet programs.
        #[arg(long)]
        bom: bool,
        /// Separate the CSV's fields with "," (the default), ";" (a spreadsheet set to
        /// Dutch opens that in columns) or "tab" (default: `[export] csv_delimiter`).
        #[arg(long)]
        csv_delimiter: Option<String>,
    },
    /// Create an API token for a user; it is shown once. --list shows the user's tokens,
    /// --revoke ID ends one, --revoke-all every one (the user and their password stay).
    Token {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        user: String,
        /// How long the new token works: a duration ("90d", "12h") or "never".
        #[arg(long, default_value = "90d", conflicts_with_all = ["list", "revoke", "revoke_all"])]
        expires: String,
        /// What the new token is for ("export script"), shown in lists and the audit trail.
        #[arg(long, conflicts_with_all = ["list", "revoke", "revoke_all"])]
        label: Option<String>,
        /// List the user's tokens: id, label, created, expires.
        #[arg(long, conflicts_with_all = ["revoke", "revoke_all"])]
        list: bool,
        /// End the token with this id (from --list).
        #[arg(long, value_name = "ID", conflicts_with = "revoke_all")]
        revoke: Option<String>,
        /// End every token of the user (a leaked one whose id is not known); the user and
        /// their password stay.
        #[arg(long)]
        revoke_all: bool,
    },
}

#[derive(Subcommand)]
enum AlertsAction {
    /// Send a test message to every recipient in [[mail.rules]] through the configured
    /// SMTP server, now, and say whether it was accepted.
    TestMail,
    /// List the mail in the outbox, newest first: recipients, attempts, who has it,
    /// who refused it and the last error (not the text, which quotes mentions).
    Outbox {
        /// Only `waiting` (not yet sent to everyone), `sent` or `given_up`.
        #[arg(long)]
        status: Option<String>,
        /// At most this many messages, newest first (1 or more).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user or set their role and password (read from standard input).
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    Remove {
        name: String,
    },
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Viewer,
    Admin,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SortArg {
    Newest,
    Relevance,
}

/// An aspect id of the taxonomy, as the search API accepts (a typo must not look like
/// an aspect nobody wrote about).
fn known_aspect(value: &str) -> std::result::Result<String, String> {
    use webcare::pipeline::aspects::ASPECTS;
    if ASPECTS.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("known aspects: {}", ASPECTS.join(", ")))
    }
}

fn main() -> ExitCode {
    match execute(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        // `webcare search … | head`: the reader has what it wanted.
        Err(error) if closed_pipe(&error) => ExitCode::SUCCESS,
        Err(error) if error.is::<Logged>() => ExitCode::FAILURE,
        Err(error) => {
            errln!("{}", error_report(&error));
            ExitCode::FAILURE
        }
    }
}

/// An error the daemon's JSON log holds already (see [`execute`]).
#[derive(Debug)]
struct Logged;

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("see the log")
    }
}

impl std::error::Error for Logged {}

/// Whether the error is output going to a pipe whose reader has gone.
fn closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, as anyhow shows them but without a stack backtrace: these
/// are messages for the person at the shell (a bad config key, a query the index cannot
/// parse), and a `RUST_BACKTRACE=1` left in their environment should not bury them under
/// the program's internals.
fn error_report(error: &anyhow::Error) -> String {
    let mut report = format!("Error: {error}");
    // Many of our errors already end in their cause's text ("…: No such file or
    // directory"); a cause is listed only when it says something the message does not.
    let mut said = report.clone();
    let mut causes = Vec::new();
    for cause in error.chain().skip(1).map(ToString::to_string) {
        if !said.contains(&cause) {
            said.push_str(&cause);
            causes.push(cause);
        }
    }
    if !causes.is_empty() {
        report.push_str("\n\nCaused by:");
    }
    for (n, cause) in causes.iter().enumerate() {
        match causes.len() {
            1 => report.push_str(&format!("\n    {cause}")),
            _ => report.push_str(&format!("\n    {n}: {cause}")),
        }
    }
    report
}

fn execute(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            config,
            demo,
            log_format,
        } => {
            init_logging(log_format);
            let ran = run(&config, demo);
            match (ran, log_format) {
                // A pipeline that reads the log as JSON lines must get why the daemon did
                // not start or stopped as one, not as text (a config error's several lines).
                (Err(error), LogFormat::Json) => {
                    tracing::error!(error = %error_report(&error).trim_start_matches("Error: "), "webcare stopped");
                    Err(Logged.into())
                }
                (ran, _) => ran,
            }
        }
        Command::CheckConfig { config } => check_config(&config),
        Command::Search {
            config,
            query,
            lang,
            source,
            aspect,
            complaint,
            from,
            to,
            limit,
            offset,
            sort,
            json,
            demo,
        } => {
            init_logging(LogFormat::Human);
            let request = SearchRequest {
                q: query.join(" "),
                lang,
                source,
                aspect,
                complaint,
                // Dates are days of `[export] time_zone`: read once the config is.
                from: None,
                to: None,
                limit: Some(limit),
                offset: Some(offset),
                sort: sort.map(|s| match s {
                    SortArg::Newest => Sort::Newest,
                    SortArg::Relevance => Sort::Relevance,
                }),
            };
            search(&config, demo, request, (from, to), json)
        }
        Command::Eval {
            config,
            file,
            json,
            predictions,
            topical,
        } => evaluate(&config, &file, json, predictions.as_deref(), topical),
        Command::Forget {
            config,
            url,
            author,
            dry_run,
        } => forget(&config, url.as_deref(), author.as_deref(), dry_run),
        Command::Purge { config, dry_run } => purge(&config, dry_run),
        Command::Reindex { config, keep_old } => reindex(&config, keep_old),
        Command::Audit {
            config,
            since,
            user,
            limit,
        } => audit(&config, since.as_deref(), user.as_deref(), limit as usize),
        Command::User { config, action } => user(&config, action),
        Command::Token {
            config,
            user,
            expires,
            label,
            list,
            revoke,
            revoke_all,
        } => token(
            &config,
            &user,
            match (list, revoke, revoke_all) {
                (true, _, _) => TokenAction::List,
                (_, Some(id), _) => TokenAction::Revoke(id),
                (_, _, true) => TokenAction::RevokeAll,
                _ => TokenAction::Add { expires, label },
            },
        ),
        Command::Backtest { config, file, json } => backtest(&config, &file, json),
        Command::Train {
            config,
            files,
            out,
            aspects_out,
            relevance_out,
            folds,
            dry_run,
            c,
            min_count,
            steps,
        } => {
            let given =
                |defaults: webcare::pipeline::model::Training| webcare::pipeline::model::Training {
                    c: c.unwrap_or(defaults.c),
                    min_count: min_count.unwrap_or(defaults.min_count),
                    steps: steps.unwrap_or(defaults.steps),
                };
            let settings = [
                given(webcare::pipeline::model::Training::default()),
                given(webcare::train::ASPECT_TRAINING),
                given(webcare::pipeline::model::Training::default()),
            ];
            train(
                &config,
                &files,
                [out, aspects_out, relevance_out],
                folds,
                dry_run,
                settings,
            )
        }
        Command::Alerts {
            config,
            action: AlertsAction::TestMail,
        } => {
            init_logging(LogFormat::Human);
            test_mail(&config)
        }
        Command::Alerts {
            config,
            action:
                AlertsAction::Outbox {
                    status,
                    limit,
                    json,
                },
        } => {
            init_logging(LogFormat::Human);
            outbox(&config, status.as_deref(), limit as usize, json)
        }
        Command::Export {
            config,
            week,
            weeks,
            format,
            out,
            lang,
            bom,
            csv_delimiter,
        } => {
            init_logging(LogFormat::Human);
            export(
                &config,
                &ExportArgs {
                    week,
                    weeks,
                    formats: format,
                    out,
                    lang,
                    bom,
                    csv_delimiter,
                },
            )
        }
        Command::Import { config, file } => {
            init_logging(LogFormat::Human);
            import_file(&config, &file)
        }
    }
}

/// Crates that at debug level log what they read: the HTML parser every tag and
/// attribute of a post (names, `mailto:` addresses), tantivy the commit payload (the
/// sources' positions), the HTTP stack bodies. Held at info whatever `RUST_LOG` says:
/// the logs keep no mention text (PRIVACY.md).
const QUIET_CRATES: &[&str] = &[
    "html5ever",
    "markup5ever",
    "selectors",
    "scraper",
    "tantivy",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
];

fn init_logging(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tantivy=warn"));
    for target in QUIET_CRATES {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    // Colours for a terminal only: in a log file (systemd's journal, a redirect) the
    // escape codes were half its bytes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn load(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

/// [`load`] for a command that writes in the data directory (or audits there). As root
/// in a data directory of another account (`sudo webcare forget …`) it stops: the files
/// it would make there (the list of erasures, index files, exports) would be root's, and
/// the daemon, running as that account, could not read them or start.
fn load_to_write(path: &Path) -> Result<Config> {
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

fn run(config_path: &Path, demo_mode: bool) -> Result<()> {
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
        let credentials = if demo_mode {
            std::fs::create_dir_all(&config.storage.data_dir)?;
            demo::reset_if_incompatible(&config.storage.data_dir)?;
            Some(demo::demo_credentials(&config)?)
        } else {
            None
        };
        // Listening before the start: a signal during it stops the daemon cleanly.
        let stop = daemon::shutdown_signal();
        let daemon = daemon::start(&config).await?;
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

fn check_config(path: &Path) -> Result<()> {
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
    daemon::check_listen(&config, &users)
        .with_context(|| format!("{}: key `http.listen`", path.display()))?;
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

fn search(
    config_path: &Path,
    demo_mode: bool,
    mut request: SearchRequest,
    (from, to): (Option<String>, Option<String>),
    json: bool,
) -> Result<()> {
    let mut config = load_to_write(config_path)?;
    if demo_mode {
        // The demo's own index, audit trail and key.
        demo::use_demo_files(&mut config);
        let index = config.storage.data_dir.join(webcare::search::INDEX_DIR);
        if !index.join("meta.json").exists() {
            // Rather than make an empty demo index, audit trail and key, and find nothing.
            bail!(
                "no demo has run here yet ({} holds no index): start one with `webcare run --demo`, in another shell",
                config.storage.data_dir.display()
            );
        }
        if demo_of_another_version(&config.storage.data_dir) {
            // The demo is disposable: its own start replaces it, no `reindex` needed.
            bail!(
                "the demo in {} was made by another webcare version: `webcare run --demo` (in another shell) starts it afresh for this one",
                config.storage.data_dir.display()
            );
        }
    }
    let tz = config.export.schedule.tz;
    request.from = from
        .map(|v| parse_time("--from", &v, false, tz))
        .transpose()?;
    request.to = to.map(|v| parse_time("--to", &v, true, tz)).transpose()?;
    let request = &request;
    // Recorded before anything is shown: a search that cannot be audited is not run.
    audit_cli(&config, "search", &request.describe())?;
    let index = MentionIndex::open(&config.storage.data_dir)?;
    let results = index.search_known(request, &config.source_names())?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &results)?;
        writeln!(out)?;
    } else {
        print_results(&mut out, &results, request.offset.unwrap_or(0), tz)?;
    }
    Ok(())
}

/// The hits for reading: times on the team's clocks (`[export] time_zone`, as the date
/// filters read them), with the zone's abbreviation.
fn print_results(
    out: &mut impl Write,
    results: &SearchResults,
    offset: usize,
    tz: chrono_tz::Tz,
) -> Result<()> {
    let shown = results.hits.len();
    let total = match results.total {
        1 => "1 mention".to_string(),
        n => format!("{n} mentions"),
    };
    if shown == results.total {
        writeln!(out, "{total}")?;
    } else if shown == 0 {
        writeln!(out, "{total}, none from {}", offset + 1)?;
    } else {
        // Which page this is, for reading on with `--offset`.
        let (first, last) = (offset + 1, offset + shown);
        writeln!(out, "{total}, {first}-{last} shown")?;
    }
    for hit in &results.hits {
        writeln!(out)?;
        writeln!(
            out,
            "{}  [{}] {}  ({})",
            hit.published.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z"),
            hit.lang,
            hit.title,
            hit.source
        )?;
        writeln!(out, "  {}", strip_tags(&hit.snippet))?;
        let mut labels = Vec::new();
        if !hit.aspects.is_empty() {
            labels.push(hit.aspects.join(", "));
        }
        if hit.complaint == Some(true) {
            labels.push(format!(
                "complaint {:.2}",
                hit.complaint_score.unwrap_or_default()
            ));
        }
        if hit.cluster_size > 1 {
            // The cluster holds this mention too: "3 alike" is it and two others.
            let voices = match hit.voices {
                1 => "1 voice".to_string(),
                n => format!("{n} voices"),
            };
            labels.push(format!("{} alike, {voices}", hit.cluster_size));
        }
        if !labels.is_empty() {
            writeln!(out, "  ({})", labels.join("; "))?;
        }
        if let Some(url) = &hit.url {
            writeln!(out, "  {url}")?;
        }
    }
    Ok(())
}

/// Snippets are HTML for the API; the terminal gets the highlighted words in *stars*.
fn strip_tags(snippet: &str) -> String {
    webcare::pipeline::extract::unescape_markup(&snippet.replace("<b>", "*").replace("</b>", "*"))
}

fn parse_time(
    flag: &str,
    value: &str,
    end_of_day: bool,
    tz: chrono_tz::Tz,
) -> Result<chrono::DateTime<chrono::Utc>> {
    webcare::http::parse_time(flag, value, end_of_day, tz)
        .map_err(|e| anyhow::anyhow!("{flag}: {}", e.message()))
}

fn evaluate(
    config_path: &Path,
    file: &Path,
    json: bool,
    predictions: Option<&Path>,
    topical: bool,
) -> Result<()> {
    let mut config = load(config_path)?;
    // Nothing is stored: the daemon's key is not needed (nor created).
    config.pipeline.pseudonym_key = webcare::config::KeySource::Ephemeral;
    if topical {
        config
            .pipeline
            .topical_sources
            .insert(webcare::eval::SOURCE.to_string());
    }
    let pipeline = Pipeline::from_config(&config.pipeline)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("{}: cannot open", file.display()))?;
    if let Some(path) = predictions {
        if same_file(path, file) {
            bail!(
                "{}: this is the labeled file; write the predictions to another",
                path.display()
            );
        }
        if holds_labeled_items(path) {
            bail!(
                "{}: holds labeled items, not predictions; write the predictions to another file",
                path.display()
            );
        }
    }
    // Kept until every line has read, then written where asked as it is (a file, a
    // pipe, a device such as /dev/stdout): a run that fails leaves an earlier
    // predictions file as it was.
    let mut written: Option<Vec<u8>> = predictions.map(|_| Vec::new());
    let sink = written.as_mut().map(|w| w as &mut dyn Write);
    let report = webcare::eval::evaluate(std::io::BufReader::new(input), &pipeline, sink)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    // Figures that quietly leave lines out would be figures of another file.
    if !report.errors.is_empty() {
        for (line, error) in &report.errors {
            errln!("{}:{line}: {error}", file.display());
        }
        bail!(
            "{}: {} of its labeled lines could not be read; fix them to get figures",
            file.display(),
            report.errors.len()
        );
    }
    if report.items == 0 {
        bail!("{}: no labeled items to measure on", file.display());
    }
    if let (Some(path), Some(lines)) = (predictions, written) {
        std::fs::write(path, lines).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let _ = write!(std::io::stdout(), "{}", webcare::eval::render(&report));
    }
    Ok(())
}

/// Whether `a` and `b` name one existing file (the same path, a symbolic link to it, or
/// another spelling of it).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether `path` is a file whose first line is a labeled item (which has no
/// `complaint_score`, as every line of predictions has): labeled data, not to be
/// written over by predictions.
fn holds_labeled_items(path: &Path) -> bool {
    use std::io::BufRead;
    if !path.is_file() {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    if std::io::BufReader::new(file).read_line(&mut first).is_err() {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&first).is_ok_and(|v| {
        v.get("complaint_score").is_none() && webcare::eval::Labeled::parse(first.trim()).is_ok()
    })
}

/// `webcare train`: the complaint, aspect and relevance models, each cross-validated
/// before it is written. `outs` overrides where (complaint, aspects, relevance) are
/// written; `settings` are in the same order.
fn train(
    config_path: &Path,
    files: &[PathBuf],
    outs: [Option<PathBuf>; 3],
    folds: usize,
    dry_run: bool,
    settings: [webcare::pipeline::model::Training; 3],
) -> Result<()> {
    let config = load(config_path)?;
    check_training(folds, &settings)?;
    let [settings, aspect_settings, relevance_settings] = settings;
    let dir = &config.pipeline.complaint_dir;
    let [out, aspects_out, relevance_out] = outs;
    let mut targets = [
        out.unwrap_or_else(|| dir.join(webcare::pipeline::complaint::MODEL_FILE)),
        aspects_out.unwrap_or_else(|| {
            config
                .pipeline
                .aspects_dir
                .join(webcare::pipeline::aspect_model::MODEL_FILE)
        }),
        relevance_out.unwrap_or_else(|| {
            config
                .pipeline
                .topics_dir
                .join(webcare::pipeline::relevance::MODEL_FILE)
        }),
    ];
    // Before minutes of training: each model can be written where it goes, and none
    // over labeled data or over another.
    if !dry_run {
        check_model_targets(&mut targets, files)?;
    }
    // The word lists alone: the models being replaced must not judge their successors,
    // nor stop them from being written when they are damaged.
    let cues = webcare::pipeline::complaint::ComplaintRules::load_cues(dir)?;
    let lists = webcare::pipeline::aspects::Aspects::load_lists(&config.pipeline.aspects_dir)?;
    let topics = webcare::pipeline::relevance::Topics::load_rules(&config.pipeline.topics_dir)?;
    let privacy = webcare::pipeline::Privacy::from_config(&config.pipeline)?;
    let examples = webcare::train::read_examples(files, |text| privacy.as_read(text))?;
    let (model, mut report) = webcare::train::train(&examples, &cues, settings, folds)?;
    report.files = files.iter().map(|f| f.display().to_string()).collect();
    let fold = |f: &webcare::eval::Scores| {
        format!(
            "precision {:.1}% recall {:.1}% F1 {:.3}",
            f.precision * 100.0,
            f.recall * 100.0,
            f.f1
        )
    };
    outln!(
        "complaint model: {} relevant posts, {} complaints; {} weighted features",
        report.relevant,
        report.complaints,
        report.features
    );
    outln!(
        "  {}-fold cross-validation, model alone: {}",
        report.folds,
        fold(&report.model_out_of_fold)
    );
    outln!(
        "  {}-fold cross-validation, mixed with the cue lists: {} (the lists may have been built on these posts)",
        report.folds,
        fold(&report.mixed_out_of_fold)
    );
    let (aspect_model, aspect_report) =
        webcare::train::train_aspects(&examples, &lists, aspect_settings, folds);
    outln!(
        "aspect model: {} relevant posts; {} weighted features",
        aspect_report.relevant,
        aspect_report.features
    );
    outln!(
        "  word lists alone, micro: {} (the lists may have been built on these posts)",
        fold(&aspect_report.lists)
    );
    outln!(
        "  {}-fold cross-validation, model with the lists' findings, micro: {}",
        aspect_report.folds,
        fold(&aspect_report.model_out_of_fold)
    );
    let (relevance_model, relevance_report) =
        webcare::train::train_relevance(&examples, &topics, relevance_settings, folds)?;
    outln!(
        "relevance model: {} labeled items, {} relevant; {} weighted features",
        relevance_report.items,
        relevance_report.relevant,
        relevance_report.features
    );
    outln!(
        "  topic rules alone: {} (the rules may have been built on these posts)",
        fold(&relevance_report.rules)
    );
    outln!(
        "  {}-fold cross-validation, the rules weighed by the model: {}",
        relevance_report.folds,
        fold(&relevance_report.model_out_of_fold)
    );
    for warning in webcare::train::warnings(&examples, &aspect_report, &relevance_report) {
        errln!("warning: {warning}");
    }
    if dry_run {
        return Ok(());
    }
    let texts = [
        model.to_file_text(&webcare::train::header(&report, settings)),
        aspect_model.to_file_text(&webcare::train::aspect_header(
            &aspect_report,
            &report.files,
            aspect_settings,
        )),
        relevance_model.to_file_text(&webcare::train::relevance_header(
            &relevance_report,
            &report.files,
            relevance_settings,
        )),
    ];
    // A model the daemon would refuse to load is not written over one it loads.
    let readable = [
        webcare::pipeline::model::WordModel::parse(&texts[0]).err(),
        webcare::pipeline::aspect_model::AspectModel::parse(&texts[1]).err(),
        webcare::pipeline::model::WordModel::parse(&texts[2]).err(),
    ];
    for (target, error) in targets.iter().zip(readable) {
        if let Some((line, message)) = error {
            bail!(
                "{}: the trained model would not load (its line {line}: {message}); nothing was written",
                target.display()
            );
        }
    }
    write_models(&targets, texts)
}

/// Where each model goes, checked before training: a regular file or none yet (a link is
/// followed, so that the file it names is replaced and the link stays), not a labeled
/// input, not another model's, and in a directory it can be written to.
fn check_model_targets(targets: &mut [PathBuf; 3], files: &[PathBuf]) -> Result<()> {
    for i in 0..targets.len() {
        if let Ok(real) = std::fs::canonicalize(&targets[i]) {
            targets[i] = real;
        }
        let target = &targets[i];
        if target.exists() && !target.is_file() {
            bail!(
                "{}: is not a regular file; a model is written to a file",
                target.display()
            );
        }
        if let Some(input) = files.iter().find(|f| same_file(f, target)) {
            bail!(
                "{}: this is a labeled file to train on ({}); write the model elsewhere",
                target.display(),
                input.display()
            );
        }
        if targets[..i]
            .iter()
            .any(|t| spelled_out(t) == spelled_out(target))
        {
            bail!(
                "{}: two models would be written to this one file",
                target.display()
            );
        }
        // A file made and removed at once: an interrupted training leaves none behind.
        tempfile::Builder::new()
            .prefix(".webcare-")
            .tempfile_in(webcare::access::parent_dir(target))
            .with_context(|| format!("{}: cannot write there", target.display()))?;
    }
    Ok(())
}

/// `path` with its directory spelled out in full (it need not exist yet itself).
fn spelled_out(path: &Path) -> PathBuf {
    match (
        std::fs::canonicalize(webcare::access::parent_dir(path)),
        path.file_name(),
    ) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Writes the three models, all or none as far as the file system allows: each is
/// written whole beside its place (readable as the one it replaces, or as the umask
/// allows: a daemon running as another user reads them), every replaced one is kept as
/// `model.tsv.previous`, and only then do the new ones take their places.
fn write_models(targets: &[PathBuf; 3], texts: [String; 3]) -> Result<()> {
    let mut drafts = Vec::new();
    for (target, text) in targets.iter().zip(texts) {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".webcare-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let mut draft = builder
            .tempfile_in(webcare::access::parent_dir(target))
            .with_context(|| format!("{}: cannot write there", target.display()))?;
        // The mode of the model it replaces, whatever the umask (a daemon running as
        // another user reads what it read before); a new one as the umask allows.
        if let Ok(meta) = std::fs::metadata(target) {
            std::fs::set_permissions(draft.path(), meta.permissions())
                .with_context(|| format!("{}: cannot write", target.display()))?;
        }
        draft
            .write_all(text.as_bytes())
            .and_then(|()| draft.as_file().sync_all())
            .with_context(|| format!("{}: cannot write", target.display()))?;
        drafts.push(draft);
    }
    let mut replaced = Vec::new();
    for target in targets {
        let replaces = target.exists();
        if replaces {
            let previous = previous_model(target);
            std::fs::copy(target, &previous).with_context(|| {
                format!(
                    "{}: cannot keep the model it replaces as {}; nothing was replaced",
                    target.display(),
                    previous.display()
                )
            })?;
        }
        replaced.push(replaces);
    }
    for ((target, draft), replaces) in targets.iter().zip(drafts).zip(replaced) {
        draft
            .persist(target)
            .with_context(|| format!("{}: cannot write", target.display()))?;
        if replaces {
            outln!(
                "wrote {} (the one it replaced is {})",
                target.display(),
                previous_model(target).display()
            );
        } else {
            outln!("wrote {}", target.display());
        }
    }
    Ok(())
}

/// Where the model a training replaces is kept: `model.tsv.previous`.
fn previous_model(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".previous");
    PathBuf::from(name)
}

/// Settings that cannot train a model are refused before any work, naming the flag.
fn check_training(folds: usize, settings: &[webcare::pipeline::model::Training; 3]) -> Result<()> {
    if folds < 2 {
        bail!("--folds {folds}: cross-validation needs at least 2 folds");
    }
    for s in settings {
        if !(s.c.is_finite() && s.c > 0.0) {
            bail!("--c {}: must be a positive number (default 16)", s.c);
        }
        if s.steps == 0 {
            bail!("--steps 0: at least one step is needed to learn anything");
        }
        if s.min_count == 0 {
            bail!("--min-count 0: a word must occur in at least one post");
        }
    }
    Ok(())
}

/// A period as configured: "90d", or exactly where it is not whole days.
fn days_or_exact(period: std::time::Duration) -> String {
    const DAY: u64 = 24 * 3600;
    match period.as_secs() {
        secs if secs % DAY == 0 && period.subsec_nanos() == 0 => format!("{}d", secs / DAY),
        _ => humantime::format_duration(period).to_string(),
    }
}

fn import_file(config_path: &Path, file: &Path) -> Result<()> {
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

/// Who did it, for the audit trail of command-line actions: the account the process runs
/// as, named from the system's account list (not from `$USER`, which anyone can set).
fn cli_actor() -> String {
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
fn audit_cli(config: &Config, action: &str, detail: &str) -> Result<()> {
    let privacy = webcare::pipeline::Privacy::from_config(&config.pipeline)?;
    audit_cli_plain(config, action, &privacy.redact(detail))
}

/// [`audit_cli`] for a detail composed of account names and ids, with nothing typed
/// into a search: not redacted (a user name like an e-mail address must stay who it is).
fn audit_cli_plain(config: &Config, action: &str, detail: &str) -> Result<()> {
    open_state(config)?
        .audit(chrono::Utc::now(), &cli_actor(), action, detail)
        .context("cannot write the audit trail")?;
    Ok(())
}

/// Whether the demo's index or state database in `data_dir` is of another webcare
/// version (which `run --demo` replaces or upgrades).
fn demo_of_another_version(data_dir: &Path) -> bool {
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

fn open_state(config: &Config) -> Result<StateDb> {
    // Creates the data directory, private to its owner, where it is missing. Only the
    // daemon and `reindex` upgrade the file of an older webcare.
    Ok(StateDb::open_current(&config.storage.data_dir)?)
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

fn forget(
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

fn reindex(config_path: &Path, keep_old: bool) -> Result<()> {
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

fn purge(config_path: &Path, dry_run: bool) -> Result<()> {
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
fn erase(
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

fn audit(config_path: &Path, since: Option<&str>, user: Option<&str>, limit: usize) -> Result<()> {
    let config = load_to_write(config_path)?;
    let since = since
        .map(|v| parse_time("--since", v, false, config.export.schedule.tz))
        .transpose()?;
    let state = open_state(&config)?;
    let entries = state.audit_entries(since, user, limit)?;
    // Recorded before anything is shown, as a search is.
    state
        .audit(chrono::Utc::now(), &cli_actor(), "audit_read", "")
        .context("cannot write the audit trail")?;
    let mut out = std::io::stdout().lock();
    for e in &entries {
        writeln!(
            out,
            "{}  {:<16} {:<14} {}",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.action,
            e.detail
        )?;
    }
    Ok(())
}

/// `webcare alerts outbox`: the mail as `GET /api/admin/outbox` lists it.
fn outbox(config_path: &Path, status: Option<&str>, limit: usize, json: bool) -> Result<()> {
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

fn user(config_path: &Path, action: UserAction) -> Result<()> {
    let config = load_to_write(config_path)?;
    // The audit trail is checked before the users file changes: a change it cannot
    // record (a state database to upgrade first, a read-only one) is not made.
    open_state(&config)?;
    let path = &config.access.users_file;
    match action {
        UserAction::Add { name, role } => {
            let role = match role {
                RoleArg::Viewer => Role::Viewer,
                RoleArg::Admin => Role::Admin,
            };
            let password = read_new_password(&name)?;
            let what = Users::change_file(path, |users| users.set_user(&name, role, &password))?;
            audit_cli_plain(&config, "user_set", &format!("{name}: {role}, {what}"))?;
            outln!("{name}: {role} ({})", path.display());
        }
        UserAction::Remove { name } => {
            let removed = Users::change_file(path, |users| {
                if users.remove(&name)? {
                    Ok(())
                } else {
                    Err(webcare::access::AccessError::Usage(format!(
                        "{} ({})",
                        users.no_user(&name),
                        path.display()
                    )))
                }
            });
            removed?;
            audit_cli_plain(&config, "user_remove", &name)?;
            outln!("{name}: removed");
        }
        UserAction::List => {
            let users = Users::load(path)?;
            let now = chrono::Utc::now();
            if users.is_empty() {
                outln!(
                    "no users in {}; add one with `webcare user add NAME --role admin`",
                    path.display()
                );
            }
            for u in users.all() {
                let expired = u.tokens.iter().filter(|t| t.is_expired(now)).count();
                let live = u.tokens.len() - expired;
                match expired {
                    0 => outln!("{}  {}  {live} tokens", u.name, u.role),
                    _ => outln!("{}  {}  {live} tokens, {expired} expired", u.name, u.role),
                }
            }
            // As `GET /api/admin/users` is.
            audit_cli(&config, "users_read", "")?;
        }
    }
    Ok(())
}

/// The password for `webcare user add`: typed twice without echo at a terminal, else
/// one line of standard input (from a script or a password manager).
fn read_new_password(name: &str) -> Result<String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        let mut password = String::new();
        std::io::stdin().read_line(&mut password)?;
        return Ok(password.trim_end_matches(['\r', '\n']).to_string());
    }
    let password =
        rpassword::prompt_password(format!("password for {name} (at least 12 characters): "))?;
    let again = rpassword::prompt_password("the same password again: ")?;
    if password != again {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(password)
}

/// A token's time as `webcare token` shows it.
fn shown(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What `webcare token` does.
enum TokenAction {
    Add {
        expires: String,
        label: Option<String>,
    },
    List,
    Revoke(String),
    RevokeAll,
}

fn token(config_path: &Path, name: &str, action: TokenAction) -> Result<()> {
    let config = load_to_write(config_path)?;
    // As in [`user`]: no change the audit trail cannot record.
    open_state(&config)?;
    let path = &config.access.users_file;
    let now = chrono::Utc::now();
    match action {
        TokenAction::List => {
            let users = Users::load(path)?;
            let user = users
                .get(name)
                .with_context(|| format!("{} ({})", users.no_user(name), path.display()))?;
            if user.tokens.is_empty() {
                outln!("{name} has no tokens");
            }
            for t in &user.tokens {
                let expires = match t.expires {
                    None => "never".to_string(),
                    Some(at) if t.is_expired(now) => format!("expired {}", shown(at)),
                    Some(at) => format!("expires {}", shown(at)),
                };
                outln!(
                    "{}  {}  created {}  {}",
                    t.id(),
                    t.label.as_deref().unwrap_or("-"),
                    t.created.map_or_else(|| "-".to_string(), shown),
                    expires
                );
            }
        }
        TokenAction::Revoke(id) => {
            // As the list shows it (the same id in capitals is the same token).
            let id = id.trim().to_ascii_lowercase();
            let id = id.as_str();
            Users::change_file(path, |users| {
                if users.revoke_token(name, id)? {
                    Ok(())
                } else {
                    Err(webcare::access::AccessError::Usage(format!(
                        "{name} has no token {id:?}; `webcare token {name} --list` shows their ids"
                    )))
                }
            })?;
            audit_cli_plain(&config, "token_revoke", &format!("{name}: token {id}"))?;
            outln!("{name}: token {id} revoked");
        }
        TokenAction::RevokeAll => {
            let revoked = Users::change_file(path, |users| users.revoke_tokens(name))?;
            audit_cli_plain(
                &config,
                "token_revoke",
                &format!("{name}: {revoked} tokens"),
            )?;
            outln!("{name}: {revoked} tokens revoked");
        }
        TokenAction::Add { expires, label } => {
            let lifetime = webcare::access::parse_token_lifetime(Some(&expires))
                .map_err(|m| anyhow::anyhow!("--expires: {m}"))?;
            let (token, stored) = Users::change_file(path, |users| {
                users.add_token(name, lifetime, label.as_deref(), now)
            })?;
            // The label was typed: redacted; the account is named as it is.
            let privacy = webcare::pipeline::Privacy::from_config(&config.pipeline)?;
            let summary = privacy.redact(&stored.summary());
            audit_cli_plain(&config, "token_add", &format!("{name}: {summary}"))?;
            let expiry = stored.expires.map_or_else(
                || "never expires".to_string(),
                |at| format!("expires {}", shown(at)),
            );
            errln!(
                "API token {} for {name}, {expiry} (shown once; send it as `Authorization: Bearer …`):",
                stored.id()
            );
            outln!("{token}");
        }
    }
    Ok(())
}

fn backtest(config_path: &Path, file: &Path, json: bool) -> Result<()> {
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

fn test_mail(config_path: &Path) -> Result<()> {
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

/// `webcare export`'s options, before they are checked.
struct ExportArgs {
    week: Option<String>,
    weeks: Option<u32>,
    formats: Vec<String>,
    out: Option<PathBuf>,
    lang: Option<String>,
    bom: bool,
    csv_delimiter: Option<String>,
}

/// The export request from the options, with the config's `[export]` as defaults.
fn export_request(config: &Config, args: &ExportArgs) -> Result<Request> {
    use webcare::export::settings::{check_weeks, parse_csv_delimiter, parse_formats};
    let settings = &config.export;
    let tz = settings.schedule.tz;
    let week = match &args.week {
        Some(text) => text
            .parse::<IsoWeek>()
            .map_err(|e| anyhow::anyhow!("--week {e}"))?,
        None => IsoWeek::last_complete(chrono::Utc::now(), tz),
    };
    let current = IsoWeek::containing(chrono::Utc::now(), tz);
    if week > current {
        bail!(
            "--week {week} has not begun (it starts on {}); the last complete week is {}",
            week.monday(),
            current.previous()
        );
    }
    // A report of part of a week would be compared with whole weeks, and would change
    // under the same file names with every run.
    if week == current {
        bail!(
            "--week {week} is not over yet (it ends on Sunday {}); the last complete week is {}",
            week.sunday(),
            current.previous()
        );
    }
    check_within_retention(config, week)?;
    let weeks_before = match args.weeks {
        Some(n) => check_weeks(n).map_err(|m| anyhow::anyhow!("--weeks {m}"))?,
        None => settings.weeks,
    };
    let formats = if args.formats.is_empty() {
        Format::ALL.to_vec()
    } else {
        parse_formats(&args.formats).map_err(|m| anyhow::anyhow!("--format: {m}"))?
    };
    let language = match &args.lang {
        Some(code) => {
            Language::parse(code).ok_or_else(|| anyhow::anyhow!("--lang {code}: use nl or en"))?
        }
        None => settings.language,
    };
    Ok(Request {
        week,
        weeks_before,
        tz,
        formats,
        out_dir: args.out.clone().unwrap_or_else(|| settings.out_dir.clone()),
        language,
        bom: args.bom || settings.bom,
        csv_delimiter: match &args.csv_delimiter {
            Some(text) => {
                parse_csv_delimiter(text).map_err(|m| anyhow::anyhow!("--csv-delimiter {m}"))?
            }
            None => settings.csv_delimiter,
        },
    })
}

/// Refuses a week whose mentions retention has deleted: its report would read "no
/// mentions", which an analyst takes for silence. A week partly deleted is reported,
/// with a warning that its first days are missing.
fn check_within_retention(config: &Config, week: IsoWeek) -> Result<()> {
    let tz = config.export.schedule.tz;
    let cutoff = webcare::retention::mention_cutoff(&config.privacy, chrono::Utc::now());
    let retention = days_or_exact(config.privacy.retention);
    let kept_from = cutoff.with_timezone(&tz).format("%Y-%m-%d %H:%M");
    if week.end(tz) <= cutoff {
        let oldest = IsoWeek::containing(cutoff, tz);
        let oldest_whole = if oldest.start(tz) < cutoff {
            oldest.next()
        } else {
            oldest
        };
        let current = IsoWeek::containing(chrono::Utc::now(), tz);
        let oldest_kept = if oldest_whole < current {
            format!("the oldest whole week still kept is {oldest_whole}")
        } else {
            "no whole week is kept (the retention period is shorter than a week)".to_string()
        };
        bail!(
            "--week {week} ended on Sunday {}, before the retention period ([privacy] retention = \"{retention}\"): \
             mentions published before {kept_from} have been deleted, so nothing of that week is left to report; \
             {oldest_kept}",
            week.sunday()
        );
    }
    if week.start(tz) < cutoff {
        errln!(
            "warning: mentions published before {kept_from} have been deleted ([privacy] retention = \"{retention}\"): \
             {week} is reported without its first days"
        );
    }
    Ok(())
}

fn export(config_path: &Path, args: &ExportArgs) -> Result<()> {
    let config = load_to_write(config_path)?;
    let request = export_request(&config, args)?;
    let index = MentionIndex::open(&config.storage.data_dir)?;
    let state = open_state(&config)?;
    let aspects = webcare::pipeline::aspects::Aspects::load_dir(&config.pipeline.aspects_dir)?;
    let known = |term: &str| !aspects.tag(term).is_empty();
    let sources = Sources {
        index: &index,
        state: Some(&state),
        known: &known,
        thresholds: config.alerts.thresholds(),
        kept_from: Some(webcare::retention::mention_cutoff(
            &config.privacy,
            chrono::Utc::now(),
        )),
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:32} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut progress = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(p.step);
    };
    let written = webcare::export::export(&sources, &request, &mut progress);
    bar.finish_and_clear();
    let written = written?;
    audit_cli(
        &config,
        "export",
        &format!(
            "week {}: {} files in {}",
            written.report.week,
            written.files.len(),
            request.out_dir.display()
        ),
    )?;
    if let Some(week) = written.report.current() {
        errln!(
            "{}: {} mentions, {} complaints; {} files in {}",
            written.report.week,
            week.mentions,
            week.complaints,
            written.files.len(),
            request.out_dir.display()
        );
    }
    for file in &written.files {
        outln!("{}", file.display());
    }
    Ok(())
}
