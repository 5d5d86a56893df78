//! The `webcare` command line: parses arguments, loads the config, calls the library.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use webcare::config::{Config, DEFAULT_CONFIG_PATH};
use webcare::pipeline::Pipeline;
use webcare::search::{MentionIndex, SearchRequest, SearchResults, Sort};
use webcare::{daemon, demo, import};

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
        /// Query: words, "phrases", AND/OR/NOT; empty or * lists the newest mentions.
        query: Option<String>,
        #[arg(long)]
        lang: Option<String>,
        #[arg(long)]
        source: Option<String>,
        /// Only mentions about this aspect (interpreter, hearing, waiting_time, …).
        #[arg(long)]
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
    },
    /// Feed mentions from a JSON Lines file through the pipeline into the index.
    Import {
        #[arg(short, long, default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        file: PathBuf,
    },
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

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            config,
            demo,
            log_format,
        } => {
            init_logging(log_format);
            run(&config, demo)
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
            sort,
            json,
            demo,
        } => {
            init_logging(LogFormat::Human);
            let request = SearchRequest {
                q: query.unwrap_or_default(),
                lang,
                source,
                aspect,
                complaint,
                from: from.map(|v| parse_time("--from", &v, false)).transpose()?,
                to: to.map(|v| parse_time("--to", &v, true)).transpose()?,
                limit: Some(limit),
                offset: None,
                sort: sort.map(|s| match s {
                    SortArg::Newest => Sort::Newest,
                    SortArg::Relevance => Sort::Relevance,
                }),
            };
            search(&config, demo, &request, json)
        }
        Command::Eval {
            config,
            file,
            json,
            predictions,
        } => evaluate(&config, &file, json, predictions.as_deref()),
        Command::Import { config, file } => {
            init_logging(LogFormat::Human);
            import_file(&config, &file)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tantivy=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn load(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

fn run(config_path: &Path, demo_mode: bool) -> Result<()> {
    let config = load(config_path)?;
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
        let daemon = daemon::start(&config).await?;
        println!(
            "webcare is running: search at http://{}/api/search?q=asielzoekers  (Ctrl-C stops)",
            daemon.addr()
        );
        daemon::shutdown_signal().await;
        daemon.shutdown().await?;
        Ok(())
    })
}

fn check_config(path: &Path) -> Result<()> {
    let config = load(path)?;
    let pipeline = Pipeline::from_config(&config.pipeline)?;
    println!(
        "{}: OK ({} sources, {} enabled; {} topic rules from {})",
        path.display(),
        config.sources.len(),
        config.enabled_sources().count(),
        pipeline.topics().rule_count(),
        config.pipeline.topics_dir.display()
    );
    Ok(())
}

fn open_index(config: &Config, demo_mode: bool) -> Result<MentionIndex> {
    let dir = if demo_mode {
        config.storage.data_dir.join("demo")
    } else {
        config.storage.data_dir.clone()
    };
    Ok(MentionIndex::open(&dir)?)
}

fn search(config_path: &Path, demo_mode: bool, request: &SearchRequest, json: bool) -> Result<()> {
    let config = load(config_path)?;
    let index = open_index(&config, demo_mode)?;
    let results = index.search(request)?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &results)?;
        writeln!(out)?;
    } else {
        print_results(&mut out, &results)?;
    }
    Ok(())
}

fn print_results(out: &mut impl Write, results: &SearchResults) -> Result<()> {
    writeln!(out, "{} mentions", results.total)?;
    for hit in &results.hits {
        writeln!(out)?;
        writeln!(
            out,
            "{}  [{}] {}  ({})",
            hit.published.format("%Y-%m-%d %H:%M"),
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
            labels.push(format!(
                "{} near-duplicates, {} voices",
                hit.cluster_size, hit.voices
            ));
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
    snippet
        .replace("<b>", "*")
        .replace("</b>", "*")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

fn parse_time(flag: &str, value: &str, end_of_day: bool) -> Result<chrono::DateTime<chrono::Utc>> {
    webcare::http::parse_time(flag, value, end_of_day)
        .map_err(|e| anyhow::anyhow!("{flag}: {}", e.message()))
}

fn evaluate(config_path: &Path, file: &Path, json: bool, predictions: Option<&Path>) -> Result<()> {
    let mut config = load(config_path)?;
    // Nothing is stored: the daemon's key is not needed (nor created).
    config.pipeline.pseudonym_key = webcare::config::KeySource::Ephemeral;
    let pipeline = Pipeline::from_config(&config.pipeline)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("{}: cannot open", file.display()))?;
    let mut out_file = match predictions {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("{}: cannot create", path.display()))?,
        )),
        None => None,
    };
    let sink = out_file.as_mut().map(|w| w as &mut dyn Write);
    let report = webcare::eval::evaluate(std::io::BufReader::new(input), &pipeline, sink)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    if let Some(mut w) = out_file {
        w.flush()?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", webcare::eval::render(&report));
    }
    Ok(())
}

fn import_file(config_path: &Path, file: &Path) -> Result<()> {
    let config = load(config_path)?;
    let pipeline = Pipeline::from_config(&config.pipeline)?;
    let index = open_index(&config, false)?;
    index.load_duplicates(&mut pipeline.duplicates())?;
    let reader =
        std::fs::File::open(file).with_context(|| format!("{}: cannot open", file.display()))?;
    let name = file.display().to_string();
    let report = import::import(&name, std::io::BufReader::new(reader), &pipeline, &index)?;
    for (line, error) in &report.errors {
        eprintln!("{name}:{line}: {error}");
    }
    println!(
        "{name}: {} lines, {} indexed, {} not relevant, {} skipped",
        report.lines,
        report.indexed,
        report.not_relevant,
        report.errors.len()
    );
    if report.lines > 0 && report.errors.len() == report.lines {
        bail!("{name}: no line could be imported");
    }
    Ok(())
}
