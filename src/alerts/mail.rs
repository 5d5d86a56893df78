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
use serde::{Deserialize, Serialize};
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
    /// When every recipient had it, or refused it for good with at least one having it.
    pub sent: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Recipients whose server accepted the message.
    pub delivered: Vec<String>,
    /// Recipients refused for good (a permanent SMTP error), with the answer: not tried
    /// again.
    pub refused: Vec<(String, String)>,
    /// When the message was given up: every recipient refused it.
    pub failed: Option<DateTime<Utc>>,
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

/// A window's length as a subject line says it: "6 uur", "24 hours", "5 minuten".
fn window_text(seconds: u64, lang: MailLanguage) -> String {
    let nl = matches!(lang, MailLanguage::Nl);
    match (seconds.is_multiple_of(3600), nl) {
        (true, true) => format!("{} uur", seconds / 3600),
        (true, false) if seconds == 3600 => "1 hour".to_string(),
        (true, false) => format!("{} hours", seconds / 3600),
        (false, true) => format!("{} minuten", (seconds / 60).max(1)),
        (false, false) => format!("{} minutes", (seconds / 60).max(1)),
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
            let (aspect, _, value) = super::counts::key_parts(&i.key);
            let label = aspect_label(aspect, lang).to_string();
            match value {
                Some(value) => format!("{label} ({value})"),
                None => label,
            }
        }
    }
}

/// A mention a message quotes, as its two parts show it: an erasure takes these lines
/// out of a message not yet sent ([`StateDb::forget_in_outbox`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub id: String,
    /// As the plain-text part shows it; empty where that part does not quote it.
    pub text: String,
    /// As the HTML part (and an attached HTML page) shows it.
    pub html: String,
    #[serde(default)]
    pub shape: QuoteShape,
}

/// How a message sets out a quote, which says what stands in its place once erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuoteShape {
    /// A line of a list: `- text url` and `<li>…</li>` (the alert mails).
    #[default]
    Item,
    /// The quote alone in the text and a `<blockquote>` (the weekly report).
    Block,
}

/// What stands in a message where an erased mention was quoted.
pub const ERASED: &str = "(gewist / erased)";
const ERASED_TEXT: &str = "- (gewist / erased)\n";
const ERASED_HTML: &str = "<li><i>(gewist / erased)</i></li>\n";
pub const ERASED_BLOCK: &str =
    "<blockquote class=\"erased\"><i>(gewist / erased)</i></blockquote>\n";

impl Quote {
    /// The quote's two forms with the erased mark in their place.
    fn erase_from(&self, text: &mut String, html: &mut String) {
        let (in_text, in_html) = match self.shape {
            QuoteShape::Item => (ERASED_TEXT, ERASED_HTML),
            QuoteShape::Block => (ERASED, ERASED_BLOCK),
        };
        // An empty form is not in that part: replacing "" would put the mark in front.
        if !self.text.is_empty() {
            *text = text.replacen(&self.text, in_text, 1);
        }
        if !self.html.is_empty() {
            *html = html.replacen(&self.html, in_html, 1);
        }
    }
}

/// An example as the mail quotes it; a post without a permalink gets no empty link.
/// The quote is set apart in its own direction: in a mail laid out left to right, an
/// Arabic quote's final "!" would otherwise stand at its first word.
fn quote(e: &super::incidents::IncidentExample) -> Quote {
    let html_quote = format!(
        "<bdi dir=\"{}\">{}</bdi>",
        direction(&e.text),
        escape(&e.text)
    );
    // A plain-text line is laid out by its first strong letter: the LRM makes every
    // line of the list read left to right, as the mail does, whatever it quotes.
    let mark = if direction(&e.text) == "rtl" {
        "\u{200e}"
    } else {
        ""
    };
    let plain = plain_quote(&e.text);
    let (text, html) = match e.url.as_deref() {
        Some(url) => (
            format!("{mark}- {plain} {url}\n"),
            format!(
                "<li>{html_quote} <a href=\"{}\">{}</a></li>\n",
                escape(url),
                escape(url)
            ),
        ),
        None => (
            format!("{mark}- {plain}\n"),
            format!("<li>{html_quote}</li>\n"),
        ),
    };
    Quote {
        id: e.id.clone(),
        text,
        html,
        shape: QuoteShape::Item,
    }
}

/// A quote as a plain-text part shows it. There is no `<bdi>` in plain text: a quote in
/// a right-to-left script is embedded in its direction (RLE … PDF, which every bidi
/// reader knows; the isolates are newer), so that its final "!" or a number at its
/// start stands where its writer put it. The direction marks a post itself holds are
/// left out: an embedding, override or isolate left open would turn round the rest of
/// the line (the link after it).
pub fn plain_quote(text: &str) -> String {
    let kept = text
        .chars()
        .filter(|&c| !crate::pipeline::extract::is_direction_mark(c));
    if direction(text) == "rtl" {
        std::iter::once('\u{202b}')
            .chain(kept)
            .chain(std::iter::once('\u{202c}'))
            .collect()
    } else {
        kept.collect()
    }
}

/// `rtl` for a text written mostly in a right-to-left script (Arabic, Persian, Urdu,
/// Hebrew), else `ltr`: counted over its letters, handles left out, so that an Arabic
/// repost beginning "RT @p_…:" still reads right to left, which `dir="auto"` (the
/// first strong letter) would not.
pub fn direction(text: &str) -> &'static str {
    let (mut rtl, mut ltr) = (0usize, 0usize);
    for word in text.split_whitespace().filter(|w| !w.starts_with('@')) {
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            if matches!(c, '\u{0590}'..='\u{08ff}' | '\u{fb1d}'..='\u{fdff}' | '\u{fe70}'..='\u{feff}')
            {
                rtl += 1;
            } else {
                ltr += 1;
            }
        }
    }
    if rtl > ltr {
        "rtl"
    } else {
        "ltr"
    }
}

/// The mail about an incident's change.
#[derive(Debug, Clone)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The mentions it quotes.
    pub quotes: Vec<Quote>,
}

/// Subject, plain text and HTML of the mail about `change`.
pub fn compose(change: &Change, mail: &Mail, window_start: DateTime<Utc>) -> Composed {
    let i = change.incident();
    let lang = mail.language;
    let nl = matches!(lang, MailLanguage::Nl);
    // The window the count is over (an incident from before windows were recorded:
    // the longest).
    let seconds = match i.window_secs {
        0 => (i.updated - window_start).num_seconds().max(3600) as u64,
        s => s,
    };
    let span = window_text(seconds, lang);
    let usual = usual_count(i.expected, nl);
    // Mailed before and opened again (it grew after it was resolved): not news of a
    // new complaint, and the team should see that at once.
    let again = match (
        matches!(change, Change::Opened(_)) && i.mailed.is_some(),
        nl,
    ) {
        (true, true) => "Opnieuw: ",
        (true, false) => "Again: ",
        (false, _) => "",
    };
    let subject = match (change, nl) {
        (Change::Opened(_), true) => format!(
            "{again}Terugkerende klacht: {} — {} stemmen in {span} (normaal {usual})",
            topic(i, lang),
            i.observed
        ),
        (Change::Opened(_), false) => format!(
            "{again}Recurring complaint: {} — {} voices in {span} (usually {usual})",
            topic(i, lang),
            i.observed
        ),
        (Change::Updated(_), true) => format!(
            "Update: {} — nu {} stemmen in {span} (normaal {usual})",
            topic(i, lang),
            i.observed
        ),
        (Change::Updated(_), false) => format!(
            "Update: {} — now {} voices in {span} (usually {usual})",
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
    let (voices, terms, examples, open, normal, peak) = if nl {
        (
            "Aantal stemmen (clusters van vrijwel gelijke berichten tellen één keer)",
            "Kernwoorden",
            "Voorbeelden (persoonsgegevens verwijderd)",
            "Bekijk in webcare",
            "normaal",
            "piek",
        )
    } else {
        (
            "Voices (near-identical posts count once)",
            "Key words",
            "Examples (personal data removed)",
            "Open in webcare",
            "usually",
            "peak",
        )
    };
    text.push_str(&format!(
        "{subject}\n\n{voices}: {} ({normal} {usual}, {peak} {})\n",
        i.observed, i.peak
    ));
    html.push_str(&format!(
        "<h2>{}</h2>\n<p>{}: <b>{}</b> ({normal} {}, {peak} {})</p>\n",
        escape(&subject),
        escape(voices),
        i.observed,
        escape(&usual),
        i.peak
    ));
    if !i.top_terms.is_empty() {
        text.push_str(&format!("{terms}: {}\n", i.top_terms.join(", ")));
        // Each word in its own direction: Arabic words in a left-to-right line would
        // otherwise read as a list in reverse order.
        let words: Vec<String> = i
            .top_terms
            .iter()
            .map(|t| format!("<bdi dir=\"{}\">{}</bdi>", direction(t), escape(t)))
            .collect();
        html.push_str(&format!("<p>{}: {}</p>\n", escape(terms), words.join(", ")));
    }
    let mut quotes = Vec::new();
    if !i.examples.is_empty() && !matches!(change, Change::Closed(_)) {
        text.push_str(&format!("\n{examples}:\n"));
        html.push_str(&format!("<h3>{}</h3>\n<ul>\n", escape(examples)));
        for q in i.examples.iter().map(quote) {
            text.push_str(&q.text);
            html.push_str(&q.html);
            quotes.push(q);
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
    Composed {
        subject,
        text,
        html,
        quotes,
    }
}

/// Who gets mail about `incident`.
fn recipients(mail: &Mail, incident: &Incident) -> Vec<String> {
    let (aspect, _, _) = super::counts::key_parts(&incident.key);
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
    let composed = compose(change, mail, window_start);
    let message = NewMessage {
        incident: Some(i.id),
        to: &to,
        subject: &composed.subject,
        text: &composed.text,
        html: &composed.html,
        quotes: &composed.quotes,
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
    let open: Vec<Incident> = state.active_incidents()?;
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
            "{} — {} ({} {}, {} {})",
            topic(i, mail.language),
            i.status.as_str_public(),
            i.observed,
            if nl { "stemmen" } else { "voices" },
            if nl { "normaal" } else { "usually" },
            usual_count(i.expected, nl),
        );
        let link = format!("{}/api/alerts/{}", mail.link_base, i.id);
        text.push_str(&format!("- {line}; {link}\n"));
        html.push_str(&format!(
            "<li>{}; <a href=\"{}\">{}</a></li>\n",
            escape(&line),
            escape(&link),
            escape(&link)
        ));
    }
    html.push_str("</ul>\n");
    let message = NewMessage {
        incident: None,
        to: &to,
        subject: &subject,
        text: &text,
        html: &html,
        quotes: &[],
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
    let html = plain_html(text);
    let message = NewMessage {
        incident: None,
        to,
        subject,
        text,
        html: &html,
        quotes: &[],
    };
    insert(state, &message, &[], now)
}

/// The HTML part of a plain-text message.
fn plain_html(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// Queues a message with its own HTML and attachments (the weekly report): the sender
/// never sees it without its files. `quotes` are the mentions it quotes, in its parts
/// and in its HTML attachments.
#[allow(clippy::too_many_arguments)]
pub fn queue_with_attachments(
    state: &StateDb,
    to: &[String],
    subject: &str,
    text: &str,
    html: &str,
    quotes: &[Quote],
    attachments: &[MailAttachment],
    now: DateTime<Utc>,
) -> Result<i64, StateError> {
    let message = NewMessage {
        incident: None,
        to,
        subject,
        text,
        html,
        quotes,
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
    quotes: &'a [Quote],
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
        "INSERT INTO outbox (incident, created, recipients, subject, text_body, html_body, next_attempt, quotes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?2, ?7)",
        params![
            m.incident,
            timestamp(now),
            serde_json::to_string(m.to).unwrap_or_default(),
            m.subject,
            m.text,
            m.html,
            serde_json::to_string(m.quotes).unwrap_or_else(|_| "[]".into())
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
    /// Takes the quotes of mentions `exists` no longer finds (erased, or past the
    /// retention period) out of the stored messages and their HTML attachments, and says
    /// how many went. Mail held back by an SMTP outage must not deliver what was erased
    /// meanwhile; the copy of a sent one, kept until the retention run, must not hold it
    /// either.
    pub fn forget_in_outbox(&self, exists: impl Fn(&str) -> bool) -> Result<usize, StateError> {
        // One transaction from reading to writing: two clean-ups at once (an erasure and
        // the retention run) must not write back a quote the other took out.
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let stored: Vec<(i64, String, String, String)> = {
            let mut statement = tx.prepare(
                "SELECT id, text_body, html_body, quotes FROM outbox WHERE quotes != '[]'",
            )?;
            let rows =
                statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut removed = 0;
        for (id, mut text, mut html, quotes) in stored {
            let quotes: Vec<Quote> = serde_json::from_str(&quotes).unwrap_or_default();
            let (kept, gone): (Vec<Quote>, Vec<Quote>) =
                quotes.into_iter().partition(|q| exists(&q.id));
            if gone.is_empty() {
                continue;
            }
            for q in &gone {
                q.erase_from(&mut text, &mut html);
            }
            tx.execute(
                "UPDATE outbox SET text_body = ?1, html_body = ?2, quotes = ?3 WHERE id = ?4",
                params![
                    text,
                    html,
                    serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into()),
                    id
                ],
            )?;
            forget_in_attachments(&tx, id, &gone)?;
            removed += gone.len();
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Messages not yet sent whose next attempt is due at `now`.
    pub fn due_mail(&self, now: DateTime<Utc>) -> Result<Vec<Outgoing>, StateError> {
        self.outbox_where(
            "sent IS NULL AND failed IS NULL AND next_attempt <= ?1",
            &timestamp(now),
        )
    }

    /// Every message in the outbox, sent or not (for tests and the admin).
    pub fn outbox(&self) -> Result<Vec<Outgoing>, StateError> {
        self.outbox_where("?1 = ?1", "")
    }

    fn outbox_where(&self, condition: &str, value: &str) -> Result<Vec<Outgoing>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT id, incident, recipients, subject, text_body, html_body, attempts, sent, last_error, \
             delivered, refused, failed FROM outbox WHERE {condition} ORDER BY id"
        ))?;
        let rows = statement.query_map(params![value], |r| {
            let recipients: String = r.get(2)?;
            let sent: Option<String> = r.get(7)?;
            let delivered: String = r.get(9)?;
            let refused: String = r.get(10)?;
            let failed: Option<String> = r.get(11)?;
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
                delivered: serde_json::from_str(&delivered).unwrap_or_default(),
                refused: serde_json::from_str(&refused).unwrap_or_default(),
                failed: failed.map(|s| parse_timestamp(&s)),
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

    /// Records who has `out` now, while its other recipients are still being tried.
    fn mail_delivered(&self, out: &Outgoing) -> Result<(), StateError> {
        self.conn().execute(
            "UPDATE outbox SET delivered = ?1 WHERE id = ?2",
            params![
                serde_json::to_string(&out.delivered).unwrap_or_default(),
                out.id
            ],
        )?;
        Ok(())
    }

    /// Records one attempt at `out`: who has it now, who refused it for good, and what
    /// comes next — done (`sent`), given up (`failed`), or another attempt at `next`.
    fn mail_attempted(
        &self,
        out: &Outgoing,
        finished: Option<Finished>,
        error: Option<&str>,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let (sent, failed) = match finished {
            Some(Finished::Sent) => (Some(timestamp(now)), None),
            Some(Finished::GivenUp) => (None, Some(timestamp(now))),
            None => (None, None),
        };
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, next_attempt = ?2, \
             delivered = ?3, refused = ?4, sent = ?5, failed = ?6 WHERE id = ?7",
            params![
                error,
                timestamp(next),
                serde_json::to_string(&out.delivered).unwrap_or_default(),
                serde_json::to_string(&out.refused).unwrap_or_default(),
                sent,
                failed,
                out.id
            ],
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
    #[error("SMTP: {message}")]
    Smtp {
        message: String,
        /// A 5xx answer: the same message to the same recipient will not be accepted.
        permanent: bool,
    },
}

impl MailError {
    fn smtp(message: impl Into<String>) -> MailError {
        MailError::Smtp {
            message: message.into(),
            permanent: false,
        }
    }

    /// Whether trying again cannot help (an address the server does not take).
    fn is_permanent(&self) -> bool {
        match self {
            MailError::Address(_) => true,
            MailError::Smtp { permanent, .. } => *permanent,
            MailError::Build(_) => false,
        }
    }
}

/// Where a message stands once no recipient is pending.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Finished {
    /// At least one recipient has it (the others refused it for good).
    Sent,
    /// Every recipient refused it.
    GivenUp,
}

impl Outgoing {
    /// A plain-text message not in the outbox (`webcare alerts test-mail`): its HTML
    /// part is the text, escaped.
    pub fn plain(recipients: &[String], subject: &str, text: &str) -> Outgoing {
        Outgoing {
            id: 0,
            incident: None,
            recipients: recipients.to_vec(),
            subject: subject.to_string(),
            text: text.to_string(),
            html: plain_html(text),
            attempts: 0,
            sent: None,
            last_error: None,
            delivered: Vec::new(),
            refused: Vec::new(),
            failed: None,
            attachments: Vec::new(),
        }
    }

    /// `None` while a recipient is pending.
    fn finished(&self) -> Option<Finished> {
        match (self.pending().is_empty(), self.delivered.is_empty()) {
            (false, _) => None,
            (true, false) => Some(Finished::Sent),
            (true, true) => Some(Finished::GivenUp),
        }
    }

    /// Recipients that have neither had the message nor refused it for good.
    pub fn pending(&self) -> Vec<&String> {
        self.recipients
            .iter()
            .filter(|r| !self.delivered.contains(r) && !self.refused.iter().any(|(x, _)| x == *r))
            .collect()
    }
}

/// The SMTP transport for the configured server.
pub fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls = || TlsParameters::new(smtp.host.clone()).map_err(|e| MailError::smtp(e.to_string()));
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

/// The lettre message of an outbox entry for one of its recipients (each gets their
/// own, so that one refused address stops no one else's). Its Message-ID is derived
/// from the entry, the recipient and the installation, so a resend after a crash is
/// recognisable as the same message, and two installations never share one.
pub fn message(
    from: &str,
    out: &Outgoing,
    to: &str,
    installation: &str,
) -> Result<Message, MailError> {
    let from: Mailbox = from
        .parse()
        .map_err(|_| MailError::Address(from.to_string()))?;
    let to_mailbox: Mailbox = to.parse().map_err(|_| MailError::Address(to.to_string()))?;
    let recipient = &blake3::hash(to.as_bytes()).to_hex()[..8];
    let builder = Message::builder()
        .from(from)
        .to(to_mailbox)
        .subject(out.subject.clone())
        .message_id(Some(format!(
            "<webcare-outbox-{}-{recipient}.{installation}@webcare>",
            out.id
        )));
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
    /// For one whole message: a server that trickles its answers must not hold the
    /// outbox up. Each answer has `[mail] timeout` (the transport's own); the whole
    /// session as many times that as it has steps, so a server that answers every step
    /// in time is never cut off after it stored the message (and sent it again on retry).
    timeout: Duration,
}

/// The steps of one SMTP session, each with its own timeout: connect, greeting, EHLO,
/// STARTTLS, EHLO again, AUTH (two), MAIL, RCPT, DATA, the message, QUIT.
const SESSION_STEPS: u32 = 12;

impl Mailer {
    pub fn new(smtp: &Smtp, from: &str) -> Result<Mailer, MailError> {
        Ok(Mailer {
            transport: transport(smtp)?,
            from: from.to_string(),
            timeout: smtp.timeout.saturating_mul(SESSION_STEPS),
        })
    }

    /// Sends every due message once to each recipient that does not have it yet;
    /// returns how many messages are now done (every recipient has it or refused it
    /// for good, at least one has it).
    pub async fn send_due(&self, state: &StateDb, now: DateTime<Utc>) -> Result<usize, StateError> {
        send_due(state, self, now).await
    }

    /// Sends `out` to `to` now, outside the outbox (`webcare alerts test-mail`).
    pub async fn send_now(&self, out: &Outgoing, to: &str) -> Result<(), MailError> {
        self.send(message(&self.from, out, to, "test")?).await
    }

    async fn send(&self, message: Message) -> Result<(), MailError> {
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(MailError::Smtp {
                message: e.to_string(),
                permanent: e.is_permanent(),
            }),
            Err(_) => Err(MailError::smtp(format!(
                "no answer within {}s",
                self.timeout.as_secs()
            ))),
        }
    }
}

impl StateDb {
    /// A random name for this installation, made once: part of every Message-ID.
    fn installation(&self) -> Result<String, StateError> {
        if let Some(id) = self.meta("installation")? {
            return Ok(id);
        }
        let id = crate::access::random_hex(8);
        self.set_meta("installation", &id)?;
        Ok(id)
    }
}

async fn send_due(
    state: &StateDb,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<usize, StateError> {
    // The outbox's reads and writes (a weekly report's attachments are megabytes) hand
    // the async worker over while they run, as the other database work does.
    let installation = crate::poll::cpu_bound(|| state.installation())?;
    let mut done = 0;
    for mut out in crate::poll::cpu_bound(|| state.due_mail(now))? {
        let mut retry = None;
        for to in out.pending().into_iter().cloned().collect::<Vec<_>>() {
            let sent = match message(&mailer.from, &out, &to, &installation) {
                Ok(message) => mailer.send(message).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => {
                    out.delivered.push(to);
                    // Each delivery at once: a stop before the last recipient must not
                    // send this one the message again after the restart.
                    if let Err(e) = crate::poll::cpu_bound(|| state.mail_delivered(&out)) {
                        tracing::warn!(id = out.id, error = %e, "cannot note a delivery yet; noted after the last recipient");
                    }
                }
                Err(e) if e.is_permanent() => {
                    tracing::error!(id = out.id, error = %e, "a recipient refused the mail for good; not tried again");
                    out.refused.push((to, e.to_string()));
                }
                Err(e) => retry = Some(e),
            }
        }
        let backoff = FIRST_BACKOFF
            .saturating_mul(2u32.saturating_pow(out.attempts.min(16)))
            .min(MAX_BACKOFF);
        let next = now + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::hours(1));
        let refusals = out
            .refused
            .iter()
            .map(|(to, e)| format!("{to}: {e}"))
            .collect::<Vec<_>>();
        let error = retry
            .as_ref()
            .map(ToString::to_string)
            .into_iter()
            .chain(refusals)
            .collect::<Vec<_>>()
            .join("; ");
        let recorded = (!error.is_empty()).then_some(error.as_str());
        // A recipient that failed for now is still pending: `retry` only says why.
        let finished = out.finished();
        crate::poll::cpu_bound(|| {
            state.mail_attempted(&out, finished, recorded, Utc::now(), next)
        })?;
        match finished {
            Some(Finished::Sent) => {
                done += 1;
                tracing::info!(
                    id = out.id,
                    incident = ?out.incident,
                    recipients = out.delivered.len(),
                    refused = out.refused.len(),
                    "mail sent"
                );
            }
            Some(Finished::GivenUp) => {
                tracing::error!(id = out.id, "every recipient refused the mail; given up")
            }
            None => {
                tracing::warn!(id = out.id, attempts = out.attempts + 1, error = %error, retry_in_secs = backoff.as_secs(), "mail not sent to every recipient; will retry");
            }
        }
    }
    Ok(done)
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
            tracing::error!(error = %e, "cannot set up SMTP; mail stays in the outbox");
            return;
        }
    };
    loop {
        // A stop does not wait for a mail server that does not answer (each recipient
        // may take `timeout`, minutes in all): a mail cut short is sent again after the
        // restart, as after a crash.
        tokio::select! {
            _ = cancel.cancelled() => return,
            sent = mailer.send_due(&state, Utc::now()) => {
                if let Err(e) = sent {
                    tracing::error!(error = %e, "cannot read the outbox");
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// The erased quotes out of the HTML pages attached to message `id` (the weekly report
/// attaches the page its message shows).
fn forget_in_attachments(
    tx: &rusqlite::Transaction,
    id: i64,
    gone: &[Quote],
) -> Result<(), StateError> {
    let pages: Vec<(i64, Vec<u8>)> = {
        let mut statement = tx.prepare(
            "SELECT id, body FROM outbox_attachments WHERE outbox = ?1 AND content_type LIKE 'text/html%'",
        )?;
        let rows = statement.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (attachment, body) in pages {
        let Ok(mut page) = String::from_utf8(body) else {
            continue;
        };
        let mut no_text = String::new();
        for q in gone {
            q.erase_from(&mut no_text, &mut page);
        }
        tx.execute(
            "UPDATE outbox_attachments SET body = ?1 WHERE id = ?2",
            params![page.into_bytes(), attachment],
        )?;
    }
    Ok(())
}

/// The usual count of a quiet topic is a fraction: "0" would read as "never". As the
/// alert's mail says it and the digest repeats it.
fn usual_count(expected: f64, nl: bool) -> String {
    match (expected.max(0.0), nl) {
        (e, true) if e < 1.0 => "minder dan 1".to_string(),
        (e, false) if e < 1.0 => "less than 1".to_string(),
        (e, _) => format!("{:.0}", e.round()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_set_in_its_own_direction() {
        assert_eq!(direction("De tolk sprak geen Tigrinya"), "ltr");
        assert_eq!(direction("المترجم لم يحضر المقابلة!"), "rtl");
        // A repost's prefix and handle do not turn an Arabic post around.
        assert_eq!(
            direction("RT @p_0123456789abcdef01234567: انتظرت سنة كاملة، هذا ظلم كبير!"),
            "rtl"
        );
        use super::super::incidents::IncidentExample;
        let example = IncidentExample {
            id: "1".into(),
            url: Some("https://example.org/1".into()),
            text: "هذا ظلم <كبير>!".into(),
            published: Utc::now(),
        };
        let q = quote(&example);
        assert_eq!(
            q.html,
            "<li><bdi dir=\"rtl\">هذا ظلم &lt;كبير&gt;!</bdi> <a href=\"https://example.org/1\">https://example.org/1</a></li>\n"
        );
        // The plain text: the line left to right, the quote embedded right to left.
        assert_eq!(
            q.text,
            "\u{200e}- \u{202b}هذا ظلم <كبير>!\u{202c} https://example.org/1\n"
        );
        let ltr = IncidentExample {
            text: "De tolk \u{202e}sprak\u{2066} geen Tigrinya!".into(),
            url: None,
            ..example
        };
        // A left-to-right quote as it is, but for the marks it would leave open.
        assert_eq!(quote(&ltr).text, "- De tolk sprak geen Tigrinya!\n");
    }
}
