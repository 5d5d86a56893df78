//! Discourse: a forum's latest posts, or a search of it (optionally in one category).
//!
//! One stream. Without `query` or `category`: `/posts.json`, the latest posts of the whole
//! forum, `{latest_posts: [...]}`, paged back with `before={lowest id}`. With them:
//! `/search.json?q={query} #{category} order:latest&page=N`, whose posts carry a `blurb`
//! instead of the whole `cooked` HTML and name their topic by id (the title and slug are
//! in `topics[]`); `grouped_search_result.more_full_page_results` says whether another
//! page follows. The topic's title is the thread; the permalink is
//! `{base}/t/{topic_slug}/{topic_id}/{post_number}`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use url::Url;

use super::json::{parse_body, At};
use super::walk::{read_items, Chunk, Item, Key, Listing};
use super::{api_url, endpoint, Body, FetchRequest, SourceError, ACCEPT_JSON};
use crate::config::SourceConfig;
use crate::mention::Mention;
use crate::pipeline::extract::{any_to_text, html_to_text};

const KIND: &str = "discourse";

pub struct Discourse {
    name: String,
    base: Url,
    lang: Option<String>,
    /// The search, when one is configured; `None` reads the latest posts.
    search: Option<String>,
    labels: Vec<String>,
}

/// The topic a post belongs to, as the response names it.
struct Topic<'a> {
    title: &'a str,
    slug: &'a str,
}

impl Discourse {
    pub fn new(config: &SourceConfig) -> Discourse {
        let p = &config.platform;
        let search = match (&p.query, &p.category) {
            (None, None) => None,
            (query, category) => {
                let mut q = query.clone().unwrap_or_default();
                if let Some(category) = category {
                    q.push_str(&format!(" #{category}"));
                }
                q.push_str(" order:latest");
                Some(q.trim().to_string())
            }
        };
        let label = match &search {
            Some(q) => format!("search:{q}"),
            None => "posts".to_string(),
        };
        Discourse {
            name: config.name.clone(),
            base: config.url.clone(),
            lang: config.lang.clone(),
            search,
            labels: vec![label],
        }
    }

    /// A post of `/posts.json` (whole) or of a search (`blurb`, topic looked up).
    fn item(
        &self,
        post: &At,
        topics: &HashMap<String, Topic<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Item, SourceError> {
        let id = post.field("id")?.id()?;
        let published = post.field("created_at")?.time()?;
        let topic_id = post.field("topic_id")?.id()?;
        let post_number = post.field("post_number")?.id()?;
        let (title, slug, text) = match post.opt_str("cooked")? {
            Some(cooked) => (
                post.str_at("topic_title")?,
                post.str_at("topic_slug")?,
                html_to_text(cooked),
            ),
            None => {
                let Some(topic) = topics.get(&topic_id) else {
                    return Err(post.field("topic_id")?.error("not in topics[]"));
                };
                let blurb = post.opt_str("blurb")?.unwrap_or_default();
                (topic.title, topic.slug, any_to_text(blurb))
            }
        };
        let mut m = Mention::new(&self.name, &id, published, now);
        if post_number == "1" {
            m.title = any_to_text(title);
        }
        m.thread = Some(any_to_text(title));
        m.text = text;
        let link = endpoint(
            &self.base,
            &["t", slug, topic_id.as_str(), post_number.as_str()],
        );
        m.url = Some(link.to_string());
        m.author = Some(post.str_at("username")?.to_string());
        m.lang_hint = self.lang.clone();
        Ok(Item {
            key: Key::new(published, id),
            mention: m,
            pinned: false,
            // Hidden after flags, or deleted by its writer or a moderator (a moderator's
            // token still lists them).
            withheld: post.hint_bool("hidden") == Some(true)
                || post.hint_bool("user_deleted") == Some(true)
                || post.hint_str("deleted_at").is_some(),
        })
    }
}

/// The `topics[]` of a search response, by id.
fn topics_by_id<'a>(root: &At<'a>) -> Result<HashMap<String, Topic<'a>>, SourceError> {
    let mut out = HashMap::new();
    if let Some(list) = root.opt("topics")? {
        for topic in list.items()? {
            out.insert(
                topic.field("id")?.id()?,
                Topic {
                    title: topic.str_at("title")?,
                    slug: topic.str_at("slug")?,
                },
            );
        }
    }
    Ok(out)
}

impl Listing for Discourse {
    fn name(&self) -> &str {
        &self.name
    }

    /// Discourse's search has ten pages (`SearchController::PAGE_LIMIT`): the eleventh
    /// is a 400, every time. `/posts.json` has no such end.
    fn refuses_cursor(&self, status: u16) -> bool {
        self.search.is_some() && status == 400
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn streams(&self) -> &[String] {
        &self.labels
    }

    fn request(&self, _: usize, cursor: Option<&str>, _: Option<&Key>) -> FetchRequest {
        let url = match &self.search {
            None => {
                let pairs: Vec<(&str, &str)> = cursor.map(|c| ("before", c)).into_iter().collect();
                api_url(&self.base, &["posts.json"], &pairs)
            }
            Some(q) => {
                let pairs = [("q", q.as_str()), ("page", cursor.unwrap_or("1"))];
                api_url(&self.base, &["search.json"], &pairs)
            }
        };
        FetchRequest::get(url, ACCEPT_JSON)
    }

    fn read(
        &self,
        _: usize,
        cursor: Option<&str>,
        body: &Body,
        now: DateTime<Utc>,
    ) -> Result<Chunk, SourceError> {
        let value = parse_body(KIND, body)?;
        let root = At::root(KIND, "", &value);
        let (posts, topics) = match self.search {
            None => (root.field("latest_posts")?.items()?, HashMap::new()),
            Some(_) => match root.opt("posts")? {
                Some(posts) => (posts.items()?, topics_by_id(&root)?),
                // Discourse leaves the list out when nothing matches.
                None => (Vec::new(), HashMap::new()),
            },
        };
        let (items, unreadable) =
            read_items(&posts, |post| self.item(post, &topics, now).map(Some))?;
        let next = match self.search {
            // `before` takes a post id: the lowest on the page (ids are numbers).
            None => items
                .iter()
                .map(|item| item.key.id.as_str())
                .min_by_key(|id| (id.len(), *id))
                .map(str::to_string),
            Some(_) => {
                let more = match root.opt("grouped_search_result")? {
                    Some(group) => match group.opt("more_full_page_results")? {
                        Some(flag) => flag.bool()?,
                        None => false,
                    },
                    None => false,
                };
                let page: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
                (more && !items.is_empty()).then(|| (page + 1).to_string())
            }
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

    fn source(query: Option<&str>, category: Option<&str>) -> Discourse {
        Discourse::new(&SourceConfig {
            name: "d".into(),
            kind: KIND.into(),
            url: Url::parse("https://forum.example/community").unwrap(),
            interval: std::time::Duration::from_secs(600),
            lang: Some("nl".into()),
            enabled: true,
            rate_limit: std::time::Duration::from_secs(1),
            topical: false,
            platform: Platform {
                query: query.map(str::to_string),
                category: category.map(str::to_string),
                ..Platform::default()
            },
        })
    }

    fn body(json: &str) -> Body {
        Body {
            url: Url::parse("https://forum.example/community/posts.json").unwrap(),
            content_type: Some("application/json; charset=utf-8".into()),
            etag: None,
            last_modified: None,
            link: None,
            bytes: json.as_bytes().to_vec(),
        }
    }

    const LATEST: &str = r#"{"latest_posts":[
      {"id":20218,"username":"mina","created_at":"2026-11-20T09:00:00.000Z","cooked":"<p>Ons <strong>gehoor</strong> bij de IND is weer uitgesteld.</p>",
       "post_number":4,"topic_id":2148,"topic_slug":"wachten-op-de-ind","topic_title":"Wachten op de IND"},
      {"id":20190,"username":"jan","created_at":"2026-11-19T09:00:00.000Z","cooked":"<p>Start van het topic</p>",
       "post_number":1,"topic_id":2148,"topic_slug":"wachten-op-de-ind","topic_title":"Wachten op de IND"}
    ]}"#;

    #[test]
    fn latest_posts_page_back_with_before() {
        let d = source(None, None);
        assert_eq!(
            d.request(0, Some("20190"), None).url.as_str(),
            "https://forum.example/community/posts.json?before=20190"
        );
        let chunk = d.read(0, None, &body(LATEST), Utc::now()).unwrap();
        assert_eq!(chunk.next.as_deref(), Some("20190"));
        let reply = &chunk.items[0].mention;
        assert_eq!(reply.title, "");
        assert_eq!(reply.thread.as_deref(), Some("Wachten op de IND"));
        assert_eq!(reply.text, "Ons gehoor bij de IND is weer uitgesteld.");
        assert_eq!(
            reply.url.as_deref(),
            Some("https://forum.example/community/t/wachten-op-de-ind/2148/4")
        );
        assert_eq!(reply.author.as_deref(), Some("mina"));
        assert_eq!(reply.lang_hint.as_deref(), Some("nl"));
        assert_eq!(chunk.items[1].mention.title, "Wachten op de IND");
        assert!(chunk.items.iter().all(|i| !i.withheld));
        // Hidden after flags, or deleted: listed (a moderator's token), not stored.
        let hidden = LATEST
            .replace(r#""post_number":4,"#, r#""post_number":4,"hidden":true,"#)
            .replace(
                r#""post_number":1,"#,
                r#""post_number":1,"deleted_at":"2026-11-20T10:00:00.000Z","#,
            );
        let chunk = d.read(0, None, &body(&hidden), Utc::now()).unwrap();
        assert!(chunk.items.iter().all(|i| i.withheld));
    }

    #[test]
    fn search_joins_topics_and_follows_more_results() {
        let d = source(Some("asielprocedure"), Some("ervaringen"));
        assert_eq!(
            d.request(0, None, None).url.as_str(),
            "https://forum.example/community/search.json?q=asielprocedure+%23ervaringen+order%3Alatest&page=1"
        );
        let json = r#"{"posts":[{"id":7,"username":"a","created_at":"2026-11-20T09:00:00Z","blurb":"de asielprocedure duurt &hellip;",
            "post_number":2,"topic_id":30}],"topics":[{"id":30,"title":"Asielprocedure","slug":"asielprocedure"}],
            "grouped_search_result":{"more_full_page_results":true}}"#;
        let chunk = d.read(0, Some("2"), &body(json), Utc::now()).unwrap();
        assert_eq!(chunk.next.as_deref(), Some("3"));
        let post = &chunk.items[0].mention;
        assert_eq!(post.text, "de asielprocedure duurt …");
        assert_eq!(post.thread.as_deref(), Some("Asielprocedure"));
        let missing_topic = json.replace(r#""topic_id":30"#, r#""topic_id":31"#);
        let err = d
            .read(0, None, &body(&missing_topic), Utc::now())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("discourse: posts[0].topic_id: not in topics[]"),
            "{err}"
        );
        let nothing = d
            .read(
                0,
                None,
                &body(r#"{"grouped_search_result":{}}"#),
                Utc::now(),
            )
            .unwrap();
        assert!(nothing.items.is_empty() && nothing.next.is_none());
    }
}
