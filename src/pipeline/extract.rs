//! Turning what sources deliver into clean text and canonical links.
//!
//! Everything that arrives here is written by strangers on the internet: markup is
//! dropped (scripts and styles with their content), entities are decoded by the HTML
//! parser, and whitespace is folded, so later stages and the index see plain text only.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Elements whose content is never text a person wrote for reading.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "svg", "head",
];
/// Elements after which a word must not run into the next one, besides [`LINES`].
const BREAKING: &[&str] = &["br", "ul", "ol", "td", "th", "hr"];
/// Elements a page shows on lines of their own: where one's text ends without
/// punctuation, a full stop ends it (see [`html_to_text`]).
const LINES: &[&str] = &[
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "figcaption",
    "dd",
    "dt",
];
/// Query parameters that only track readers; dropping them makes one article one link.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "yclid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "ocid",
    "xtor",
    "at_medium",
    "at_campaign",
];

/// HTML beyond this is not parsed: no post is longer, stored text is capped far below
/// it, and parsing cost grows faster than the input for hostile, deeply nested markup.
pub const MAX_HTML_BYTES: usize = 256 * 1024;

/// At most `max` bytes of `text`, cut on a character boundary.
pub fn bounded(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// Elements open at once beyond which HTML is read as a soup of tags rather than a tree:
/// the parser's cost grows with the square of the depth (an item of 50,000 nested divs
/// took seconds of CPU at every poll), and no post nests anywhere near so deep.
const MAX_DEPTH: usize = 256;

/// Elements that have no end tag, so open nothing.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Plain text from an HTML fragment: no markup, no scripts, entities decoded, whitespace
/// folded. Walks the tree without recursion, so deeply nested input cannot overflow.
pub fn html_to_text(html: &str) -> String {
    let html = bounded(html, MAX_HTML_BYTES);
    if nests_deeper_than(html, MAX_DEPTH) {
        return html_to_text(&without_tags(html));
    }
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    let mut skipping = 0usize;
    // Where the text so far ends in a letter or digit (before any whitespace after it):
    // a line that ends there gets its full stop there.
    let mut open_line: Option<usize> = None;
    for edge in fragment.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) if SKIPPED.contains(&e.name()) || not_the_writers(&node) => {
                    skipping += 1
                }
                Node::Element(e) if breaks(e.name()) => out.push(' '),
                Node::Text(t) if skipping == 0 => {
                    out.push_str(t);
                    let written = t.trim_end();
                    if let Some(last) = written.chars().next_back() {
                        open_line = last
                            .is_alphanumeric()
                            .then(|| out.len() - (t.len() - written.len()));
                    }
                }
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(e) if SKIPPED.contains(&e.name()) || not_the_writers(&node) => {
                    skipping -= 1
                }
                Node::Element(e) if skipping == 0 && LINES.contains(&e.name()) => {
                    // A page shows it on a line of its own; this text has no lines. A
                    // full stop where it ends without punctuation keeps list items and
                    // headings from running into one sentence ("…the hearing and
                    // decision interpreters who…"), for readers of a snippet and for
                    // the analysis, whose negation ends at a full stop.
                    if let Some(at) = open_line.take() {
                        out.insert(at, '.');
                    }
                    out.push(' ');
                }
                Node::Element(e) if breaks(e.name()) => out.push(' '),
                _ => {}
            },
        }
    }
    fold_whitespace(&out)
}

/// Whether elements open inside each other more than `max` deep somewhere in `html`,
/// counted from its tags alone (in one pass; an end tag closes one).
fn nests_deeper_than(html: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if rest.starts_with('/') {
            depth = depth.saturating_sub(1);
            continue;
        }
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if name_len == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() {
            continue;
        }
        // Read on after the tag's end, so that each byte is looked at once.
        let Some(end) = rest.find('>') else {
            return false;
        };
        let void = VOID
            .iter()
            .any(|v| v.eq_ignore_ascii_case(&rest[..name_len]));
        if !void && !rest[..end].ends_with('/') {
            depth += 1;
            if depth > max {
                return true;
            }
        }
        rest = &rest[end + 1..];
    }
    false
}

/// `html` with its tags, scripts and styles taken out (a space for each), in one pass:
/// what is left is text and entities.
fn without_tags(html: &str) -> String {
    static TAGS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?is)<script\b.*?</script\s*>|<style\b.*?</style\s*>|</?[a-z][^>]*>|<![^>]*>",
        )
        .expect("the tag pattern compiles")
    });
    TAGS.replace_all(html, " ").into_owned()
}

/// Whether a word must not run into the next one across `element`.
fn breaks(element: &str) -> bool {
    LINES.contains(&element) || BREAKING.contains(&element)
}

/// What a forum adds to a post that its writer did not write (Discourse): the header of
/// a quote (`<aside class="quote"><div class="title">… mina:</div>`, the quoted
/// person's user name), the preview of a linked page (`<aside class="onebox">`: that
/// page's title and description), and an uploaded file's name and size (`<span
/// class="filename">brief_IND_….jpg</span>`, `<div class="meta">`), which no redaction
/// pattern expects.
fn not_the_writers(node: &ego_tree::NodeRef<'_, Node>) -> bool {
    let is = |node: &ego_tree::NodeRef<'_, Node>, name: &str, class: &str| {
        node.value().as_element().is_some_and(|e| {
            e.name() == name && e.has_class(class, scraper::CaseSensitivity::AsciiCaseInsensitive)
        })
    };
    (is(node, "div", "title") && node.parent().is_some_and(|p| is(&p, "aside", "quote")))
        || is(node, "aside", "onebox")
        || is(node, "span", "filename")
        || is(node, "a", "attachment")
        || (is(node, "div", "meta") && node.ancestors().any(|a| is(&a, "div", "lightbox-wrapper")))
}

/// Text that may or may not be HTML: parsed as HTML only when it holds a whole tag, a
/// comment or an entity, so a plain "<3", "a < b" or "a<b" survives.
pub fn any_to_text(text: &str) -> String {
    if looks_like_html(text) {
        html_to_text(text)
    } else {
        fold_whitespace(text)
    }
}

fn looks_like_html(text: &str) -> bool {
    static MARKUP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>|<!(--|\[CDATA\[|(?i:doctype))|&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",
        )
        .expect("a valid pattern")
    });
    // The quick test first: most plain posts have neither.
    (text.contains('<') || text.contains('&')) && MARKUP.is_match(text)
}

/// Characters that only steer rendering or mark decoding damage; dropping them lets
/// "beslis&shy;termijn" match "beslistermijn". ZWNJ stays: Persian spelling needs it.
const INVISIBLE: &[char] = &['\u{ad}', '\u{200b}', '\u{2060}', '\u{feff}', '\u{fffd}'];

/// The embeddings, overrides and isolates of bidirectional text with their ends: a
/// stranger's post that holds them reorders what is shown after it (a snippet, a
/// quote in the export), and the algorithm orders Arabic and Latin text without them.
/// The marks (LRM, RLM, ALM) only steer the characters around them and stay.
fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What [`fold_whitespace`] does with a character.
#[derive(PartialEq)]
enum Fold {
    Keep,
    Space,
    Drop,
}

/// ASCII, nearly every character of most posts, is decided by its byte; the Unicode
/// tables and the invisible characters are consulted only beyond it.
fn fold_of(c: char) -> Fold {
    if c.is_ascii() {
        match c as u8 {
            b' ' | b'\t'..=b'\r' => Fold::Space,
            b if b.is_ascii_control() => Fold::Drop,
            _ => Fold::Keep,
        }
    } else if c.is_whitespace() || c == '\u{00a0}' {
        Fold::Space
    } else if c.is_control() || INVISIBLE.contains(&c) || is_direction_override(c) {
        Fold::Drop
    } else {
        Fold::Keep
    }
}

/// `text` in Unicode's composed form (NFC): an accent written as a character of its own
/// after its letter ("e" + U+0301) becomes the accented letter ("é"), which is how
/// everyone searching types it. Most text is composed already and is left untouched.
pub fn compose(text: &mut String) {
    use unicode_normalization::UnicodeNormalization;
    if may_compose(text) && !unicode_normalization::is_nfc(text) {
        *text = text.nfc().collect();
    }
}

/// `text` with the look-alikes of ASCII that hide numbers and addresses from the
/// redaction written as ASCII: full-width forms ("０６１２３４５６７８", "＠", which
/// Unicode's compatibility mapping takes to ASCII too), and a dash between digits that
/// is not the hyphen-minus (a word processor's "06–12345678", the non-breaking hyphen,
/// the minus sign). A dash between words stays ("ma–vr"). In a number as long as a
/// phone number that mixes ASCII with Arabic-Indic or Persian digits (a keyboard
/// switched halfway, "۰۶ 1234 5678") those are written as ASCII too; and a direction
/// mark inside such a number, or against the @ of an address, is taken out: the
/// patterns read numbers of one script, and no mark, as written.
pub fn fold_lookalikes(text: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if !may_hide_a_number(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    let is_dash = |c: char| matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}');
    if !text.chars().any(|c| {
        is_dash(c)
            || is_direction_mark(c)
            || eastern_digit(c).is_some()
            || ('\u{ff01}'..='\u{ff5e}').contains(&c)
    }) {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let in_run =
        |c: &char| c.is_numeric() || " .-/".contains(*c) || is_dash(*c) || is_direction_mark(*c);
    let around = |i: usize| {
        let before = chars[..i].iter().rev().take_while(|c| in_run(c));
        let after = chars[i + 1..].iter().take_while(|c| in_run(c));
        before.chain(after)
    };
    // Only in a run of digits as long as a phone number or a BSN: "2022–2023", "1–2",
    // "8 – 10 днів" are written as they were.
    let long_number = |i: usize| around(i).filter(|c| c.is_numeric()).count() >= 9;
    let mixed_number = |i: usize| long_number(i) && around(i).any(|c| c.is_ascii_digit());
    // The digit on each side of a dash, over at most one space.
    let digit_before = |i: usize| match i.checked_sub(1).map(|j| chars[j]) {
        Some(' ') => i.checked_sub(2).is_some_and(|j| chars[j].is_numeric()),
        Some(c) => c.is_numeric(),
        None => false,
    };
    let digit_after = |i: usize| match chars.get(i + 1) {
        Some(' ') => chars.get(i + 2).is_some_and(|c| c.is_numeric()),
        Some(c) => c.is_numeric(),
        None => false,
    };
    let between_digits = |i: usize| digit_before(i) && digit_after(i) && long_number(i);
    let folded: String = chars
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| match c {
            '\u{ff01}'..='\u{ff5e}' => Some(char::from_u32(c as u32 - 0xfee0).unwrap_or(c)),
            c if is_dash(c) && between_digits(i) => Some('-'),
            c if is_direction_mark(c) && (between_digits(i) || in_an_address(&chars, i)) => None,
            c => match eastern_digit(c) {
                Some(ascii) if mixed_number(i) => Some(ascii),
                _ => Some(c),
            },
        })
        .collect();
    if folded == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(folded)
    }
}

/// Whether the direction mark at `i` sits in an e-mail address ("naam@domein\u{200f}.nl",
/// "naam\u{200f}＠gmail.com"): address characters on both sides of it, past other marks,
/// an @ among them.
fn in_an_address(chars: &[char], i: usize) -> bool {
    let is_at = |c: char| matches!(c, '@' | '＠');
    let part = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') || is_at(c);
    // Whether the mark has address characters on this side, and whether an @ is one.
    let side = |run: &mut dyn Iterator<Item = char>| {
        let mut run = run
            .filter(|&c| !is_direction_mark(c))
            .take_while(|&c| part(c))
            .take(254)
            .peekable();
        let any = run.peek().is_some();
        (any, run.any(is_at))
    };
    let (before, at_before) = side(&mut chars[..i].iter().rev().copied());
    let (after, at_after) = side(&mut chars[i + 1..].iter().copied());
    before && after && (at_before || at_after)
}

/// Whether `bytes` may hold what [`fold_lookalikes`] folds, by the lead bytes of their
/// UTF-8: full-width forms (0xEF), dashes and direction marks (0xE2), and, in a text
/// that has ASCII digits, Arabic-Indic and Persian digits and the Arabic letter mark
/// (0xD8, 0xD9, 0xDB). Most texts have none of these.
fn may_hide_a_number(bytes: &[u8]) -> bool {
    memchr::memchr2(0xE2, 0xEF, bytes).is_some()
        || (memchr::memchr3(0xD8, 0xD9, 0xDB, bytes).is_some()
            && bytes.iter().any(u8::is_ascii_digit))
}

/// A mark that sets the direction of text around it and is not seen: LRM, RLM, ALM, and
/// the embeddings, overrides and isolates with their end.
pub(crate) fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The ASCII digit of an Arabic-Indic or Persian digit (the redaction's checksums and
/// the index read them as digits too).
pub(crate) fn eastern_digit(c: char) -> Option<char> {
    let value = match c {
        '\u{0660}'..='\u{0669}' => c as u32 - 0x0660,
        '\u{06f0}'..='\u{06f9}' => c as u32 - 0x06f0,
        _ => return None,
    };
    char::from_digit(value, 10)
}

/// Whether `text` holds what composing could change, by its bytes (a scan the compiler
/// vectorises; the exact test reads tables per character): a combining diacritic
/// (U+0300–U+036F), an Arabic madda or hamza above or below (U+0653–U+0655), or any
/// character from U+0800 on (Indic scripts, Hangul, Ge'ez, compatibility forms). ASCII,
/// Latin, Cyrillic, Arabic and Persian letters as typed compose to themselves. Arabic
/// vowel marks out of their canonical order are left so: the index drops them.
fn may_compose(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Without an early exit, the largest byte is found a vector at a time.
    if bytes.iter().fold(0u8, |most, &b| most.max(b)) < 0xCC {
        return false;
    }
    // Arabic letters all begin with 0xD8 or 0xD9: the madda and hamzas are looked for
    // by their second byte, which fewer characters share.
    bytes.iter().any(|&b| b >= 0xE0)
        || memchr::memchr2(0xCC, 0xCD, bytes).is_some()
        || memchr::memchr3_iter(0x93, 0x94, 0x95, bytes).any(|at| at > 0 && bytes[at - 1] == 0xD9)
}

/// Collapses every run of whitespace (including no-break spaces) into one space, drops
/// control characters and trims.
pub fn fold_whitespace(text: &str) -> String {
    refold(text).unwrap_or_else(|| text.to_string())
}

/// [`fold_whitespace`] of `text` where folding changes it; `None` where it is folded
/// already, as sources usually deliver it (one scan, no copy).
pub fn refold(text: &str) -> Option<String> {
    let folded = folded_prefix(text);
    if folded == text.len() && !text.ends_with(' ') {
        return None;
    }
    // Mostly all is folded but for a stray newline or a trailing space: the part before
    // the first change is copied whole, the rest character by character.
    let kept = text[..folded].trim_end_matches(' ');
    let mut out = String::with_capacity(text.len());
    out.push_str(kept);
    fold_rest(&mut out, kept.len() < folded, &text[folded..]);
    Some(out)
}

/// Folds `rest` onto `out`, a space pending before it or not.
fn fold_rest(out: &mut String, mut pending_space: bool, rest: &str) {
    for c in rest.chars() {
        match fold_of(c) {
            Fold::Space => pending_space = !out.is_empty(),
            Fold::Drop => {}
            Fold::Keep => {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(c);
            }
        }
    }
}

/// The length of the longest start of `text` with no leading, double or other
/// whitespace, no control and no invisible character (it may end in one space).
fn folded_prefix(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut previous_space = true;
    let mut at = 0;
    // ASCII byte by byte (its whitespace other than the space is control characters);
    // a character is decoded only where a byte starts one beyond ASCII.
    while let Some(&b) = bytes.get(at) {
        if b.is_ascii() {
            let space = b == b' ';
            if (space && previous_space) || b.is_ascii_control() {
                return at;
            }
            previous_space = space;
            at += 1;
            continue;
        }
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        if fold_of(c) != Fold::Keep {
            return at;
        }
        previous_space = false;
        at += c.len_utf8();
    }
    text.len()
}

/// The canonical form of a link: tracking parameters (`utm_*` and known click ids),
/// parameters that carry contact details or secrets (an address with an @ or "(at)", a
/// key such as `email`, `phone`, `token` or `password`: the permalink is stored and
/// shown like the text), the user name and password before the host (never part of a
/// public page's address) and the fragment removed; `None` when it is not an absolute
/// http(s) URL.
pub fn canonical_url(link: &str) -> Option<String> {
    let mut url = url::Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_fragment(None);
    // An http(s) URL has a host, so these cannot fail.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    // A Java server's session in the path (`/t/1;jsessionid=…`).
    if let Some((path, _)) = url.path().split_once(";jsessionid=") {
        let path = path.to_string();
        url.set_path(&path);
    }
    keep_query(&mut url, |k, v| {
        !is_tracking_param(k) && !is_contact_param(k, v)
    });
    Some(url.to_string())
}

/// `link` without its tracking parameters, where it is an http(s) address that has
/// some; else `None`. Nothing else is taken off: as an item's identity (a feed's guid)
/// it must keep what tells items apart, such as a live blog's `#post-2`.
pub fn without_tracking(link: &str) -> Option<String> {
    let mut url = url::Url::parse(link.trim()).ok()?;
    let tracked = url.query_pairs().any(|(k, _)| is_tracking_param(&k));
    if !matches!(url.scheme(), "http" | "https") || !tracked {
        return None;
    }
    keep_query(&mut url, |k, _| !is_tracking_param(k));
    Some(url.to_string())
}

/// Keeps the query parameters of `url` for which `keep(key, value)` holds, in order.
fn keep_query(url: &mut url::Url, keep: impl Fn(&str, &str) -> bool) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, v)| keep(k, v))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// Whether a query parameter carries contact details or a secret: by its key's family
/// (`email`, `e_mail_adres`, `phone_number`, `telefoonnummer`, `auth_token`,
/// `session_id`, `PHPSESSID`, `wachtwoord`, …), or by a value in which the redaction
/// finds an e-mail address or a phone number (also written `name(at)site`, `name at
/// site dot nl`, with a full-width ＠).
fn is_contact_param(key: &str, value: &str) -> bool {
    /// Parts of a key that name contact details or a secret.
    const CONTACT_KEY_PARTS: &[&str] = &[
        "mail",
        "phone",
        "telefoon",
        "mobile",
        "mobiel",
        "whatsapp",
        "contact",
        "token",
        "passw",
        "wachtwoord",
        "secret",
        "session",
        "sessid",
        "apikey",
        "api_key",
    ];
    /// Keys that are one of those as a whole.
    const CONTACT_KEYS: &[&str] = &["tel", "pwd", "sid", "pass", "auth"];
    let key = key.to_ascii_lowercase();
    if CONTACT_KEY_PARTS.iter().any(|part| key.contains(part))
        || CONTACT_KEYS.contains(&key.as_str())
    {
        return true;
    }
    let lower = value.to_lowercase();
    if lower.contains(['@', '＠']) || lower.contains("(at)") || lower.contains("[at]") {
        return true;
    }
    // Only these two: a long page number can pass for a BSN's check.
    let redacted = built_in_redactor().map(|r| r.redact(value));
    redacted.is_some_and(|r| r.contains("[email]") || r.contains("[phone]"))
}

/// The redaction's built-in patterns, for what a link's query holds.
fn built_in_redactor() -> Option<&'static super::redact::Redactor> {
    static REDACTOR: std::sync::OnceLock<Option<super::redact::Redactor>> =
        std::sync::OnceLock::new();
    REDACTOR
        .get_or_init(|| super::redact::Redactor::new(&[]).ok())
        .as_ref()
}

fn is_tracking_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || TRACKING_PARAMS.contains(&key.as_str())
}

/// Whether `text` may hold a link ([`blank_links`] takes them out).
pub fn has_link(text: &str) -> bool {
    text.contains("http") || text.contains("www.")
}

/// `text` with its links taken out (a space where they were): as the analysis reads a
/// mention, where the words of an address ("ind.nl/asiel", a recipe's
/// "azc-ovenschotel") say nothing of what the writer says.
pub fn blank_links(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_link(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    static LINK: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    LINK.get_or_init(|| {
        regex::Regex::new(r"(?i)\bhttps?://\S+|\bwww\.\S+").expect("link pattern compiles")
    })
    .replace_all(text, " ")
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncate_at_char(text: &mut String, max: usize) {
    let keep = bounded(text, max).len();
    text.truncate(keep);
}

/// The text [`escape_markup`] made markup of (and tantivy's snippets, which write the
/// apostrophe as `&#x27;`), back as text.
pub fn unescape_markup(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Text made safe for HTML and XML, in content and in quoted attribute values: the
/// five markup characters as entities, and the control characters XML 1.0 forbids
/// dropped. Everything from sources is data; this is how it becomes markup.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_of_ascii_become_ascii_where_they_hide_numbers() {
        for (input, expected) in [
            ("Bel 06–12345678 (en)", "Bel 06-12345678 (en)"),
            ("Bel 06 – 12 34 56 78", "Bel 06 - 12 34 56 78"),
            (
                "Bel 06—12345678 of 06‐12345678",
                "Bel 06-12345678 of 06-12345678",
            ),
            (
                "Bel 06‑1234 5678, BSN 111−222−333",
                "Bel 06-1234 5678, BSN 111-222-333",
            ),
            (
                "2022–2023, 1–2, 8 – 10 днів, 20,000 – 30.000",
                "2022–2023, 1–2, 8 – 10 днів, 20,000 – 30.000",
            ),
            (
                "Nummer ０６１２３４５６７８ of mariam＠gmail.com",
                "Nummer 0612345678 of mariam@gmail.com",
            ),
            (
                "ma–vr 09:00–17:00, “quotes” — dash",
                "ma–vr 09:00–17:00, “quotes” — dash",
            ),
            // A direction mark in an address, against its @ or in its domain, goes;
            // between words it stays.
            (
                "naam@domein\u{200f}.nl, naam\u{200f}＠gmail.com, a\u{200e}\u{200f}@b.nl",
                "naam@domein.nl, naam@gmail.com, a@b.nl",
            ),
            (
                "\u{200f}IND\u{200f} en @IND_NL\u{200f} zeggen",
                "\u{200f}IND\u{200f} en @IND_NL\u{200f} zeggen",
            ),
            ("geen bijzondere tekens", "geen bijzondere tekens"),
            ("–", "–"),
            ("1–", "1–"),
        ] {
            assert_eq!(fold_lookalikes(input), expected, "{input}");
        }
    }

    #[test]
    fn text_is_composed_where_it_was_not() {
        let composed = |text: &str| {
            let mut text = text.to_string();
            compose(&mut text);
            text
        };
        assert_eq!(composed("de\u{301}cision"), "décision");
        assert_eq!(composed("ا\u{654}حمد"), "أحمد");
        assert_eq!(composed("\u{1112}\u{1161}\u{11AB}"), "한");
        for text in [
            "décision",
            "İltica başvurusu",
            "ждём",
            "خیلی",
            "ሰላም",
            "plain ASCII",
        ] {
            assert_eq!(composed(text), text);
        }
    }

    #[test]
    fn html_becomes_clean_text() {
        let html = "<p>De IND&#8217;s   beslis&shy;termijn</p><script>alert(1)</script>\n\n<p>caf&eacute;&nbsp;<b>open</b></p><style>p{}</style>";
        assert_eq!(html_to_text(html), "De IND’s beslistermijn. café open.");
    }

    #[test]
    fn a_link_preview_and_an_uploads_name_are_not_the_writers_words() {
        let cooked = r#"<p>Mijn brief:</p><div class="lightbox-wrapper"><a class="lightbox"><img src="x.jpg"><div class="meta"><span class="filename">brief_IND_Jansen.jpg</span><span class="informations">719×216 13.7 KB</span></div></a></div><aside class="onebox allowlistedgeneric"><header>ind.nl</header><article><h3>Asiel aanvragen</h3><p>Alles over de procedure</p></article></aside><p>Wat betekent dit?</p><p><a class="attachment" href="/uploads/x.pdf">brief_IND_Jansen.pdf</a> (120 KB)</p>"#;
        assert_eq!(
            html_to_text(cooked),
            "Mijn brief: Wat betekent dit? (120 KB)"
        );
    }

    #[test]
    fn a_quote_keeps_its_words_not_the_quoted_person() {
        let cooked = r#"<aside class="quote no-group" data-username="mina_k" data-post="3"><div class="title"><div class="quote-controls"></div><img alt="" src="/a.png" class="avatar"> mina_k:</div><blockquote><p>Gehoor weer uitgesteld.</p></blockquote></aside><p>Bij mij ook. <div class="title">Titel</div></p>"#;
        assert_eq!(
            html_to_text(cooked),
            "Gehoor weer uitgesteld. Bij mij ook. Titel."
        );
    }

    #[test]
    fn block_elements_separate_words() {
        assert_eq!(
            html_to_text("<li>een</li><li>twee</li>two<br>lines"),
            "een. twee. two lines"
        );
    }

    /// A list item, a heading or a paragraph is a line of its own on the page: one that
    /// ends without punctuation ends with a full stop, not in the next line's words.
    #[test]
    fn lines_of_a_page_do_not_run_into_one_sentence() {
        let html = "<p>Problems:</p><ul><li>the hearing and decision</li>\n<li>interpreters who speak <b>another dialect</b> </li><li>phones nobody answers!</li></ul><h3>Waiting</h3><p>But also kind staff</p><table><tr><td>wachttijd</td><td>18 maanden</td></tr></table>";
        assert_eq!(
            html_to_text(html),
            "Problems: the hearing and decision. interpreters who speak another dialect. phones nobody answers! Waiting. But also kind staff. wachttijd 18 maanden."
        );
        // Arabic, Persian and the like end a line so too; what ends in punctuation, an
        // emoji or nothing stays as it is.
        assert_eq!(
            html_to_text("<li>المترجم</li><li>🙂</li><li></li><li>(zie brief)</li>"),
            "المترجم. 🙂 (zie brief)"
        );
        // Lines inside what is not the writer's add nothing to the writer's.
        assert_eq!(
            html_to_text(r#"<div>tekst <aside class="onebox"><p>x</p></aside> meer</div>"#),
            "tekst meer."
        );
    }

    #[test]
    fn plain_text_with_angle_brackets_survives() {
        assert_eq!(any_to_text("ik <3 dit, a < b"), "ik <3 dit, a < b");
        assert_eq!(any_to_text("a<b, c<d"), "a<b, c<d");
        assert_eq!(any_to_text("wow<!! echt"), "wow<!! echt");
        assert_eq!(any_to_text("ja <!-- x --> nee"), "ja nee");
        assert_eq!(
            any_to_text("wachttijd<1 jaar & meer; echt"),
            "wachttijd<1 jaar & meer; echt"
        );
        assert_eq!(any_to_text("AT&amp;T"), "AT&T");
        assert_eq!(any_to_text("&#233;&#xE9;"), "éé");
        assert_eq!(any_to_text("<p>een</p><p>twee</p>"), "een. twee.");
        assert_eq!(any_to_text("een<br/>twee"), "een twee");
        assert_eq!(
            any_to_text("<a href=\"https://x.nl\">link</a> tekst"),
            "link tekst"
        );
    }

    #[test]
    fn html_nested_deeper_than_any_post_is_read_as_tags_and_text() {
        let html = "<div>".repeat(50_000) + "Asielzoekers &amp; het COA<script>x()</script>";
        assert!(nests_deeper_than(&html, MAX_DEPTH));
        assert_eq!(html_to_text(&html), "Asielzoekers & het COA");
        // Void elements, self-closing tags and closed ones open nothing.
        let flat = "<p>a<br><img src=x><span/>b</p>".repeat(1_000);
        assert!(!nests_deeper_than(&flat, MAX_DEPTH));
        assert!(nests_deeper_than(&"<ul><li>".repeat(200), MAX_DEPTH));
        assert!(!nests_deeper_than(&"<li>x</li>".repeat(1_000), MAX_DEPTH));
        // Tags that never end open nothing (and are read in one pass).
        assert!(!nests_deeper_than(&"<a".repeat(100_000), MAX_DEPTH));
    }

    #[test]
    fn deeply_nested_html_does_not_overflow() {
        // Deep enough that a recursive walk would overflow a test thread's 2 MiB stack:
        // read as tags and text, without a tree.
        let html = "<div>".repeat(20_000) + "diep";
        assert_eq!(html_to_text(&html), "diep");
        // As deep as a tree is still made.
        let html = "<div>".repeat(MAX_DEPTH) + "diep";
        assert_eq!(html_to_text(&html), "diep.");
    }

    #[test]
    fn folding_decides_every_character_as_the_unicode_definitions_do() {
        let chars = (0..=0x3100u32).chain([0xfeff, 0xfffd, 0x1_f600, 0xe_0001]);
        for c in chars.filter_map(char::from_u32) {
            let expected = if c.is_whitespace() || c == '\u{00a0}' {
                Fold::Space
            } else if c.is_control() || INVISIBLE.contains(&c) || is_direction_override(c) {
                Fold::Drop
            } else {
                Fold::Keep
            };
            assert!(fold_of(c) == expected, "{c:?}");
        }
    }

    #[test]
    fn overrides_of_the_text_direction_are_dropped_and_the_marks_kept() {
        assert_eq!(
            fold_whitespace("\u{202e}De tolk kwam niet \u{2069}\u{202c}"),
            "De tolk kwam niet"
        );
        assert_eq!(fold_whitespace("a\u{2066}b\u{202d}c"), "abc");
        assert_eq!(
            fold_whitespace("IND \u{200f}الهولندية"),
            "IND \u{200f}الهولندية"
        );
    }

    #[test]
    fn folding_copies_the_folded_start_as_folding_character_by_character_would() {
        let by_character = |text: &str| {
            let mut out = String::new();
            fold_rest(&mut out, false, text);
            out
        };
        for text in [
            "",
            " ",
            "   ",
            "\u{200b}",
            "een twee ",
            "een twee \n",
            "een twee\n drie",
            "een \u{ad}twee",
            "een \u{ad} twee",
            "  een\t\ttwee \n",
            "\u{ad}a\u{ad}b\u{ad} \u{ad} c",
            "één\u{a0}\u{a0}twee\u{3000}drie\u{0}vier",
            "گفت\u{200c}وگو  ሰላም\r\nЯ",
            "x\u{7f}y \u{feff}",
            "a \u{202e}b\u{2069} c",
        ] {
            assert_eq!(fold_whitespace(text), by_character(text), "{text:?}");
            assert_eq!(
                refold(text).is_none(),
                by_character(text) == text,
                "{text:?}"
            );
        }
    }

    #[test]
    fn folded_text_is_recognised() {
        for text in ["", "een twee", "één\u{200c}twee"] {
            assert!(refold(text).is_none(), "{text:?}");
            assert_eq!(fold_whitespace(text), text);
        }
        for text in [
            " een",
            "een ",
            "een  twee",
            "een\ntwee",
            "a\u{ad}b",
            "a\u{a0}b",
        ] {
            assert!(refold(text).is_some(), "{text:?}");
        }
    }

    #[test]
    fn tracking_parameters_and_fragment_are_removed() {
        assert_eq!(
            canonical_url("https://nos.example/a?utm_source=rss&id=42&utm_campaign=x&fbclid=1#top")
                .as_deref(),
            Some("https://nos.example/a?id=42")
        );
        assert_eq!(
            canonical_url("https://E.example/a?utm_x=1").as_deref(),
            Some("https://e.example/a")
        );
        assert_eq!(canonical_url("javascript:alert(1)"), None);
        assert_eq!(canonical_url("/relative"), None);
    }

    #[test]
    fn contact_details_in_a_link_are_removed() {
        assert_eq!(
            canonical_url("https://forum.example.org/t/1?email=ahmed.k%40gmail.com&p=7&Phone=0612345678&to=a@b.nl")
                .as_deref(),
            Some("https://forum.example.org/t/1?p=7")
        );
        // Who signed in, with what, and an address written out.
        assert_eq!(
            canonical_url("https://jan.jansen%40gmail.com:geheim123@forum.example.nl/t/ui1?contact=jan.jansen(at)gmail.com&page=2&Token=abc&session=x&password=y")
                .as_deref(),
            Some("https://forum.example.nl/t/ui1?page=2")
        );
        assert_eq!(
            canonical_url("https://jan@forum.example.nl/t/2?by=jan[at]example.org").as_deref(),
            Some("https://forum.example.nl/t/2")
        );
        // Keys of the same families, values the redaction takes for contact details.
        for query in [
            "telefoonnummer=0612345678",
            "phone_number=0687654321",
            "wachtwoord=x1",
            "auth_token=abc",
            "session_id=abc",
            "PHPSESSID=abc",
            "by=karimw(a)gmail.com",
            "by=omar.haddad%20at%20gmail%20dot%20com",
            "by=fatima.x%EF%BC%A0gmail.com",
            "q=bel%20mij%200611223344",
        ] {
            assert_eq!(
                canonical_url(&format!("https://forum.example.nl/t/3?page=2&{query}")).as_deref(),
                Some("https://forum.example.nl/t/3?page=2"),
                "{query}"
            );
        }
        assert_eq!(
            canonical_url("https://forum.example.nl/t/4;jsessionid=A1B2?page=2").as_deref(),
            Some("https://forum.example.nl/t/4?page=2")
        );
        // A page's own numbers stay.
        assert_eq!(
            canonical_url("https://nieuws.example.nl/a?id=123456782&p=0612").as_deref(),
            Some("https://nieuws.example.nl/a?id=123456782&p=0612")
        );
    }

    #[test]
    fn truncation_respects_characters() {
        let mut s = "ééé".to_string();
        truncate_at_char(&mut s, 3);
        assert_eq!(s, "é");
    }
}
