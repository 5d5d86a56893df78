//! Alert e-mail: composed when an incident opens or grows, stored in the outbox before
//! it is sent, sent by one loop that retries with backoff while the SMTP server is down
//! or refuses, and marked sent only after the server accepted it — so a restart sends
//! what was stored and not yet accepted, and nothing twice that was.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rusqlite::params;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::incidents::{Change, Incident};
use super::settings::{Mail, MailLanguage, Security, Smtp};
use crate::pipeline::extract::escape_markup as escape;
use crate::state::{parse_timestamp, timestamp, StateDb, StateError};

/// Longest wait between attempts to send one message.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const FIRST_BACKOFF: Duration = Duration::from_secs(15);
/// How often the sender looks at the outbox.
const POLL: Duration = Duration::from_secs(5);

/// A message as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outgoing {
    pub id: i64,
    pub incident: Option<i64>,
    pub recipients: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attempts: u32,
    pub sent: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Files sent along (the weekly report's); not shown in listings.
    #[serde(skip)]
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to an outbox message, stored with it.
#[derive(Debug, Clone, PartialEq)]
pub struct MailAttachment {
    pub name: String,
    /// A MIME type, e.g. `text/csv; charset=utf-8`.
    pub content_type: String,
    pub body: Vec<u8>,
}

pub(crate) fn aspect_label(aspect: &str, lang: MailLanguage) -> &str {
    let nl = matches!(lang, MailLanguage::Nl);
    match aspect {
        "waiting_time" => {
            if nl {
                "wachttijd"
            } else {
                "waiting time"
            }
        }
        "interpreter" => {
            if nl {
                "tolk"
            } else {
                "interpreter"
            }
        }
        "hearing" => {
            if nl {
                "gehoor"
            } else {
                "hearing"
            }
        }
        "treatment" => {
            if nl {
                "bejegening"
            } else {
                "treatment"
            }
        }
        "facilities" => {
            if nl {
                "voorzieningen"
            } else {
                "facilities"
            }
        }
        "reception" => {
            if nl {
                "opvang"
            } else {
                "reception"
            }
        }
        "communication" => {
            if nl {
                "communicatie"
            } else {
                "communication"
            }
        }
        "decision" => {
            if nl {
                "beslissing"
            } else {
                "decision"
            }
        }
        "legal_aid" => {
            if nl {
                "rechtshulp"
            } else {
                "legal aid"
            }
        }
        "family_reunification" => {
            if nl {
                "gezinshereniging"
            } else {
                "family reunification"
            }
        }
        "documents" => {
            if nl {
                "documenten"
            } else {
                "documents"
            }
        }
        other => other,
    }
}

/// What the incident is about, for a subject line.
fn topic(i: &Incident, lang: MailLanguage) -> String {
    match i.kind.as_str() {
        "term" => match lang {
            MailLanguage::Nl => format!("nieuw onderwerp \"{}\"", i.key),
            MailLanguage::En => format!("new topic \"{}\"", i.key),
        },
        _ => {
            let (aspect, facet) = i.key.split_once('@').unwrap_or((&i.key, ""));
            let label = aspect_label(aspect, lang).to_string();
            if facet.is_empty() {
                label
            } else {
                format!("{label} ({facet})")
            }
        }
    }
}

/// Subject, plain text and HTML of the mail about `change`.
pub fn compose(
    change: &Change,
    mail: &Mail,
    window_start: DateTime<Utc>,
) -> (String, String, String) {
    let i = change.incident();
    let lang = mail.language;
    let nl = matches!(lang, MailLanguage::Nl);
    let hours = (i.updated - window_start).num_hours().max(1);
    let usual = format!("{:.0}", i.expected.max(0.0).round());
    let subject = match (change, nl) {
        (Change::Opened(_), true) => format!(
            "Terugkerende klacht: {} — {} meldingen in {hours} uur (normaal {usual})",
            topic(i, lang),
            i.observed
        ),
        (Change::Opened(_), false) => format!(
            "Recurring complaint: {} — {} reports in {hours} hours (usually {usual})",
            topic(i, lang),
            i.observed
        ),
        (Change::Updated(_), true) => format!(
            "Update: {} — nu {} meldingen in {hours} uur (normaal {usual})",
            topic(i, lang),
            i.observed
        ),
        (Change::Updated(_), false) => format!(
            "Update: {} — now {} reports in {hours} hours (usually {usual})",
            topic(i, lang),
            i.observed
        ),
        (Change::Closed(_), true) => {
            format!("Gesloten: {} — weer op het normale niveau", topic(i, lang))
        }
        (Change::Closed(_), false) => {
            format!("Closed: {} — back to the usual level", topic(i, lang))
        }
    };
    let link = format!("{}{}", mail.link_base, i.search_path(window_start));
    let incident_link = format!("{}/api/alerts/{}", mail.link_base, i.id);
    let mut text = String::new();
    let mut html = String::new();
    let (voices, terms, examples, open) = if nl {
        (
            "Aantal stemmen (clusters van vrijwel gelijke berichten tellen één keer)",
            "Kernwoorden",
            "Voorbeelden (persoonsgegevens verwijderd)",
            "Bekijk in webcare",
        )
    } else {
        (
            "Voices (near-identical posts count once)",
            "Key words",
            "Examples (personal data removed)",
            "Open in webcare",
        )
    };
    text.push_str(&format!(
        "{subject}\n\n{voices}: {} (normaal/usual {usual}, piek/peak {})\n",
        i.observed, i.peak
    ));
    html.push_str(&format!(
        "<h2>{}</h2>\n<p>{}: <b>{}</b> (normaal/usual {usual}, piek/peak {})</p>\n",
        escape(&subject),
        escape(voices),
        i.observed,
        i.peak
    ));
    if !i.top_terms.is_empty() {
        text.push_str(&format!("{terms}: {}\n", i.top_terms.join(", ")));
        html.push_str(&format!(
            "<p>{}: {}</p>\n",
            escape(terms),
            escape(&i.top_terms.join(", "))
        ));
    }
    if !i.examples.is_empty() && !matches!(change, Change::Closed(_)) {
        text.push_str(&format!("\n{examples}:\n"));
        html.push_str(&format!("<h3>{}</h3>\n<ul>\n", escape(examples)));
        for e in &i.examples {
            let url = e.url.as_deref().unwrap_or("");
            text.push_str(&format!("- {} {}\n", e.text, url));
            html.push_str(&format!(
                "<li>{} <a href=\"{}\">{}</a></li>\n",
                escape(&e.text),
                escape(url),
                escape(url)
            ));
        }
        html.push_str("</ul>\n");
    }
    text.push_str(&format!("\n{open}: {link}\nIncident: {incident_link}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\">{}</a> · <a href=\"{}\">incident {}</a></p>\n",
        escape(&link),
        escape(open),
        escape(&incident_link),
        i.id
    ));
    (subject, text, html)
}

/// Who gets mail about `incident`.
fn recipients(mail: &Mail, incident: &Incident) -> Vec<String> {
    let aspect = incident.key.split('@').next().unwrap_or(&incident.key);
    let mut to: Vec<String> = Vec::new();
    for rule in &mail.rules {
        let wanted = rule.aspects.is_empty()
            || (incident.kind == "aspect" && rule.aspects.iter().any(|a| a == aspect));
        if wanted {
            for address in &rule.to {
                if !to.contains(address) {
                    to.push(address.clone());
                }
            }
        }
    }
    to
}

/// Queues the mail a change calls for: always on opening; on growth at most every
/// `update_every` and only when it grew by half since the last mail; on closing.
pub fn queue(
    state: &StateDb,
    mail: &Mail,
    change: &Change,
    window_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StateError> {
    let i = change.incident();
    let due = match change {
        Change::Opened(_) | Change::Closed(_) => true,
        Change::Updated(_) => {
            let quiet = i.mailed.is_none_or(|m| {
                now - m
                    >= chrono::Duration::from_std(mail.update_every)
                        .unwrap_or(chrono::Duration::MAX)
            });
            quiet && i.observed as f64 >= 1.5 * i.mailed_observed.max(1) as f64
        }
    };
    let to = recipients(mail, i);
    if !due || to.is_empty() {
        return Ok(None);
    }
    let (subject, text, html) = compose(change, mail, window_start);
    let message = NewMessage {
        incident: Some(i.id),
        to: &to,
        subject: &subject,
        text: &text,
        html: &html,
    };
    let id = insert(state, &message, &[], now)?;
    state.mark_mailed(i.id, now, i.observed)?;
    Ok(Some(id))
}

/// The time zone of the digest's time of day.
const LOCAL: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;

/// Queues the daily digest when `digest_at` (Amsterdam time) has passed today and none
/// was queued today: every open or acknowledged incident, newest first. Nothing when
/// there is nothing open.
pub fn queue_digest(
    state: &StateDb,
    mail: &Mail,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StateError> {
    let Some(at) = mail.digest_at else {
        return Ok(None);
    };
    let local = now.with_timezone(&LOCAL);
    let today = local.date_naive().to_string();
    if local.time() < at || state.meta("digest_day")?.as_deref() == Some(today.as_str()) {
        return Ok(None);
    }
    state.set_meta("digest_day", &today)?;
    let open: Vec<Incident> = state
        .incidents(None, 500)?
        .into_iter()
        .filter(|i| i.status.is_active())
        .collect();
    let to: Vec<String> = mail
        .rules
        .iter()
        .filter(|r| r.aspects.is_empty())
        .flat_map(|r| r.to.clone())
        .collect();
    if open.is_empty() || to.is_empty() {
        return Ok(None);
    }
    let nl = matches!(mail.language, MailLanguage::Nl);
    let subject = if nl {
        format!(
            "webcare dagoverzicht {today}: {} open meldingen van terugkerende klachten",
            open.len()
        )
    } else {
        format!(
            "webcare daily digest {today}: {} open recurring complaints",
            open.len()
        )
    };
    let mut text = format!("{subject}\n\n");
    let mut html = format!("<h2>{}</h2>\n<ul>\n", escape(&subject));
    for i in &open {
        let line = format!(
            "{} — {} ({} {}, {} {:.0}); {}/api/alerts/{}",
            topic(i, mail.language),
            i.status.as_str_public(),
            i.observed,
            if nl { "stemmen" } else { "voices" },
            if nl { "normaal" } else { "usually" },
            i.expected,
            mail.link_base,
            i.id
        );
        text.push_str(&format!("- {line}\n"));
        html.push_str(&format!("<li>{}</li>\n", escape(&line)));
    }
    html.push_str("</ul>\n");
    let message = NewMessage {
        incident: None,
        to: &to,
        subject: &subject,
        text: &text,
        html: &html,
    };
    insert(state, &message, &[], now).map(Some)
}

/// Queues a free-standing message (`webcare alerts test-mail`).
pub fn queue_message(
    state: &StateDb,
    to: &[String],
    subject: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<i64, StateError> {
    let html = format!("<p>{}</p>", escape(text));
    let message = NewMessage {
        incident: None,
        to,
        subject,
        text,
        html: &html,
    };
    insert(state, &message, &[], now)
}

/// Queues a message with its own HTML and attachments (the weekly report): the sender
/// never sees it without its files.
pub fn queue_with_attachments(
    state: &StateDb,
    to: &[String],
    subject: &str,
    text: &str,
    html: &str,
    attachments: &[MailAttachment],
    now: DateTime<Utc>,
) -> Result<i64, StateError> {
    let message = NewMessage {
        incident: None,
        to,
        subject,
        text,
        html,
    };
    insert(state, &message, attachments, now)
}

/// A message before it is in the outbox.
struct NewMessage<'a> {
    incident: Option<i64>,
    to: &'a [String],
    subject: &'a str,
    text: &'a str,
    html: &'a str,
}

/// The one way into the outbox: the message and its attachments in one transaction,
/// due at once.
fn insert(
    state: &StateDb,
    m: &NewMessage,
    attachments: &[MailAttachment],
    now: DateTime<Utc>,
) -> Result<i64, StateError> {
    let mut conn = state.conn();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO outbox (incident, created, recipients, subject, text_body, html_body, next_attempt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?2)",
        params![
            m.incident,
            timestamp(now),
            serde_json::to_string(m.to).unwrap_or_default(),
            m.subject,
            m.text,
            m.html
        ],
    )?;
    let id = tx.last_insert_rowid();
    for a in attachments {
        tx.execute(
            "INSERT INTO outbox_attachments (outbox, name, content_type, body) VALUES (?1, ?2, ?3, ?4)",
            params![id, a.name, a.content_type, a.body],
        )?;
    }
    tx.commit()?;
    Ok(id)
}

impl StateDb {
    /// Messages not yet sent whose next attempt is due at `now`.
    pub fn due_mail(&self, now: DateTime<Utc>) -> Result<Vec<Outgoing>, StateError> {
        self.outbox_where("sent IS NULL AND next_attempt <= ?1", &timestamp(now))
    }

    /// Every message in the outbox, sent or not (for tests and the admin).
    pub fn outbox(&self) -> Result<Vec<Outgoing>, StateError> {
        self.outbox_where("?1 = ?1", "")
    }

    fn outbox_where(&self, condition: &str, value: &str) -> Result<Vec<Outgoing>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT id, incident, recipients, subject, text_body, html_body, attempts, sent, last_error \
             FROM outbox WHERE {condition} ORDER BY id"
        ))?;
        let rows = statement.query_map(params![value], |r| {
            let recipients: String = r.get(2)?;
            let sent: Option<String> = r.get(7)?;
            Ok(Outgoing {
                id: r.get(0)?,
                incident: r.get(1)?,
                recipients: serde_json::from_str(&recipients).unwrap_or_default(),
                subject: r.get(3)?,
                text: r.get(4)?,
                html: r.get(5)?,
                attempts: r.get::<_, i64>(6)?.max(0) as u32,
                sent: sent.map(|s| parse_timestamp(&s)),
                last_error: r.get(8)?,
                attachments: Vec::new(),
            })
        })?;
        let mut messages = rows.collect::<Result<Vec<_>, _>>()?;
        drop(statement);
        let mut files = conn.prepare(
            "SELECT name, content_type, body FROM outbox_attachments WHERE outbox = ?1 ORDER BY id",
        )?;
        for message in &mut messages {
            let rows = files.query_map(params![message.id], |r| {
                Ok(MailAttachment {
                    name: r.get(0)?,
                    content_type: r.get(1)?,
                    body: r.get(2)?,
                })
            })?;
            message.attachments = rows.collect::<Result<Vec<_>, _>>()?;
        }
        Ok(messages)
    }

    fn mail_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), StateError> {
        self.conn().execute(
            "UPDATE outbox SET sent = ?1, attempts = attempts + 1, last_error = NULL WHERE id = ?2",
            params![timestamp(now), id],
        )?;
        Ok(())
    }

    fn mail_failed(&self, id: i64, error: &str, next: DateTime<Utc>) -> Result<(), StateError> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, next_attempt = ?2 WHERE id = ?3",
            params![error, timestamp(next), id],
        )?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

/// The SMTP transport for the configured server.
pub fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls = || TlsParameters::new(smtp.host.clone()).map_err(|e| MailError::Smtp(e.to_string()));
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .timeout(Some(smtp.timeout));
    builder = match smtp.security {
        Security::Tls => builder.tls(Tls::Wrapper(tls()?)),
        Security::StartTls => builder.tls(Tls::Required(tls()?)),
        Security::None => builder.tls(Tls::None),
    };
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    Ok(builder.build())
}

/// The lettre message for an outbox entry; its Message-ID is derived from the entry, so
/// a resend after a crash is recognisable as the same message.
pub fn message(from: &str, out: &Outgoing) -> Result<Message, MailError> {
    let from: Mailbox = from
        .parse()
        .map_err(|_| MailError::Address(from.to_string()))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(out.subject.clone())
        .message_id(Some(format!("<webcare-outbox-{}@webcare>", out.id)));
    for to in &out.recipients {
        let mailbox: Mailbox = to.parse().map_err(|_| MailError::Address(to.clone()))?;
        builder = builder.to(mailbox);
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(out.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(out.html.clone()),
        );
    if out.attachments.is_empty() {
        return builder
            .multipart(body)
            .map_err(|e| MailError::Build(e.to_string()));
    }
    let mut mixed = MultiPart::mixed().multipart(body);
    for a in &out.attachments {
        let content_type = ContentType::parse(&a.content_type)
            .map_err(|e| MailError::Build(format!("{}: {e}", a.name)))?;
        mixed =
            mixed.singlepart(Attachment::new(a.name.clone()).body(a.body.clone(), content_type));
    }
    builder
        .multipart(mixed)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// The configured SMTP server and sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
    /// For one whole message: a server that accepts and then says nothing must not
    /// hold the outbox up.
    timeout: Duration,
}

impl Mailer {
    pub fn new(smtp: &Smtp, from: &str) -> Result<Mailer, MailError> {
        Ok(Mailer {
            transport: transport(smtp)?,
            from: from.to_string(),
            timeout: smtp.timeout.saturating_mul(4),
        })
    }

    /// Sends every due message once; returns how many were accepted.
    pub async fn send_due(&self, state: &StateDb, now: DateTime<Utc>) -> Result<usize, StateError> {
        send_due(state, self, now).await
    }

    async fn send(&self, out: &Outgoing) -> Result<(), MailError> {
        let message = message(&self.from, out)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(MailError::Smtp(e.to_string())),
            Err(_) => Err(MailError::Smtp(format!(
                "no answer within {}s",
                self.timeout.as_secs()
            ))),
        }
    }
}

async fn send_due(
    state: &StateDb,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<usize, StateError> {
    let mut sent = 0;
    for out in state.due_mail(now)? {
        let result = mailer.send(&out).await;
        match result {
            Ok(_) => {
                state.mail_sent(out.id, Utc::now())?;
                sent += 1;
                tracing::info!(
                    id = out.id,
                    recipients = out.recipients.len(),
                    "alert mail sent"
                );
            }
            Err(e) => {
                let backoff = FIRST_BACKOFF
                    .saturating_mul(2u32.saturating_pow(out.attempts.min(16)))
                    .min(MAX_BACKOFF);
                let next =
                    now + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::hours(1));
                tracing::warn!(id = out.id, attempts = out.attempts + 1, error = %e, retry_in_secs = backoff.as_secs(), "alert mail not sent; will retry");
                state.mail_failed(out.id, &e.to_string(), next)?;
            }
        }
    }
    Ok(sent)
}

/// Sends the outbox until `cancel`.
pub async fn run_sender(
    state: std::sync::Arc<StateDb>,
    smtp: Smtp,
    from: String,
    cancel: CancellationToken,
) {
    let mailer = match Mailer::new(&smtp, &from) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up SMTP; alert mail stays in the outbox");
            return;
        }
    };
    loop {
        if let Err(e) = mailer.send_due(&state, Utc::now()).await {
            tracing::error!(error = %e, "cannot read the outbox");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}
