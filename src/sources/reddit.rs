//! Reddit: new posts of subreddits, their new comments, or a search sorted by new.
//!
//! Streams: `/r/{a+b}/new.json` (or, with `query`, `/r/{a+b}/search.json?restrict_sr=1`,
//! or `/search.json` without subreddits), and with `include_comments`
//! `/r/{a+b}/comments.json`. Several subreddits are one listing (`a+b`). Listings are
//! `{kind: "Listing", data: {children: [{kind, data}], after}}`, newest first, paged back
//! with `after` (a fullname such as `t3_abc123`). Posts (`t3`) keep their title and
//! self-text, comments (`t1`) their body and the post's title as thread. `raw_json=1`
//! asks for text without HTML entities.

use chrono::{DateTime, Utc};
use url::Url;

use super::json::{parse_body, At};
use super::walk::{read_items, Chunk, Item, Key, Listing};
use super::{api_url, Body, FetchRequest, SourceError, ACCEPT_JSON};
use crate::config::SourceConfig;
use crate::mention::Mention;
use crate::pipeline::extract::{any_to_text, canonical_url};

const KIND: &str = "reddit";
/// The most items a listing returns per page.
const PAGE_SIZE: &str = "100";
/// Permalinks point at the public site, also when the API is read at oauth.reddit.com.
const SITE: &str = "https://www.reddit.com";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    New,
    Search,
    Comments,
}

pub struct Reddit {
    name: String,
    base: Url,
    lang: Option<String>,
    /// `a+b`, or empty for a site-wide search.
    subreddits: String,
    query: String,
    labels: Vec<String>,
    plans: Vec<Plan>,
}

impl Reddit {
    pub fn new(config: &SourceConfig) -> Reddit {
        let p = &config.platform;
        let subreddits = p.subreddits.join("+");
        let (mut labels, mut plans) = (Vec::new(), Vec::new());
        match &p.query {
            Some(query) => {
                labels.push(format!("search:{query}:r/{subreddits}"));
                plans.push(Plan::Search);
            }
            None if !subreddits.is_empty() => {
                labels.push(format!("r/{subreddits}/new"));
                plans.push(Plan::New);
            }
            None => {}
        }
        if p.include_comments && !subreddits.is_empty() {
            labels.push(format!("r/{subreddits}/comments"));
            plans.push(Plan::Comments);
        }
        Reddit {
            name: config.name.clone(),
            base: config.url.clone(),
            lang: config.lang.clone(),
            subreddits,
            query: p.query.clone().unwrap_or_default(),
            labels,
            plans,
        }
    }

    fn item(&self, child: &At, now: DateTime<Utc>) -> Result<Option<Item>, SourceError> {
        let kind = child.str_at("kind")?;
        if kind != "t3" && kind != "t1" {
            // `more` stubs and other kinds carry no text of their own.
            return Ok(None);
        }
        let data = child.field("data")?;
        let id = data.str_at("id")?;
        let fullname = data.str_at("name")?;
        let published = data.field("created_utc")?.unix_time()?;
        let permalink = match (kind, data.opt_str("permalink")?) {
            (_, Some(permalink)) => Some(permalink.to_string()),
            // Comments from before 2017 have no permalink; it is built the same way.
            ("t1", None) => {
                let subreddit = data.opt_str("subreddit")?;
                let post = data.opt_str("link_id")?;
                subreddit.zip(post).map(|(subreddit, post)| {
                    let post = post.trim_start_matches("t3_");
                    format!("/r/{subreddit}/comments/{post}/_/{id}/")
                })
            }
            _ => Some(data.str_at("permalink")?.to_string()),
        };
        let mut m = Mention::new(&self.name, fullname, published, now);
        if kind == "t3" {
            m.title = any_to_text(data.str_at("title")?);
            m.text = any_to_text(data.opt_str("selftext")?.unwrap_or_default());
        } else {
            m.text = any_to_text(data.str_at("body")?);
            m.thread = data.opt_str("link_title")?.map(any_to_text);
        }
        m.url = permalink.and_then(|p| canonical_url(&format!("{SITE}{p}")));
        m.author = data
            .opt_str("author")?
            .filter(|a| *a != "[deleted]")
            .map(str::to_string);
        m.lang_hint = self.lang.clone();
        // A moderator's sticky sits on top out of its time in some listings.
        let stickied = data.hint_bool("stickied") == Some(true);
        // Removed by a moderator (doxxing, spam) or deleted by its author: the listing
        // keeps its title, which is not stored either.
        let body = data.hint_str(if kind == "t3" { "selftext" } else { "body" });
        let withheld = data.hint_str("removed_by_category").is_some()
            || matches!(body.map(str::trim), Some("[removed]" | "[deleted]"));
        Ok(Some(Item {
            key: Key::new(published, id),
            mention: m,
            pinned: stickied,
            withheld,
        }))
    }
}

impl Listing for Reddit {
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
        let subs = self.subreddits.as_str();
        let (segments, mut pairs): (Vec<&str>, Vec<(&str, &str)>) = match self.plans[stream] {
            Plan::New => (vec!["r", subs, "new.json"], Vec::new()),
            Plan::Comments => (vec!["r", subs, "comments.json"], Vec::new()),
            Plan::Search if subs.is_empty() => (
                vec!["search.json"],
                vec![("q", self.query.as_str()), ("sort", "new")],
            ),
            Plan::Search => (
                vec!["r", subs, "search.json"],
                vec![
                    ("q", self.query.as_str()),
                    ("restrict_sr", "1"),
                    ("sort", "new"),
                ],
            ),
        };
        pairs.extend([("limit", PAGE_SIZE), ("raw_json", "1")]);
        pairs.extend(cursor.map(|after| ("after", after)));
        FetchRequest::get(api_url(&self.base, &segments, &pairs), ACCEPT_JSON)
    }

    fn read(
        &self,
        _: usize,
        _: Option<&str>,
        body: &Body,
        now: DateTime<Utc>,
    ) -> Result<Chunk, SourceError> {
        let value = parse_body(KIND, body)?;
        let data = At::root(KIND, "", &value).field("data")?;
        let (items, unreadable) = read_items(&data.field("children")?.items()?, |child| {
            self.item(child, now)
        })?;
        let next = data.opt_str("after")?.map(str::to_string);
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

    fn source(subreddits: &[&str], query: Option<&str>, comments: bool) -> Reddit {
        Reddit::new(&SourceConfig {
            name: "r".into(),
            kind: KIND.into(),
            url: Url::parse("https://www.reddit.com").unwrap(),
            interval: std::time::Duration::from_secs(600),
            lang: None,
            enabled: true,
            rate_limit: std::time::Duration::from_secs(6),
            topical: false,
            platform: Platform {
                subreddits: subreddits.iter().map(|s| s.to_string()).collect(),
                query: query.map(str::to_string),
                include_comments: comments,
                ..Platform::default()
            },
        })
    }

    fn body(json: &str) -> Body {
        Body {
            url: Url::parse("https://www.reddit.com/r/thenetherlands/new.json").unwrap(),
            content_type: Some("application/json; charset=UTF-8".into()),
            etag: None,
            last_modified: None,
            link: None,
            bytes: json.as_bytes().to_vec(),
        }
    }

    const LISTING: &str = r#"{"kind":"Listing","data":{"after":"t1_c2","before":null,"children":[
      {"kind":"t3","data":{"id":"p1","name":"t3_p1","created_utc":1795168800.0,"author":"anon_nl",
        "title":"Eindelijk een brief van de IND","selftext":"Na 16 maanden &amp; twee gehoren.",
        "permalink":"/r/thenetherlands/comments/p1/eindelijk_een_brief_van_de_ind/"}},
      {"kind":"t1","data":{"id":"c2","name":"t1_c2","created_utc":1795168700,"author":"[deleted]",
        "body":"Bij mij duurde het nader gehoor 6 uur.","link_title":"Ervaringen met de asielprocedure?",
        "permalink":"/r/thenetherlands/comments/p0/ervaringen/c2/"}},
      {"kind":"more","data":{"count":3,"children":["c3"]}}
    ]}}"#;

    #[test]
    fn streams_and_requests() {
        let r = source(&["thenetherlands", "Netherlands"], None, true);
        assert_eq!(
            r.streams(),
            [
                "r/thenetherlands+Netherlands/new",
                "r/thenetherlands+Netherlands/comments"
            ]
        );
        assert_eq!(
            r.request(0, Some("t3_p1"), None).url.as_str(),
            "https://www.reddit.com/r/thenetherlands+Netherlands/new.json?limit=100&raw_json=1&after=t3_p1"
        );
        let search = source(&["thenetherlands"], Some("IND asiel"), false);
        assert_eq!(
            search.request(0, None, None).url.as_str(),
            "https://www.reddit.com/r/thenetherlands/search.json?q=IND+asiel&restrict_sr=1&sort=new&limit=100&raw_json=1"
        );
        let everywhere = source(&[], Some("IND asiel"), false);
        assert!(everywhere
            .request(0, None, None)
            .url
            .as_str()
            .starts_with("https://www.reddit.com/search.json?q=IND+asiel&sort=new"));
    }

    #[test]
    fn posts_and_comments_become_mentions() {
        let r = source(&["thenetherlands"], None, true);
        let chunk = r.read(0, None, &body(LISTING), Utc::now()).unwrap();
        assert_eq!(chunk.next.as_deref(), Some("t1_c2"));
        assert_eq!(chunk.items.len(), 2);
        let post = &chunk.items[0].mention;
        assert_eq!(post.external_id, "t3_p1");
        assert_eq!(post.title, "Eindelijk een brief van de IND");
        assert_eq!(post.text, "Na 16 maanden & twee gehoren.");
        assert_eq!(post.author.as_deref(), Some("anon_nl"));
        assert_eq!(
            post.url.as_deref(),
            Some("https://www.reddit.com/r/thenetherlands/comments/p1/eindelijk_een_brief_van_de_ind/")
        );
        assert_eq!(post.published.timestamp(), 1795168800);
        let comment = &chunk.items[1].mention;
        assert_eq!(
            comment.thread.as_deref(),
            Some("Ervaringen met de asielprocedure?")
        );
        assert_eq!(comment.author, None);
        assert_eq!(comment.title, "");
    }

    #[test]
    fn a_changed_listing_names_the_field() {
        let r = source(&["thenetherlands"], None, false);
        let broken = LISTING.replace(
            r#""created_utc":1795168700,"#,
            r#""created_utc":"yesterday","#,
        );
        let chunk = r.read(0, None, &body(&broken), Utc::now()).unwrap();
        assert_eq!(chunk.unreadable.len(), 1);
        let err = &chunk.unreadable[0];
        assert!(
            err.contains(
                "reddit: data.children[1].data.created_utc: expected a number, found a string"
            ),
            "{err}"
        );
    }

    #[test]
    fn removed_and_deleted_posts_are_withheld() {
        let removed = LISTING
            .replace(
                r#""selftext":"Na 16 maanden &amp; twee gehoren.","#,
                r#""selftext":"[removed]","removed_by_category":"moderator","#,
            )
            .replace("Bij mij duurde het nader gehoor 6 uur.", "[deleted]");
        let chunk = source(&["thenetherlands"], None, true)
            .read(0, None, &body(&removed), Utc::now())
            .unwrap();
        assert_eq!(chunk.items.len(), 2);
        assert!(chunk.items.iter().all(|i| i.withheld));
        let chunk = source(&["thenetherlands"], None, true)
            .read(0, None, &body(LISTING), Utc::now())
            .unwrap();
        assert!(chunk.items.iter().all(|i| !i.withheld));
    }
}
