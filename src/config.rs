//! The daemon's configuration: TOML in, a typed and validated [`Config`] out.
//!
//! Strict by design: unknown keys, bad durations, duplicate source names and paths that
//! cannot be used are refused at load time, and every error names the file, the key (and
//! the line where it is known) and what is expected. Relative paths are resolved against
//! the working directory the daemon is started in, so `data_dir = "index"` and
//! `topics_dir = "config/topics"` work from the repository root.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::pipeline::pseudonym::KeySource;
use toml::Spanned;

/// The config file used when none is given on the command line.
pub const DEFAULT_CONFIG_PATH: &str = "config/webcare.toml";
const DEFAULT_DATA_DIR: &str = "index";
const DEFAULT_TOPICS_DIR: &str = "config/topics";
const DEFAULT_ASPECTS_DIR: &str = "config/aspects";
const DEFAULT_COMPLAINT_DIR: &str = "config/complaint";
const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The users file under `data_dir`, unless configured elsewhere.
const DEFAULT_USERS_FILE: &str = "users.toml";
/// The pseudonym key's file under `data_dir`, unless configured elsewhere.
const DEFAULT_KEY_FILE: &str = "pseudonym.key";
/// Institutions whose @mentions stay readable: they are not private persons.
const DEFAULT_PUBLIC_ACCOUNTS: &[&str] = &[
    "IND_NL",
    "INDnl",
    "COAnl",
    "COA_nl",
    "VluchtelingenW",
    "Rijksoverheid",
    "DJI_NL",
];
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_USER_AGENT: &str =
    "webcare/0.1 (public social listening on the Dutch asylum procedure; contact: webcare@example.org)";
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10 * 60);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
const DEFAULT_MAX_REDIRECTS: usize = 5;
const DEFAULT_MAX_PER_HOST: usize = 2;
const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(6 * 3600);
const DEFAULT_JITTER: f64 = 0.1;
const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_secs(2);
const DEFAULT_COMMIT_MAX_DOCS: usize = 10_000;
const DEFAULT_LANGUAGES: &[&str] = &[
    "nl", "en", "ar", "fa", "tr", "uk", "fr", "de", "so", "ti", "es", "ru",
];
/// How far back the first poll of a platform source reaches.
const DEFAULT_BACKFILL: Duration = Duration::from_secs(7 * 86400);
/// Pages one poll of a platform source may fetch before it continues next time.
pub const DEFAULT_MAX_PAGES: usize = 10;
const MAX_MAX_PAGES: usize = 100;
/// Every source kind the daemon knows; an unknown `kind` lists these.
pub const SOURCE_KINDS: &[&str] = &[
    "feed",
    "mastodon",
    "discourse",
    "reddit",
    "bluesky",
    "lemmy",
];
/// Keys every kind takes.
const COMMON_KEYS: &[&str] = &[
    "name",
    "kind",
    "url",
    "interval",
    "lang",
    "enabled",
    "rate_limit",
    "topical",
];

/// What a kind takes beyond [`COMMON_KEYS`], and its defaults.
struct KindSpec {
    kind: &'static str,
    keys: &'static [&'static str],
    /// Least time between two requests to the host, unless `rate_limit` says otherwise.
    rate_limit: Duration,
    /// Used when `url` is not given (platforms with one well-known API address).
    default_url: Option<&'static str>,
}

const KINDS: &[KindSpec] = &[
    KindSpec {
        kind: "feed",
        keys: &[],
        rate_limit: Duration::ZERO,
        default_url: None,
    },
    // Mastodon allows 300 requests per 5 minutes per address.
    KindSpec {
        kind: "mastodon",
        keys: &[
            "tags",
            "query",
            "token_env",
            "token_file",
            "backfill",
            "max_pages",
        ],
        rate_limit: Duration::from_secs(1),
        default_url: None,
    },
    // Discourse's defaults allow 200 requests a minute per address.
    KindSpec {
        kind: "discourse",
        keys: &["query", "category", "backfill", "max_pages"],
        rate_limit: Duration::from_secs(1),
        default_url: None,
    },
    // Reddit allows about 10 requests a minute without OAuth (100 with a token).
    KindSpec {
        kind: "reddit",
        keys: &[
            "subreddits",
            "query",
            "include_comments",
            "token_env",
            "token_file",
            "backfill",
            "max_pages",
        ],
        rate_limit: Duration::from_secs(6),
        default_url: Some("https://www.reddit.com"),
    },
    // The public AppView allows 3000 requests per 5 minutes per address.
    KindSpec {
        kind: "bluesky",
        keys: &["query", "token_env", "token_file", "backfill", "max_pages"],
        rate_limit: Duration::from_secs(1),
        default_url: Some("https://public.api.bsky.app"),
    },
    // Lemmy's defaults allow 180 API reads a minute per address.
    KindSpec {
        kind: "lemmy",
        keys: &[
            "communities",
            "include_comments",
            "token_env",
            "token_file",
            "backfill",
            "max_pages",
        ],
        rate_limit: Duration::from_secs(1),
        default_url: None,
    },
];

/// Why a configuration was refused. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the config file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{}", fmt_invalid(path, *line, key, message))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

fn fmt_invalid(path: &Path, line: Option<usize>, key: &str, message: &str) -> String {
    match line {
        Some(line) => format!("{}:{line}: key `{key}`: {message}", path.display()),
        None => format!("{}: key `{key}`: {message}", path.display()),
    }
}

/// A validated configuration, ready to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from (for messages).
    pub path: PathBuf,
    pub storage: Storage,
    pub http: Http,
    pub poll: Poll,
    pub pipeline: Pipeline,
    pub privacy: Privacy,
    pub access: Access,
    /// Recurring-complaint detection (`[alerts]`).
    pub alerts: crate::alerts::settings::Alerts,
    /// Alert e-mail (`[mail]`).
    pub mail: crate::alerts::settings::Mail,
    /// The weekly trend export (`[export]`).
    pub export: crate::export::settings::Export,
    pub sources: Vec<SourceConfig>,
}

/// How long things are kept (`[privacy]`).
#[derive(Debug, Clone)]
pub struct Privacy {
    /// Mentions published longer ago than this are erased, daily.
    pub retention: Duration,
    /// Audit entries older than this are erased, daily.
    pub audit_retention: Duration,
}

/// Who may use the API (`[access]`).
#[derive(Debug, Clone)]
pub struct Access {
    /// Users, roles and hashed credentials (managed by `webcare user` / `webcare token`).
    pub users_file: PathBuf,
    /// How long a browser session lasts after login.
    pub session_ttl: Duration,
    /// Mark session cookies `Secure` (set when the API is served over TLS).
    pub secure_cookies: bool,
}

#[derive(Debug, Clone)]
pub struct Storage {
    pub data_dir: PathBuf,
    /// Longest time a mention waits in the writer before it is committed.
    pub commit_interval: Duration,
    /// Commit as soon as this many mentions are waiting.
    pub commit_max_docs: usize,
}

#[derive(Debug, Clone)]
pub struct Http {
    pub listen: SocketAddr,
    /// The line of `listen` in the config file, for what is refused later (nobody to
    /// sign in to an open address); `None` for the default.
    pub listen_line: Option<usize>,
    /// How long a client may take to send a request's headers, and stay idle between
    /// requests on a kept-alive connection, before its connection is closed.
    pub header_timeout: Duration,
    /// The TLS proxies in front of the API, whose `X-Forwarded-For` names the client:
    /// else every client has the proxy's address, and five failed logins by anyone
    /// would lock everyone out.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// HTTP etiquette shared by every source.
#[derive(Debug, Clone)]
pub struct Poll {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub max_redirects: usize,
    pub max_per_host: usize,
    pub backoff_max: Duration,
    /// Fraction of the interval by which each poll is moved at random (0.1 = ±10%).
    pub jitter: f64,
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub topics_dir: PathBuf,
    /// Word lists that find the aspects of the procedure, and the learned model that
    /// decides (`model.tsv`, when there).
    pub aspects_dir: PathBuf,
    /// Weighted word lists that tell a complaint from news, questions and praise.
    pub complaint_dir: PathBuf,
    /// The key that turns handles into pseudonyms (`[privacy] pseudonym_key_file`).
    pub pseudonym_key: KeySource,
    /// Official accounts whose @mentions stay readable (`[privacy] public_accounts`).
    pub public_accounts: Vec<String>,
    /// ISO 639-1 codes language detection may answer with.
    pub languages: Vec<String>,
    /// Redaction patterns beyond the built-in ones (`[privacy] redact_patterns`).
    pub redact_patterns: Vec<crate::pipeline::redact::ExtraPattern>,
    /// The sources marked `topical = true`: there the learned relevance model may keep
    /// a mention no topic rule recognised.
    pub topical_sources: BTreeSet<String>,
}

impl Pipeline {
    /// The defaults with topic rules from `topics_dir` (for tools, tests and benches).
    pub fn with_topics(topics_dir: PathBuf) -> Pipeline {
        let aspects_dir = topics_dir.with_file_name("aspects");
        let complaint_dir = topics_dir.with_file_name("complaint");
        Pipeline {
            topics_dir,
            aspects_dir,
            complaint_dir,
            pseudonym_key: KeySource::Ephemeral,
            public_accounts: DEFAULT_PUBLIC_ACCOUNTS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            languages: DEFAULT_LANGUAGES.iter().map(|s| s.to_string()).collect(),
            redact_patterns: Vec::new(),
            topical_sources: BTreeSet::new(),
        }
    }
}

/// The names of the sources marked `topical = true`.
pub fn topical_sources(sources: &[SourceConfig]) -> BTreeSet<String> {
    sources
        .iter()
        .filter(|s| s.topical)
        .map(|s| s.name.clone())
        .collect()
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub kind: String,
    /// The feed, or the platform's base URL (instance, forum or API address).
    pub url: url::Url,
    pub interval: Duration,
    /// Language hint for every item of this source (wins over detection).
    pub lang: Option<String>,
    pub enabled: bool,
    /// Least time between two requests to this source's host (the strictest source on a
    /// host sets the pace for all of them).
    pub rate_limit: Duration,
    /// Everything this source carries is talk around the asylum procedure (a forum
    /// category or community about it, a hashtag or search for it): the relevance model
    /// may keep what no topic rule recognised (see `config/topics/README.md`).
    pub topical: bool,
    /// What the forum and platform kinds read; empty for feeds.
    pub platform: Platform,
}

/// The kind-specific settings of a forum or platform source (see the README).
#[derive(Debug, Clone, Default)]
pub struct Platform {
    /// Mastodon hashtags, without `#`.
    pub tags: Vec<String>,
    /// Search terms (Mastodon with a token, Discourse, Reddit, Bluesky).
    pub query: Option<String>,
    /// Reddit subreddit names, without `r/`.
    pub subreddits: Vec<String>,
    /// Lemmy communities, `name` or `name@instance`.
    pub communities: Vec<String>,
    /// Discourse category slug that narrows the search.
    pub category: Option<String>,
    /// Also read comments (Reddit, Lemmy).
    pub include_comments: bool,
    /// How far back the first poll reaches.
    pub backfill: Duration,
    /// Pages one poll may fetch; the rest of a long walk back follows next poll.
    pub max_pages: usize,
    /// Sent as `Authorization: Bearer`; from `token_env` or `token_file`.
    pub token: Option<Secret>,
}

/// A secret such as an API token. It comes from the environment or a file the config
/// names, never from the config itself, and prints as `[secret]`, so no log, error or
/// `Debug` output can show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it (the `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

impl Config {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(path, &text)
    }

    /// Parses and validates `text` as if it had been read from `path`.
    pub fn from_toml(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Validator { path, text }.config(raw)
    }

    /// The configured sources that are switched on.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(|s| s.enabled)
    }

    /// The name of every configured source, switched on or not.
    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.name.clone()).collect()
    }
}

// ---- the raw, as-written form --------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    poll: RawPoll,
    #[serde(default)]
    pipeline: RawPipeline,
    #[serde(default)]
    privacy: RawPrivacy,
    #[serde(default)]
    access: RawAccess,
    #[serde(default)]
    alerts: crate::alerts::settings::RawAlerts,
    #[serde(default)]
    mail: crate::alerts::settings::RawMail,
    #[serde(default)]
    export: crate::export::settings::RawExport,
    #[serde(default)]
    sources: Vec<RawSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    users_file: Option<Spanned<String>>,
    session_ttl: Option<AtLeast<60>>,
    secure_cookies: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    #[serde(default)]
    redact_patterns: Vec<RawRedactPattern>,
    pseudonym_key_file: Option<Spanned<String>>,
    public_accounts: Option<Vec<String>>,
    retention: Option<AtLeast<3600>>,
    audit_retention: Option<AtLeast<3600>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedactPattern {
    placeholder: Spanned<String>,
    regex: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    data_dir: Option<Spanned<String>>,
    commit_interval: Option<HumanDuration>,
    commit_max_docs: Option<Spanned<usize>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Spanned<String>>,
    header_timeout: Option<AtLeast<1>>,
    trusted_proxies: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    user_agent: Option<Spanned<String>>,
    timeout: Option<AtLeast<1>>,
    max_body_bytes: Option<Spanned<u64>>,
    max_redirects: Option<usize>,
    max_per_host: Option<Spanned<usize>>,
    backoff_max: Option<HumanDuration>,
    jitter: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    topics_dir: Option<Spanned<String>>,
    aspects_dir: Option<Spanned<String>>,
    complaint_dir: Option<Spanned<String>>,
    languages: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    interval: Option<AtLeast<1>>,
    lang: Option<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
    rate_limit: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    topical: bool,
    // Kind-specific keys; `RawSource::kind_keys` lists them for the per-kind check.
    tags: Option<Spanned<Vec<String>>>,
    query: Option<Spanned<String>>,
    subreddits: Option<Spanned<Vec<String>>>,
    communities: Option<Spanned<Vec<String>>>,
    category: Option<Spanned<String>>,
    include_comments: Option<Spanned<bool>>,
    backfill: Option<Spanned<HumanDuration>>,
    max_pages: Option<Spanned<usize>>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
}

impl RawSource {
    /// The kind-specific keys that are set, with where they are.
    fn kind_keys(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        [
            ("tags", self.tags.as_ref().map(Spanned::span)),
            ("query", self.query.as_ref().map(Spanned::span)),
            ("subreddits", self.subreddits.as_ref().map(Spanned::span)),
            ("communities", self.communities.as_ref().map(Spanned::span)),
            ("category", self.category.as_ref().map(Spanned::span)),
            (
                "include_comments",
                self.include_comments.as_ref().map(Spanned::span),
            ),
            ("backfill", self.backfill.as_ref().map(Spanned::span)),
            ("max_pages", self.max_pages.as_ref().map(Spanned::span)),
            ("token_env", self.token_env.as_ref().map(Spanned::span)),
            ("token_file", self.token_file.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(key, span)| Some((key, span?)))
        .collect()
    }
}

fn yes() -> bool {
    true
}

/// A duration as humans write it ("30s", "10m", "6h", "7d"); refused with an example
/// otherwise, so the TOML error points at the key and line.
#[derive(Debug, Clone, Copy)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(HumanDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// A duration of at least `SECS` seconds, for the keys where a shorter one is a typo
/// ("10ms" for "10m": a source polled 46 times a second) or a setting that cannot work
/// (a retention of one second); refused naming the least, so the TOML error points at
/// the key and line.
#[derive(Debug, Clone, Copy)]
pub struct AtLeast<const SECS: u64>(pub Duration);

impl<'de, const SECS: u64> Deserialize<'de> for AtLeast<SECS> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = parse_duration(&text).map_err(serde::de::Error::custom)?;
        let least = Duration::from_secs(SECS);
        if parsed < least {
            return Err(serde::de::Error::custom(format!(
                "invalid duration {text:?}: must be at least {}",
                humantime::format_duration(least)
            )));
        }
        Ok(AtLeast(parsed))
    }
}

/// The longest duration accepted (retention may be long; a longer one is a typo, and
/// added to a date it would leave the calendar).
const MAX_DURATION: Duration = Duration::from_secs(36_500 * 24 * 3600);

/// Parses "30s", "10m", "1h 30m", "7d". Zero is refused: every duration here is a wait.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}); expected a number and a unit, e.g. \"30s\", \"10m\", \"6h\", \"7d\"")
    })?;
    if parsed.is_zero() {
        return Err(format!("invalid duration {text:?}: must be more than zero"));
    }
    if parsed > MAX_DURATION {
        return Err(format!(
            "invalid duration {text:?}: must be at most 100 years (\"36500d\")"
        ));
    }
    Ok(parsed)
}

// ---- validation ------------------------------------------------------------------------

pub(crate) struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Validator<'_> {
    pub(crate) fn invalid(
        &self,
        span: Option<std::ops::Range<usize>>,
        key: &str,
        message: impl fmt::Display,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            line: span.map(|s| line_of(self.text, s.start)),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let storage = self.storage(raw.storage)?;
        let mut privacy_raw = raw.privacy;
        let privacy = Privacy {
            retention: privacy_raw
                .retention
                .take()
                .map_or(DEFAULT_RETENTION, |d| d.0),
            audit_retention: privacy_raw
                .audit_retention
                .take()
                .map_or(DEFAULT_AUDIT_RETENTION, |d| d.0),
        };
        let mut pipeline = self.pipeline(raw.pipeline, privacy_raw, &storage.data_dir)?;
        let sources = self.sources(raw.sources)?;
        pipeline.topical_sources = topical_sources(&sources);
        let access = self.access(raw.access, &storage.data_dir)?;
        let mail = crate::alerts::settings::mail(self, raw.mail)?;
        let export = crate::export::settings::export(self, raw.export, &storage.data_dir, &mail)?;
        Ok(Config {
            path: self.path.to_owned(),
            storage,
            http: self.http(raw.http)?,
            poll: self.poll(raw.poll)?,
            pipeline,
            privacy,
            access,
            alerts: crate::alerts::settings::alerts(self, raw.alerts)?,
            mail,
            export,
            sources,
        })
    }

    fn access(&self, raw: RawAccess, data_dir: &Path) -> Result<Access, ConfigError> {
        let users_file = match raw.users_file {
            Some(file) if file.get_ref().trim().is_empty() => {
                return Err(self.invalid(
                    Some(file.span()),
                    "access.users_file",
                    "must name a file (it may not exist yet: `webcare user add` creates it)",
                ))
            }
            Some(file) => {
                let path = PathBuf::from(file.get_ref());
                check_file_can_be_made(&path)
                    .map_err(|m| self.invalid(Some(file.span()), "access.users_file", m))?;
                path
            }
            None => data_dir.join(DEFAULT_USERS_FILE),
        };
        Ok(Access {
            users_file,
            session_ttl: raw.session_ttl.map_or(DEFAULT_SESSION_TTL, |d| d.0),
            secure_cookies: raw.secure_cookies.unwrap_or(false),
        })
    }

    fn storage(&self, raw: RawStorage) -> Result<Storage, ConfigError> {
        let (data_dir, span) = match raw.data_dir {
            Some(d) => (PathBuf::from(d.get_ref()), Some(d.span())),
            None => (PathBuf::from(DEFAULT_DATA_DIR), None),
        };
        check_data_dir(&data_dir).map_err(|m| self.invalid(span, "storage.data_dir", m))?;
        let commit_max_docs = match raw.commit_max_docs {
            Some(n) if *n.get_ref() == 0 => {
                return Err(self.invalid(
                    Some(n.span()),
                    "storage.commit_max_docs",
                    "must be at least 1",
                ))
            }
            Some(n) => n.into_inner(),
            None => DEFAULT_COMMIT_MAX_DOCS,
        };
        Ok(Storage {
            data_dir,
            commit_interval: raw.commit_interval.map_or(DEFAULT_COMMIT_INTERVAL, |d| d.0),
            commit_max_docs,
        })
    }

    fn http(&self, raw: RawHttp) -> Result<Http, ConfigError> {
        let listen_line = raw
            .listen
            .as_ref()
            .map(|l| line_of(self.text, l.span().start));
        let listen = match raw.listen {
            Some(l) => l.get_ref().parse().map_err(|_| {
                self.invalid(
                    Some(l.span()),
                    "http.listen",
                    format!(
                        "{:?} is not an address and port, e.g. \"127.0.0.1:8080\"",
                        l.get_ref()
                    ),
                )
            })?,
            None => DEFAULT_LISTEN
                .parse()
                .expect("default listen address is valid"),
        };
        let trusted_proxies = raw
            .trusted_proxies
            .unwrap_or_default()
            .into_iter()
            .map(|p| {
                // As the listener reports a client on a dual-stack socket.
                p.get_ref()
                    .trim()
                    .parse::<std::net::IpAddr>()
                    .map(|ip| ip.to_canonical())
                    .map_err(|_| {
                        self.invalid(
                            Some(p.span()),
                            "http.trusted_proxies",
                            format!(
                                "{:?} is not an IP address, e.g. \"127.0.0.1\" or \"::1\"",
                                p.get_ref()
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Http {
            listen,
            listen_line,
            header_timeout: raw.header_timeout.map_or(DEFAULT_HEADER_TIMEOUT, |d| d.0),
            trusted_proxies,
        })
    }

    fn poll(&self, raw: RawPoll) -> Result<Poll, ConfigError> {
        let user_agent = match raw.user_agent {
            Some(ua) if !(ua.get_ref().contains('@') || ua.get_ref().contains("http")) => {
                return Err(self.invalid(
                    Some(ua.span()),
                    "poll.user_agent",
                    "must name a contact (an e-mail address or a URL) so that site owners can reach the operator",
                ))
            }
            Some(ua) => ua.into_inner(),
            None => DEFAULT_USER_AGENT.to_string(),
        };
        let jitter = match raw.jitter {
            Some(j) if !(0.0..=0.5).contains(j.get_ref()) => {
                return Err(self.invalid(
                    Some(j.span()),
                    "poll.jitter",
                    "must be between 0.0 and 0.5",
                ))
            }
            Some(j) => j.into_inner(),
            None => DEFAULT_JITTER,
        };
        let max_per_host = match raw.max_per_host {
            Some(n) if *n.get_ref() == 0 => {
                return Err(self.invalid(Some(n.span()), "poll.max_per_host", "must be at least 1"))
            }
            Some(n) => n.into_inner(),
            None => DEFAULT_MAX_PER_HOST,
        };
        let max_body_bytes = match raw.max_body_bytes {
            Some(n) if *n.get_ref() < 1024 => {
                return Err(self.invalid(
                    Some(n.span()),
                    "poll.max_body_bytes",
                    "must be at least 1024",
                ))
            }
            Some(n) => n.into_inner(),
            None => DEFAULT_MAX_BODY_BYTES,
        };
        Ok(Poll {
            user_agent,
            timeout: raw.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0),
            max_body_bytes,
            max_redirects: raw.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS),
            max_per_host,
            backoff_max: raw.backoff_max.map_or(DEFAULT_BACKOFF_MAX, |d| d.0),
            jitter,
        })
    }

    fn redact_patterns(
        &self,
        raw: RawPrivacy,
    ) -> Result<Vec<crate::pipeline::redact::ExtraPattern>, ConfigError> {
        let mut patterns = Vec::with_capacity(raw.redact_patterns.len());
        for (i, p) in raw.redact_patterns.into_iter().enumerate() {
            let key = format!("privacy.redact_patterns[{i}]");
            let placeholder = p.placeholder.get_ref();
            if !(placeholder.starts_with('[') && placeholder.ends_with(']')) {
                return Err(self.invalid(
                    Some(p.placeholder.span()),
                    &format!("{key}.placeholder"),
                    format!(
                        "{placeholder:?} must look like \"[name]\", like the built-in placeholders"
                    ),
                ));
            }
            if let Err(message) = crate::pipeline::redact::compile_extra(p.regex.get_ref()) {
                return Err(self.invalid(Some(p.regex.span()), &format!("{key}.regex"), message));
            }
            patterns.push(crate::pipeline::redact::ExtraPattern {
                placeholder: p.placeholder.into_inner(),
                regex: p.regex.into_inner(),
            });
        }
        Ok(patterns)
    }

    /// A directory of rule files (`what`: topic, aspect), which must exist.
    fn rules_dir(
        &self,
        raw: Option<Spanned<String>>,
        default: &str,
        key: &str,
        what: &str,
    ) -> Result<PathBuf, ConfigError> {
        let (dir, span) = match raw {
            Some(d) => (PathBuf::from(d.get_ref()), Some(d.span())),
            None => (PathBuf::from(default), None),
        };
        if !dir.is_dir() {
            return Err(self.invalid(
                span,
                key,
                format!(
                    "{} is not a directory of {what} files (*.toml)",
                    dir.display()
                ),
            ));
        }
        Ok(dir)
    }

    fn pipeline(
        &self,
        raw: RawPipeline,
        mut privacy: RawPrivacy,
        data_dir: &Path,
    ) -> Result<Pipeline, ConfigError> {
        let pseudonym_key = match privacy.pseudonym_key_file.take() {
            Some(file) if file.get_ref().trim().is_empty() => {
                return Err(self.invalid(
                    Some(file.span()),
                    "privacy.pseudonym_key_file",
                    "must name a file (it is created with a random key on first run)",
                ))
            }
            Some(file) => {
                let path = PathBuf::from(file.get_ref());
                check_file_can_be_made(&path).map_err(|m| {
                    self.invalid(Some(file.span()), "privacy.pseudonym_key_file", m)
                })?;
                KeySource::File {
                    path,
                    data_dir: data_dir.to_owned(),
                }
            }
            None => KeySource::File {
                path: data_dir.join(DEFAULT_KEY_FILE),
                data_dir: data_dir.to_owned(),
            },
        };
        let public_accounts = privacy.public_accounts.take().unwrap_or_else(|| {
            DEFAULT_PUBLIC_ACCOUNTS
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        let topics_dir = self.rules_dir(
            raw.topics_dir,
            DEFAULT_TOPICS_DIR,
            "pipeline.topics_dir",
            "topic",
        )?;
        let aspects_dir = self.rules_dir(
            raw.aspects_dir,
            DEFAULT_ASPECTS_DIR,
            "pipeline.aspects_dir",
            "aspect",
        )?;
        let complaint_dir = self.rules_dir(
            raw.complaint_dir,
            DEFAULT_COMPLAINT_DIR,
            "pipeline.complaint_dir",
            "complaint cue",
        )?;
        let languages = match raw.languages {
            Some(list) => {
                let span = list.span();
                let list = list.into_inner();
                if let Some(bad) = list
                    .iter()
                    .find(|c| crate::pipeline::language::lookup(c).is_none())
                {
                    return Err(self.invalid(
                        Some(span),
                        "pipeline.languages",
                        format!(
                            "unknown language code {bad:?}; known: {}",
                            crate::pipeline::language::known_codes().join(", ")
                        ),
                    ));
                }
                list
            }
            None => DEFAULT_LANGUAGES.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Pipeline {
            topics_dir,
            aspects_dir,
            complaint_dir,
            pseudonym_key,
            public_accounts,
            languages,
            redact_patterns: self.redact_patterns(privacy)?,
            // Filled from the sources once they are read.
            topical_sources: BTreeSet::new(),
        })
    }

    fn sources(&self, raw: Vec<RawSource>) -> Result<Vec<SourceConfig>, ConfigError> {
        // Names in lower case: "nos" and "NOS" are one source's name to anyone
        // filtering or reading a link.
        let mut seen: HashMap<String, (usize, String)> = HashMap::new();
        // Feed addresses: one feed under two names stores every item twice.
        let mut feeds: HashMap<String, (usize, String)> = HashMap::new();
        let mut sources = Vec::with_capacity(raw.len());
        for (i, src) in raw.into_iter().enumerate() {
            let key = |field: &str| format!("sources[{i}].{field}");
            let name = src.name.get_ref().trim().to_string();
            if name.is_empty() || name.contains(['/', '\n']) {
                return Err(self.invalid(
                    Some(src.name.span()),
                    &key("name"),
                    "must be a non-empty name without '/' or line breaks",
                ));
            }
            let line = line_of(self.text, src.name.span().start);
            if let Some((first, as_written)) =
                seen.insert(name.to_lowercase(), (line, name.clone()))
            {
                return Err(self.invalid(
                    Some(src.name.span()),
                    &key("name"),
                    format!("duplicate source name {name:?} (first defined on line {first} as {as_written:?}); names must be unique, whatever their case"),
                ));
            }
            let url_span = src.url.as_ref().map(|u| u.span()).unwrap_or_default();
            let source = self.source(src, &key, name)?;
            // A source switched off polls nothing.
            if source.kind == "feed" && source.enabled {
                let entry = (line_of(self.text, url_span.start), source.name.clone());
                // A fragment ("…/feed.xml#nieuw") is never sent: the same feed.
                let mut feed = source.url.clone();
                feed.set_fragment(None);
                if let Some((first, other)) = feeds.insert(feed.to_string(), entry) {
                    return Err(self.invalid(
                        Some(url_span),
                        &key("url"),
                        format!("source {:?} polls the same feed as {other:?} (line {first}): every item would be stored twice; keep one of them", source.name),
                    ));
                }
            }
            sources.push(source);
        }
        Ok(sources)
    }

    fn source(
        &self,
        src: RawSource,
        key: &dyn Fn(&str) -> String,
        name: String,
    ) -> Result<SourceConfig, ConfigError> {
        let kind = src.kind.get_ref().clone();
        let Some(spec) = KINDS.iter().find(|k| k.kind == kind) else {
            return Err(self.invalid(
                Some(src.kind.span()),
                &key("kind"),
                format!(
                    "unknown source kind {kind:?}; known kinds: {}",
                    SOURCE_KINDS.join(", ")
                ),
            ));
        };
        for (k, span) in src.kind_keys() {
            if !spec.keys.contains(&k) {
                let mut allowed: Vec<&str> = COMMON_KEYS.to_vec();
                allowed.extend_from_slice(spec.keys);
                return Err(self.invalid(
                    Some(span),
                    &key(k),
                    format!(
                        "not valid for kind {kind:?}; a {kind} source takes: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let url = self.source_url(&src, spec, key)?;
        let lang = match &src.lang {
            Some(l) if crate::pipeline::language::lookup(l.get_ref()).is_none() => {
                return Err(self.invalid(
                    Some(l.span()),
                    &key("lang"),
                    format!(
                        "unknown language code {:?}; use an ISO 639-1 code such as \"nl\"",
                        l.get_ref()
                    ),
                ))
            }
            other => other.as_ref().map(|l| l.get_ref().clone()),
        };
        let platform = self.platform(&src, spec, key)?;
        Ok(SourceConfig {
            name,
            kind,
            url,
            interval: src.interval.map_or(DEFAULT_INTERVAL, |d| d.0),
            lang,
            enabled: src.enabled,
            rate_limit: src
                .rate_limit
                .as_ref()
                .map_or(spec.rate_limit, |d| d.get_ref().0),
            topical: src.topical,
            platform,
        })
    }

    /// `url`, or the kind's well-known address when it has one.
    fn source_url(
        &self,
        src: &RawSource,
        spec: &KindSpec,
        key: &dyn Fn(&str) -> String,
    ) -> Result<url::Url, ConfigError> {
        let (text, span) = match (&src.url, spec.default_url) {
            (Some(u), _) => (u.get_ref().as_str(), Some(u.span())),
            (None, Some(default)) => (default, None),
            (None, None) => {
                return Err(self.invalid(
                    Some(src.kind.span()),
                    &key("url"),
                    format!(
                        "a {} source needs `url` ({})",
                        spec.kind,
                        if spec.kind == "feed" {
                            "the feed's address"
                        } else {
                            "the instance or forum's base address, e.g. \"https://example.org\""
                        }
                    ),
                ))
            }
        };
        let url = url::Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                self.invalid(
                    span.clone(),
                    &key("url"),
                    format!("{text:?} is not an http(s) URL"),
                )
            })?;
        // Platforms are asked through their APIs, some with a token: never in the clear
        // over a network (a local mirror or test server on this machine may be plain).
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if spec.kind != "feed" && url.scheme() == "http" && !loopback {
            return Err(self.invalid(
                span,
                &key("url"),
                format!(
                    "{text:?}: a {} source is asked over https (plain http only on this machine)",
                    spec.kind
                ),
            ));
        }
        Ok(url)
    }

    /// The kind-specific settings, checked; the keys were already checked against the kind.
    fn platform(
        &self,
        src: &RawSource,
        spec: &KindSpec,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Platform, ConfigError> {
        let max_pages = match &src.max_pages {
            Some(n) if !(1..=MAX_MAX_PAGES).contains(n.get_ref()) => {
                return Err(self.invalid(
                    Some(n.span()),
                    &key("max_pages"),
                    format!("must be between 1 and {MAX_MAX_PAGES}"),
                ))
            }
            Some(n) => *n.get_ref(),
            None => DEFAULT_MAX_PAGES,
        };
        let platform = Platform {
            tags: self.names(&src.tags, key, "tags", tag_name)?,
            query: self.text(&src.query, key, "query")?,
            subreddits: self.names(&src.subreddits, key, "subreddits", subreddit_name)?,
            communities: self.names(&src.communities, key, "communities", community_name)?,
            category: self.text(&src.category, key, "category")?,
            include_comments: src.include_comments.as_ref().is_some_and(|b| *b.get_ref()),
            backfill: src
                .backfill
                .as_ref()
                .map_or(DEFAULT_BACKFILL, |d| d.get_ref().0),
            max_pages,
            token: self.token(src, key)?,
        };
        self.check_needs(src, spec.kind, &platform, key)?;
        Ok(platform)
    }

    /// A list of names (`field`), each as `check` accepts and normalises it; not empty.
    fn names(
        &self,
        list: &Option<Spanned<Vec<String>>>,
        key: &dyn Fn(&str) -> String,
        field: &str,
        check: fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, ConfigError> {
        let Some(list) = list else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(list.get_ref().len());
        for raw in list.get_ref() {
            let Some(name) = check(raw.trim()) else {
                return Err(self.invalid(
                    Some(list.span()),
                    &key(field),
                    format!("{raw:?} is not a valid name here ({})", name_rule(field)),
                ));
            };
            out.push(name);
        }
        if out.is_empty() {
            return Err(self.invalid(Some(list.span()), &key(field), "must not be empty"));
        }
        Ok(out)
    }

    /// An optional text (`field`), trimmed; not empty when given.
    fn text(
        &self,
        value: &Option<Spanned<String>>,
        key: &dyn Fn(&str) -> String,
        field: &str,
    ) -> Result<Option<String>, ConfigError> {
        match value {
            Some(v) if v.get_ref().trim().is_empty() => {
                Err(self.invalid(Some(v.span()), &key(field), "must not be empty"))
            }
            Some(v) => Ok(Some(v.get_ref().trim().to_string())),
            None => Ok(None),
        }
    }

    /// What each kind cannot do without.
    fn check_needs(
        &self,
        src: &RawSource,
        kind: &str,
        p: &Platform,
        key: &dyn Fn(&str) -> String,
    ) -> Result<(), ConfigError> {
        let kind_span = Some(src.kind.span());
        let missing = |what: &str| Err(self.invalid(kind_span.clone(), &key("kind"), what));
        match kind {
            "mastodon" if p.tags.is_empty() && p.query.is_none() => {
                missing("a mastodon source needs `tags` (hashtag timelines) or `query` (search, with a token)")
            }
            "mastodon" if p.query.is_some() && p.token.is_none() => Err(self.invalid(
                src.query.as_ref().map(Spanned::span),
                &key("query"),
                "Mastodon's search finds posts only for a logged-in account: set `token_env` or `token_file`, or use `tags`",
            )),
            "reddit" if p.subreddits.is_empty() && p.query.is_none() => {
                missing("a reddit source needs `subreddits` or `query`")
            }
            "reddit" if p.include_comments && p.subreddits.is_empty() => Err(self.invalid(
                src.include_comments.as_ref().map(Spanned::span),
                &key("include_comments"),
                "comments are read per subreddit: set `subreddits` too",
            )),
            "bluesky" if p.query.is_none() => missing("a bluesky source needs `query`"),
            "lemmy" if p.communities.is_empty() => missing("a lemmy source needs `communities`"),
            _ => Ok(()),
        }
    }

    /// The token from `token_env` or `token_file`.
    fn token(
        &self,
        src: &RawSource,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Option<Secret>, ConfigError> {
        self.secret(
            (src.token_env.as_ref(), &key("token_env")),
            (src.token_file.as_ref(), &key("token_file")),
        )
    }

    /// A secret from an environment variable or a file, each given with its key; at most
    /// one may be set. Messages name the variable or file, never the value; surrounding
    /// whitespace (a newline at the end of a file) is not part of it.
    pub(crate) fn secret(
        &self,
        (env, env_key): (Option<&Spanned<String>>, &str),
        (file, file_key): (Option<&Spanned<String>>, &str),
    ) -> Result<Option<Secret>, ConfigError> {
        match (env, file) {
            (Some(_), Some(file)) => Err(self.invalid(
                Some(file.span()),
                file_key,
                format!("set `{env_key}` or `{file_key}`, not both"),
            )),
            (Some(var), None) => match std::env::var(var.get_ref()) {
                Ok(value) if !value.trim().is_empty() => Ok(Some(Secret::new(value.trim()))),
                _ => Err(self.invalid(
                    Some(var.span()),
                    env_key,
                    format!(
                        "the environment variable {:?} is not set or empty",
                        var.get_ref()
                    ),
                )),
            },
            (None, Some(file)) => match std::fs::read_to_string(file.get_ref()) {
                Ok(value) if !value.trim().is_empty() => Ok(Some(Secret::new(value.trim()))),
                Ok(_) => Err(self.invalid(
                    Some(file.span()),
                    file_key,
                    format!("{} is empty", file.get_ref()),
                )),
                Err(e) => Err(self.invalid(
                    Some(file.span()),
                    file_key,
                    format!("cannot read {}: {e}", file.get_ref()),
                )),
            },
            (None, None) => Ok(None),
        }
    }
}

/// What a valid name in list `field` looks like, for the error message.
fn name_rule(field: &str) -> &'static str {
    match field {
        "tags" => "letters, digits and _, with or without a leading #",
        "subreddits" => "2 to 21 letters, digits or _, with or without r/",
        _ => "letters, digits and _, optionally @ and the instance, e.g. \"asiel@feddit.nl\"",
    }
}

fn is_word(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn tag_name(raw: &str) -> Option<String> {
    let tag = raw.strip_prefix('#').unwrap_or(raw);
    is_word(tag).then(|| tag.to_string())
}

fn subreddit_name(raw: &str) -> Option<String> {
    let name = raw.trim_start_matches('/');
    let name = name.strip_prefix("r/").unwrap_or(name);
    let ok = (2..=21).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| name.to_string())
}

fn community_name(raw: &str) -> Option<String> {
    let raw = raw.strip_prefix('!').unwrap_or(raw);
    let (name, instance) = match raw.split_once('@') {
        Some((name, instance)) => (name, Some(instance)),
        None => (raw, None),
    };
    let instance_ok = instance.is_none_or(|i| {
        !i.is_empty()
            && i.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':'))
    });
    (is_word(name) && instance_ok).then(|| raw.to_string())
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Whether `dir` is a directory this process can write in, or can be created: its
/// nearest existing ancestor is one. Tried by writing (and removing) a file, since
/// permission bits say nothing of the user, `/proc` or a read-only mount.
pub(crate) fn check_data_dir(dir: &Path) -> Result<(), String> {
    if dir.as_os_str().to_string_lossy().trim().is_empty() {
        return Err("must name a directory (\".\" for the directory webcare is started in)".into());
    }
    if dir.exists() && !dir.is_dir() {
        return Err(format!("{} exists and is not a directory", dir.display()));
    }
    let existing = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(format!(
            "{} does not exist and cannot be created: {} is not a directory",
            dir.display(),
            existing.display()
        ));
    }
    let probe = existing.join(format!(".webcare-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == dir => Err(format!("{} is not writable: {e}", dir.display())),
        Err(e) => Err(format!(
            "{} cannot be created: {} is not writable: {e}",
            dir.display(),
            existing.display()
        )),
    }
}

/// Whether the file `path`, made on first use (the users file, the pseudonym key), can
/// be: it is there, or its directory is one this process can write in or make. Found at
/// start rather than when the first user is added or the first mention stored.
fn check_file_can_be_made(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{} is a directory; name a file", path.display()));
    }
    if path.exists() {
        return Ok(());
    }
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => {
            check_data_dir(dir).map_err(|e| format!("{} cannot be made there: {e}", path.display()))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let topics = dir.path().join("topics");
        std::fs::create_dir(&topics).unwrap();
        std::fs::create_dir(dir.path().join("aspects")).unwrap();
        // complaint_dir is left at its default, config/complaint, which exists in the
        // package root the tests run in (and keeps the line numbers below as they are).
        let text = format!(
            "[storage]\ndata_dir = {:?}\n[pipeline]\ntopics_dir = {:?}\naspects_dir = {:?}\n{text}",
            dir.path().join("data").display().to_string(),
            topics.display().to_string(),
            dir.path().join("aspects").display().to_string()
        );
        Config::from_toml(Path::new("test.toml"), &text)
    }

    #[test]
    fn minimal_source_gets_defaults() {
        let c =
            load("[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://example.org/rss\"\n")
                .unwrap();
        assert_eq!(c.sources[0].interval, DEFAULT_INTERVAL);
        assert_eq!(c.poll.max_per_host, DEFAULT_MAX_PER_HOST);
        assert_eq!(c.pipeline.languages.len(), DEFAULT_LANGUAGES.len());
    }

    #[test]
    fn topical_sources_reach_the_pipeline() {
        let c = load(
            "[[sources]]\nname = \"forum\"\nkind = \"feed\"\nurl = \"https://e.org/a\"\ntopical = true\n\
             [[sources]]\nname = \"news\"\nkind = \"feed\"\nurl = \"https://e.org/b\"\n",
        )
        .unwrap();
        assert!(c.sources[0].topical && !c.sources[1].topical);
        assert_eq!(
            c.pipeline.topical_sources.iter().collect::<Vec<_>>(),
            ["forum"]
        );
        let err = load("[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/\"\ntopical = \"yes\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("topical") && err.contains("expected a boolean"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let err = load("[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/\"\nintervall = \"5m\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.toml"), "{err}");
        assert!(err.contains("intervall"), "{err}");
        assert!(err.contains("line 10"), "{err}");
    }

    #[test]
    fn bad_duration_says_what_is_expected() {
        let err = load("[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/\"\ninterval = \"10 parsecs\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid duration"), "{err}");
        assert!(err.contains("\"10m\""), "{err}");
        assert!(err.contains("line 10"), "{err}");
    }

    #[test]
    fn duplicate_source_names_are_refused_with_both_lines() {
        let src = "[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://e.org/\"\n";
        let err = load(&format!("{src}{src}")).unwrap_err().to_string();
        assert!(err.contains("duplicate source name \"a\""), "{err}");
        assert!(err.contains(":11:"), "{err}");
        assert!(err.contains("line 7"), "{err}");
    }

    #[test]
    fn names_in_another_case_and_one_feed_twice_are_refused() {
        let source = |name: &str, url: &str| {
            format!("[[sources]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"{url}\"\n")
        };
        let err = load(&(source("nos", "https://e.org/a") + &source("NOS ", "https://e.org/b")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("duplicate source name \"NOS\" (first defined on line 7 as \"nos\")"),
            "{err}"
        );
        let err = load(&(source("a", "https://e.org/feed") + &source("b", "https://E.org/feed")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":13:") && err.contains("sources[1].url"),
            "{err}"
        );
        assert!(
            err.contains("source \"b\" polls the same feed as \"a\" (line 9)"),
            "{err}"
        );
        let err =
            load(&(source("a", "https://e.org/feed") + &source("b", "https://e.org/feed#nieuw")))
                .unwrap_err()
                .to_string();
        assert!(err.contains("polls the same feed as \"a\""), "{err}");
        // Feeds of one site are no one feed, and a feed switched off polls nothing.
        load(&(source("a", "https://e.org/feed") + &source("b", "https://e.org/feed?page=2")))
            .unwrap();
        let paused = source("b", "https://e.org/feed") + "enabled = false\n";
        load(&(source("a", "https://e.org/feed") + &paused)).unwrap();
    }

    #[test]
    fn unknown_kind_lists_the_known_ones() {
        let err = load("[[sources]]\nname = \"a\"\nkind = \"gopher\"\nurl = \"https://e.org/\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sources[0].kind"), "{err}");
        assert!(err.contains("known kinds: feed"), "{err}");
    }

    #[test]
    fn data_dir_under_a_file_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let text = format!(
            "[storage]\ndata_dir = {:?}\n",
            file.path().join("sub").display().to_string()
        );
        let err = Config::from_toml(Path::new("x.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage.data_dir"), "{err}");
        assert!(err.contains("cannot be created"), "{err}");
        // Empty, it named no directory: `run` failed without the key.
        let err = Config::from_toml(Path::new("x.toml"), "[storage]\ndata_dir = \" \"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.toml:2") && err.contains("storage.data_dir"),
            "{err}"
        );
        assert!(err.contains("must name a directory"), "{err}");
    }

    /// Permission bits say nothing of `/proc`: whether a directory can be written is
    /// tried by writing (and the probe leaves nothing behind).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_directory_that_cannot_be_written_is_refused_by_trying() {
        let err = check_data_dir(Path::new("/proc/webcare-data")).unwrap_err();
        assert!(err.contains("/proc is not writable"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        check_data_dir(&dir.path().join("a/b")).unwrap();
        check_data_dir(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn user_agent_without_contact_is_refused() {
        let err = load("[poll]\nuser_agent = \"bot\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("poll.user_agent"), "{err}");
    }

    #[test]
    fn bad_redaction_pattern_names_key_and_line() {
        let err =
            load("[privacy]\nredact_patterns = [{ placeholder = \"[case]\", regex = \"(\" }]\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("privacy.redact_patterns[0].regex"), "{err}");
        assert!(err.contains(":7:"), "{err}");
        // One that can match the empty string would shred every text; one that can
        // match nothing redacts nothing.
        for (regex, says) in [
            ("", "can match the empty string"),
            ("(IND-\\\\d+)?", "can match the empty string"),
            ("x*", "can match the empty string"),
            ("\\\\b", "can match the empty string"),
            ("[a&&b]", "can never match"),
        ] {
            let err = load(&format!(
                "[privacy]\nredact_patterns = [{{ placeholder = \"[case]\", regex = \"{regex}\" }}]\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("privacy.redact_patterns[0].regex") && err.contains(says),
                "{regex}: {err}"
            );
        }
        load("[privacy]\nredact_patterns = [{ placeholder = \"[case]\", regex = \"\\\\bIND-\\\\d{6,}\\\\b\" }]\n").unwrap();
    }

    #[test]
    fn platform_sources_get_their_defaults() {
        let c = load("[[sources]]\nname = \"r\"\nkind = \"reddit\"\nsubreddits = [\"r/thenetherlands\", \"Netherlands\"]\n")
            .unwrap();
        let r = &c.sources[0];
        assert_eq!(r.url.as_str(), "https://www.reddit.com/");
        assert_eq!(r.platform.subreddits, ["thenetherlands", "Netherlands"]);
        assert_eq!(r.rate_limit, Duration::from_secs(6));
        assert_eq!(r.platform.backfill, DEFAULT_BACKFILL);
        assert_eq!(r.platform.max_pages, DEFAULT_MAX_PAGES);
        let c = load("[[sources]]\nname = \"m\"\nkind = \"mastodon\"\nurl = \"https://mastodon.social\"\ntags = [\"#asielzoekers\", \"IND\"]\nbackfill = \"2d\"\nmax_pages = 3\nrate_limit = \"5s\"\n")
            .unwrap();
        let m = &c.sources[0].platform;
        assert_eq!(m.tags, ["asielzoekers", "IND"]);
        assert_eq!(
            (m.backfill, m.max_pages),
            (Duration::from_secs(2 * 86400), 3)
        );
        assert_eq!(c.sources[0].rate_limit, Duration::from_secs(5));
        // Feeds are unchanged: no pause between requests unless asked.
        let c = load("[[sources]]\nname = \"f\"\nkind = \"feed\"\nurl = \"https://e.org/rss\"\n")
            .unwrap();
        assert_eq!(c.sources[0].rate_limit, Duration::ZERO);
    }

    #[test]
    fn a_key_of_another_kind_is_refused_with_the_kind_and_line() {
        let err = load("[[sources]]\nname = \"m\"\nkind = \"mastodon\"\nurl = \"https://m.example\"\ntags = [\"ind\"]\nsubreddits = [\"x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":11: key `sources[0].subreddits`"), "{err}");
        assert!(err.contains("not valid for kind \"mastodon\""), "{err}");
        assert!(err.contains("tags, query"), "{err}");
        let err = load("[[sources]]\nname = \"f\"\nkind = \"feed\"\nurl = \"https://e.org/\"\nbackfill = \"1d\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sources[0].backfill") && err.contains("\"feed\""),
            "{err}"
        );
    }

    #[test]
    fn what_a_kind_cannot_do_without_is_named() {
        for (source, expected) in [
            (
                "kind = \"mastodon\"\nurl = \"https://m.example\"",
                "needs `tags`",
            ),
            (
                "kind = \"mastodon\"\nurl = \"https://m.example\"\nquery = \"ind\"",
                "logged-in account",
            ),
            ("kind = \"reddit\"", "needs `subreddits` or `query`"),
            (
                "kind = \"reddit\"\nquery = \"ind\"\ninclude_comments = true",
                "set `subreddits` too",
            ),
            ("kind = \"bluesky\"", "needs `query`"),
            (
                "kind = \"lemmy\"\nurl = \"https://l.example\"",
                "needs `communities`",
            ),
            ("kind = \"lemmy\"\ncommunities = [\"asiel\"]", "needs `url`"),
            (
                "kind = \"lemmy\"\nurl = \"https://l.example\"\ncommunities = [\"a b\"]",
                "not a valid name",
            ),
            (
                "kind = \"reddit\"\nsubreddits = [\"x\"]\nmax_pages = 0",
                "between 1 and 100",
            ),
        ] {
            let err = load(&format!("[[sources]]\nname = \"s\"\n{source}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{source}: {err}");
        }
    }

    #[test]
    fn tokens_come_from_the_environment_or_a_file_and_never_print() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "tok-from-file\n").unwrap();
        let c = load(&format!(
            "[[sources]]\nname = \"b\"\nkind = \"bluesky\"\nquery = \"ind\"\ntoken_file = {:?}\n",
            file.path().display().to_string()
        ))
        .unwrap();
        let token = c.sources[0].platform.token.as_ref().unwrap();
        assert_eq!(token.expose(), "tok-from-file");
        assert!(!format!("{:?}", c.sources[0]).contains("tok-from-file"));
        let err = load("[[sources]]\nname = \"b\"\nkind = \"bluesky\"\nquery = \"ind\"\ntoken_env = \"WEBCARE_TEST_NO_SUCH_VARIABLE\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("WEBCARE_TEST_NO_SUCH_VARIABLE") && err.contains("not set"),
            "{err}"
        );
    }

    #[test]
    fn the_kind_table_lists_every_kind() {
        let table: Vec<&str> = KINDS.iter().map(|k| k.kind).collect();
        assert_eq!(table, SOURCE_KINDS);
    }

    #[test]
    fn zero_duration_is_refused() {
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("99999999999999d")
            .unwrap_err()
            .contains("at most 100 years"));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
    }
    #[test]
    fn durations_too_short_to_be_meant_are_refused_naming_the_least() {
        let source =
            "[[sources]]\nname = \"s\"\nkind = \"feed\"\nurl = \"https://example.org/f\"\n";
        for (text, key, least) in [
            (format!("{source}interval = \"10ms\"\n"), "interval", "1s"),
            (
                "[privacy]\nretention = \"1s\"\n".to_string(),
                "retention",
                "1h",
            ),
            (
                "[access]\nsession_ttl = \"1ms\"\n".to_string(),
                "session_ttl",
                "1m",
            ),
            ("[poll]\ntimeout = \"1ns\"\n".to_string(), "timeout", "1s"),
        ] {
            let err = load(&text).err().unwrap().to_string();
            assert!(
                err.contains(key) && err.contains(&format!("must be at least {least}")),
                "{text}: {err}"
            );
        }
        assert!(load(&format!("{source}interval = \"10m\"\n")).is_ok());
    }

    #[test]
    fn platforms_are_asked_over_https_except_on_this_machine() {
        let mastodon = |url: &str| {
            format!("[[sources]]\nname = \"m\"\nkind = \"mastodon\"\nurl = {url:?}\ntags = [\"asiel\"]\n")
        };
        let err = load(&mastodon("http://mastodon.example"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("sources[0].url") && err.contains("over https"),
            "{err}"
        );
        assert!(load(&mastodon("https://mastodon.example")).is_ok());
        assert!(load(&mastodon("http://127.0.0.1:8080")).is_ok());
        // A feed may be plain http: many are.
        let feed = "[[sources]]\nname = \"f\"\nkind = \"feed\"\nurl = \"http://example.org/rss\"\n";
        assert!(load(feed).is_ok());
    }

    #[test]
    fn secrets_come_from_one_place_and_errors_name_it_not_the_value() {
        let src = "[[sources]]\nname = \"m\"\nkind = \"mastodon\"\nurl = \"https://mastodon.example\"\ntags = [\"asiel\"]\n";
        let err = load(&format!(
            "{src}token_env = \"WEBCARE_TEST_NO_SUCH_VARIABLE\"\ntoken_file = \"/nonexistent\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("token_env") && err.contains("not both"),
            "{err}"
        );
        let err = load(&format!(
            "{src}token_env = \"WEBCARE_TEST_NO_SUCH_VARIABLE\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"WEBCARE_TEST_NO_SUCH_VARIABLE\" is not set"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        let c = load(&format!(
            "{src}token_file = {:?}\n",
            file.display().to_string()
        ))
        .unwrap();
        assert_eq!(format!("{:?}", c.sources[0]).matches("s3cret").count(), 0);
        let err = load(
            "[mail]\nenabled = true\nsmtp_host = \"127.0.0.1\"\npassword_file = \"/nonexistent/pw\"\n[[mail.rules]]\nto = [\"a@example.org\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("mail.password_file") && err.contains("cannot read /nonexistent/pw"),
            "{err}"
        );
    }
}
