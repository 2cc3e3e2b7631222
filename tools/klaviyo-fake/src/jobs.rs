//! Bulk subscription jobs as the stand-in records them: Klaviyo has no
//! endpoint to read a job back, so tests read them through
//! `FakeKlaviyo::subscription_jobs`. Their own module, beside the state
//! that keeps them, so that the state does not import the handler
//! (`subscriptions.rs`) that records them.

use serde_json::Value;

/// Which job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// `POST /api/profile-subscription-bulk-create-jobs`.
    Subscribe,
    /// `POST /api/profile-subscription-bulk-delete-jobs`.
    Unsubscribe,
}

/// A bulk subscription job as received and applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionJob {
    pub kind: SubscriptionKind,
    /// The revision whose rules served it (after fall-forward).
    pub revision: String,
    /// `relationships.list.data.id`.
    pub list_id: Option<String>,
    pub custom_source: Option<String>,
    pub historical_import: bool,
    pub profiles: Vec<JobProfile>,
    /// When it was received.
    pub received: chrono::DateTime<chrono::Utc>,
    /// The request body as sent.
    pub body: Value,
}

/// One profile of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProfile {
    /// The profile the job applied to; `None` when an unsubscribe found
    /// none.
    pub profile_id: Option<String>,
    /// Whether the job created the profile.
    pub created: bool,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    /// The consents changed, e.g. `email.marketing`, `sms.transactional`.
    pub channels: Vec<String>,
    /// Waiting for a double opt-in confirmation (see
    /// `FakeKlaviyo::confirm_pending_subscriptions`).
    pub pending_confirmation: bool,
}
