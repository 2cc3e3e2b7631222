//! How to build a stand-in: [`FakeConfig`].

use std::collections::BTreeMap;
use std::time::Duration;

use crate::auth::ApiKey;
use crate::cursor::CursorMode;
use crate::latency::Latency;
use crate::rate_limit::RateLimitRule;

/// The default valid key: a private key's shape (`pk_` and 34 hex digits).
pub const DEFAULT_API_KEY: &str = "pk_fake0123456789abcdef0123456789abcd";

/// How to build a stand-in.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Seeds all generated data; the same seed (and anchor) gives the same
    /// account.
    pub seed: u64,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The key with every scope.
    pub api_key: String,
    /// More keys, each with only the listed scopes (e.g. `lists:read`).
    pub extra_keys: Vec<ApiKey>,
    /// Records per collection, keyed by path (`profiles`, `/catalog-items`).
    /// Collections not listed get a realistic small default (a few hundred
    /// profiles, campaigns and events; tens of lists, flows, metrics).
    pub sizes: BTreeMap<String, usize>,
    /// Size of every collection not in `sizes`, instead of the defaults.
    pub default_size: Option<usize>,
    /// The newest instant of generated data (default: start time). Generated
    /// timestamps fall in the year before it.
    pub anchor: Option<chrono::DateTime<chrono::Utc>>,
    /// The revision whose shape `FakeKlaviyo::records` returns (that of
    /// its table revision in klaviyo-spec; fall-forward does not apply).
    pub revision: String,
    /// Every endpoint's limit (None: unlimited).
    pub rate_limit: Option<RateLimitRule>,
    /// The steady window of `rate_limit`: a minute, as Klaviyo's.
    pub steady_window: Duration,
    /// Admitted answers carry no `RateLimit-*` headers: the limit is
    /// announced only by its 429s, as behind a proxy that strips them.
    pub quiet_rate_limit: bool,
    /// Added before every answer; with `latency_max`, the lower bound of
    /// the range each request's latency is drawn from. Concurrent requests
    /// wait independently.
    pub latency: Duration,
    /// The upper bound of the latency range (None: `latency` is fixed).
    pub latency_max: Option<Duration>,
    pub visibility_delay: Duration,
    pub page_cap: Option<usize>,
    pub cursor_mode: CursorMode,
    /// The stand-in's date for Klaviyo's revision lifecycle: revisions
    /// released after it are refused, and those retired by it (two years
    /// after their release) fall forward to the oldest supported one
    /// (docs/stand-in.md). None: the clock's date (UTC), as on Klaviyo.
    pub today: Option<chrono::NaiveDate>,
    /// How many requests `FakeKlaviyo::requests` keeps (the oldest go
    /// first), so that long benchmarks do not grow without bound.
    pub request_log_limit: usize,
    /// Generate bulk imports and bulk updates (hundreds of records sharing
    /// one second), as real accounts have; off gives records spread out
    /// one by one.
    pub bulk_clusters: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            seed: 1,
            port: 0,
            api_key: DEFAULT_API_KEY.to_owned(),
            extra_keys: Vec::new(),
            sizes: BTreeMap::new(),
            default_size: None,
            anchor: None,
            revision: "2024-10-15".to_owned(),
            rate_limit: None,
            steady_window: Duration::from_secs(60),
            quiet_rate_limit: false,
            latency: Duration::ZERO,
            latency_max: None,
            visibility_delay: Duration::ZERO,
            page_cap: None,
            cursor_mode: CursorMode::Offset,
            today: None,
            request_log_limit: 100_000,
            bulk_clusters: true,
        }
    }
}

impl FakeConfig {
    /// Sets the number of records of one collection (`"profiles"`).
    pub fn size(mut self, collection: &str, n: usize) -> Self {
        self.sizes.insert(collection.to_owned(), n);
        self
    }

    /// An account with no records at all; add them with `size` or `insert`.
    pub fn empty() -> Self {
        FakeConfig {
            default_size: Some(0),
            ..FakeConfig::default()
        }
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the latency: fixed (a `Duration`) or a range
    /// ([`Latency::between`]).
    pub fn with_latency(mut self, latency: impl Into<Latency>) -> Self {
        let l = latency.into();
        self.latency = l.min;
        self.latency_max = (l.max > l.min).then_some(l.max);
        self
    }

    /// The latency as configured.
    pub fn latency_range(&self) -> Latency {
        Latency::between(self.latency, self.latency_max.unwrap_or(self.latency))
    }

    /// Pins the stand-in's date (see [`FakeConfig::today`]).
    pub fn today(mut self, date: chrono::NaiveDate) -> Self {
        self.today = Some(date);
        self
    }

    /// Adds a key limited to `scopes`.
    pub fn key_with_scopes(mut self, key: &str, scopes: &[&str]) -> Self {
        self.extra_keys.push(ApiKey {
            key: key.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }
}
