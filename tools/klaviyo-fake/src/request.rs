//! A request as the checks and operations see it: what it carries, the
//! endpoint it is for, and where in the store that endpoint lives.

use std::sync::Arc;

use chrono::NaiveDate;
use hyper::Method;

use crate::data::template::Template;
use crate::time::Micros;

/// What `respond` needs from the request.
pub(crate) struct RequestCtx<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub params: &'a [(String, String)],
    pub authorization: Option<String>,
    pub revision: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<&'a [u8]>,
    pub body_too_large: bool,
    pub now: Micros,
    /// The stand-in's date: which revisions are released and which retired.
    pub today: NaiveDate,
    /// `X-Klaviyo-Revision-Fall-Forward-Opt-Out: 1`: a retired revision is
    /// 410 instead of served as the oldest supported one.
    pub fall_forward_opt_out: bool,
    pub base_url: &'a str,
    pub secret: u64,
}

/// What a path and method name in the revision that serves them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint {
    /// `GET /x`: a list endpoint (klaviyo-spec's `collections`).
    List(&'static klaviyo_spec::Collection),
    /// A write or a get by id (klaviyo-spec's `operations`).
    Op(&'static klaviyo_spec::Operation),
    /// `GET /lists/{id}/profiles` (`ids_only`: `/relationships/profiles`),
    /// which klaviyo-spec's table does not describe (see `members.rs`).
    Members { ids_only: bool },
}

/// The endpoint a request is for, in the revision that serves it.
pub(crate) struct Target {
    pub endpoint: Endpoint,
    /// The path parameters (percent-decoded), in path order.
    pub params: Vec<String>,
    /// Index of the table revision whose rules and shape apply.
    pub rev_idx: usize,
    /// The revision served (after fall-forward), e.g. `2025-01-15`.
    pub revision: String,
}

impl Target {
    /// The scopes the endpoint needs (`x-klaviyo-scopes`).
    pub(crate) fn scopes(&self) -> &'static [&'static str] {
        match self.endpoint {
            Endpoint::List(c) => c.scopes,
            Endpoint::Op(op) => op.scopes,
            Endpoint::Members { .. } => &["lists:read", "profiles:read"],
        }
    }

    /// The path as the file writes it, e.g. `/lists/{id}/relationships/profiles`.
    pub(crate) fn template(&self) -> &'static str {
        match self.endpoint {
            Endpoint::List(c) => c.path,
            Endpoint::Op(op) => op.path,
            Endpoint::Members { ids_only: false } => "/lists/{id}/profiles",
            Endpoint::Members { ids_only: true } => "/lists/{id}/relationships/profiles",
        }
    }

    /// The first path parameter (the record's id for `/x/{id}`).
    pub(crate) fn id(&self) -> Option<&str> {
        self.params.first().map(String::as_str)
    }
}

/// Where an operation works: the collection's place in the store and its
/// resource shape in the serving revision.
pub(crate) struct Place<'t> {
    pub coll: &'static klaviyo_spec::Collection,
    pub ci: usize,
    pub tpl: Arc<Template>,
    pub rev_idx: usize,
    pub id: Option<&'t str>,
}
