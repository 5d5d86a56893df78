//! `[alerts]` and `[mail]` in the config: strict, with file, line and key in every error.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{AtLeast, ConfigError, HumanDuration, Secret, Validator};
use crate::pipeline::aspects::ASPECTS;

/// Facets detection may split aspects by: fields the index counts fast.
pub const FACETS: &[&str] = &["source", "lang"];

/// How recurring complaints are detected.
#[derive(Debug, Clone)]
pub struct Alerts {
    pub enabled: bool,
    /// How often the daemon looks.
    pub every: Duration,
    /// The recent windows whose voices are counted, shortest first (hours catch a
    /// burst early, days a wave).
    pub windows: Vec<Duration>,
    /// The period before the window that says what is usual.
    pub baseline: Duration,
    pub min_voices: u64,
    pub alpha: f64,
    pub min_ratio: f64,
    /// An incident closes when it has had no signal for this long.
    pub close_after: Duration,
    /// Also count per aspect and value of these facets (`source`, `lang`).
    pub facets: Vec<String>,
    /// Look for words over-represented in recent complaints.
    pub emerging_terms: bool,
}

impl Default for Alerts {
    fn default() -> Alerts {
        Alerts {
            enabled: true,
            every: Duration::from_secs(5 * 60),
            windows: vec![
                Duration::from_secs(6 * 3600),
                Duration::from_secs(24 * 3600),
            ],
            baseline: Duration::from_secs(28 * 24 * 3600),
            min_voices: 5,
            alpha: 0.001,
            min_ratio: 3.0,
            close_after: Duration::from_secs(48 * 3600),
            facets: Vec::new(),
            emerging_terms: true,
        }
    }
}

impl Alerts {
    /// The longest window: examples, words and search links come from it.
    pub fn window(&self) -> Duration {
        self.windows
            .iter()
            .copied()
            .max()
            .unwrap_or(Duration::from_secs(24 * 3600))
    }

    pub fn thresholds(&self) -> super::stats::Thresholds {
        super::stats::Thresholds {
            alpha: self.alpha,
            min_voices: self.min_voices,
            min_ratio: self.min_ratio,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain, then STARTTLS, which must succeed (port 587).
    StartTls,
    /// No TLS at all: only for a relay on 127.0.0.1.
    None,
}

#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub timeout: Duration,
}

/// Which incidents go to whom.
#[derive(Debug, Clone, PartialEq)]
pub struct MailRule {
    pub to: Vec<String>,
    /// Aspects this rule is for; empty: all, and emerging terms too.
    pub aspects: Vec<String>,
}

/// The language of the mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailLanguage {
    Nl,
    En,
}

/// Alert e-mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `None`: incidents are kept and shown in the API, no mail is sent.
    pub smtp: Option<Smtp>,
    pub from: String,
    pub language: MailLanguage,
    /// An update about a growing incident at most this often.
    pub update_every: Duration,
    /// Where staff open webcare (for the search links in mails).
    pub link_base: String,
    pub rules: Vec<MailRule>,
    /// A daily digest of open incidents at this time of day (Europe/Amsterdam).
    pub digest_at: Option<chrono::NaiveTime>,
}

impl Default for Mail {
    fn default() -> Mail {
        Mail {
            smtp: None,
            from: "webcare <webcare@localhost>".into(),
            language: MailLanguage::Nl,
            update_every: Duration::from_secs(6 * 3600),
            link_base: "http://127.0.0.1:8080".into(),
            rules: Vec::new(),
            digest_at: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    enabled: Option<bool>,
    every: Option<AtLeast<60>>,
    windows: Option<Spanned<Vec<String>>>,
    baseline: Option<Spanned<HumanDuration>>,
    min_voices: Option<Spanned<u64>>,
    alpha: Option<Spanned<f64>>,
    min_ratio: Option<Spanned<f64>>,
    close_after: Option<HumanDuration>,
    facets: Option<Spanned<Vec<String>>>,
    emerging_terms: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMail {
    enabled: Option<bool>,
    smtp_host: Option<Spanned<String>>,
    smtp_port: Option<Spanned<u16>>,
    security: Option<Spanned<String>>,
    username: Option<String>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    /// Refused: a password never goes in the config.
    password: Option<Spanned<String>>,
    timeout: Option<AtLeast<1>>,
    from: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    update_every: Option<HumanDuration>,
    link_base: Option<Spanned<String>>,
    digest_at: Option<Spanned<String>>,
    #[serde(default)]
    rules: Vec<RawMailRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailRule {
    to: Spanned<Vec<String>>,
    #[serde(default)]
    aspects: Option<Spanned<Vec<String>>>,
}

pub(crate) fn alerts(v: &Validator, raw: RawAlerts) -> Result<Alerts, ConfigError> {
    let d = Alerts::default();
    let alpha = match raw.alpha {
        Some(a) if !(*a.get_ref() > 0.0 && *a.get_ref() < 0.5) => {
            return Err(v.invalid(
                Some(a.span()),
                "alerts.alpha",
                "must be between 0 and 0.5, e.g. 0.001",
            ))
        }
        Some(a) => a.into_inner(),
        None => d.alpha,
    };
    let min_ratio = match raw.min_ratio {
        Some(r) if r.get_ref().is_nan() || *r.get_ref() < 1.0 => {
            return Err(v.invalid(Some(r.span()), "alerts.min_ratio", "must be at least 1.0"))
        }
        Some(r) => r.into_inner(),
        None => d.min_ratio,
    };
    let min_voices = match raw.min_voices {
        Some(n) if *n.get_ref() == 0 => {
            return Err(v.invalid(Some(n.span()), "alerts.min_voices", "must be at least 1"))
        }
        Some(n) => n.into_inner(),
        None => d.min_voices,
    };
    let facets = match raw.facets {
        Some(f) => {
            if let Some(bad) = f.get_ref().iter().find(|x| !FACETS.contains(&x.as_str())) {
                return Err(v.invalid(
                    Some(f.span()),
                    "alerts.facets",
                    format!("unknown facet {bad:?}; known: {}", FACETS.join(", ")),
                ));
            }
            f.into_inner()
        }
        None => d.facets,
    };
    // Where a conflict between `windows` and `baseline` is written: the baseline's line
    // if it is there, else the windows'.
    let mut conflict_at = raw.windows.as_ref().map(Spanned::span);
    let mut windows = match raw.windows {
        Some(list) => {
            let span = list.span();
            let mut parsed = Vec::new();
            for text in list.get_ref() {
                parsed.push(
                    crate::config::parse_duration(text)
                        .map_err(|m| v.invalid(Some(span.clone()), "alerts.windows", m))?,
                );
            }
            if parsed.is_empty() {
                return Err(v.invalid(
                    Some(span),
                    "alerts.windows",
                    "needs at least one window, e.g. [\"6h\", \"24h\"]",
                ));
            }
            parsed
        }
        None => d.windows,
    };
    windows.sort();
    windows.dedup();
    let window = windows.iter().copied().max().unwrap_or_default();
    let baseline = match raw.baseline {
        Some(b) => {
            conflict_at = Some(b.span());
            b.into_inner().0
        }
        None => d.baseline,
    };
    // Detection waits for a week of complaints before the window (`MIN_HISTORY`); a
    // baseline that cannot hold a week would keep it silent for ever.
    if chrono::Duration::from_std(baseline).is_ok_and(|b| b <= super::MIN_HISTORY) {
        return Err(v.invalid(
            conflict_at.clone(),
            "alerts.baseline",
            "must be longer than 7 days: nothing alarms before a week of history, and the baseline must hold it",
        ));
    }
    if baseline < window * 2 {
        return Err(v.invalid(
            conflict_at,
            "alerts.baseline",
            "must be at least twice the longest of `windows`: the usual needs more history than the recent",
        ));
    }
    Ok(Alerts {
        enabled: raw.enabled.unwrap_or(d.enabled),
        every: raw.every.map_or(d.every, |x| x.0),
        windows,
        baseline,
        min_voices,
        alpha,
        min_ratio,
        close_after: raw.close_after.map_or(d.close_after, |x| x.0),
        facets,
        emerging_terms: raw.emerging_terms.unwrap_or(d.emerging_terms),
    })
}

/// Whether `address` is a mailbox lettre can send to (`name <a@b>` or `a@b`).
fn valid_mailbox(address: &str) -> bool {
    address.parse::<lettre::message::Mailbox>().is_ok()
}

pub(crate) fn mail(v: &Validator, raw: RawMail) -> Result<Mail, ConfigError> {
    let d = Mail::default();
    if let Some(p) = &raw.password {
        return Err(v.invalid(
            Some(p.span()),
            "mail.password",
            "a password never goes in the config: use `password_env` (an environment variable) or `password_file`",
        ));
    }
    let from = match raw.from {
        Some(f) if !valid_mailbox(f.get_ref()) => {
            return Err(v.invalid(
                Some(f.span()),
                "mail.from",
                format!(
                    "{:?} is not an e-mail address (\"webcare <webcare@example.org>\")",
                    f.get_ref()
                ),
            ))
        }
        Some(f) => f.into_inner(),
        None => d.from,
    };
    let language = match raw.language {
        Some(l) => match l.get_ref().as_str() {
            "nl" => MailLanguage::Nl,
            "en" => MailLanguage::En,
            other => {
                return Err(v.invalid(
                    Some(l.span()),
                    "mail.language",
                    format!("{other:?}: use \"nl\" or \"en\""),
                ))
            }
        },
        None => d.language,
    };
    let mut rules = Vec::with_capacity(raw.rules.len());
    for (i, rule) in raw.rules.into_iter().enumerate() {
        let key = format!("mail.rules[{i}]");
        if rule.to.get_ref().is_empty() {
            return Err(v.invalid(
                Some(rule.to.span()),
                &format!("{key}.to"),
                "needs at least one address",
            ));
        }
        if let Some(bad) = rule.to.get_ref().iter().find(|a| !valid_mailbox(a)) {
            return Err(v.invalid(
                Some(rule.to.span()),
                &format!("{key}.to"),
                format!("{bad:?} is not an e-mail address"),
            ));
        }
        let aspects = match rule.aspects {
            Some(a) => {
                if let Some(bad) = a.get_ref().iter().find(|x| !ASPECTS.contains(&x.as_str())) {
                    return Err(v.invalid(
                        Some(a.span()),
                        &format!("{key}.aspects"),
                        format!("{bad:?} is not an aspect; known: {}", ASPECTS.join(", ")),
                    ));
                }
                a.into_inner()
            }
            None => Vec::new(),
        };
        rules.push(MailRule {
            to: rule.to.into_inner(),
            aspects,
        });
    }
    let digest_at = match raw.digest_at {
        Some(t) => Some(
            chrono::NaiveTime::parse_from_str(t.get_ref(), "%H:%M").map_err(|_| {
                v.invalid(
                    Some(t.span()),
                    "mail.digest_at",
                    format!("{:?} is not a time of day; use \"08:00\"", t.get_ref()),
                )
            })?,
        ),
        None => None,
    };
    // Every value written is checked, also while mail is off: a typo would otherwise be
    // found only the day mail is switched on.
    if let Some(host) = raw.smtp_host.as_ref() {
        if host
            .get_ref()
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@')
        {
            return Err(v.invalid(
                Some(host.span()),
                "mail.smtp_host",
                "must be a host name or address only, e.g. \"smtp.example.org\" (no spaces, scheme, user or path)",
            ));
        }
    }
    if let Some(port) = raw.smtp_port.as_ref().filter(|p| *p.get_ref() == 0) {
        return Err(v.invalid(
            Some(port.span()),
            "mail.smtp_port",
            "must be a port from 1 to 65535 (or left out: 587 for starttls, 465 for tls)",
        ));
    }
    let security = match raw.security {
        Some(s) => match s.get_ref().as_str() {
            "tls" => Security::Tls,
            "starttls" => Security::StartTls,
            "none" => Security::None,
            other => {
                return Err(v.invalid(
                    Some(s.span()),
                    "mail.security",
                    format!("{other:?}: use \"starttls\", \"tls\" or \"none\" (\"none\" only for a relay on this machine)"),
                ))
            }
        },
        None => Security::StartTls,
    };
    let smtp = if raw.enabled.unwrap_or(false) {
        let host = raw.smtp_host.ok_or_else(|| {
            v.invalid(
                None,
                "mail.smtp_host",
                "mail is enabled: name the SMTP server",
            )
        })?;
        if host.get_ref().trim().is_empty() {
            return Err(v.invalid(
                Some(host.span()),
                "mail.smtp_host",
                "mail is enabled: name the SMTP server (it is empty)",
            ));
        }
        let password = v.secret(
            (raw.password_env.as_ref(), "mail.password_env"),
            (raw.password_file.as_ref(), "mail.password_file"),
        )?;
        if rules.is_empty() {
            return Err(v.invalid(
                None,
                "mail.rules",
                "mail is enabled but no rule says who gets it: add [[mail.rules]] with `to`",
            ));
        }
        Some(Smtp {
            host: host.into_inner(),
            port: raw
                .smtp_port
                .map(Spanned::into_inner)
                .unwrap_or(match security {
                    Security::Tls => 465,
                    Security::StartTls => 587,
                    Security::None => 25,
                }),
            security,
            username: raw.username,
            password,
            timeout: raw.timeout.map_or(Duration::from_secs(30), |x| x.0),
        })
    } else {
        None
    };
    Ok(Mail {
        smtp,
        from,
        language,
        update_every: raw.update_every.map_or(d.update_every, |x| x.0),
        link_base: match raw.link_base {
            // The mails' links are followed from a mail client: a whole http(s) address.
            Some(l) if !(l.get_ref().starts_with("http://") || l.get_ref().starts_with("https://")) => {
                return Err(v.invalid(
                    Some(l.span()),
                    "mail.link_base",
                    format!("{:?} is not an http(s) address; write it whole, e.g. \"https://webcare.example.nl\"", l.get_ref()),
                ))
            }
            Some(l) => l.into_inner().trim_end_matches('/').to_string(),
            None => d.link_base,
        },
        rules,
        digest_at,
    })
}
