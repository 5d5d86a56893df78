//! The daemon's configuration: TOML in, a typed and validated [`Config`] out.
//!
//! Strict by design: unknown keys, bad durations, duplicate source names and paths that
//! cannot be used are refused at load time, and every error names the file, the key (and
//! the line where it is known) and what is expected. Relative paths are resolved against
//! the working directory the daemon is started in, so `data_dir = "index"` and
//! `topics_dir = "config/topics"` work from the repository root.

use std::collections::HashMap;
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
/// Every source kind the daemon knows; an unknown `kind` lists these.
pub const SOURCE_KINDS: &[&str] = &["feed"];

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
    /// Word lists that tag the aspects of the procedure.
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
        }
    }
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub kind: String,
    pub url: url::Url,
    pub interval: Duration,
    /// Language hint for every item of this source (wins over detection).
    pub lang: Option<String>,
    pub enabled: bool,
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
    sources: Vec<RawSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    users_file: Option<Spanned<String>>,
    session_ttl: Option<HumanDuration>,
    secure_cookies: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    #[serde(default)]
    redact_patterns: Vec<RawRedactPattern>,
    pseudonym_key_file: Option<Spanned<String>>,
    public_accounts: Option<Vec<String>>,
    retention: Option<HumanDuration>,
    audit_retention: Option<HumanDuration>,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    user_agent: Option<Spanned<String>>,
    timeout: Option<HumanDuration>,
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
    url: Spanned<String>,
    interval: Option<HumanDuration>,
    lang: Option<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
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

/// Parses "30s", "10m", "1h 30m", "7d". Zero is refused: every duration here is a wait.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}); expected a number and a unit, e.g. \"30s\", \"10m\", \"6h\", \"7d\"")
    })?;
    if parsed.is_zero() {
        return Err(format!("invalid duration {text:?}: must be more than zero"));
    }
    Ok(parsed)
}

// ---- validation ------------------------------------------------------------------------

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Validator<'_> {
    fn invalid(
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
        let pipeline = self.pipeline(raw.pipeline, privacy_raw, &storage.data_dir)?;
        let access = self.access(raw.access, &storage.data_dir)?;
        Ok(Config {
            path: self.path.to_owned(),
            storage,
            http: self.http(raw.http)?,
            poll: self.poll(raw.poll)?,
            pipeline,
            privacy,
            access,
            sources: self.sources(raw.sources)?,
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
            Some(file) => PathBuf::from(file.into_inner()),
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
        Ok(Http { listen })
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
            if let Err(e) = regex::Regex::new(p.regex.get_ref()) {
                return Err(self.invalid(
                    Some(p.regex.span()),
                    &format!("{key}.regex"),
                    format!("not a valid regular expression: {e}"),
                ));
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
            Some(file) => KeySource::File(PathBuf::from(file.into_inner())),
            None => KeySource::File(data_dir.join(DEFAULT_KEY_FILE)),
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
        })
    }

    fn sources(&self, raw: Vec<RawSource>) -> Result<Vec<SourceConfig>, ConfigError> {
        let mut seen: HashMap<String, usize> = HashMap::new();
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
            if let Some(first) = seen.insert(name.clone(), line) {
                return Err(self.invalid(
                    Some(src.name.span()),
                    &key("name"),
                    format!("duplicate source name {name:?} (first defined on line {first}); names must be unique"),
                ));
            }
            sources.push(self.source(src, &key, name)?);
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
        if !SOURCE_KINDS.contains(&kind.as_str()) {
            return Err(self.invalid(
                Some(src.kind.span()),
                &key("kind"),
                format!(
                    "unknown source kind {kind:?}; known kinds: {}",
                    SOURCE_KINDS.join(", ")
                ),
            ));
        }
        let url = url::Url::parse(src.url.get_ref())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                self.invalid(
                    Some(src.url.span()),
                    &key("url"),
                    format!("{:?} is not an http(s) URL", src.url.get_ref()),
                )
            })?;
        let lang = match src.lang {
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
            other => other.map(Spanned::into_inner),
        };
        Ok(SourceConfig {
            name,
            kind,
            url,
            interval: src.interval.map_or(DEFAULT_INTERVAL, |d| d.0),
            lang,
            enabled: src.enabled,
        })
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The data directory must be a writable directory, or creatable inside one.
fn check_data_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(format!("{} exists and is not a directory", dir.display()));
        }
        let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if meta.permissions().readonly() {
            return Err(format!("{} is not writable", dir.display()));
        }
        return Ok(());
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(()),
    };
    if parent.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "{} does not exist and cannot be created: its parent {} is not a directory",
            dir.display(),
            parent.display()
        ))
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
    }

    #[test]
    fn zero_duration_is_refused() {
        assert!(parse_duration("0s").is_err());
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
    }
}
