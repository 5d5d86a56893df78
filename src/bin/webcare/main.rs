//! The `webcare` command line: parses arguments, loads the config, calls the library.
//! Each module holds one family of commands; the work itself is the library's.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use webcare::search::{SearchRequest, Sort};

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

mod access;
mod alerts;
mod args;
mod export;
mod mentions;
mod quality;
mod search;
mod setup;

use crate::access::{audit, token, user, TokenAction};
use crate::alerts::{backtest, outbox, test_mail};
use crate::args::{AlertsAction, Cli, Command, LogFormat, SortArg};
use crate::export::{export, ExportArgs};
use crate::mentions::{forget, import_file, purge, reindex};
use crate::quality::{evaluate, train};
use crate::search::search;
use crate::setup::{check_config, run};

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
