//! What the server and the handle share: the data and every control, under
//! one mutex.

use crate::auth::ApiKey;
use crate::cursor::CursorMode;
use crate::jobs::SubscriptionJob;
use crate::latency::Latency;
use crate::rate_limit::{Limiter, RateLimitRule};
use crate::request_log::RequestLog;
use crate::store::Store;
use crate::{faults, hooks};
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use chrono::NaiveDate;

/// State shared by the server and the handle.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    /// Keys cursors and error ids, so that both are stable per seed.
    pub secret: u64,
    pub base_url: String,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking hook must not take the stand-in down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Everything a request may read or change.
pub(crate) struct State {
    pub store: Store,
    pub api_key: String,
    pub extra_keys: Vec<ApiKey>,
    pub faults: Vec<faults::Armed>,
    pub hooks: Vec<hooks::Armed>,
    pub limiter: Limiter,
    pub rate_rule: Option<RateLimitRule>,
    pub latency: Latency,
    pub page_cap: Option<usize>,
    pub cursor_mode: CursorMode,
    /// The date revisions are released and retired by (None: the clock's).
    pub today: Option<NaiveDate>,
    pub log: RequestLog,
    /// Requests received so far; numbers error ids.
    pub errors: u64,
    /// Bulk subscription jobs received, oldest first (Klaviyo has no
    /// endpoint to read them back).
    pub jobs: Vec<SubscriptionJob>,
    /// Events already recorded, by (profile id, metric id, unique id or
    /// second): what Klaviyo deduplicates on.
    pub event_keys: HashSet<(String, String, String)>,
}
