//! Mastodon: hashtag timelines and, with a token, full-text search of statuses.
//!
//! Streams: `tags` are one timeline, `/api/v1/timelines/tag/{first}?any[]={other}…`, and
//! `query` is `/api/v2/search?type=statuses` (Mastodon only searches statuses for a
//! logged-in account, so it needs `token_env` or `token_file`). Both list newest first
//! and page back with `max_id`: the `Link: rel="next"` URL's, or the oldest status on the
//! page when there is no `Link` header. The timeline also takes `since_id`, so its newest
//! page holds only statuses after the mark. The status's `language` is the hint, `uri`
//! (the ActivityPub id, the same on every instance) its id, `account.acct` its author.

use chrono::{DateTime, Utc};
use url::Url;

use super::json::{parse_body, At};
use super::walk::{read_items, Chunk, Item, Key, Listing};
use super::{api_url, link_target, query_value, Body, FetchRequest, SourceError, ACCEPT_JSON};
use crate::config::SourceConfig;
use crate::mention::Mention;
use crate::pipeline::extract::{any_to_text, canonical_url, html_to_text};

const KIND: &str = "mastodon";
/// The most statuses the API returns per page.
const PAGE_SIZE: &str = "40";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    Tags,
    Search,
}

pub struct Mastodon {
    name: String,
    base: Url,
    lang: Option<String>,
    tags: Vec<String>,
    query: String,
    labels: Vec<String>,
    plans: Vec<Plan>,
}

impl Mastodon {
    pub fn new(config: &SourceConfig) -> Mastodon {
        let p = &config.platform;
        let (mut labels, mut plans) = (Vec::new(), Vec::new());
        if !p.tags.is_empty() {
            labels.push(format!("tags:{}", p.tags.join("+").to_lowercase()));
            plans.push(Plan::Tags);
        }
        if let Some(query) = &p.query {
            labels.push(format!("search:{query}"));
            plans.push(Plan::Search);
        }
        Mastodon {
            name: config.name.clone(),
            base: config.url.clone(),
            lang: config.lang.clone(),
            tags: p.tags.clone(),
            query: p.query.clone().unwrap_or_default(),
            labels,
            plans,
        }
    }

    /// `name@instance` always: `acct` leaves the instance out for the asked instance's
    /// own accounts, and "alice" on two polled instances are two people (and two
    /// pseudonyms, each erased on its own). The account's profile address names its
    /// instance; failing that, the source's.
    fn author(&self, account: &At) -> Result<String, SourceError> {
        let acct = account.str_at("acct")?;
        if acct.contains('@') {
            return Ok(acct.to_string());
        }
        Ok(super::at_instance(acct, account.opt_str("url")?)
            .or_else(|| super::at_instance(acct, Some(self.base.as_str())))
            .unwrap_or_else(|| acct.to_string()))
    }

    fn item(&self, status: &At, now: DateTime<Utc>) -> Result<Item, SourceError> {
        let id = status.field("id")?.id()?;
        let published = status.field("created_at")?.time()?;
        let uri = status.str_at("uri")?;
        let content = status.str_at("content")?;
        let account = status.field("account")?;
        let author = self.author(&account)?;
        // Searched with a token, a server also finds the direct messages and the posts
        // for followers that concern the token's account: not public, never stored. An
        // author who opted out of being indexed ("noindex") is not stored either.
        // Every Mastodon server says which a status is: one that does not say "public"
        // (no visibility, null, a number, "unlisted") is not taken for one, whichever
        // listing it came from.
        let public = status.hint_str("visibility") == Some("public");
        let withheld = !public || account.hint_bool("noindex") == Some(true);
        let mut m = Mention::new(&self.name, uri, published, now);
        m.title = status
            .hint_str("spoiler_text")
            .map(any_to_text)
            .unwrap_or_default();
        m.text = html_to_text(content);
        m.url = status
            .opt_str("url")?
            .and_then(canonical_url)
            .or_else(|| canonical_url(uri));
        m.author = Some(author);
        m.lang_hint = match &self.lang {
            Some(lang) => Some(lang.clone()),
            None => status.hint_str("language").map(str::to_string),
        };
        Ok(Item {
            key: Key::new(snowflake_time(&id).unwrap_or(published), id),
            mention: m,
            pinned: false,
            withheld,
        })
    }
}

/// The time in a Mastodon id: ids are milliseconds since 1970 shifted left by 16 bits,
/// and timelines are ordered by id, so this orders the walk as the server does (a
/// federated post's `created_at` may disagree). Ids of other servers, or of Mastodon
/// before 2.0, are not snowflakes: `None`, and `created_at` is used.
fn snowflake_time(id: &str) -> Option<DateTime<Utc>> {
    let millis = i64::try_from(id.parse::<u64>().ok()? >> 16).ok()?;
    let at = DateTime::from_timestamp_millis(millis)?;
    let snowflakes_began = DateTime::from_timestamp(1_483_228_800, 0)?; // 2017-01-01
    (at > snowflakes_began).then_some(at)
}

impl Listing for Mastodon {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn streams(&self) -> &[String] {
        &self.labels
    }

    fn request(&self, stream: usize, cursor: Option<&str>, floor: Option<&Key>) -> FetchRequest {
        let plan = self.plans[stream];
        let (segments, mut pairs): (Vec<&str>, Vec<(&str, &str)>) = match plan {
            Plan::Tags => (
                vec!["api", "v1", "timelines", "tag", self.tags[0].as_str()],
                self.tags[1..]
                    .iter()
                    .map(|t| ("any[]", t.as_str()))
                    .collect(),
            ),
            Plan::Search => (
                vec!["api", "v2", "search"],
                vec![("q", self.query.as_str()), ("type", "statuses")],
            ),
        };
        pairs.push(("limit", PAGE_SIZE));
        pairs.extend(cursor.map(|max_id| ("max_id", max_id)));
        if plan == Plan::Tags {
            pairs.extend(floor.map(|f| ("since_id", f.id.as_str())));
        }
        FetchRequest::get(api_url(&self.base, &segments, &pairs), ACCEPT_JSON)
    }

    fn read(
        &self,
        stream: usize,
        _: Option<&str>,
        body: &Body,
        now: DateTime<Utc>,
    ) -> Result<Chunk, SourceError> {
        let value = parse_body(KIND, body)?;
        let statuses = match self.plans[stream] {
            Plan::Tags => At::root(KIND, "statuses", &value).items()?,
            Plan::Search => At::root(KIND, "", &value).field("statuses")?.items()?,
        };
        let (items, unreadable) = read_items(&statuses, |status| self.item(status, now).map(Some))?;
        let next = match body.link.as_deref() {
            Some(link) => link_target(link, "next").and_then(|url| query_value(&url, "max_id")),
            None => items.last().map(|item| item.key.id.clone()),
        };
        Ok(Chunk {
            items,
            next,
            unreadable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Platform;

    fn source(tags: &[&str], query: Option<&str>) -> Mastodon {
        Mastodon::new(&SourceConfig {
            name: "m".into(),
            kind: KIND.into(),
            url: Url::parse("https://social.example").unwrap(),
            interval: std::time::Duration::from_secs(600),
            lang: None,
            enabled: true,
            rate_limit: std::time::Duration::from_secs(1),
            topical: false,
            platform: Platform {
                tags: tags.iter().map(|t| t.to_string()).collect(),
                query: query.map(str::to_string),
                ..Platform::default()
            },
        })
    }

    fn body(json: &str, link: Option<&str>) -> Body {
        Body {
            url: Url::parse("https://social.example/api/v1/timelines/tag/asielzoekers").unwrap(),
            content_type: Some("application/json; charset=utf-8".into()),
            etag: None,
            last_modified: None,
            link: link.map(str::to_string),
            bytes: json.as_bytes().to_vec(),
        }
    }

    const STATUSES: &str = r#"[
      {"id":"113500000000000002","created_at":"2026-11-20T09:30:00.000Z","uri":"https://social.example/users/ayla/statuses/113500000000000002",
       "url":"https://social.example/@ayla/113500000000000002?utm_source=x","content":"<p>Al 14 maanden wachten op mijn <a href=\"https://social.example/tags/IND\">#IND</a> gehoor.</p>",
       "spoiler_text":"","language":"nl","account":{"id":"1","acct":"ayla@other.example","username":"ayla"}},
      {"id":"113500000000000001","created_at":"2026-11-20T09:00:00.000Z","uri":"https://social.example/users/bo/statuses/113500000000000001",
       "url":null,"content":"<p>Ter Apel again</p>","spoiler_text":"asylum","language":null,"account":{"acct":"bo"}}
    ]"#;

    #[test]
    fn tag_timeline_request_uses_any_since_and_max_id() {
        let m = source(&["asielzoekers", "IND"], None);
        let floor = Key::new(Utc::now(), "113400000000000000");
        let url = m.request(0, Some("113500000000000001"), Some(&floor)).url;
        assert_eq!(
            url.as_str(),
            "https://social.example/api/v1/timelines/tag/asielzoekers?any%5B%5D=IND&limit=40&max_id=113500000000000001&since_id=113400000000000000"
        );
        assert_eq!(m.streams(), ["tags:asielzoekers+ind"]);
    }

    /// Mastodon pages by `max_id` as deep as a timeline goes: no status to an older page
    /// means it will never come, so every one is an error to retry with the walk kept.
    #[test]
    fn no_status_gives_a_walk_up() {
        let m = source(&["IND"], None);
        for status in [400, 401, 403, 404, 410, 429, 500, 503] {
            assert!(!m.refuses_cursor(status), "{status}");
        }
    }

    #[test]
    fn statuses_become_mentions() {
        let m = source(&["IND"], None);
        let link = r#"<https://social.example/api/v1/timelines/tag/IND?max_id=113500000000000001>; rel="next", <https://social.example/api/v1/timelines/tag/IND?min_id=113500000000000002>; rel="prev""#;
        let chunk = m
            .read(0, None, &body(STATUSES, Some(link)), Utc::now())
            .unwrap();
        assert_eq!(chunk.next.as_deref(), Some("113500000000000001"));
        let first = &chunk.items[0].mention;
        assert_eq!(
            first.external_id,
            "https://social.example/users/ayla/statuses/113500000000000002"
        );
        assert_eq!(first.text, "Al 14 maanden wachten op mijn #IND gehoor.");
        assert_eq!(
            first.url.as_deref(),
            Some("https://social.example/@ayla/113500000000000002")
        );
        assert_eq!(first.author.as_deref(), Some("ayla@other.example"));
        assert_eq!(first.lang_hint.as_deref(), Some("nl"));
        let second = &chunk.items[1].mention;
        assert_eq!(second.title, "asylum");
        // The asked instance's own account: its instance added, so that "bo" here and
        // "bo" elsewhere are two people.
        assert_eq!(second.author.as_deref(), Some("bo@social.example"));
        assert_eq!(second.lang_hint, None);
        assert_eq!(
            second.url.as_deref(),
            Some("https://social.example/users/bo/statuses/113500000000000001")
        );
        // Without a Link header the oldest status is the cursor.
        let chunk = m.read(0, None, &body(STATUSES, None), Utc::now()).unwrap();
        assert_eq!(chunk.next.as_deref(), Some("113500000000000001"));
    }

    #[test]
    fn a_broken_status_names_its_index_and_field() {
        let m = source(&["IND"], None);
        let broken = STATUSES.replace(r#""created_at":"2026-11-20T09:00:00.000Z","#, "");
        // Left out and named; the other status is read.
        let chunk = m.read(0, None, &body(&broken, None), Utc::now()).unwrap();
        assert_eq!((chunk.items.len(), chunk.unreadable.len()), (1, 1));
        let err = &chunk.unreadable[0];
        assert!(
            err.contains("mastodon: statuses[1].created_at: missing"),
            "{err}"
        );
        // When no status can be read, the response is the source's error.
        let wrong = broken.replace(r#""created_at":"2026-11-20T09:30:00.000Z","#, "");
        let err = m
            .read(0, None, &body(&wrong, None), Utc::now())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("statuses[0].created_at: missing"), "{err}");
        let wrong = STATUSES.replace(r#""acct":"bo""#, r#""acct":7"#);
        let chunk = m.read(0, None, &body(&wrong, None), Utc::now()).unwrap();
        let err = &chunk.unreadable[0];
        assert!(
            err.contains("statuses[1].account.acct: expected a string, found a number"),
            "{err}"
        );
    }

    #[test]
    fn snowflake_ids_carry_their_time() {
        let at = snowflake_time("113500000000000002").unwrap();
        assert_eq!(at.to_rfc3339(), "2024-11-17T19:42:38.593+00:00");
        assert_eq!(snowflake_time("12345"), None);
        assert_eq!(snowflake_time("AbCdEf"), None);
    }

    #[test]
    fn search_reads_the_statuses_field() {
        let m = source(&[], Some("asielprocedure"));
        let url = m.request(0, None, None).url;
        assert_eq!(
            url.as_str(),
            "https://social.example/api/v2/search?q=asielprocedure&type=statuses&limit=40"
        );
        let json = format!(r#"{{"accounts":[],"hashtags":[],"statuses":{STATUSES}}}"#);
        let chunk = m.read(0, None, &body(&json, None), Utc::now()).unwrap();
        assert_eq!(chunk.items.len(), 2);
    }

    #[test]
    fn what_is_not_public_or_opted_out_is_withheld() {
        let m = source(&[], Some("asielprocedure"));
        let direct = STATUSES
            .replacen(
                r#""spoiler_text":"","#,
                r#""spoiler_text":"","visibility":"direct","#,
                1,
            )
            .replace(
                r#""account":{"acct":"bo"}"#,
                r#""account":{"acct":"bo","noindex":true}"#,
            );
        let json = format!(r#"{{"statuses":{direct}}}"#);
        let chunk = m.read(0, None, &body(&json, None), Utc::now()).unwrap();
        // Both still sit in the listing (the walk counts them), neither is to be stored.
        assert_eq!(chunk.items.len(), 2);
        assert!(chunk.items.iter().all(|i| i.withheld));
        let public = STATUSES.replacen(
            r#""spoiler_text":"","#,
            r#""spoiler_text":"","visibility":"public","#,
            1,
        );
        let tags = source(&["IND"], None);
        let chunk = tags
            .read(0, None, &body(&public, None), Utc::now())
            .unwrap();
        assert_eq!(
            chunk.items.iter().map(|i| i.withheld).collect::<Vec<_>>(),
            [false, true],
            "the second says nothing of its visibility"
        );
        // A status that does not say it is public is not taken for one, from a search
        // or from a tag timeline alike.
        for visibility in [
            "",
            r#""visibility":null,"#,
            r#""visibility":1,"#,
            r#""visibility":"Public","#,
            r#""visibility":"unlisted","#,
        ] {
            let odd = STATUSES.replace(
                r#""spoiler_text":"","#,
                &format!(r#""spoiler_text":"",{visibility}"#),
            );
            let json = format!(r#"{{"statuses":{odd}}}"#);
            let chunk = m.read(0, None, &body(&json, None), Utc::now()).unwrap();
            assert!(chunk.items.iter().all(|i| i.withheld), "{visibility}");
            let chunk = tags.read(0, None, &body(&odd, None), Utc::now()).unwrap();
            assert!(chunk.items.iter().all(|i| i.withheld), "{visibility}");
        }
        // A malformed hint costs the hint, not the status.
        let odd = STATUSES.replace(r#""language":"nl""#, r#""language":["nl"]"#);
        let chunk = tags.read(0, None, &body(&odd, None), Utc::now()).unwrap();
        assert_eq!(
            (chunk.items.len(), chunk.items[0].mention.lang_hint.clone()),
            (2, None)
        );
    }
}
