//! Who may use the API: users and roles from a users file, passwords hashed with argon2,
//! API tokens and session tokens hashed with SHA-256, and a brake on failed logins.
//!
//! The users file (`[access] users_file`) is managed with `webcare user add` and
//! `webcare token`, which write only hashes; a file with a plain-text `password` is
//! refused at start. Roles: `viewer` (search, alerts, trends) and `admin` (everything a
//! viewer may, plus sources, erasure, the audit trail and the user list).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, SubsecRound, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::files::{parent_dir, Draft, Permissions};

/// Failed logins allowed per client address and per user name within [`LOGIN_WINDOW`].
pub const MAX_FAILED_LOGINS: usize = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Prefix of API tokens, so that a leaked one is recognisable in a secret scanner.
const TOKEN_PREFIX: &str = "wct_";
/// How long a new API token works unless told otherwise: a forgotten token on a
/// colleague's laptop stops by itself.
pub const DEFAULT_TOKEN_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(90 * 24 * 3600);
/// Hex digits of a token's hash that name it in lists and revocations: enough to tell a
/// user's tokens apart, and as public as the hash (which cannot give the token back).
const TOKEN_ID_CHARS: usize = 12;
/// A token's label says what it is for ("export script"): short and printable.
const MAX_LABEL_CHARS: usize = 64;
/// The shortest lifetime of a token: a shorter one has expired before it is used.
const MIN_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);
/// Actors the audit trail names itself.
const RESERVED_NAMES: &[&str] = &["system", "cli", "anonymous"];

/// Characters that change the direction or visibility of what follows: a label or a note
/// with one can make a list or the audit trail read other than it is.
const BIDI_CONTROLS: &[char] = &[
    '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    // Line and paragraph separators: a line break to whatever shows the text.
    '\u{2028}', '\u{2029}',
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        })
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}; roles are viewer and admin"
            )),
        }
    }
}

/// A user as stored: hashes only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Argon2id PHC string (`$argon2id$v=19$…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// The user's API tokens, as hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<ApiToken>,
}

/// An API token as stored: the SHA-256 (hex) of the token, what it is for and until
/// when it works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawToken")]
pub struct ApiToken {
    pub hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// `None`: works until revoked (made with `--expires never`, or before tokens
    /// expired, when the file held hashes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// The name of the token in lists and revocations: the start of its hash.
    pub fn id(&self) -> &str {
        self.hash.get(..TOKEN_ID_CHARS).unwrap_or(&self.hash)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }

    /// How the token shows in the audit trail: id, label and expiry.
    pub fn summary(&self) -> String {
        let expires = self.expires.map_or_else(
            || "never".to_string(),
            |at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        match &self.label {
            Some(label) => format!("token {} ({label}), expires {expires}", self.id()),
            None => format!("token {}, expires {expires}", self.id()),
        }
    }
}

impl User {
    /// What a login session is bound to: the SHA-256 of the password hash, which a new
    /// password changes, and so does removing the user and adding the name again (a new
    /// salt). Empty for a user without a password.
    pub fn credential(&self) -> String {
        self.password_hash
            .as_deref()
            .map(sha256_hex)
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{path}: cannot read the users file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: cannot write the users file: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsersFile {
    #[serde(default)]
    user: Vec<RawUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    role: Spanned<String>,
    password_hash: Option<Spanned<String>>,
    /// Accepted only to be refused with a clear message.
    password: Option<Spanned<String>>,
    #[serde(default)]
    tokens: Vec<RawToken>,
}

/// A token in the users file: a table, or (as files from before tokens expired have
/// them) the hash alone.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a token: its SHA-256 hash (64 hex digits), or a table of `hash` and optionally `label`, `created` and `expires` (RFC 3339 times)"
)]
enum RawToken {
    Hash(String),
    Table(RawTokenTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokenTable {
    hash: String,
    label: Option<String>,
    created: Option<DateTime<Utc>>,
    expires: Option<DateTime<Utc>>,
}

impl From<RawToken> for ApiToken {
    fn from(raw: RawToken) -> ApiToken {
        match raw {
            RawToken::Hash(hash) => ApiToken {
                hash: hash.to_ascii_lowercase(),
                label: None,
                created: None,
                expires: None,
            },
            RawToken::Table(t) => ApiToken {
                hash: t.hash.to_ascii_lowercase(),
                label: t.label,
                created: t.created,
                expires: t.expires,
            },
        }
    }
}

#[derive(Debug, Serialize)]
struct UsersFileOut<'a> {
    user: &'a [User],
}

const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;
/// User names appear in the audit trail and in logs: short and printable.
const MAX_NAME_CHARS: usize = 64;

/// Whether `name` may be a user's, beside `others`: non-empty, no spaces or control
/// characters, at most [`MAX_NAME_CHARS`], and not another user's in other capitals
/// ("Alice" beside "alice" would be two accounts that read as one in the audit trail).
fn check_name(name: &str, others: &[User]) -> Result<(), String> {
    check_name_form(name)?;
    if let Some(other) = others
        .iter()
        .find(|u| u.name.to_lowercase() == name.to_lowercase())
    {
        return Err(format!(
            "user name {name:?} is already taken ({:?})",
            other.name
        ));
    }
    Ok(())
}

/// Whether `name` may be a user's, whoever else there is.
pub fn check_name_form(name: &str) -> Result<(), String> {
    // Names stand for people in the audit trail: none that looks like another ("аlice"
    // with a Cyrillic а, a zero-width space) or like the trail's own actors.
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if !plain || RESERVED_NAMES.contains(&name.to_lowercase().as_str()) {
        return Err(format!(
            "user name {name:?} must be letters a-z, digits and . _ - @, starting with a letter or digit, and not one the audit trail uses itself ({})",
            RESERVED_NAMES.join(", ")
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "user name of {} characters is too long (at most {MAX_NAME_CHARS})",
            name.chars().count()
        ));
    }
    Ok(())
}

/// The users, loaded from the users file.
#[derive(Debug, Clone, Default)]
pub struct Users {
    users: Vec<User>,
}

impl Users {
    /// Loads `path`; a missing file means no users yet.
    pub fn load(path: &Path) -> Result<Users, AccessError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Users::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Users::default()),
            Err(source) => Err(AccessError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses and checks the users file text.
    pub fn parse(path: &Path, text: &str) -> Result<Users, AccessError> {
        // The reader's own message quotes the line, and a line of this file may hold a
        // hash or a token pasted by mistake: line and message only, quoted values out.
        let raw: RawUsersFile = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => AccessError::Invalid {
                path: path.to_owned(),
                line: crate::config::line_of(text, span.start),
                message: without_quoted_values(e.message()),
            },
            None => AccessError::Parse {
                path: path.to_owned(),
                message: without_quoted_values(e.message()),
            },
        })?;
        let invalid = |span: std::ops::Range<usize>, message: String| AccessError::Invalid {
            path: path.to_owned(),
            line: crate::config::line_of(text, span.start),
            message,
        };
        let mut users: Vec<User> = Vec::with_capacity(raw.user.len());
        for u in raw.user {
            let name = u.name.get_ref().trim().to_string();
            if let Err(message) = check_name(&name, &users) {
                return Err(invalid(u.name.span(), message));
            }
            if let Some(p) = u.password {
                return Err(invalid(
                    p.span(),
                    format!("user {name:?}: plain-text `password` is not accepted; store an argon2 hash with `webcare user add {name}`"),
                ));
            }
            let role = u
                .role
                .get_ref()
                .parse::<Role>()
                .map_err(|m| invalid(u.role.span(), format!("user {name:?}: {m}")))?;
            if let Some(hash) = &u.password_hash {
                let ok = PasswordHash::new(hash.get_ref())
                    .is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"));
                if !ok {
                    return Err(invalid(
                        hash.span(),
                        format!(
                            "user {name:?}: `password_hash` is not an argon2 hash ($argon2id$…)"
                        ),
                    ));
                }
            }
            let tokens: Vec<ApiToken> = u.tokens.into_iter().map(ApiToken::from).collect();
            if let Some(bad) = tokens.iter().find(|t| !is_sha256_hex(&t.hash)) {
                return Err(invalid(
                    u.name.span(),
                    // Not quoted: it may be a token in plain text, a secret.
                    format!("user {name:?}: a token ({} characters) is not a SHA-256 hash (64 hex digits); create tokens with `webcare token {name}`", bad.hash.chars().count()),
                ));
            }
            if let Some(bad) = tokens
                .iter()
                .find_map(|t| t.label.as_deref().and_then(|l| check_label(l).err()))
            {
                return Err(invalid(u.name.span(), format!("user {name:?}: {bad}")));
            }
            // One token signing in as whichever of two users comes first would be a
            // quiet escalation.
            if let Some(other) = users.iter().find(|o| {
                o.tokens
                    .iter()
                    .any(|t| tokens.iter().any(|x| x.hash == t.hash))
            }) {
                return Err(invalid(
                    u.name.span(),
                    format!(
                        "user {name:?}: a token of theirs is also a token of {:?}",
                        other.name
                    ),
                ));
            }
            users.push(User {
                name,
                role,
                password_hash: u.password_hash.map(Spanned::into_inner),
                tokens,
            });
        }
        Ok(Users { users })
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn all(&self) -> &[User] {
        &self.users
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// That there is no user `name`, and the one it may be meant for: names are exact,
    /// but no two differ only in capitals ([`check_name`]).
    pub fn no_user(&self, name: &str) -> String {
        match self
            .users
            .iter()
            .find(|u| u.name.to_lowercase() == name.to_lowercase())
        {
            Some(u) => format!(
                "no user {name:?}; names are exact: did you mean {:?}?",
                u.name
            ),
            None => format!("no user {name:?}; add it with `webcare user add`"),
        }
    }

    /// The user whose password this is; `None` for an unknown user or a wrong password
    /// (the same answer, and about the same time, for both).
    pub fn check_password(&self, name: &str, password: &str) -> Option<&User> {
        let user = self.get(name);
        let hash = user.and_then(|u| u.password_hash.as_deref());
        match hash {
            Some(hash) if verify_password(password, hash) => user,
            Some(_) => None,
            None => {
                // Spend the time a verification takes, so that timing does not tell
                // which user names exist.
                let _ = verify_password(password, dummy_hash());
                None
            }
        }
    }

    /// The user an API token belongs to, while the token has not expired at `now`.
    pub fn check_token(&self, token: &str, now: DateTime<Utc>) -> Option<&User> {
        self.token_holder(token)
            .filter(|(_, t)| !t.is_expired(now))
            .map(|(user, _)| user)
    }

    /// The user an API token is stored under, and how, expired or not (a token is
    /// never under two users: [`Users::parse`]).
    pub fn token_holder(&self, token: &str) -> Option<(&User, &ApiToken)> {
        let hash = sha256_hex(token);
        self.users
            .iter()
            .find_map(|u| u.tokens.iter().find(|t| t.hash == hash).map(|t| (u, t)))
    }

    /// Adds a user or replaces their password and role.
    /// Adds a user or sets their role and password; says which for the audit trail: `"new
    /// user"`, `"new password"` or `"same password"` (a password reset is how one admin
    /// could take over another's account, so it must not read like a change of role).
    pub fn set_user(
        &mut self,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<&'static str, AccessError> {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            // A login sends it in a body of at most 64 KiB: a longer one could never be used.
            return Err(AccessError::Usage(format!(
                "passwords must have at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS
            || password.chars().filter(|c| !c.is_whitespace()).count() < MIN_PASSWORD_CHARS / 2
        {
            return Err(AccessError::Usage(format!(
                "passwords must have at least {MIN_PASSWORD_CHARS} characters, at least {} of them not spaces",
                MIN_PASSWORD_CHARS / 2
            )));
        }
        let others: Vec<User> = self
            .users
            .iter()
            .filter(|u| u.name != name)
            .cloned()
            .collect();
        check_name(name, &others).map_err(AccessError::Usage)?;
        if role != Role::Admin {
            self.keep_an_admin_besides(name, "made a viewer")?;
        }
        match self.users.iter_mut().find(|u| u.name == name) {
            Some(u) => {
                u.role = role;
                // The same password again keeps its hash, and so the user's sessions
                // (they end with a new password: [`User::credential`]).
                let same = u
                    .password_hash
                    .as_deref()
                    .is_some_and(|hash| verify_password(password, hash));
                if same {
                    return Ok("same password");
                }
                u.password_hash = Some(hash_password(password));
                Ok("new password")
            }
            None => {
                self.users.push(User {
                    name: name.to_string(),
                    role,
                    password_hash: Some(hash_password(password)),
                    tokens: Vec::new(),
                });
                Ok("new user")
            }
        }
    }

    /// Creates an API token for `name` that works for `lifetime` from `now` (`None`:
    /// until revoked); returns the token (the only time it is shown) and how it is
    /// stored.
    pub fn add_token(
        &mut self,
        name: &str,
        lifetime: Option<std::time::Duration>,
        label: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(String, ApiToken), AccessError> {
        let label = label.map(str::trim).filter(|l| !l.is_empty());
        if let Some(l) = label {
            check_label(l).map_err(AccessError::Usage)?;
        }
        // Whole seconds: the times are shown and audited, and nine digits of
        // nanoseconds can pass for a citizen service number to the redaction.
        let now = now.trunc_subsecs(0);
        let expires = lifetime
            .map(|d| expiry(now, d).map_err(AccessError::Usage))
            .transpose()?;
        let user = self.user_mut(name)?;
        let token = format!("{TOKEN_PREFIX}{}", random_hex(32));
        let stored = ApiToken {
            hash: sha256_hex(&token),
            label: label.map(String::from),
            created: Some(now),
            expires,
        };
        user.tokens.push(stored.clone());
        Ok((token, stored))
    }

    /// Ends the token of `name` whose [`ApiToken::id`] is `id`; whether there was one.
    pub fn revoke_token(&mut self, name: &str, id: &str) -> Result<bool, AccessError> {
        let user = self.user_mut(name)?;
        let before = user.tokens.len();
        // Shown in lower case; copied in capitals it is the same token.
        user.tokens.retain(|t| !t.id().eq_ignore_ascii_case(id));
        Ok(user.tokens.len() != before)
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut User, AccessError> {
        let missing = self.no_user(name);
        self.users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or(AccessError::Usage(missing))
    }

    /// Ends every API token of `name`; how many there were.
    pub fn revoke_tokens(&mut self, name: &str) -> Result<usize, AccessError> {
        Ok(std::mem::take(&mut self.user_mut(name)?.tokens).len())
    }

    /// Removes a user; whether there was one.
    pub fn remove(&mut self, name: &str) -> Result<bool, AccessError> {
        self.keep_an_admin_besides(name, "removed")?;
        let before = self.users.len();
        self.users.retain(|u| u.name != name);
        Ok(before != self.users.len())
    }

    /// Refuses to take away the last admin: nobody could then manage users, tokens or
    /// erasures over the API, and the mistake would be noticed only when that is needed.
    fn keep_an_admin_besides(&self, name: &str, change: &str) -> Result<(), AccessError> {
        let is_admin = |u: &User| u.role == Role::Admin;
        let last = self.users.iter().any(|u| u.name == name && is_admin(u))
            && !self.users.iter().any(|u| u.name != name && is_admin(u));
        if last {
            return Err(AccessError::Usage(format!(
                "{name:?} is the last admin and cannot be {change}; make another user admin first"
            )));
        }
        Ok(())
    }

    /// Writes the users file (owner-readable only), replacing it atomically.
    pub fn save(&self, path: &Path) -> Result<(), AccessError> {
        let write_err = |source| AccessError::Write {
            path: path.to_owned(),
            source,
        };
        let text = toml::to_string(&UsersFileOut { user: &self.users })
            .map_err(|e| write_err(std::io::Error::other(e)))?;
        let text = format!(
            "# webcare users: managed by `webcare user` and `webcare token`; hashes only.\n{text}"
        );
        std::fs::create_dir_all(parent_dir(path)).map_err(write_err)?;
        // A draft of its own (owner-only): two writers never share one.
        let mut draft = Draft::beside(path, ".users.", Permissions::Private).map_err(write_err)?;
        draft.write_all(text.as_bytes()).map_err(write_err)?;
        keep_owner(draft.as_file(), path);
        draft.put_in_place().map_err(write_err)
    }

    /// Reads the users file, applies `change` and writes it back, holding a lock on
    /// `<file>.lock` throughout: the command line and the running daemon change the same
    /// file, and a change made between another's read and write would be lost (a revoked
    /// token back in force, a printed token never stored). Nothing is written when
    /// `change` fails.
    pub fn change_file<T>(
        path: &Path,
        change: impl FnOnce(&mut Users) -> Result<T, AccessError>,
    ) -> Result<T, AccessError> {
        Users::change_file_keeping(path, change).map(|(result, _)| result)
    }

    /// [`Users::change_file`], also giving the users as written.
    fn change_file_keeping<T>(
        path: &Path,
        change: impl FnOnce(&mut Users) -> Result<T, AccessError>,
    ) -> Result<(T, Users), AccessError> {
        let write_err = |source| AccessError::Write {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(parent_dir(path)).map_err(write_err)?;
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let lock = options.open(&lock_path).map_err(write_err)?;
        keep_owner(&lock, path);
        lock.lock().map_err(write_err)?;
        let mut users = Users::load(path)?;
        let result = change(&mut users)?;
        users.save(path)?;
        Ok((result, users))
    }
}

/// Gives `file` the owner of the users file at `path` (of its directory while there is
/// none). Only root can give a file away, and only root needs to: `sudo webcare user add`
/// made a users file that the daemon's own account could no longer read. For anyone
/// else the call fails harmlessly and the file stays theirs, as before.
fn keep_owner(file: &std::fs::File, path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(path).or_else(|_| std::fs::metadata(parent_dir(path)));
        if let Ok(owner) = owner {
            let _ = std::os::unix::fs::fchown(file, Some(owner.uid()), Some(owner.gid()));
        }
    }
}

/// A token lifetime as given on the command line or to the API: a duration ("90d") or
/// `never`; `None` given means [`DEFAULT_TOKEN_LIFETIME`]. `Ok(None)`: never expires.
pub fn parse_token_lifetime(given: Option<&str>) -> Result<Option<std::time::Duration>, String> {
    match given.map(str::trim) {
        None => Ok(Some(DEFAULT_TOKEN_LIFETIME)),
        Some("never") => Ok(None),
        Some(text) => match crate::config::parse_duration(text) {
            Ok(d) if d < MIN_TOKEN_LIFETIME => Err(format!(
                "a token lifetime of {text:?} is too short: at least an hour, or `never`"
            )),
            Ok(d) => Ok(Some(d)),
            Err(e) => Err(format!("{e}, or `never`")),
        },
    }
}

/// When a token made at `now` to work for `lifetime` stops working.
fn expiry(now: DateTime<Utc>, lifetime: std::time::Duration) -> Result<DateTime<Utc>, String> {
    chrono::Duration::from_std(lifetime)
        .ok()
        .filter(|_| lifetime >= MIN_TOKEN_LIFETIME)
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| {
            format!(
                "a token lifetime of {} is out of range: at least an hour and less than centuries, or `never`",
                humantime::format_duration(lifetime)
            )
        })
}

/// A message of the TOML reader with every quoted value replaced by `"…"`: it may be a
/// hash or a token.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                out.push_str("\"…");
                quoted = true;
            }
            ('"', true) => {
                out.push('"');
                quoted = false;
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

/// Whether `label` may name a token: at most [`MAX_LABEL_CHARS`], no control characters.
fn check_label(label: &str) -> Result<(), String> {
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(misleads) {
        return Err(format!(
            "a token label must be at most {MAX_LABEL_CHARS} characters, without control or direction characters"
        ));
    }
    Ok(())
}

/// Whether `c` is a control or direction character: text with one (a token's label, a
/// note on an alert) can make a list or the audit trail read other than it is.
pub fn misleads(c: char) -> bool {
    c.is_control() || BIDI_CONTROLS.contains(&c)
}

/// Argon2id with the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("webcare-no-such-user"))
}

/// SHA-256 of a token, hex: tokens are long and random, so a fast hash suffices.
pub fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random token of `bytes` bytes, hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How long a user's login from an address lets that address past the brake on the
/// user's name: strangers guessing a name do not lock its owner out of their own desk.
pub const KNOWN_ADDRESS_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Failed logins allowed within [`LOGIN_WINDOW`] from one IPv6 /48 together (an
/// allocation a tunnel broker gives away holds 65,536 /64s, each with its own brake).
pub const MAX_FAILED_PER_NETWORK: usize = 50;
/// While the brake tracks as many addresses and names as it can, a login that would add
/// one waits this long: refusing is safer than not counting.
const BRAKE_FULL_WAIT: Duration = Duration::from_secs(60);

/// The brake on password guessing: at most [`MAX_FAILED_LOGINS`] failed logins per
/// client address, and per user name, in [`LOGIN_WINDOW`] (and
/// [`MAX_FAILED_PER_NETWORK`] per IPv6 /48).
///
/// A login is counted when it *begins* ([`LoginBrake::begin`]), as in flight, and
/// settled when its password has been checked: counting only after the slow check would
/// let a burst of simultaneous guesses all pass before the first failure is recorded.
/// Logins in flight are not failures: more than the limit at once wait a moment (503),
/// they are not held back for the window (429). A user who signed in from an address
/// within [`KNOWN_ADDRESS_FOR`] is counted there by name and address together, not by the
/// name alone nor by the address: guesses at their name from elsewhere, and colleagues'
/// typos behind the same office address, do not keep them out. The addresses users
/// signed in from are read back from the audit trail at start
/// ([`LoginBrake::remember`]). Names are kept as hashes: what was typed as a name may be
/// a password, and may be long.
#[derive(Debug, Default)]
pub struct LoginBrake {
    inner: std::sync::Arc<Mutex<BrakeState>>,
}

#[derive(Debug, Default)]
struct BrakeState {
    failures: HashMap<String, Counted>,
    /// `name-hash@address` of each successful login, and when it was.
    known: HashMap<String, Instant>,
}

/// One key's failed logins in the window, and its logins in flight.
#[derive(Debug, Default)]
struct Counted {
    failed: VecDeque<Instant>,
    in_flight: usize,
}

impl Counted {
    fn is_empty(&self) -> bool {
        self.failed.is_empty() && self.in_flight == 0
    }
}

/// Why a login may not begin now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Too many failures: wait this long (429).
    Wait(Duration),
    /// Too many logins in flight at once from here, or the brake is full: try again
    /// in this long (503).
    Busy(Duration),
}

/// A login let through the brake: counted as in flight until it is settled. Dropped
/// unsettled (the client hung up while its password was checked), it counts as failed.
#[derive(Debug)]
#[must_use = "an attempt counts as failed unless it is settled otherwise"]
pub struct LoginAttempt {
    brake: std::sync::Arc<Mutex<BrakeState>>,
    keys: Vec<(String, usize)>,
    known_as: String,
    settled: bool,
}

impl LoginBrake {
    /// Lets a login for `user` from `client` (the address as the brake keys it; for
    /// IPv6 its /64) through and counts it, or says why not. `network` is the client's
    /// IPv6 /48, if it has one.
    pub fn begin(
        &self,
        client: &str,
        network: Option<&str>,
        user: &str,
        now: Instant,
    ) -> Result<LoginAttempt, LoginRefusal> {
        let name = sha256_hex(user);
        let known_as = format!("{name}@{client}");
        let mut state = lock(&self.inner);
        let known = state
            .known
            .get(&known_as)
            .is_some_and(|at| now.duration_since(*at) < KNOWN_ADDRESS_FOR);
        let mut keys = if known {
            vec![(format!("pair:{known_as}"), MAX_FAILED_LOGINS)]
        } else {
            vec![
                (format!("ip:{client}"), MAX_FAILED_LOGINS),
                (format!("user:{name}"), MAX_FAILED_LOGINS),
            ]
        };
        if !known {
            keys.extend(network.map(|n| (format!("net:{n}"), MAX_FAILED_PER_NETWORK)));
        }
        let mut wait = None;
        let mut busy = false;
        for (key, limit) in &keys {
            let Some(counted) = state.failures.get_mut(key) else {
                continue;
            };
            prune(&mut counted.failed, now);
            if counted.failed.len() >= *limit {
                let oldest = counted.failed.front().copied().unwrap_or(now);
                wait = wait.max(Some(LOGIN_WINDOW.saturating_sub(now - oldest)));
            } else if counted.failed.len() + counted.in_flight >= *limit {
                busy = true;
            }
        }
        if let Some(wait) = wait {
            return Err(LoginRefusal::Wait(wait));
        }
        if busy {
            return Err(LoginRefusal::Busy(Duration::from_secs(1)));
        }
        let new = |state: &BrakeState| {
            keys.iter()
                .filter(|(k, _)| !state.failures.contains_key(k))
                .count()
        };
        if state.failures.len() + new(&state) > MAX_TRACKED {
            state.failures.retain(|_, counted| {
                prune(&mut counted.failed, now);
                !counted.is_empty()
            });
        }
        if state.failures.len() + new(&state) > MAX_TRACKED {
            if !known {
                return Err(LoginRefusal::Busy(BRAKE_FULL_WAIT));
            }
            // A user at an address they signed in from: let through uncounted.
            keys.clear();
        }
        for (key, _) in &keys {
            state.failures.entry(key.clone()).or_default().in_flight += 1;
        }
        Ok(LoginAttempt {
            brake: self.inner.clone(),
            keys,
            known_as,
            settled: false,
        })
    }

    /// Remembers that `user` signed in from `client` (as [`LoginBrake::begin`] keys it)
    /// `ago`: read back from the audit trail at start, so that a restart does not take
    /// every user's addresses from them.
    pub fn remember(&self, user: &str, client: &str, ago: Duration, now: Instant) {
        if ago >= KNOWN_ADDRESS_FOR {
            return;
        }
        let at = now.checked_sub(ago).unwrap_or(now);
        let known_as = format!("{}@{client}", sha256_hex(user));
        lock(&self.inner).know(known_as, at, now);
    }

    /// Counts a failed login `ago` for `user` (`None`: a name that is no user's) from
    /// `client` and its IPv6 `network`, under the keys [`LoginBrake::begin`] counts it
    /// under: read back from the audit trail at start, oldest first, after
    /// [`LoginBrake::remember`], so that a restart gives no one fresh guesses.
    pub fn failed_earlier(
        &self,
        user: Option<&str>,
        client: &str,
        network: Option<&str>,
        ago: Duration,
        now: Instant,
    ) {
        if ago >= LOGIN_WINDOW {
            return;
        }
        let at = now.checked_sub(ago).unwrap_or(now);
        let name = sha256_hex(user.unwrap_or_default());
        let known_as = format!("{name}@{client}");
        let mut state = lock(&self.inner);
        let known = user.is_some()
            && state
                .known
                .get(&known_as)
                .is_some_and(|t| now.duration_since(*t) < KNOWN_ADDRESS_FOR);
        let keys = if known {
            vec![format!("pair:{known_as}")]
        } else {
            let mut keys = vec![format!("ip:{client}")];
            keys.extend(user.map(|_| format!("user:{name}")));
            keys.extend(network.map(|n| format!("net:{n}")));
            keys
        };
        for key in keys {
            if state.failures.len() < MAX_TRACKED || state.failures.contains_key(&key) {
                state.failures.entry(key).or_default().failed.push_back(at);
            }
        }
    }
}

impl BrakeState {
    /// Remembers a login at `at` as `known_as` (`name-hash@address`), keeping the
    /// newest; beyond [`MAX_TRACKED`] the expired go first, and then nothing new is
    /// remembered.
    fn know(&mut self, known_as: String, at: Instant, now: Instant) {
        if self.known.len() >= MAX_TRACKED {
            self.known
                .retain(|_, t| now.duration_since(*t) < KNOWN_ADDRESS_FOR);
        }
        if self.known.len() < MAX_TRACKED || self.known.contains_key(&known_as) {
            let newest = self.known.get(&known_as).map_or(at, |t| (*t).max(at));
            self.known.insert(known_as, newest);
        }
    }
}

impl LoginAttempt {
    /// The password was right: not a failure, and its address is remembered for its
    /// user. Other failures stay: a login of one's own does not wipe out the guesses made
    /// between.
    pub fn succeeded(mut self, now: Instant) {
        self.settle(None);
        let known_as = std::mem::take(&mut self.known_as);
        lock(&self.brake).know(known_as, now, now);
    }

    /// The password was wrong (or the name no user's).
    pub fn failed(mut self, now: Instant) {
        self.settle(Some(now));
    }

    /// No password was checked (the server was too busy): not a failure.
    pub fn withdraw(mut self) {
        self.settle(None);
    }

    fn settle(&mut self, failed_at: Option<Instant>) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let mut state = lock(&self.brake);
        for (key, _) in &self.keys {
            let Some(counted) = state.failures.get_mut(key) else {
                continue;
            };
            counted.in_flight = counted.in_flight.saturating_sub(1);
            if let Some(at) = failed_at {
                counted.failed.push_back(at);
            }
            if counted.is_empty() {
                state.failures.remove(key);
            }
        }
    }
}

impl Drop for LoginAttempt {
    fn drop(&mut self) {
        // Hung up while the password was checked, which goes on without the client: a
        // guess whose answer the client did not wait for is still a guess.
        self.settle(Some(Instant::now()));
    }
}

fn lock(state: &Mutex<BrakeState>) -> std::sync::MutexGuard<'_, BrakeState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts events per key in a sliding window of [`LOGIN_WINDOW`] (refused requests
/// from an address, for sampling what the audit trail records of them).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Keys the limiter remembers at most; beyond that the oldest are forgotten first.
const MAX_TRACKED: usize = 10_000;

impl LoginLimiter {
    /// How long `keys` must wait before trying again, if any of them is over the limit.
    pub fn blocked(&self, keys: &[&str], now: Instant) -> Option<Duration> {
        self.blocked_after(keys, now, MAX_FAILED_LOGINS)
    }

    /// [`Self::blocked`] with a limit of `limit` failures in the window.
    pub fn blocked_after(&self, keys: &[&str], now: Instant, limit: usize) -> Option<Duration> {
        let mut failures = self.lock();
        keys.iter()
            .filter_map(|k| {
                let list = failures.get_mut(*k)?;
                prune(list, now);
                (list.len() >= limit)
                    .then(|| list.front().map(|t| LOGIN_WINDOW.saturating_sub(now - *t)))
                    .flatten()
            })
            .max()
    }

    pub fn record_failure(&self, keys: &[&str], now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= MAX_TRACKED {
            failures.retain(|_, list| {
                prune(list, now);
                !list.is_empty()
            });
        }
        for key in keys {
            if failures.len() < MAX_TRACKED || failures.contains_key(*key) {
                failures.entry(key.to_string()).or_default().push_back(now);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn prune(list: &mut VecDeque<Instant>, now: Instant) {
    while list
        .front()
        .is_some_and(|t| now.duration_since(*t) >= LOGIN_WINDOW)
    {
        list.pop_front();
    }
}

/// The users file as the daemon sees it: re-read when it changes on disk, so that
/// `webcare user add` takes effect without a restart. A file that became invalid is
/// logged and the last good version is kept.
#[derive(Debug)]
pub struct UsersStore {
    path: PathBuf,
    cache: std::sync::RwLock<(Option<std::time::SystemTime>, std::sync::Arc<Users>)>,
    /// One change to the file at a time.
    writing: Mutex<()>,
}

impl UsersStore {
    /// Loads the file (refusing a bad one: the daemon must not start with it).
    pub fn open(path: &Path) -> Result<UsersStore, AccessError> {
        let users = Users::load(path)?;
        Ok(UsersStore {
            path: path.to_owned(),
            cache: std::sync::RwLock::new((modified(path), std::sync::Arc::new(users))),
            writing: Mutex::new(()),
        })
    }

    /// Changes the users file: reads it as it is on disk, applies `change`, writes it
    /// back (only hashes), and serves the new version at once.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Users) -> Result<T, AccessError>,
    ) -> Result<T, AccessError> {
        let _one_at_a_time = self
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (result, users) = Users::change_file_keeping(&self.path, change)?;
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *cache = (modified(&self.path), std::sync::Arc::new(users));
        Ok(result)
    }

    /// The users as the file holds them now.
    pub fn current(&self) -> std::sync::Arc<Users> {
        let stamp = modified(&self.path);
        {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.0 == stamp {
                return cache.1.clone();
            }
        }
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match Users::load(&self.path) {
            // Gone while it held users (moved away, or an editor's save half done):
            // nobody signed out at once; users are removed with `webcare user remove`.
            Ok(_) if stamp.is_none() && !cache.1.is_empty() => {
                tracing::error!(path = %self.path.display(), "the users file is gone; keeping the users as last read until it is back");
                cache.0 = stamp;
            }
            Ok(users) => *cache = (stamp, std::sync::Arc::new(users)),
            Err(e) => {
                tracing::error!(error = %e, "users file changed but is invalid; keeping the last good version");
                cache.0 = stamp;
            }
        }
        cache.1.clone()
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_at_the_same_time_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        Users::change_file(&path, |u| {
            u.set_user("ann", Role::Admin, "correct horse battery")
        })
        .unwrap();
        let now = Utc::now();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    Users::change_file(&path, |u| {
                        u.add_token("ann", None, Some(&format!("t{i}")), now)
                    })
                    .unwrap()
                })
            })
            .collect();
        let tokens: Vec<String> = threads.into_iter().map(|t| t.join().unwrap().0).collect();
        let users = Users::load(&path).unwrap();
        assert_eq!(users.get("ann").unwrap().tokens.len(), 8);
        for token in &tokens {
            assert!(users.check_token(token, now).is_some(), "{token} lost");
        }
        // Nothing is left beside the file but its lock.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["users.toml", "users.toml.lock"]);
    }

    #[test]
    fn simultaneous_guesses_are_counted_before_the_password_is_checked() {
        let brake = LoginBrake::default();
        let now = Instant::now();
        // Twenty at once, none finished: only the first five get to a password check;
        // the others are asked to come back in a moment, not held for the window.
        let mut results: Vec<_> = (0..20)
            .map(|_| brake.begin("192.0.2.1", None, "ann", now))
            .collect();
        let refused: Vec<LoginRefusal> = results
            .iter()
            .filter_map(|r| r.as_ref().err().copied())
            .collect();
        assert_eq!(refused.len(), 20 - MAX_FAILED_LOGINS);
        assert!(refused
            .iter()
            .all(|r| *r == LoginRefusal::Busy(Duration::from_secs(1))));
        // One of them was right, four failed; one more failure, and the address waits.
        let mut let_through = results.drain(..).filter_map(Result::ok);
        let_through.next().unwrap().succeeded(now);
        let_through.for_each(|attempt| attempt.failed(now));
        brake
            .begin("192.0.2.1", None, "bob", now)
            .unwrap()
            .failed(now);
        assert_eq!(
            brake.begin("192.0.2.1", None, "cas", now).unwrap_err(),
            LoginRefusal::Wait(LOGIN_WINDOW)
        );
        // After the window, free again.
        assert!(brake
            .begin("192.0.2.1", None, "cas", now + LOGIN_WINDOW)
            .is_ok());
    }

    #[test]
    fn four_failures_and_one_more_fail_and_then_the_address_waits_the_window() {
        let brake = LoginBrake::default();
        let now = Instant::now();
        for i in 0..MAX_FAILED_LOGINS {
            brake
                .begin("192.0.2.1", None, &format!("guess{i}"), now)
                .unwrap()
                .failed(now);
        }
        assert_eq!(
            brake.begin("192.0.2.1", None, "ann", now).unwrap_err(),
            LoginRefusal::Wait(LOGIN_WINDOW)
        );
        // A client that hung up while its password was checked: still a guess.
        let brake = LoginBrake::default();
        for _ in 0..MAX_FAILED_LOGINS {
            drop(brake.begin("192.0.2.1", None, "ann", now).unwrap());
        }
        assert!(matches!(
            brake.begin("192.0.2.1", None, "ann", now),
            Err(LoginRefusal::Wait(_))
        ));
    }

    #[test]
    fn guesses_at_a_name_do_not_lock_its_user_out_of_an_address_they_used() {
        let brake = LoginBrake::default();
        let now = Instant::now();
        brake
            .begin("198.51.100.1", None, "ann", now)
            .unwrap()
            .succeeded(now);
        // Five wrong guesses for "ann" from five other addresses.
        for i in 0..MAX_FAILED_LOGINS {
            brake
                .begin(&format!("203.0.113.{i}"), None, "ann", now)
                .unwrap()
                .failed(now);
        }
        // A sixth address is held back for the name; ann's own address is not.
        assert!(brake.begin("203.0.113.99", None, "ann", now).is_err());
        brake
            .begin("198.51.100.1", None, "ann", now)
            .unwrap()
            .succeeded(now);
        // Colleagues' typos behind the same office address do not hold ann back there.
        for i in 0..MAX_FAILED_LOGINS {
            brake
                .begin("198.51.100.1", None, &format!("colleague{i}"), now)
                .unwrap()
                .failed(now);
        }
        assert!(brake.begin("198.51.100.1", None, "bob", now).is_err());
        brake
            .begin("198.51.100.1", None, "ann", now)
            .unwrap()
            .succeeded(now);
        // Known for a while only.
        let later = now + KNOWN_ADDRESS_FOR + Duration::from_secs(1);
        for i in 0..MAX_FAILED_LOGINS {
            brake
                .begin(&format!("203.0.113.{i}"), None, "ann", later)
                .unwrap()
                .failed(later);
        }
        assert!(brake.begin("198.51.100.1", None, "ann", later).is_err());
        // Remembered from the audit trail after a restart, for what is left of the 30 days.
        let restarted = LoginBrake::default();
        restarted.remember("ann", "198.51.100.1", Duration::from_secs(86_400), now);
        restarted.remember("bob", "198.51.100.2", KNOWN_ADDRESS_FOR, now);
        for i in 0..MAX_FAILED_LOGINS {
            for name in ["ann", "bob"] {
                restarted
                    .begin(&format!("203.0.113.{i}"), None, name, now)
                    .unwrap()
                    .failed(now);
            }
        }
        assert!(restarted.begin("198.51.100.1", None, "ann", now).is_ok());
        assert!(restarted.begin("198.51.100.2", None, "bob", now).is_err());
    }

    #[test]
    fn a_check_that_never_ran_is_taken_back() {
        let brake = LoginBrake::default();
        let now = Instant::now();
        for _ in 0..3 * MAX_FAILED_LOGINS {
            brake
                .begin("192.0.2.1", None, "ann", now)
                .unwrap()
                .withdraw();
        }
        assert!(lock(&brake.inner).failures.is_empty());
    }

    /// A failed guess from each of [`MAX_FAILED_PER_NETWORK`] /64s of `net`.
    fn fail_from_every_64(brake: &LoginBrake, net: Option<&str>, now: Instant) {
        for i in 0..MAX_FAILED_PER_NETWORK {
            let client = format!("2001:db8:1:{i:x}::/64");
            brake
                .begin(&client, net, &format!("g{i}"), now)
                .unwrap()
                .failed(now);
        }
    }

    #[test]
    fn one_network_gets_a_bounded_number_of_guesses_and_a_full_brake_refuses() {
        let brake = LoginBrake::default();
        let now = Instant::now();
        let net = Some("2001:db8:1::/48");
        fail_from_every_64(&brake, net, now);
        assert!(matches!(
            brake.begin("2001:db8:1:ffff::/64", net, "ann", now),
            Err(LoginRefusal::Wait(_))
        ));
        // Not at an address its user signed in from.
        let known = LoginBrake::default();
        known
            .begin("2001:db8:1:ffff::/64", net, "ann", now)
            .unwrap()
            .succeeded(now);
        fail_from_every_64(&known, net, now);
        assert!(known.begin("2001:db8:1:ffff::/64", net, "ann", now).is_ok());
        // Full: refused (not uncounted), except a user at an address they signed in from.
        let brake = LoginBrake::default();
        brake
            .begin("198.51.100.1", None, "ann", now)
            .unwrap()
            .succeeded(now);
        for i in 0..MAX_TRACKED as u32 / 2 {
            let client = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            brake
                .begin(&client, None, &format!("guess{i}"), now)
                .unwrap()
                .failed(now);
        }
        assert_eq!(
            brake.begin("192.0.2.200", None, "bob", now).unwrap_err(),
            LoginRefusal::Busy(BRAKE_FULL_WAIT)
        );
        assert!(brake.begin("198.51.100.1", None, "ann", now).is_ok());
        // Names are kept as hashes, however long the typed one.
        assert!(lock(&brake.inner)
            .failures
            .keys()
            .all(|k| k.len() <= 64 + 16));
    }

    #[test]
    fn passwords_and_tokens_are_stored_as_hashes_only() {
        let mut users = Users::default();
        users
            .set_user("ann", Role::Admin, "correct horse battery")
            .unwrap();
        let now = Utc::now();
        let (token, _) = users
            .add_token("ann", Some(DEFAULT_TOKEN_LIFETIME), None, now)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        users.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("correct horse") && !text.contains(&token),
            "{text}"
        );
        assert!(text.contains("$argon2id$"), "{text}");
        let loaded = Users::load(&path).unwrap();
        assert_eq!(
            loaded
                .check_password("ann", "correct horse battery")
                .unwrap()
                .role,
            Role::Admin
        );
        assert!(loaded
            .check_password("ann", "wrong horse battery")
            .is_none());
        assert!(loaded
            .check_password("nobody", "correct horse battery")
            .is_none());
        assert_eq!(loaded.check_token(&token, now).unwrap().name, "ann");
        assert!(loaded.check_token("wct_forged", now).is_none());
        assert!(users.set_user("bob", Role::Viewer, "short").is_err());
    }

    #[test]
    fn a_token_works_until_it_expires_or_is_revoked_by_its_id() {
        let mut users = Users::default();
        users
            .set_user("ann", Role::Viewer, "correct horse battery")
            .unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = std::time::Duration::from_secs(24 * 3600);
        let (short, stored) = users
            .add_token("ann", Some(day), Some("export script"), now)
            .unwrap();
        let (forever, _) = users.add_token("ann", None, None, now).unwrap();
        assert_eq!(stored.expires, Some(now + chrono::Duration::days(1)));
        assert_eq!(stored.id().len(), TOKEN_ID_CHARS);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        users.save(&path).unwrap();
        let loaded = Users::load(&path).unwrap();
        assert_eq!(
            loaded.get("ann").unwrap().tokens,
            users.get("ann").unwrap().tokens
        );
        let later = now + chrono::Duration::hours(23);
        let after = now + chrono::Duration::days(1);
        assert!(loaded.check_token(&short, later).is_some());
        assert!(
            loaded.check_token(&short, after).is_none(),
            "an expired token still works"
        );
        let (owner, expired) = loaded
            .token_holder(&short)
            .filter(|(_, t)| t.is_expired(after))
            .unwrap();
        assert_eq!((owner.name.as_str(), expired.id()), ("ann", stored.id()));
        assert!(loaded
            .token_holder(&short)
            .filter(|(_, t)| t.is_expired(later))
            .is_none());
        assert!(loaded
            .check_token(&forever, after + chrono::Duration::days(3650))
            .is_some());
        // Revoking one leaves the other.
        let mut loaded = loaded;
        assert!(loaded.revoke_token("ann", stored.id()).unwrap());
        assert!(!loaded.revoke_token("ann", stored.id()).unwrap());
        assert!(loaded.check_token(&short, now).is_none());
        assert!(loaded.check_token(&forever, now).is_some());
        assert!(loaded.revoke_token("nobody", "abc").is_err());
        // Lifetimes and labels out of bounds are refused, with what is allowed.
        for short in [
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(59 * 60),
        ] {
            let refused = loaded.add_token("ann", Some(short), None, now);
            assert!(refused
                .unwrap_err()
                .to_string()
                .contains("at least an hour"));
        }
        let huge = loaded.add_token("ann", Some(std::time::Duration::MAX), None, now);
        assert!(huge.is_err());
        for label in ["line\nbreak", "evil\u{202e}gnp.exe"] {
            let refused = loaded.add_token("ann", None, Some(label), now);
            assert!(
                refused.unwrap_err().to_string().contains("label"),
                "{label:?}"
            );
        }
        // Times in whole seconds: nanoseconds in the audit trail can pass for a BSN.
        let odd = DateTime::parse_from_rfc3339("2026-11-30T10:00:00.123456782Z")
            .unwrap()
            .with_timezone(&Utc);
        let (_, stored) = loaded.add_token("ann", Some(day), None, odd).unwrap();
        assert!(
            stored.summary().ends_with("expires 2026-12-01T10:00:00Z"),
            "{}",
            stored.summary()
        );
    }

    /// A users file edited by hand: a mistake is named by line without quoting the line,
    /// which may hold a hash or a token pasted by mistake; hashes in capitals still work;
    /// one token under two users is refused.
    #[test]
    fn a_hand_edited_users_file_is_read_with_care() {
        let secret = "wct_SECRETSECRETSECRET";
        for text in [
            format!("[[user]]\nname = \"c\"\nrole = \"viewer\"\ntokens = [{{ hash = \"{secret}\", expires = \"soon\" }}]\n"),
            format!("[[user]]\nname = \"c\"\nrole = \"viewer\"\ntokens = \"{secret}\"\n"),
        ] {
            let err = Users::parse(Path::new("users.toml"), &text).unwrap_err().to_string();
            assert!(err.starts_with("users.toml:4:"), "{err}");
            assert!(!err.contains("SECRET"), "{err}");
        }
        let upper = sha256_hex("wct_upper").to_ascii_uppercase();
        let text = format!("[[user]]\nname = \"u\"\nrole = \"viewer\"\ntokens = [\"{upper}\"]\n");
        let users = Users::parse(Path::new("users.toml"), &text).unwrap();
        assert_eq!(
            users.check_token("wct_upper", Utc::now()).unwrap().name,
            "u"
        );
        let hash = sha256_hex("wct_shared");
        let text = format!(
            "[[user]]\nname = \"v\"\nrole = \"viewer\"\ntokens = [\"{hash}\"]\n\n[[user]]\nname = \"a\"\nrole = \"admin\"\ntokens = [\"{hash}\"]\n"
        );
        let err = Users::parse(Path::new("users.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("users.toml:7:") && err.contains("also a token of \"v\""),
            "{err}"
        );
    }

    /// A users file moved away while the daemon runs signs nobody out; it is read again
    /// once it is back.
    #[test]
    fn a_vanished_users_file_keeps_the_users_last_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        let store = UsersStore::open(&path).unwrap();
        store
            .update(|u| u.set_user("ann", Role::Admin, "correct horse battery"))
            .unwrap();
        let aside = dir.path().join("users.toml.moved");
        std::fs::rename(&path, &aside).unwrap();
        assert!(store.current().get("ann").is_some());
        std::fs::rename(&aside, &path).unwrap();
        assert!(store.current().get("ann").is_some());
        // A file that was never there: no users, as before.
        let empty = UsersStore::open(&dir.path().join("none.toml")).unwrap();
        assert!(empty.current().is_empty());
    }

    #[test]
    fn a_users_file_with_bare_token_hashes_still_reads() {
        let hash = sha256_hex("wct_old");
        let text = format!("[[user]]\nname = \"old\"\nrole = \"viewer\"\ntokens = [\"{hash}\"]\n");
        let users = Users::parse(Path::new("users.toml"), &text).unwrap();
        let token = &users.get("old").unwrap().tokens[0];
        assert_eq!((token.expires, token.created), (None, None));
        assert!(users.check_token("wct_old", Utc::now()).is_some());
        // A table with a key it does not know names the line.
        let text = format!(
            "[[user]]\nname = \"old\"\nrole = \"viewer\"\n[[user.tokens]]\nhash = \"{hash}\"\nexpiry = \"2027-01-01T00:00:00Z\"\n"
        );
        let err = Users::parse(Path::new("users.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("users.toml:4:"), "{err}");
        assert!(err.contains("`hash` and optionally `label`"), "{err}");
    }

    #[test]
    fn names_and_passwords_are_checked() {
        let mut users = Users::default();
        let password = "correct horse battery";
        users.set_user("alice", Role::Viewer, password).unwrap();
        let refused = |users: &mut Users, name: &str, password: &str| {
            users
                .set_user(name, Role::Viewer, password)
                .unwrap_err()
                .to_string()
        };
        let err = refused(&mut users, "bob", &" ".repeat(20));
        assert!(err.contains("not spaces"), "{err}");
        let err = refused(&mut users, "bob", &"x".repeat(1025));
        assert!(err.contains("at most 1024"), "{err}");
        let err = refused(&mut users, "Alice", password);
        assert!(
            err.contains("already taken") && err.contains("\"alice\""),
            "{err}"
        );
        let err = refused(&mut users, &"x".repeat(65), password);
        assert!(err.contains("too long"), "{err}");
        // Nothing that reads as someone else in the audit trail.
        for name in [
            "bob smith",
            "\u{430}lice",
            "al\u{200b}ice",
            "-",
            "system",
            "SYSTEM",
            "cli:root",
        ] {
            let err = refused(&mut users, name, password);
            assert!(err.contains("must be letters a-z"), "{name:?}: {err}");
        }
        users
            .set_user("jan.de-vries@ind", Role::Viewer, password)
            .unwrap();
        assert_eq!(users.all().len(), 2);
        // A file with two names that differ in capitals only is refused too.
        let err = Users::parse(
            Path::new("users.toml"),
            "[[user]]\nname = \"ann\"\nrole = \"admin\"\n[[user]]\nname = \"Ann\"\nrole = \"viewer\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("users.toml:5:") && err.contains("already taken"),
            "{err}"
        );
    }

    /// `sudo webcare user add` on a users file of the daemon's account leaves it that
    /// account's (root runs the tests here; elsewhere this cannot be set up, and is
    /// skipped).
    #[cfg(unix)]
    #[test]
    fn a_change_keeps_the_users_file_owner() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        Users::change_file(&path, |u| {
            u.set_user("ann", Role::Admin, "correct horse battery")
        })
        .unwrap();
        let nobody = 65534;
        if std::os::unix::fs::chown(&path, Some(nobody), Some(nobody)).is_err() {
            eprintln!("skipped: only root can give a file to another account");
            return;
        }
        Users::change_file(&path, |u| {
            u.set_user("bob", Role::Viewer, "correct horse battery")
        })
        .unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (nobody, nobody));
        assert_eq!(Users::load(&path).unwrap().all().len(), 2);
    }

    #[test]
    fn the_last_admin_is_neither_made_a_viewer_nor_removed() {
        let mut users = Users::default();
        let password = "correct horse battery";
        users.set_user("ann", Role::Admin, password).unwrap();
        users.set_user("vic", Role::Viewer, password).unwrap();
        let err = users
            .set_user("ann", Role::Viewer, password)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"ann\" is the last admin") && err.contains("another user admin"),
            "{err}"
        );
        let err = users.remove("ann").unwrap_err().to_string();
        assert!(err.contains("last admin and cannot be removed"), "{err}");
        assert_eq!(users.get("ann").unwrap().role, Role::Admin);
        // Viewers come and go; with a second admin the first may step down.
        assert!(users.remove("vic").unwrap());
        assert!(!users.remove("nobody").unwrap());
        users.set_user("bob", Role::Admin, password).unwrap();
        users.set_user("ann", Role::Viewer, password).unwrap();
        assert!(users.remove("ann").unwrap());
        assert_eq!(users.all().len(), 1);
    }

    #[test]
    fn a_new_password_changes_the_credential_sessions_are_bound_to() {
        let mut users = Users::default();
        users
            .set_user("ann", Role::Viewer, "first long password")
            .unwrap();
        let first = users.get("ann").unwrap().credential();
        assert_eq!(first.len(), 64);
        // The same password with another role: the same credential.
        users
            .set_user("ann", Role::Admin, "first long password")
            .unwrap();
        assert_eq!(users.get("ann").unwrap().credential(), first);
        assert_eq!(users.get("ann").unwrap().role, Role::Admin);
        users
            .set_user("ann", Role::Admin, "second long password")
            .unwrap();
        let second = users.get("ann").unwrap().credential();
        assert_ne!(second, first);
        // Removed and added again with the first password: a new salt, a new credential.
        users
            .set_user("bob", Role::Admin, "bob's long password")
            .unwrap();
        assert!(users.remove("ann").unwrap());
        users
            .set_user("ann", Role::Admin, "first long password")
            .unwrap();
        let third = users.get("ann").unwrap().credential();
        assert!(third != first && third != second);
    }

    #[test]
    fn a_token_in_plain_text_is_refused_without_showing_it() {
        let err = Users::parse(
            Path::new("users.toml"),
            "[[user]]\nname = \"eve\"\nrole = \"viewer\"\ntokens = [\"wct_plaintextsecret\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("not a SHA-256 hash") && err.contains("`webcare token eve`"),
            "{err}"
        );
        assert!(!err.contains("wct_"), "{err}");
    }

    #[test]
    fn plain_text_passwords_and_bad_roles_are_refused_with_the_line() {
        let err = Users::parse(
            Path::new("users.toml"),
            "[[user]]\nname = \"ann\"\nrole = \"admin\"\npassword = \"geheim\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("users.toml:4:") && err.contains("plain-text"),
            "{err}"
        );
        let err = Users::parse(
            Path::new("users.toml"),
            "[[user]]\nname = \"ann\"\nrole = \"root\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("users.toml:3:") && err.contains("unknown role"),
            "{err}"
        );
        let err = Users::parse(
            Path::new("users.toml"),
            "[[user]]\nname = \"ann\"\nrole = \"admin\"\npassword_hash = \"geheim\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not an argon2 hash"), "{err}");
    }

    #[test]
    fn failed_logins_are_braked_per_key() {
        let limiter = LoginLimiter::default();
        let t = Instant::now();
        for _ in 0..MAX_FAILED_LOGINS {
            assert!(limiter.blocked(&["ip:1", "user:ann"], t).is_none());
            limiter.record_failure(&["ip:1", "user:ann"], t);
        }
        assert!(limiter.blocked(&["ip:1"], t).is_some());
        assert!(limiter.blocked(&["user:ann", "ip:2"], t).is_some());
        assert!(limiter.blocked(&["ip:2", "user:bob"], t).is_none());
        assert!(limiter.blocked(&["ip:1"], t + LOGIN_WINDOW).is_none());
    }
}
