//! Lemmy: posts and, with `include_comments`, comments of communities.
//!
//! Streams, per community: `/api/v3/post/list?community_name=…&sort=New&limit=50&page=N`
//! and `/api/v3/comment/list?…&sort=New&type_=All`. Lemmy pages by number (from 1), so new
//! posts shift older ones onto later pages while a walk is under way; the walk skips
//! what it has already delivered (see [`super::walk`]). An empty page ends the listing.
//! Post views hold `post.{id, name, body, ap_id, published, language_id}` and
//! `creator.{name, actor_id}`; comment views `comment.{…, content}` and `post.name`, the
//! thread. The author is `name@instance`, the id the ActivityPub id (`ap_id`), which is
//! also the permalink on the post's home instance.

use chrono::{DateTime, Utc};
use url::Url;

use super::json::{parse_body, At};
use super::walk::{read_items, Chunk, Item, Key, Listing};
use super::{api_url, Body, FetchRequest, SourceError, ACCEPT_JSON};
use crate::config::SourceConfig;
use crate::mention::Mention;
use crate::pipeline::extract::{any_to_text, canonical_url};

const KIND: &str = "lemmy";
/// The most items Lemmy returns per page.
const PAGE_SIZE: &str = "50";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    Posts,
    Comments,
}

pub struct Lemmy {
    name: String,
    base: Url,
    lang: Option<String>,
    /// Per stream: the community and what is read from it.
    streams: Vec<(String, Plan)>,
    labels: Vec<String>,
}

impl Lemmy {
    pub fn new(config: &SourceConfig) -> Lemmy {
        let p = &config.platform;
        let mut streams = Vec::new();
        for community in &p.communities {
            streams.push((community.clone(), Plan::Posts));
            if p.include_comments {
                streams.push((community.clone(), Plan::Comments));
            }
        }
        let labels = streams
            .iter()
            .map(|(community, plan)| match plan {
                Plan::Posts => format!("c/{community}/posts"),
                Plan::Comments => format!("c/{community}/comments"),
            })
            .collect();
        Lemmy {
            name: config.name.clone(),
            base: config.url.clone(),
            lang: config.lang.clone(),
            streams,
            labels,
        }
    }

    fn item(&self, view: &At, plan: Plan, now: DateTime<Utc>) -> Result<Item, SourceError> {
        let (inner, text_field) = match plan {
            Plan::Posts => (view.field("post")?, "body"),
            Plan::Comments => (view.field("comment")?, "content"),
        };
        let id = inner.field("id")?.id()?;
        let ap_id = inner.str_at("ap_id")?;
        let published = inner.field("published")?.time()?;
        let text = inner.opt_str(text_field)?.unwrap_or_default();
        let language = inner
            .hint_at("language_id")
            .and_then(|l| l.u64().ok())
            .and_then(language_code);
        // Deleted by its author or removed by a moderator (a moderator's token still
        // lists them): not stored.
        let withheld =
            inner.hint_bool("deleted") == Some(true) || inner.hint_bool("removed") == Some(true);
        let mut m = Mention::new(&self.name, ap_id, published, now);
        match plan {
            Plan::Posts => m.title = any_to_text(inner.str_at("name")?),
            Plan::Comments => m.thread = Some(any_to_text(view.field("post")?.str_at("name")?)),
        }
        m.text = any_to_text(text);
        m.url = canonical_url(ap_id);
        m.author = Some(handle(&view.field("creator")?)?);
        m.lang_hint = self.lang.clone().or(language.map(str::to_string));
        // A community's or instance's featured posts come first even sorted by New.
        let pinned = ["featured_community", "featured_local"]
            .iter()
            .any(|flag| inner.hint_bool(flag) == Some(true));
        Ok(Item {
            key: Key::new(published, id),
            mention: m,
            pinned,
            withheld,
        })
    }
}

/// `name@instance`, the instance taken from the actor's ActivityPub id.
fn handle(creator: &At) -> Result<String, SourceError> {
    let name = creator.str_at("name")?;
    Ok(super::at_instance(name, creator.opt_str("actor_id")?).unwrap_or_else(|| name.to_string()))
}

/// Lemmy numbers languages by its own table (0 is "undetermined"). Only English's
/// number is known here for certain; other posts get no hint and are detected.
fn language_code(id: u64) -> Option<&'static str> {
    match id {
        37 => Some("en"),
        _ => None,
    }
}

impl Listing for Lemmy {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn streams(&self) -> &[String] {
        &self.labels
    }

    fn request(&self, stream: usize, cursor: Option<&str>, _: Option<&Key>) -> FetchRequest {
        let (community, plan) = &self.streams[stream];
        let what = match plan {
            Plan::Posts => "post",
            Plan::Comments => "comment",
        };
        let pairs = [
            ("community_name", community.as_str()),
            ("sort", "New"),
            ("type_", "All"),
            ("limit", PAGE_SIZE),
            ("page", cursor.unwrap_or("1")),
        ];
        let url = api_url(&self.base, &["api", "v3", what, "list"], &pairs);
        FetchRequest::get(url, ACCEPT_JSON)
    }

    fn read(
        &self,
        stream: usize,
        cursor: Option<&str>,
        body: &Body,
        now: DateTime<Utc>,
    ) -> Result<Chunk, SourceError> {
        let plan = self.streams[stream].1;
        let value = parse_body(KIND, body)?;
        let list = match plan {
            Plan::Posts => "posts",
            Plan::Comments => "comments",
        };
        let views = At::root(KIND, "", &value).field(list)?.items()?;
        let (items, unreadable) = read_items(&views, |view| self.item(view, plan, now).map(Some))?;
        let page: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
        let next = (!items.is_empty()).then(|| (page + 1).to_string());
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

    fn source(comments: bool) -> Lemmy {
        Lemmy::new(&SourceConfig {
            name: "l".into(),
            kind: KIND.into(),
            url: Url::parse("https://feddit.example").unwrap(),
            interval: std::time::Duration::from_secs(600),
            lang: None,
            enabled: true,
            rate_limit: std::time::Duration::from_secs(1),
            topical: false,
            platform: Platform {
                communities: vec!["nederland".into(), "asiel@lemmy.example".into()],
                include_comments: comments,
                ..Platform::default()
            },
        })
    }

    fn body(json: &str) -> Body {
        Body {
            url: Url::parse("https://feddit.example/api/v3/post/list").unwrap(),
            content_type: Some("application/json".into()),
            etag: None,
            last_modified: None,
            link: None,
            bytes: json.as_bytes().to_vec(),
        }
    }

    const POSTS: &str = r#"{"posts":[
      {"post":{"id":812,"name":"Hoe lang duurt de asielprocedure nu echt?","body":"Mijn neef wacht al **een jaar** op het eerste gehoor bij de IND.",
               "ap_id":"https://feddit.example/post/812","published":"2026-11-20T08:00:00.123456Z","language_id":0},
       "creator":{"id":5,"name":"wachtende","actor_id":"https://feddit.example/u/wachtende"},
       "community":{"name":"nederland"}},
      {"post":{"id":790,"name":"IND procedure question","ap_id":"https://lemmy.example/post/790","published":"2026-11-19T20:00:00.5","language_id":37,"featured_community":true,"featured_local":false},
       "creator":{"id":9,"name":"sam","actor_id":"https://lemmy.example/u/sam"}}
    ]}"#;

    #[test]
    fn streams_per_community_and_requests() {
        let l = source(true);
        assert_eq!(
            l.streams(),
            [
                "c/nederland/posts",
                "c/nederland/comments",
                "c/asiel@lemmy.example/posts",
                "c/asiel@lemmy.example/comments"
            ]
        );
        assert_eq!(
            l.request(3, Some("2"), None).url.as_str(),
            "https://feddit.example/api/v3/comment/list?community_name=asiel%40lemmy.example&sort=New&type_=All&limit=50&page=2"
        );
    }

    #[test]
    fn posts_become_mentions_and_pages_count_up() {
        let l = source(false);
        let chunk = l.read(0, Some("3"), &body(POSTS), Utc::now()).unwrap();
        assert_eq!(chunk.next.as_deref(), Some("4"));
        let first = &chunk.items[0].mention;
        assert_eq!(first.title, "Hoe lang duurt de asielprocedure nu echt?");
        assert_eq!(first.external_id, "https://feddit.example/post/812");
        assert_eq!(first.author.as_deref(), Some("wachtende@feddit.example"));
        assert_eq!(first.lang_hint, None);
        // A featured post is pinned on top, out of its order.
        assert!(!chunk.items[0].pinned && chunk.items[1].pinned);
        let second = &chunk.items[1].mention;
        assert_eq!(second.lang_hint.as_deref(), Some("en"));
        assert_eq!(second.text, "");
        // Lemmy 0.18 sends times without an offset: UTC.
        assert_eq!(
            second.published.to_rfc3339(),
            "2026-11-19T20:00:00.500+00:00"
        );
        let empty = l
            .read(0, Some("4"), &body(r#"{"posts":[]}"#), Utc::now())
            .unwrap();
        assert!(empty.next.is_none());
    }

    #[test]
    fn comments_carry_their_thread() {
        let l = source(true);
        let json = r#"{"comments":[{"comment":{"id":3001,"content":"Bij ons ook, 9 maanden.","ap_id":"https://feddit.example/comment/3001","published":"2026-11-20T09:00:00Z"},
            "creator":{"name":"x","actor_id":"https://feddit.example/u/x"},"post":{"id":812,"name":"Hoe lang duurt de asielprocedure nu echt?"}}]}"#;
        let chunk = l.read(1, None, &body(json), Utc::now()).unwrap();
        let comment = &chunk.items[0].mention;
        assert_eq!(
            comment.thread.as_deref(),
            Some("Hoe lang duurt de asielprocedure nu echt?")
        );
        assert_eq!(comment.text, "Bij ons ook, 9 maanden.");
        let err = l
            .read(
                1,
                None,
                &body(&json.replace(
                    r#""post":{"id":812,"name":"Hoe lang duurt de asielprocedure nu echt?"}"#,
                    r#""post":{"id":812}"#,
                )),
                Utc::now(),
            )
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("lemmy: comments[0].post.name: missing"),
            "{err}"
        );
    }

    #[test]
    fn deleted_and_removed_posts_are_withheld_and_odd_hints_cost_only_the_hint() {
        let changed = POSTS
            .replace(r#""language_id":0}"#, r#""language_id":0,"deleted":true}"#)
            .replace(
                r#""featured_community":true"#,
                r#""featured_community":"yes""#,
            )
            .replace(r#""language_id":37"#, r#""language_id":"en""#);
        let chunk = source(false)
            .read(0, None, &body(&changed), Utc::now())
            .unwrap();
        assert_eq!(chunk.items.len(), 2);
        assert!(chunk.items[0].withheld);
        assert!(!chunk.items[1].withheld && !chunk.items[1].pinned);
        assert_eq!(chunk.items[1].mention.lang_hint, None);
    }
}
