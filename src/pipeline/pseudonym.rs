//! Pseudonyms: authors and @mentions of private persons become keyed hashes before
//! anything is stored.
//!
//! The pseudonym of a handle is `p_` and the first 12 bytes (24 hex digits) of
//! HMAC-SHA256(key, handle), the handle lower-cased and without its leading `@`. The same
//! person gets the same pseudonym in every mention, so distinct voices can still be
//! counted, but nobody can read who wrote what without the key — and the key lives
//! outside the config and the repository: in `WEBCARE_PSEUDONYM_KEY` (64 hex digits) or
//! in a key file under the data directory, created with a random key on first run and
//! readable by its owner only. Official accounts on the allow-list (`@IND_NL`, `@COAnl`)
//! stay readable in the text: they are institutions, not persons.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The environment variable that may hold the key (wins over the key file).
pub const KEY_ENV: &str = "WEBCARE_PSEUDONYM_KEY";
const KEY_BYTES: usize = 32;
/// Bytes of the HMAC kept in a pseudonym: 96 bits, no collisions at any realistic scale.
const PSEUDONYM_BYTES: usize = 12;
/// The file in the data directory that tells the key its pseudonyms were made with
/// from any other: the key's HMAC of [`FINGERPRINT_INPUT`], which says nothing of it.
pub const FINGERPRINT_FILE: &str = "pseudonym.fingerprint";
const FINGERPRINT_INPUT: &[u8] = b"webcare pseudonym key fingerprint 1";

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// The environment variable, else the file at `path` (created on first run), which
    /// made the pseudonyms in `data_dir`'s index and list of erased authors.
    File { path: PathBuf, data_dir: PathBuf },
    /// The file at `path` alone, whatever the environment holds: the demo's own key, for
    /// data that are no one's, which an installation's key must neither make nor read.
    OwnFile { path: PathBuf, data_dir: PathBuf },
    /// A random key for this process only: for `webcare eval` and tests, whose
    /// pseudonyms are never stored.
    Ephemeral,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{KEY_ENV}: must be {} hexadecimal digits of a random key", KEY_BYTES * 2)]
    Env,
    #[error("{path}: pseudonym key file: {message}")]
    File { path: PathBuf, message: String },
    #[error("{origin} is not the key that made the pseudonyms in {data_dir} ({FINGERPRINT_FILE} there names another): with it every author would get a second pseudonym and erased authors would be stored again. Give the key this data directory was made with (check {KEY_ENV} and `[privacy] pseudonym_key_file`); to start over with a new key for good, delete {fingerprint}: erased authors are then no longer recognised")]
    Mismatch {
        origin: String,
        data_dir: PathBuf,
        fingerprint: PathBuf,
    },
    #[error("{KEY_ENV} is not the key in {path}, which made this data directory's pseudonyms (it keeps no fingerprint of its key yet): with it every author would get a second pseudonym and erased authors would be stored again. Give the same key in both, or delete {path} if the environment's key is the one the pseudonyms were made with")]
    EnvAgainstFile { path: PathBuf },
}

/// Turns handles into pseudonyms.
pub struct Pseudonymiser {
    key: [u8; KEY_BYTES],
    /// Lower-cased handles without `@` that stay readable.
    public_accounts: HashSet<String>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Pseudonymiser")
            .field("public_accounts", &self.public_accounts)
            .finish_non_exhaustive()
    }
}

impl KeySource {
    /// Checks the key as loading it would, without making one (for `webcare
    /// check-config`, which changes nothing): a key there must be readable and well
    /// formed; a missing one is refused only where it would be lost.
    pub fn check(&self) -> Result<(), KeyError> {
        let (path, data_dir, env) = match self {
            KeySource::File { path, data_dir } => (path, data_dir, std::env::var(KEY_ENV).ok()),
            KeySource::OwnFile { path, data_dir } => (path, data_dir, None),
            KeySource::Ephemeral => return Ok(()),
        };
        if let Some(hex) = env {
            let key = parse_hex_key(hex.trim()).ok_or(KeyError::Env)?;
            check_env_against_file(&key, path, data_dir)?;
            return check_fingerprint(&key, KEY_ENV, data_dir, false);
        }
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key = parse_hex_key(text.trim()).ok_or_else(|| KeyError::File {
                    path: path.to_owned(),
                    message: format!(
                        "must hold {} hexadecimal digits of a random key",
                        KEY_BYTES * 2
                    ),
                })?;
                check_fingerprint(&key, &path.display().to_string(), data_dir, false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => refuse_a_lost_key(path, data_dir),
            Err(e) => Err(KeyError::File {
                path: path.to_owned(),
                message: e.to_string(),
            }),
        }
    }
}

impl Pseudonymiser {
    /// Loads (or creates) the key and takes the allow-list of public accounts.
    pub fn new(source: &KeySource, public_accounts: &[String]) -> Result<Pseudonymiser, KeyError> {
        let key = match source {
            KeySource::Ephemeral => {
                let mut key = [0u8; KEY_BYTES];
                rand::rng().fill_bytes(&mut key);
                key
            }
            KeySource::File { path, data_dir } => {
                let (key, origin) = match std::env::var(KEY_ENV) {
                    Ok(hex) => {
                        let key = parse_hex_key(hex.trim()).ok_or(KeyError::Env)?;
                        check_env_against_file(&key, path, data_dir)?;
                        (key, KEY_ENV.to_string())
                    }
                    Err(_) => (load_or_create(path, data_dir)?, path.display().to_string()),
                };
                check_fingerprint(&key, &origin, data_dir, true)?;
                key
            }
            KeySource::OwnFile { path, data_dir } => {
                let key = load_or_create(path, data_dir)?;
                check_fingerprint(&key, &path.display().to_string(), data_dir, true)?;
                key
            }
        };
        Ok(Pseudonymiser {
            key,
            public_accounts: public_accounts
                .iter()
                .map(|a| a.trim_start_matches('@').to_lowercase())
                .collect(),
        })
    }

    /// The pseudonym of `handle` (`@Name`, `name`, `name@instance` alike).
    pub fn pseudonym(&self, handle: &str) -> String {
        let canonical = handle.trim().trim_start_matches('@').to_lowercase();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(canonical.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(2 + PSEUDONYM_BYTES * 2);
        out.push_str("p_");
        for b in &digest[..PSEUDONYM_BYTES] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Whether `handle` is an official account that stays readable.
    pub fn is_public(&self, handle: &str) -> bool {
        self.public_accounts
            .contains(&handle.trim_start_matches('@').to_lowercase())
    }

    /// Replaces every @mention in `text` by `@` and its pseudonym, except public accounts.
    /// Mastodon-style `@name@instance` is one handle.
    pub fn mentions(&self, text: &str) -> String {
        // A pseudonym stays as it is: staff search `@p_…` as a snippet shows it, and the
        // audit trail must record whom they looked up, not a pseudonym of the pseudonym.
        // In any case: search reads `@P_…` as the pseudonym it is.
        self.replace_mentions(text, |handle| {
            let lower = handle.to_ascii_lowercase();
            match is_pseudonym(&lower) {
                true => format!("@{lower}"),
                false => format!("@{}", self.pseudonym(handle)),
            }
        })
    }

    /// `text` with the @mentions of private persons taken out (a space where they
    /// were), public accounts kept: as the analysis reads a mention, where neither a
    /// handle's words nor its pseudonym say anything about the procedure.
    pub fn blank_mentions(&self, text: &str) -> String {
        self.replace_mentions(text, |_| " ".to_string())
    }

    fn replace_mentions(&self, text: &str, private: impl Fn(&str) -> String) -> String {
        let mut text = std::borrow::Cow::Borrowed(text);
        if text.contains('@') {
            text = mention_pattern()
                .replace_all(&text, |c: &regex::Captures| {
                    let handle = &c[2];
                    if self.is_public(handle) {
                        c[0].to_string()
                    } else {
                        format!("{}{}", &c[1], private(handle))
                    }
                })
                .into_owned()
                .into();
            // What is left of a name@something the redaction did not take for an
            // e-mail address: a handle glued to the word before it, or an address
            // without its top-level domain. Either side may name the person.
            if text.contains('@') {
                text = glued_pattern()
                    .replace_all(&text, |c: &regex::Captures| {
                        if self.is_public(&c["handle"]) || is_pseudonym(&c["handle"]) {
                            c[0].to_string()
                        } else {
                            format!("{}{}", &c["before"], private(&c["glued"]))
                        }
                    })
                    .into_owned()
                    .into();
            }
        }
        // Handles without an @: Reddit's u/name, and the address of a profile. Most
        // links are neither: the pattern (whose alternatives defeat the regex engine's
        // literal prefilter) runs only where one of its literals is.
        static LITERALS: std::sync::LazyLock<aho_corasick::AhoCorasick> =
            std::sync::LazyLock::new(|| {
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(["u/", ".com/", ".net/", "t.me/", "bsky.app/"])
                    .expect("five literals build")
            });
        if LITERALS.is_match(text.as_ref()) {
            text = profile_pattern()
                .replace_all(&text, |c: &regex::Captures| {
                    let handle = &c["handle"];
                    let kept = NOT_HANDLES.contains(&handle.to_lowercase().as_str())
                        || self.is_public(handle)
                        || is_pseudonym(handle);
                    if kept {
                        c[0].to_string()
                    } else {
                        // `before` holds the @ where the address has one.
                        let pseudonym = private(handle);
                        format!("{}{}", &c["before"], pseudonym.trim_start_matches('@'))
                    }
                })
                .into_owned()
                .into();
        }
        // A Bluesky account id on its own, as in a post's address (`at://did:plc:…/…`):
        // it names the account as a handle does.
        if text.contains("did:") {
            text = did_pattern()
                .replace_all(&text, |c: &regex::Captures| {
                    let pseudonym = private(&c["did"]);
                    format!("{}{}", &c["before"], pseudonym.trim_start_matches('@'))
                })
                .into_owned()
                .into();
        }
        text.into_owned()
    }
}

/// A Bluesky account id (`did:plc:…`, `did:web:host`), after an @, a profile address or
/// on its own; not the full stop of the sentence it ends.
const DID: &str = r"did:[a-z0-9]+:[A-Za-z0-9._%\-]*[A-Za-z0-9%\-]";

/// A [`DID`] not after an @ or a profile address, which the patterns before it have
/// taken.
fn did_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(&format!(r"(?P<before>^|[^\w:@])(?P<did>{DID})"))
            .expect("DID pattern compiles")
    })
}

/// Whether `handle` is a pseudonym (`p_` and 24 hex digits) rather than a handle.
pub fn is_pseudonym(handle: &str) -> bool {
    handle.len() == 2 + PSEUDONYM_BYTES * 2
        && handle.starts_with("p_")
        && handle[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The pseudonyms in a text as [`Pseudonymiser::pseudonym`] writes them.
pub fn pseudonym_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(&format!("p_[0-9a-f]{{{}}}", PSEUDONYM_BYTES * 2))
            .expect("pseudonym pattern compiles")
    })
}

/// Path words of the sites in [`profile_pattern`] that are no profile ("twitter.com/
/// search"), and the Dutch "u/jij" (you, formal or not).
const NOT_HANDLES: &[&str] = &[
    "search",
    "hashtag",
    "explore",
    "i",
    "home",
    "intent",
    "share",
    "sharer",
    "p",
    "reel",
    "reels",
    "status",
    "watch",
    "groups",
    "pages",
    "events",
    "login",
    "signup",
    "help",
    "about",
    "privacy",
    "tos",
    "settings",
    "messages",
    "notifications",
    "policies",
    "channel",
    "c",
    "results",
    "shorts",
    "video",
    "tag",
    "discover",
    "r",
    "jij",
    "jou",
    "jouw",
    "jullie",
    "uw",
];

/// A Reddit user (`u/name`, `/u/name`) or the address of a profile on a social site
/// (`twitter.com/name`, `instagram.com/name`, `reddit.com/user/name`,
/// `bsky.app/profile/name.bsky.social` or its DID, …): group `before` is kept, `handle`
/// is the person's.
fn profile_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(&format!(
            r"(?P<before>(?:^|[^\w/.])/?u/|(?i:\b(?:twitter\.com|x\.com|instagram\.com|facebook\.com|fb\.com|tiktok\.com|threads\.net|youtube\.com|reddit\.com/u(?:ser)?|linkedin\.com/in|t\.me|bsky\.app/profile)/@?))(?P<handle>{DID}|[A-Za-z0-9_][A-Za-z0-9_.\-]{{1,49}})",
        ))
        .expect("profile pattern compiles")
    })
}

/// An @ at the start or after a non-word character, then the handle. Or after a letter
/// or mark other than a-z (no e-mail address is written so): an Arabic one-letter
/// preposition is joined to the word after it ("شكرا ل@name", "لـ@name", thanks to
/// @name), and a handle may be glued to the word before it ("Спасибо@name"). After a-z
/// or a digit it is [`glued_pattern`]'s.
fn mention_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(&format!(
            r"(^|[^\w@]|[[\p{{L}}\p{{M}}\u{{200c}}]--[A-Za-z]])@({DID}|\w[\w.\-]*\w(?:@[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9])?|\w)",
        ))
        .expect("mention pattern compiles")
    })
}

/// A name@something that is no e-mail address the redaction knows (it has no top-level
/// domain), left by [`mention_pattern`]: "jan.jansen@bedrijf", or a handle glued to the
/// word before it ("Bedankt@name"). Which it is cannot be told, and the part before
/// the @ may be a name, so the whole (group `glued`) is one pseudonym; group `handle`
/// is the part after the @, which may be a public account. Both begin with a letter:
/// a year, a time or a count before an @ is no name ("10@11", "2024@Ter Apel", "3pm@COA").
fn glued_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        regex::Regex::new(
            r"(?P<before>^|[^\w.+\-@])(?P<glued>[A-Za-z](?:[\w.+\-]*[A-Za-z0-9_])?@(?P<handle>[A-Za-z_][\w.\-]*\w|[A-Za-z_]))",
        )
        .expect("glued pattern compiles")
    })
}

/// The key in `hex`; `None` unless it is 64 hex digits and not all one byte value (a
/// key of zeros, or a placeholder left in, is no secret).
fn parse_hex_key(hex: &str) -> Option<[u8; KEY_BYTES]> {
    if hex.len() != KEY_BYTES * 2 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; KEY_BYTES];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(key).filter(|k| k.iter().any(|&b| b != k[0]))
}

/// Refuses to make a new key where the key file is gone but what was made with it is
/// kept (an index, a list of erased authors): a new key would give every author a second
/// pseudonym and let the erased ones back in, silently. A data directory restored
/// without its key, or a `pseudonym_key_file` moved, is the usual cause. Any command
/// that loads the key asks, so that none makes a new one unnoticed.
fn refuse_a_lost_key(path: &Path, data_dir: &Path) -> Result<(), KeyError> {
    let index = data_dir.join(crate::search::INDEX_DIR);
    let erased = data_dir.join(crate::search::erased::ERASED_FILE);
    let fingerprint = data_dir.join(FINGERPRINT_FILE);
    let found = if crate::search::holds_segments(&index) {
        Some(index)
    } else {
        [erased, fingerprint].into_iter().find(|e| e.exists())
    };
    match found {
        None => Ok(()),
        Some(found) => Err(KeyError::File {
            path: path.to_owned(),
            message: format!(
                "missing, but {} was made with it: restore the key file from the backup of the data directory, or point `[privacy] pseudonym_key_file` at it (or set {KEY_ENV}). If it is lost for good, write a new random key there yourself (`openssl rand -hex 32 > {}`) and delete {}: authors then get new pseudonyms, and erased authors are no longer recognised",
                found.display(),
                path.display(),
                data_dir.join(FINGERPRINT_FILE).display()
            ),
        }),
    }
}

fn fingerprint(key: &[u8; KEY_BYTES]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(FINGERPRINT_INPUT);
    let bytes = mac.finalize().into_bytes();
    bytes[..PSEUDONYM_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Refuses a key (from `origin`) other than the one that made `data_dir`'s pseudonyms:
/// a mistyped or another installation's `WEBCARE_PSEUDONYM_KEY` would let erased authors
/// back in as silently as a lost key file would. Where no fingerprint is kept yet (a
/// new data directory, or one from before fingerprints), `record` keeps this key's.
fn check_fingerprint(
    key: &[u8; KEY_BYTES],
    origin: &str,
    data_dir: &Path,
    record: bool,
) -> Result<(), KeyError> {
    let path = data_dir.join(FINGERPRINT_FILE);
    let ours = fingerprint(key);
    let record_ours = |replace: bool| {
        if !record {
            return;
        }
        let written = std::fs::create_dir_all(data_dir)
            .and_then(|()| match replace {
                true => std::fs::remove_file(&path),
                false => Ok(()),
            })
            .and_then(|()| write_private(&path, &format!("{ours}\n")));
        // Without it the key is still the right one; the next load tries again.
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot keep the pseudonym key's fingerprint; a different key would not be noticed");
        }
    };
    match std::fs::read_to_string(&path) {
        Ok(kept) if kept.trim() == ours => Ok(()),
        // Made but not written (a crash in between): as if none were kept.
        Ok(kept) if kept.trim().is_empty() => {
            record_ours(true);
            Ok(())
        }
        Ok(_) => Err(KeyError::Mismatch {
            origin: origin.to_string(),
            data_dir: data_dir.to_owned(),
            fingerprint: path,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            record_ours(false);
            Ok(())
        }
        Err(e) => Err(KeyError::File {
            path,
            message: e.to_string(),
        }),
    }
}

/// Before a fingerprint is kept (a data directory from before them), the key file is what
/// made the directory's pseudonyms: a key in the environment that differs from it is
/// refused rather than trusted as the first key seen.
fn check_env_against_file(
    key: &[u8; KEY_BYTES],
    path: &Path,
    data_dir: &Path,
) -> Result<(), KeyError> {
    // An empty fingerprint (made, then a crash before it was written) keeps none.
    let kept = std::fs::read_to_string(data_dir.join(FINGERPRINT_FILE))
        .is_ok_and(|text| !text.trim().is_empty());
    if kept {
        return Ok(());
    }
    let in_file = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| parse_hex_key(text.trim()));
    match in_file {
        Some(file_key) if file_key != *key => Err(KeyError::EnvAgainstFile {
            path: path.to_owned(),
        }),
        _ => Ok(()),
    }
}

fn load_or_create(path: &Path, data_dir: &Path) -> Result<[u8; KEY_BYTES], KeyError> {
    let fail = |message: String| KeyError::File {
        path: path.to_owned(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            tighten(path);
            parse_hex_key(text.trim()).ok_or_else(|| {
                fail(format!(
                    "must hold {} hexadecimal digits of a random key",
                    KEY_BYTES * 2
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            refuse_a_lost_key(path, data_dir)?;
            let mut key = [0u8; KEY_BYTES];
            rand::rng().fill_bytes(&mut key);
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
            }
            write_private(path, &format!("{hex}\n")).map_err(|e| fail(e.to_string()))?;
            tracing::info!(path = %path.display(), "created a new pseudonym key; back it up with the index");
            Ok(key)
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Makes the key file readable by its owner only where others could read it.
fn tighten(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => {
                    tracing::warn!(path = %path.display(), was = format!("{:o}", mode & 0o777), "the pseudonym key file was readable by others; made it private to its owner (600)")
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "the pseudonym key file is readable by others and cannot be made private")
                }
            }
        }
    }
}

/// Writes a file only its owner may read, refusing to overwrite one.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_dir(path: &Path) -> KeySource {
        KeySource::File {
            path: path.to_owned(),
            data_dir: path.parent().unwrap().to_owned(),
        }
    }

    fn with_file(dir: &Path) -> Pseudonymiser {
        Pseudonymiser::new(
            &KeySource::File {
                path: dir.join("pseudonym.key"),
                data_dir: dir.to_owned(),
            },
            &["@IND_NL".to_string(), "COAnl".to_string()],
        )
        .unwrap()
    }

    #[test]
    fn same_handle_same_pseudonym_and_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let p = with_file(dir.path());
        let a = p.pseudonym("@Amina_Wacht");
        assert_eq!(a, p.pseudonym("amina_wacht"));
        assert_ne!(a, p.pseudonym("amina_wacht2"));
        assert!(a.starts_with("p_") && a.len() == 26, "{a}");
        assert!(!a.contains("amina"));
        // The key file was created, private, and gives the same pseudonyms next time.
        let again = with_file(dir.path());
        assert_eq!(again.pseudonym("amina_wacht"), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("pseudonym.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key file is readable by others: {mode:o}");
        }
    }

    #[test]
    fn mentions_are_pseudonymised_except_public_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let p = with_file(dir.path());
        let text = p.mentions(
            "RT @amina_wacht: bel de IND. @IND_NL @coanl help! cc @jan@mastodon.social, mail [email]",
        );
        assert!(!text.contains("amina") && !text.contains("jan@"), "{text}");
        assert!(
            text.contains("@IND_NL") && text.contains("@coanl"),
            "{text}"
        );
        assert!(
            text.starts_with(&format!("RT @{}:", p.pseudonym("amina_wacht"))),
            "{text}"
        );
        assert!(text.contains(&format!("@{},", p.pseudonym("jan@mastodon.social"))));
        assert_eq!(p.mentions("geen handles hier"), "geen handles hier");
        // A pseudonym is no handle to pseudonymise again (a search for one, as a
        // snippet shows it, is recorded as typed): the pseudonymisation is idempotent.
        let once = p.mentions("zoek @amina_wacht en @p_0123456789abcdef01234567");
        assert_eq!(
            once,
            format!(
                "zoek @{} en @p_0123456789abcdef01234567",
                p.pseudonym("amina_wacht")
            )
        );
        assert_eq!(p.mentions(&once), once);
        assert_eq!(
            p.mentions("@P_0123456789ABCDEF01234567"),
            "@p_0123456789abcdef01234567"
        );
        // Joined to an Arabic preposition, or after a vowel mark: a mention all the same.
        let karim = p.pseudonym("karim_test");
        assert_eq!(
            p.mentions("شكرا ل@karim_test على المساعدة"),
            format!("شكرا ل@{karim} على المساعدة")
        );
        assert_eq!(p.mentions("شكراً@karim_test"), format!("شكراً@{karim}"));
        assert_eq!(p.mentions("شكراً لـ@karim_test"), format!("شكراً لـ@{karim}"));
        assert_eq!(
            p.mentions("ممنون از\u{200c}@karim_test"),
            format!("ممنون از\u{200c}@{karim}")
        );
        // A handle glued to the word before it.
        assert_eq!(
            p.mentions("Спасибо@karim_test за помощь, ስለ@karim_test"),
            format!("Спасибо@{karim} за помощь, ስለ@{karim}")
        );
        // After a-z, the part before the @ may be an address's name: both go.
        assert_eq!(
            p.mentions("Bedankt@karim_test! mail jan.jansen@bedrijf of (amina@example)"),
            format!(
                "@{}! mail @{} of (@{})",
                p.pseudonym("Bedankt@karim_test"),
                p.pseudonym("jan.jansen@bedrijf"),
                p.pseudonym("amina@example")
            )
        );
        // Numbers, and an official account after a word, stay.
        for text in [
            "om 10@11 uur",
            "2@€5",
            "In 2024@Ter Apel",
            "3pm@COA office",
            "Dank@IND_NL",
            "a@",
            "@",
        ] {
            assert_eq!(p.mentions(text), text);
        }
    }

    #[test]
    fn handles_without_an_at_sign_are_pseudonymised_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = with_file(dir.path());
        let text = p.mentions(
            "zie u/jan_jansen en /u/Amina-W, https://twitter.com/jan_jansen/status/1 en \
             instagram.com/fatima.r en https://x.com/@someone en www.reddit.com/user/bert_b en \
             https://bsky.app/profile/noor.bsky.social/post/3l en bsky.app/profile/did:plc:abc12 \
             en @did:plc:xyz34 en did:plc:z72i7hdynmk6r22z27h6tvur zegt, \
             at://did:plc:qrstuvwxyz234567/app.bsky.feed.post/3kabc en did:web:noor.example.org.",
        );
        let shouted = p.mentions("HTTPS://TWITTER.COM/Jan_Jansen");
        assert!(!shouted.contains("Jan_Jansen"), "{shouted}");
        for raw in [
            "jan_jansen",
            "Amina-W",
            "fatima.r",
            "someone",
            "bert_b",
            "noor.bsky.social",
            "abc12",
            "xyz34",
            "z72i7hdynmk6r22z27h6tvur",
            "qrstuvwxyz234567",
            "noor.example",
        ] {
            assert!(!text.contains(raw), "{raw}: {text}");
        }
        assert!(
            text.contains(&format!(
                "u/{} en /u/{}",
                p.pseudonym("jan_jansen"),
                p.pseudonym("amina-w")
            )),
            "{text}"
        );
        assert!(text.contains(&format!(
            "twitter.com/{}/status/1",
            p.pseudonym("jan_jansen")
        )));
        assert!(
            text.contains(&format!("x.com/@{} ", p.pseudonym("someone"))),
            "{text}"
        );
        // A DID alone is the account's pseudonym, as after `bsky.app/profile/`; the
        // sentence's full stop is no part of it.
        let did = "did:plc:z72i7hdynmk6r22z27h6tvur";
        assert!(
            text.contains(&format!(" {} zegt", p.pseudonym(did))),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "at://{}/app.bsky.feed.post/3kabc",
                p.pseudonym("did:plc:qrstuvwxyz234567")
            )),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(" {}.", p.pseudonym("did:web:noor.example.org"))),
            "{text}"
        );
        // Not profiles: a site's own pages, Dutch "u/jij", an official account.
        for text in [
            "kies u/jij in de brief",
            "https://twitter.com/search?q=ind en https://www.facebook.com/groups/123",
            "https://www.youtube.com/watch?v=abc",
            "zie https://ind.nl/nl/asiel en 12/3",
            "did: wat de IND deed",
        ] {
            assert_eq!(p.mentions(text), text);
        }
    }

    #[test]
    fn no_new_key_is_made_where_pseudonyms_of_a_lost_one_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pseudonym.key");
        // A first start: a key is made.
        Pseudonymiser::new(&in_dir(&path), &[]).unwrap();
        // The data directory restored without it: refused, and none made.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(dir.path().join(crate::search::erased::ERASED_FILE), "{}").unwrap();
        let err = Pseudonymiser::new(&in_dir(&path), &[])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("missing, but") && err.contains("erased.json"),
            "{err}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn a_key_other_than_the_one_of_the_data_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pseudonym.key");
        let first = Pseudonymiser::new(&in_dir(&path), &[]).unwrap();
        let fingerprint = std::fs::read_to_string(dir.path().join(FINGERPRINT_FILE)).unwrap();
        // It says nothing of the key, nor is it anyone's pseudonym.
        let key = std::fs::read_to_string(&path).unwrap();
        assert!(!fingerprint.contains(key.trim()) && fingerprint.trim().len() == 24);
        // The same key again: accepted, by loading and by check-config.
        Pseudonymiser::new(&in_dir(&path), &[]).unwrap();
        in_dir(&path).check().unwrap();
        // Another key in the file (or, the same way, in the environment): refused.
        std::fs::write(&path, format!("{}\n", "0123456789abcdef".repeat(4))).unwrap();
        for err in [
            Pseudonymiser::new(&in_dir(&path), &[]).err().unwrap(),
            in_dir(&path).check().err().unwrap(),
        ] {
            let err = err.to_string();
            assert!(
                err.contains("is not the key that made the pseudonyms")
                    && err.contains(FINGERPRINT_FILE),
                "{err}"
            );
        }
        // Deleting the fingerprint is the way to start over with a new key.
        std::fs::remove_file(dir.path().join(FINGERPRINT_FILE)).unwrap();
        let second = Pseudonymiser::new(&in_dir(&path), &[]).unwrap();
        assert_ne!(first.pseudonym("karim_h"), second.pseudonym("karim_h"));
    }

    #[test]
    fn a_broken_key_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pseudonym.key");
        std::fs::write(&path, "kort").unwrap();
        let err = Pseudonymiser::new(&in_dir(&path), &[])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("pseudonym.key") && err.contains("64 hexadecimal"),
            "{err}"
        );
        // A key of one repeated byte is no secret.
        std::fs::write(&path, "0".repeat(64)).unwrap();
        let err = Pseudonymiser::new(&in_dir(&path), &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("random key"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_could_read_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pseudonym.key");
        std::fs::write(&path, format!("{}\n", "0123456789abcdef".repeat(4))).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Pseudonymiser::new(&in_dir(&path), &[]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
