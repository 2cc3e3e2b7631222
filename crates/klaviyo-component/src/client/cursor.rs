//! Following Klaviyo's `links.next` without going round in circles.
//!
//! A `links.next` that points back at a page already read, or pages that
//! keep bringing the same records, would make a reader request the same
//! thing forever (seen against an independent mock of Klaviyo: 415 requests
//! of one URL in 20 s). Every walk that follows a cursor (the trigger's
//! readers, Lookup Objects) does it here.

use std::collections::HashSet;

use url::Url;

use crate::Error;

/// Pages in a row whose records are those of the page before (or none)
/// before a walk is taken to make no progress.
const STALLED_PAGES: u32 = 3;

pub(crate) struct Cursor {
    path: &'static str,
    followed: HashSet<String>,
    /// The first and last id of the page before.
    last: Option<(String, String)>,
    stalled: u32,
}

impl Cursor {
    /// A walk from the page at `first` of the collection at `path`.
    pub(crate) fn new(path: &'static str, first: &Url) -> Cursor {
        Cursor {
            path,
            followed: HashSet::from([first.to_string()]),
            last: None,
            stalled: 0,
        }
    }

    /// The page to request after a page whose first and last record ids
    /// are `ends` (`None` for an empty page) and whose `links.next` is
    /// `next`; `None` when it is the last. An error when the cursor leads
    /// back to a page already read, or pages stopped bringing anything new.
    pub(crate) fn next(
        &mut self,
        ends: Option<(&str, &str)>,
        next: Option<&Url>,
    ) -> Result<Option<Url>, Error> {
        let Some(next) = next else {
            return Ok(None);
        };
        let ends = ends.map(|(a, b)| (a.to_owned(), b.to_owned()));
        if ends.is_none() || ends == self.last {
            self.stalled += 1;
        } else {
            self.stalled = 0;
        }
        self.last = ends;
        if !self.followed.insert(next.to_string()) {
            return Err(Error::Response(format!(
                "Klaviyo's links.next for {} points back at a page already read ({}); stopping instead of reading it forever",
                self.path,
                shown(next)
            )));
        }
        if self.stalled >= STALLED_PAGES {
            return Err(Error::Response(format!(
                "Klaviyo's pages of {} brought nothing new {STALLED_PAGES} times in a row (the last links.next was {}); stopping instead of reading them forever",
                self.path,
                shown(next)
            )));
        }
        Ok(Some(next.clone()))
    }
}

/// A URL as a message shows it: path and query, shortened.
fn shown(url: &Url) -> String {
    let text = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    component_sdk::config::shortened(&text, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of records with `ids` whose `links.next` is `next`, as the
    /// cursor sees it.
    fn page<'a>(
        ids: &'a [&'a str],
        next: Option<&str>,
    ) -> (Option<(&'a str, &'a str)>, Option<Url>) {
        let ends = ids.first().zip(ids.last()).map(|(a, b)| (*a, *b));
        (ends, next.map(|n| Url::parse(n).expect("url")))
    }

    fn follow(cursor: &mut Cursor, ids: &[&str], next: Option<&str>) -> Result<Option<Url>, Error> {
        let (ends, next) = page(ids, next);
        cursor.next(ends, next.as_ref())
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    #[test]
    fn a_cursor_back_to_a_page_already_read_is_an_error() {
        let first = url("https://a.klaviyo.com/api/metrics");
        let mut cursor = Cursor::new("/metrics", &first);
        let err = follow(
            &mut cursor,
            &["a", "b"],
            Some("https://a.klaviyo.com/api/metrics"),
        )
        .expect_err("a loop");
        assert!(
            err.to_string().starts_with(
                "Klaviyo's links.next for /metrics points back at a page already read (/api/metrics)"
            ),
            "{err}"
        );
        let mut cursor = Cursor::new("/metrics", &first);
        let two = "https://a.klaviyo.com/api/metrics?page%5Bcursor%5D=2";
        assert!(
            follow(&mut cursor, &["a"], Some(two))
                .expect("on")
                .is_some()
        );
        assert!(follow(&mut cursor, &["b"], Some(two)).is_err(), "2 → 2");
    }

    #[test]
    fn pages_that_bring_nothing_new_end_the_walk() {
        let mut cursor = Cursor::new("/profiles", &url("https://a.klaviyo.com/api/profiles"));
        let at = |n: u32| format!("https://a.klaviyo.com/api/profiles?page%5Bcursor%5D={n}");
        assert!(follow(&mut cursor, &["a", "b"], Some(&at(1))).is_ok());
        assert!(follow(&mut cursor, &["a", "b"], Some(&at(2))).is_ok());
        assert!(follow(&mut cursor, &[], Some(&at(3))).is_ok());
        let err = follow(&mut cursor, &[], Some(&at(4))).expect_err("stalled");
        assert!(
            err.to_string()
                .contains("brought nothing new 3 times in a row"),
            "{err}"
        );
    }

    #[test]
    fn an_ordinary_walk_is_followed_to_its_end() {
        let mut cursor = Cursor::new("/profiles", &url("https://a.klaviyo.com/api/profiles"));
        for n in 0..50 {
            let ids = [format!("a{n}"), format!("b{n}")];
            let next = format!("https://a.klaviyo.com/api/profiles?page%5Bcursor%5D={n}");
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            assert!(
                follow(&mut cursor, &ids, Some(&next))
                    .expect("on")
                    .is_some()
            );
        }
        assert_eq!(follow(&mut cursor, &["z"], None).expect("end"), None);
    }
}
