//! A local stand-in of Klaviyo's REST API on 127.0.0.1, for tests, demos and
//! benchmarks. It behaves like Klaviyo, traps included, per revision (the
//! facts come from `klaviyo-spec`):
//!
//! - `Authorization: Klaviyo-API-Key <key>` (401 / 403 with Klaviyo's bodies),
//!   a required `revision` header; a revision retired on the stand-in's
//!   "today" (two years after its release) falls forward to the oldest one
//!   still supported, or is 410 with `X-Klaviyo-Revision-Fall-Forward-Opt-Out:
//!   1`; every answer names the revision served in `x-klaviyo-api-revision`;
//! - undeclared query parameters, filter fields, operators, enum values,
//!   quoted or future datetimes (an unencoded `+` offset arrives as a space),
//!   sort values and `page[size]` bounds are refused with Klaviyo's 400s;
//! - campaigns need one `messages.channel` per query (until 2026-10-15);
//!   archived campaigns and flows are hidden unless `equals(archived,true)`;
//! - cursor pagination with absolute `links.next`/`prev` carrying every
//!   parameter; by default the cursor is an offset into the *current* result,
//!   so records changing under a paging client shift across pages;
//! - gets by id with sparse fieldsets, additional fields and `include`;
//!   writes where the revision declares them (create, update, delete on the
//!   stored collections; `POST /profile-import` with Klaviyo's matching
//!   rules and 409 `duplicate_profile`; `POST /events` with deduplication;
//!   bulk subscription jobs; list membership), each body checked against
//!   the revision's request schema with Klaviyo's 400s; declared operations
//!   it does not carry out answer 501;
//! - fixed-window rate limits per endpoint with `RateLimit-*` and
//!   `Retry-After`, exact under concurrency; latency per request, fixed or
//!   drawn from a range; writes visible only after a delay; faults on demand
//!   (drops, truncation, Cloudflare HTML, endless or oversized bodies, a
//!   failure after a write took effect...).
//!
//! What it serves and how (endpoints, rules, error bodies), and how to run
//! it as a process (`klaviyo-fake serve`): docs/stand-in.md.
//!
//! ```no_run
//! use klaviyo_fake::{FakeConfig, FakeKlaviyo};
//! let fake = FakeKlaviyo::start(FakeConfig::default().size("profiles", 10_000)).expect("start");
//! // Point the client at fake.base_url() with fake.api_key().
//! fake.update("profiles", &fake.ids("profiles")[0], |attrs| {
//!     attrs.insert("first_name".into(), "Ada".into());
//! }).expect("update");
//! ```
//!
//! The server runs on its own thread and tokio runtime, so it keeps serving
//! while the test thread blocks (e.g. on a child process); dropping the
//! handle stops it. Data is generated from a seed and stored compactly (a
//! million profiles take under 100 MiB); attributes are rendered per page.

mod api;
mod auth;
mod body;
mod config;
mod cursor;
mod data;
mod document;
mod errors;
mod events;
mod faults;
mod filter;
mod hooks;
mod jobs;
mod latency;
mod listing;
mod members;
mod place;
mod profiles;
mod query;
mod rate_limit;
mod read;
mod request;
mod request_log;
mod response;
mod revision;
mod router;
mod schema;
mod server;
mod state;
mod store;
mod subscriptions;
mod time;
mod write;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Map, Value};

pub use auth::ApiKey;
pub use config::{DEFAULT_API_KEY, FakeConfig};
pub use cursor::CursorMode;
pub use faults::{Fault, FaultRule, Method};
pub use hooks::{Hook, HookAction};
pub use jobs::{JobProfile, SubscriptionJob, SubscriptionKind};
pub use latency::Latency;
pub use rate_limit::RateLimitRule;
pub use request_log::RecordedRequest;
pub use revision::GA_REVISIONS;
pub use store::{Store, StoreError};

/// Errors starting the stand-in.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the server thread")]
    Runtime(#[source] std::io::Error),
}

/// A running stand-in. Dropping it stops the server.
pub struct FakeKlaviyo {
    shared: Arc<state::Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeKlaviyo {
    /// Generates the data, binds 127.0.0.1 and serves on a dedicated thread.
    pub fn start(config: FakeConfig) -> Result<FakeKlaviyo, StartError> {
        let listener =
            TcpListener::bind(("127.0.0.1", config.port)).map_err(|source| StartError::Bind {
                port: config.port,
                source,
            })?;
        listener
            .set_nonblocking(true)
            .map_err(StartError::Runtime)?;
        let addr = listener.local_addr().map_err(StartError::Runtime)?;
        let base_url = format!("http://{addr}/api");
        let shared = Arc::new(state::Shared {
            state: Mutex::new(initial_state(&config, &base_url)),
            secret: data::seed::mix(config.seed ^ 0x6375_7273_6f72),
            base_url,
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread = spawn_server(listener, shared.clone(), rx)?;
        Ok(FakeKlaviyo {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/api`: what the component uses as its base URL.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key with every scope.
    pub fn api_key(&self) -> String {
        self.shared.lock().api_key.clone()
    }

    /// Runs `f` on the data under the server's lock (for anything the
    /// shortcuts below do not cover).
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.shared.lock().store)
    }

    /// Inserts a record (see [`Store::insert`]); returns its id.
    pub fn insert(&self, collection: &str, record: Value) -> Result<String, StoreError> {
        self.with_store(|s| s.insert(collection, record))
    }

    /// Changes a record and sets its updated timestamp(s) to now.
    pub fn update(
        &self,
        collection: &str,
        id: &str,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), StoreError> {
        self.with_store(|s| s.update(collection, id, f))
    }

    /// Changes a record without touching its timestamps (see [`Store::edit`]).
    pub fn edit(
        &self,
        collection: &str,
        id: &str,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), StoreError> {
        self.with_store(|s| s.edit(collection, id, f))
    }

    pub fn delete(&self, collection: &str, id: &str) -> Result<(), StoreError> {
        self.with_store(|s| s.delete(collection, id))
    }

    /// Sets a record's updated timestamp(s) to now.
    pub fn touch(&self, collection: &str, id: &str) -> Result<(), StoreError> {
        self.with_store(|s| s.touch(collection, id))
    }

    /// The visible records as served (in `FakeConfig::revision`'s shape).
    /// Renders every record: use [`FakeKlaviyo::ids`] for large collections.
    pub fn records(&self, collection: &str) -> Vec<Value> {
        self.with_store(|s| s.records(collection))
            .unwrap_or_default()
    }

    /// Ids of the visible records.
    pub fn ids(&self, collection: &str) -> Vec<String> {
        self.with_store(|s| s.ids(collection)).unwrap_or_default()
    }

    /// One visible record as served.
    pub fn get(&self, collection: &str, id: &str) -> Option<Value> {
        self.with_store(|s| s.get(collection, id)).ok().flatten()
    }

    /// A write becomes visible (in lists and by id) only after this delay.
    pub fn set_visibility_delay(&self, d: Duration) {
        self.shared.lock().store.set_delay(micros(d));
    }

    /// Serve at most `n` records per page whatever `page[size]` says.
    pub fn set_page_cap(&self, n: Option<usize>) {
        self.shared.lock().page_cap = n;
    }

    /// Added before every answer from now on: a `Duration`, or a range
    /// each request's latency is drawn from ([`Latency::between`]).
    pub fn set_latency(&self, latency: impl Into<Latency>) {
        self.shared.lock().latency = latency.into();
    }

    /// Rate limit every endpoint with `rule` (None: unlimited, the default).
    pub fn set_rate_limit(&self, rule: Option<RateLimitRule>) {
        let mut st = self.shared.lock();
        st.rate_rule = rule;
        st.limiter = st.limiter.cleared();
    }

    /// Sets the stand-in's date for revisions (None: the clock's); see
    /// [`FakeConfig::today`].
    pub fn set_today(&self, date: Option<chrono::NaiveDate>) {
        self.shared.lock().today = date;
    }

    pub fn set_cursor_mode(&self, mode: CursorMode) {
        self.shared.lock().cursor_mode = mode;
    }

    /// Queues a fault; rules are tried in the order pushed.
    pub fn push_fault(&self, rule: FaultRule) {
        self.shared.lock().faults.push(faults::Armed::new(rule));
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Registers a hook (see [`Hook`]).
    pub fn on_request(&self, hook: Hook) {
        self.shared.lock().hooks.push(hooks::Armed::new(hook));
    }

    /// Every request received so far (up to `request_log_limit`), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.entries().to_vec()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// How many logged requests had this method (any case) and path
    /// (`/lists`, `/api/lists/`, with or without `/api` and the trailing
    /// slash; the query is not compared).
    pub fn count_requests(&self, method: &str, path: &str) -> usize {
        let want = store::normalize_path(path);
        self.shared
            .lock()
            .log
            .entries()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method))
            .filter(|r| {
                let p = r.path_and_query.split('?').next().unwrap_or("");
                store::normalize_path(p) == want
            })
            .count()
    }

    /// The bulk subscription jobs received so far (`POST
    /// /api/profile-subscription-bulk-create-jobs` and `-delete-jobs`),
    /// oldest first: Klaviyo answers them 202 with no body and has no
    /// endpoint to read them back.
    pub fn subscription_jobs(&self) -> Vec<SubscriptionJob> {
        self.shared.lock().jobs.clone()
    }

    /// Confirms every subscription waiting for a double opt-in (as if each
    /// profile had clicked the confirmation link): consent and list
    /// membership change now. Returns how many profiles were confirmed.
    pub fn confirm_pending_subscriptions(&self) -> usize {
        subscriptions::confirm_pending(&mut self.shared.lock())
    }

    /// The profile ids of a list's members, in the order they joined.
    pub fn list_members(&self, list_id: &str) -> Vec<String> {
        self.with_store(|s| s.list_members(list_id))
    }
}

/// The generated account and the controls as configured.
fn initial_state(config: &FakeConfig, base_url: &str) -> state::State {
    let anchor = config
        .anchor
        .map(|a| a.timestamp_micros())
        .unwrap_or_else(|| data::seed::whole(time::now_micros()));
    let mut store = store::Store::new(store::StoreConfig {
        seed: config.seed,
        anchor,
        sizes: &config.sizes,
        default_size: config.default_size,
        base_url: base_url.to_owned(),
        revision: config.revision.clone(),
        bulk_clusters: config.bulk_clusters,
    });
    store.set_delay(micros(config.visibility_delay));
    state::State {
        store,
        api_key: config.api_key.clone(),
        extra_keys: config.extra_keys.clone(),
        faults: Vec::new(),
        hooks: Vec::new(),
        limiter: rate_limit::Limiter::new(config.steady_window, config.quiet_rate_limit),
        rate_rule: config.rate_limit,
        latency: config.latency_range(),
        page_cap: config.page_cap,
        cursor_mode: config.cursor_mode,
        today: config.today,
        log: request_log::RequestLog::new(config.request_log_limit),
        errors: 0,
        jobs: Vec::new(),
        event_keys: Default::default(),
    }
}

/// Serves `listener` on a thread of its own with a single-threaded
/// runtime, until `shutdown` fires.
fn spawn_server(
    listener: TcpListener,
    shared: Arc<state::Shared>,
    shutdown: tokio::sync::oneshot::Receiver<()>,
) -> Result<JoinHandle<()>, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::Builder::new()
        .name(format!("kfake-{port}"))
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => server::serve(l, shared, shutdown).await,
                    Err(e) => tracing::error!(error = %e, "cannot adopt the listener"),
                }
            });
        })
        .map_err(StartError::Runtime)
}

impl Drop for FakeKlaviyo {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}
