//! The command line as clap reads it: every command, its flags and their help.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use webcare::config::DEFAULT_CONFIG_PATH;

#[derive(Parser)]
#[command(
    name = "webcare",
    version,
    about = "Public social listening on the Dutch asylum procedure"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
pub(crate) enum AlertsAction {
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
pub(crate) enum UserAction {
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
pub(crate) enum RoleArg {
    Viewer,
    Admin,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SortArg {
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
