//! Bluesky: `app.bsky.feed.searchPosts` on a public AppView, newest first.
//!
//! One stream: `/xrpc/app.bsky.feed.searchPosts?q=…&sort=latest&limit=100`, paged back
//! with the response's `cursor`. Each of `posts[]` is a post view: `uri`
//! (`at://did/app.bsky.feed.post/rkey`), `author.handle`, `record.text`,
//! `record.createdAt`, `record.langs` (the first is the hint) and `indexedAt`. The
//! listing is ordered by when the AppView saw a post, so that orders the walk; the
//! published time is the author's `createdAt` (clients may set it to anything, so one
//! that is not a time falls back to `indexedAt` rather than stopping the source).

use chrono::{DateTime, Utc};
use url::Url;

use super::json::{parse_body, At};
use super::walk::{read_items, Chunk, Item, Key, Listing};
use super::{api_url, Body, FetchRequest, SourceError, ACCEPT_JSON};
use crate::config::SourceConfig;
use crate::mention::Mention;
use crate::pipeline::extract::fold_whitespace;

const KIND: &str = "bluesky";
/// The most posts one search page returns.
const PAGE_SIZE: &str = "100";
/// Where people read a post, whichever AppView the daemon asks.
const WEB: &str = "https://bsky.app";

pub struct Bluesky {
    name: String,
    base: Url,
    lang: Option<String>,
    query: String,
    labels: Vec<String>,
}

impl Bluesky {
    pub fn new(config: &SourceConfig) -> Bluesky {
        let query = config.platform.query.clone().unwrap_or_default();
        let labels = if query.is_empty() {
            Vec::new()
        } else {
            vec![format!("search:{query}")]
        };
        Bluesky {
            name: config.name.clone(),
            base: config.url.clone(),
            lang: config.lang.clone(),
            query,
            labels,
        }
    }

    fn item(&self, post: &At, now: DateTime<Utc>) -> Result<Item, SourceError> {
        let uri = post.str_at("uri")?;
        let indexed = post.field("indexedAt")?.time()?;
        let author = post.field("author")?;
        let handle = author.str_at("handle")?;
        let record = post.field("record")?;
        let text = record.str_at("text")?;
        let published = record.field("createdAt")?.time().unwrap_or(indexed);
        let first_lang = record
            .hint_at("langs")
            .and_then(|langs| langs.items().ok())
            .and_then(|langs| langs.first().and_then(At::hint))
            .map(str::to_string);
        // The author asked apps not to show their posts to people not logged in.
        let withheld = hidden_from_the_logged_out(&author) || hidden_from_the_logged_out(post);
        let mut m = Mention::new(&self.name, uri, published, now);
        m.text = fold_whitespace(text);
        // A handle that no longer resolves is shown as `handle.invalid`, for every such
        // account alike: the DID links, and tells the authors apart.
        let profile = if handle == "handle.invalid" {
            author.str_at("did")?
        } else {
            handle
        };
        let rkey = uri.rsplit('/').next().unwrap_or_default();
        m.url = Some(format!("{WEB}/profile/{profile}/post/{rkey}"));
        m.author = Some(profile.to_string());
        m.lang_hint = self
            .lang
            .clone()
            .or_else(|| first_lang.as_deref().map(primary_subtag));
        Ok(Item {
            // The saved position keeps the last keys; a post's URI holds its author's
            // permanent account id (`at://did:plc:…/…`), so the key holds its hash.
            key: Key::new(
                indexed,
                blake3::hash(uri.as_bytes()).to_hex()[..32].to_string(),
            ),
            mention: m,
            pinned: false,
            withheld,
        })
    }
}

/// `pt-BR` → `pt`: the pipeline's hints are ISO 639-1 codes.
fn primary_subtag(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Whether `labelled` (an account or a post view) carries a `!no-unauthenticated` label
/// in force. A label with `"neg": true` takes the same value back for the labeller that
/// set it (`src`); it stands only where it is known to be the later one (by `cts`): a
/// label whose order cannot be told keeps the post out.
fn hidden_from_the_logged_out(labelled: &At) -> bool {
    let Some(labels) = labelled.hint_at("labels").and_then(|l| l.items().ok()) else {
        return false;
    };
    let (set, taken_back): (Vec<&At>, Vec<&At>) = labels
        .iter()
        .filter(|l| l.hint_str("val") == Some("!no-unauthenticated"))
        .partition(|l| l.hint_bool("neg") != Some(true));
    let created = |label: &At| {
        label
            .hint_str("cts")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    };
    set.iter().any(|label| {
        !taken_back.iter().any(|negation| {
            negation.hint_str("src") == label.hint_str("src")
                && matches!((created(negation), created(label)), (Some(n), Some(l)) if n > l)
        })
    })
}

impl Listing for Bluesky {
    fn name(&self) -> &str {
        &self.name
    }

    /// The public AppView answers an anonymous search that asks for an older page
    /// "403 Request forbidden by administrative rules", every time.
    fn refuses_cursor(&self, status: u16) -> bool {
        status == 403
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn streams(&self) -> &[String] {
        &self.labels
    }

    fn request(&self, _: usize, cursor: Option<&str>, _: Option<&Key>) -> FetchRequest {
        let mut pairs = vec![
            ("q", self.query.as_str()),
            ("sort", "latest"),
            ("limit", PAGE_SIZE),
        ];
        pairs.extend(cursor.map(|c| ("cursor", c)));
        let url = api_url(&self.base, &["xrpc", "app.bsky.feed.searchPosts"], &pairs);
        FetchRequest::get(url, ACCEPT_JSON)
    }

    fn read(
        &self,
        _: usize,
        _: Option<&str>,
        body: &Body,
        now: DateTime<Utc>,
    ) -> Result<Chunk, SourceError> {
        let value = parse_body(KIND, body)?;
        let root = At::root(KIND, "", &value);
        let (items, unreadable) = read_items(&root.field("posts")?.items()?, |post| {
            self.item(post, now).map(Some)
        })?;
        let next = root.opt_str("cursor")?.map(str::to_string);
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

    fn source() -> Bluesky {
        Bluesky::new(&SourceConfig {
            name: "b".into(),
            kind: KIND.into(),
            url: Url::parse("https://public.api.bsky.app").unwrap(),
            interval: std::time::Duration::from_secs(600),
            lang: None,
            enabled: true,
            rate_limit: std::time::Duration::from_secs(1),
            topical: false,
            platform: Platform {
                query: Some("asielzoekers".into()),
                ..Platform::default()
            },
        })
    }

    fn body(json: &str) -> Body {
        Body {
            url: Url::parse("https://public.api.bsky.app/xrpc/app.bsky.feed.searchPosts").unwrap(),
            content_type: Some("application/json; charset=utf-8".into()),
            etag: None,
            last_modified: None,
            link: None,
            bytes: json.as_bytes().to_vec(),
        }
    }

    const PAGE: &str = r#"{"cursor":"1795168000000::bafy","hitsTotal":2,"posts":[
      {"uri":"at://did:plc:abc/app.bsky.feed.post/3lbxyz2","cid":"bafy1",
       "author":{"did":"did:plc:abc","handle":"noor.bsky.social"},
       "record":{"$type":"app.bsky.feed.post","text":"المقابلة في IND استغرقت ست ساعات","createdAt":"2026-11-20T09:59:00.000Z","langs":["ar"]},
       "indexedAt":"2026-11-20T10:00:00.000Z"},
      {"uri":"at://did:plc:def/app.bsky.feed.post/3lbxyz1","cid":"bafy2",
       "author":{"did":"did:plc:def","handle":"handle.invalid"},
       "record":{"text":"Asielzoekers  in Ter Apel","createdAt":"not a date","langs":["nl-NL"]},
       "indexedAt":"2026-11-20T09:00:00.000Z"}
    ]}"#;

    #[test]
    fn search_request() {
        assert_eq!(
            source().request(0, Some("c1"), None).url.as_str(),
            "https://public.api.bsky.app/xrpc/app.bsky.feed.searchPosts?q=asielzoekers&sort=latest&limit=100&cursor=c1"
        );
    }

    #[test]
    fn posts_become_mentions() {
        let chunk = source().read(0, None, &body(PAGE), Utc::now()).unwrap();
        assert_eq!(chunk.next.as_deref(), Some("1795168000000::bafy"));
        let first = &chunk.items[0].mention;
        assert_eq!(
            first.external_id,
            "at://did:plc:abc/app.bsky.feed.post/3lbxyz2"
        );
        assert_eq!(
            first.url.as_deref(),
            Some("https://bsky.app/profile/noor.bsky.social/post/3lbxyz2")
        );
        assert_eq!(first.lang_hint.as_deref(), Some("ar"));
        assert_eq!(first.author.as_deref(), Some("noor.bsky.social"));
        let second = &chunk.items[1].mention;
        assert_eq!(second.text, "Asielzoekers in Ter Apel");
        assert_eq!(second.lang_hint.as_deref(), Some("nl"));
        assert_eq!(
            second.url.as_deref(),
            Some("https://bsky.app/profile/did:plc:def/post/3lbxyz1")
        );
        // A createdAt that is not a time falls back to indexedAt.
        assert_eq!(second.published, chunk.items[1].key.at);
        // What the saved position keeps of a post is no account id.
        for item in &chunk.items {
            assert!(!item.key.id.contains("did:"), "{}", item.key.id);
            assert_eq!(item.key.id.len(), 32);
        }
        assert_ne!(chunk.items[0].key.id, chunk.items[1].key.id);
    }

    #[test]
    fn a_missing_record_names_the_post() {
        let broken = PAGE.replace(r#""record":{"text":"Asielzoekers  in Ter Apel","createdAt":"not a date","langs":["nl-NL"]},"#, "");
        // Left out and named; the other post is read.
        let chunk = source().read(0, None, &body(&broken), Utc::now()).unwrap();
        assert_eq!(chunk.items.len(), 1);
        assert_eq!(chunk.unreadable.len(), 1);
        let err = &chunk.unreadable[0];
        assert!(err.contains("bluesky: posts[1].record: missing"), "{err}");
    }

    #[test]
    fn authors_without_a_handle_stay_apart_and_opted_out_authors_are_withheld() {
        let chunk = source().read(0, None, &body(PAGE), Utc::now()).unwrap();
        // Not one "handle.invalid" for every such account: their DIDs.
        assert_eq!(
            chunk.items[1].mention.author.as_deref(),
            Some("did:plc:def")
        );
        assert!(chunk.items.iter().all(|i| !i.withheld));
        let labelled = PAGE.replace(
            r#""handle":"noor.bsky.social"}"#,
            r#""handle":"noor.bsky.social","labels":[{"src":"did:plc:abc","val":"!no-unauthenticated"}]}"#,
        );
        let chunk = source()
            .read(0, None, &body(&labelled), Utc::now())
            .unwrap();
        assert!(chunk.items[0].withheld && !chunk.items[1].withheld);
        // A label taken back by the labeller that set it no longer holds the post back;
        // one taken back by another, or where the order cannot be told, still does.
        let label = |labels: &str| {
            PAGE.replace(
                r#""handle":"noor.bsky.social"}"#,
                &format!(r#""handle":"noor.bsky.social","labels":[{labels}]}}"#),
            )
        };
        let set =
            r#"{"src":"did:plc:abc","val":"!no-unauthenticated","cts":"2026-11-01T00:00:00Z"}"#;
        let back = |src: &str, cts: &str| {
            format!(r#"{{"src":"{src}","val":"!no-unauthenticated","neg":true,"cts":"{cts}"}}"#)
        };
        for (labels, withheld) in [
            (back("did:plc:abc", "2026-11-02T00:00:00Z"), false),
            (
                format!("{set},{}", back("did:plc:abc", "2026-11-02T00:00:00Z")),
                false,
            ),
            (
                format!("{set},{}", back("did:plc:xyz", "2026-11-02T00:00:00Z")),
                true,
            ),
            (
                format!("{set},{}", back("did:plc:abc", "2026-10-30T00:00:00Z")),
                true,
            ),
            (format!("{set},{}", back("did:plc:abc", "soon")), true),
        ] {
            let chunk = source()
                .read(0, None, &body(&label(&labels)), Utc::now())
                .unwrap();
            assert_eq!(chunk.items[0].withheld, withheld, "{labels}");
        }
        // On the post itself it holds the post back too.
        let on_post = PAGE.replacen(
            r#""indexedAt""#,
            r#""labels":[{"src":"did:plc:mod","val":"!no-unauthenticated"}],"indexedAt""#,
            1,
        );
        let chunk = source().read(0, None, &body(&on_post), Utc::now()).unwrap();
        assert!(chunk.items[0].withheld);
        // A post dated in the year 3001 keeps its date here, and its place in the walk
        // by when the AppView saw it; the pipeline's first stage dates it when it was
        // fetched (`index::dates_far_ahead_or_far_back_do_not_wrap_round`).
        let far = PAGE.replace("2026-11-20T09:59:00.000Z", "3001-12-31T23:00:00.000Z");
        let chunk = source().read(0, None, &body(&far), Utc::now()).unwrap();
        assert_eq!(
            chunk.items[0].mention.published.to_rfc3339(),
            "3001-12-31T23:00:00+00:00"
        );
        // Langs of the wrong shape cost the hint only.
        let odd = PAGE.replace(r#""langs":["ar"]"#, r#""langs":"ar""#);
        let chunk = source().read(0, None, &body(&odd), Utc::now()).unwrap();
        assert_eq!(chunk.items[0].mention.lang_hint, None);
    }
}
