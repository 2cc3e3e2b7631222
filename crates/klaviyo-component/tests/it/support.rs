//! Running steps in-process against a stand-in, through the component's
//! public surface: [`COMPONENT`], its functions by id and their select
//! models, as the runner does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use component_sdk::{Config, Env, Event, Message, Recorder, StepInput};
use klaviyo_component::COMPONENT;
use klaviyo_fake::{FakeConfig, FakeKlaviyo};

pub(crate) const POLLING: &str = "getNewAndUpdatedObjectsPolling";
pub(crate) const RAW_REQUEST: &str = "makeRawRequest";
pub(crate) const LOOKUP_OBJECT: &str = "lookupObject";
pub(crate) const LOOKUP_OBJECTS: &str = "lookupObjects";
pub(crate) const UPSERT_OBJECT: &str = "upsertObject";
pub(crate) const DELETE_OBJECT: &str = "deleteObject";
pub(crate) const CREATE_EVENT: &str = "createEvent";
pub(crate) const SUBSCRIBE_PROFILES: &str = "subscribeProfiles";
pub(crate) const UNSUBSCRIBE_PROFILES: &str = "unsubscribeProfiles";
pub(crate) const ADD_PROFILES_TO_LIST: &str = "addProfilesToList";
pub(crate) const REMOVE_PROFILES_FROM_LIST: &str = "removeProfilesFromList";

/// The revisions every action's happy path runs at: the oldest file (which
/// Klaviyo now falls forward from) and the newest.
pub(crate) const REVISIONS: &[&str] = &["2024-10-15", "2026-10-15"];

/// Run the function `id` of the component once.
pub(crate) async fn run(id: &str, input: StepInput) -> Outcome {
    let function = COMPONENT.function(id).expect("a function of the component");
    let mut recorder = Recorder::default();
    let result = function.step.process_boxed(input, &mut recorder).await;
    Outcome::new(recorder.events, result.err())
}

/// The metadata `getMetaModel` answers for `cfg`.
pub(crate) fn meta(id: &str, cfg: serde_json::Value) -> component_sdk::MetaModel {
    let model = COMPONENT
        .function(id)
        .and_then(|f| f.meta_model)
        .expect("a getMetaModel");
    model(&Config::new(cfg.as_object().cloned().unwrap_or_default())).expect("metadata")
}

/// The keys a select model offers for `cfg`.
pub(crate) fn select(id: &str, method: &str, cfg: serde_json::Value) -> Vec<String> {
    let model = COMPONENT
        .function(id)
        .and_then(|f| f.select_model(method))
        .expect("a select model");
    let cfg = Config::new(cfg.as_object().cloned().unwrap_or_default());
    model(&cfg)
        .expect("the select model answers")
        .keys()
        .map(str::to_owned)
        .collect()
}

/// The object types the trigger offers on `revision`.
pub(crate) fn object_types(revision: &str) -> Vec<String> {
    select(POLLING, "getObjectTypes", json!({"revision": revision}))
}

/// The timestamp fields the trigger offers for `object_type` on `revision`.
pub(crate) fn timestamp_fields(revision: &str, object_type: &str) -> Vec<String> {
    select(
        POLLING,
        "getTimestampFields",
        json!({"revision": revision, "objectType": object_type}),
    )
}
use serde_json::{Map, Value, json};

/// A stand-in and the environment that points the component at it.
pub(crate) struct Harness {
    pub fake: FakeKlaviyo,
    pub env: Env,
}

impl Harness {
    pub(crate) fn new(config: FakeConfig) -> Harness {
        let fake = FakeKlaviyo::start(config).expect("the stand-in starts");
        let env = Env::default()
            .with("KLAVIYO_BASE_URL", fake.base_url())
            // Retries in tests wait milliseconds, not seconds.
            .with("API_RETRY_DELAY", "5")
            .with("KLAVIYO_POLL_LAG_SECONDS", "1");
        Harness { fake, env }
    }

    pub(crate) fn with_env(mut self, name: &str, value: &str) -> Harness {
        self.env = self.env.with(name, value);
        self
    }

    /// The credential fields plus `fields`.
    pub(crate) fn cfg(&self, fields: Value) -> Config {
        let mut map = Map::new();
        map.insert("apiKey".into(), self.fake.api_key().into());
        if let Value::Object(extra) = fields {
            map.extend(extra);
        }
        Config::new(map)
    }

    /// Run the trigger once.
    pub(crate) async fn poll(&self, fields: Value, snapshot: &Value) -> Outcome {
        self.poll_with(fields, snapshot, self.env.clone()).await
    }

    pub(crate) async fn poll_with(&self, fields: Value, snapshot: &Value, env: Env) -> Outcome {
        let input = StepInput {
            cfg: self.cfg(fields),
            msg: Message::empty(),
            snapshot: snapshot.clone(),
            env,
        };
        run(POLLING, input).await
    }

    /// Run the raw request action once with `body` as the message body.
    pub(crate) async fn raw(&self, fields: Value, body: Value) -> Outcome {
        let input = StepInput {
            cfg: self.cfg(fields),
            msg: Message::with_body(&body).expect("body"),
            snapshot: json!({}),
            env: self.env.clone(),
        };
        run(RAW_REQUEST, input).await
    }

    /// Run the action `id` once with `body` as the message body.
    pub(crate) async fn action(&self, id: &str, fields: Value, body: Value) -> Outcome {
        self.action_msg(id, fields, "3f1d2a4e-0000-4000-8000-000000000001", body)
            .await
    }

    /// Run the action `id` once with a message of this id and body.
    pub(crate) async fn action_msg(
        &self,
        id: &str,
        fields: Value,
        msg_id: &str,
        body: Value,
    ) -> Outcome {
        let mut msg = Message::with_body(&body).expect("body");
        msg.id = msg_id.to_owned();
        let input = StepInput {
            cfg: self.cfg(fields),
            msg,
            snapshot: json!({}),
            env: self.env.clone(),
        };
        run(id, input).await
    }

    /// The requests the stand-in received, as `METHOD path?query`.
    pub(crate) fn request_lines(&self) -> Vec<String> {
        self.fake
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path_and_query))
            .collect()
    }

    /// Poll until a run emits nothing (at most `runs` runs), waiting past the
    /// lag between runs; returns every run.
    pub(crate) async fn poll_until_quiet(
        &self,
        fields: Value,
        mut snapshot: Value,
        runs: usize,
    ) -> Vec<Outcome> {
        let mut all = Vec::new();
        for _ in 0..runs {
            let out = self.poll(fields.clone(), &snapshot).await;
            out.assert_ok();
            let quiet = out.records().is_empty();
            if let Some(s) = out.last_snapshot() {
                snapshot = s.clone();
            }
            all.push(out);
            if quiet {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2_100)).await;
        }
        all
    }
}

/// What one step run emitted.
pub(crate) struct Outcome {
    pub events: Vec<Event>,
    pub error: Option<component_sdk::Error>,
}

impl Outcome {
    fn new(events: Vec<Event>, error: Option<component_sdk::Error>) -> Outcome {
        let out = Outcome { events, error };
        for snapshot in out.snapshots() {
            let size = serde_json::to_string(snapshot).expect("json").len();
            assert!(
                size < 5 * 1024,
                "snapshot of {size} bytes: the platform keeps 5 KB"
            );
        }
        out
    }

    #[track_caller]
    pub(crate) fn assert_ok(&self) {
        if let Some(e) = &self.error {
            panic!("the step failed: {} ({e})", e.kind().name());
        }
    }

    /// Data bodies, parsed.
    pub(crate) fn bodies(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Data(m) => {
                    Some(serde_json::from_str(m.body.get()).expect("data bodies are JSON"))
                }
                _ => None,
            })
            .collect()
    }

    /// Records emitted, individually or inside pages, in order.
    pub(crate) fn records(&self) -> Vec<Value> {
        self.bodies()
            .into_iter()
            .flat_map(|b| match b.get("results") {
                Some(Value::Array(items)) if b.get("type").is_none() => items.clone(),
                _ => vec![b],
            })
            .collect()
    }

    /// The one data body of a run that succeeded.
    #[track_caller]
    pub(crate) fn only_body(&self) -> Value {
        self.assert_ok();
        let bodies = self.bodies();
        assert_eq!(bodies.len(), 1, "one message, got {bodies:?}");
        bodies.into_iter().next().expect("one")
    }

    /// The data bodies as their JSON text, as emitted.
    pub(crate) fn raw_bodies(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Data(m) => Some(m.body.get().to_owned()),
                _ => None,
            })
            .collect()
    }

    /// The reasons of the rebound events.
    pub(crate) fn rebounds(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Rebound { reason } => Some(reason.clone()),
                _ => None,
            })
            .collect()
    }

    /// The error's kind and message.
    #[track_caller]
    pub(crate) fn failure(&self) -> (&'static str, String) {
        let e = self
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("the step succeeded, emitting {:?}", self.bodies()));
        (e.kind().name(), e.to_string())
    }

    pub(crate) fn snapshots(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Snapshot(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn last_snapshot(&self) -> Option<&Value> {
        self.snapshots().last().copied()
    }
}

/// A record version: its id and the value of `field`.
pub(crate) type Version = (String, DateTime<Utc>);

pub(crate) fn version(record: &Value, field: &str) -> Version {
    let id = record["id"].as_str().expect("id").to_owned();
    let at = record["attributes"][field]
        .as_str()
        .expect("the polled field");
    (id, parse_time(at))
}

/// Versions in order, failing on any repeat.
#[track_caller]
pub(crate) fn unique_versions(records: &[Value], field: &str) -> BTreeSet<Version> {
    let mut seen = BTreeSet::new();
    for r in records {
        let v = version(r, field);
        assert!(seen.insert(v.clone()), "version emitted twice: {v:?}");
    }
    seen
}

/// Fails unless `records` are in ascending order of `field`.
#[track_caller]
pub(crate) fn assert_ascending(records: &[Value], field: &str) {
    let times: Vec<DateTime<Utc>> = records.iter().map(|r| version(r, field).1).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "not ascending by {field}"
    );
}

/// The current version of every record the stand-in lists, by id.
pub(crate) fn stand_in_versions(
    fake: &FakeKlaviyo,
    collection: &str,
    field: &str,
) -> BTreeMap<String, DateTime<Utc>> {
    fake.records(collection)
        .iter()
        .filter(|r| !r["attributes"][field].is_null())
        .map(|r| version(r, field))
        .collect()
}

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    parse_time(text)
}

/// A timestamp as the stand-in writes it (`T` or a space before the time).
fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1))
        .unwrap_or_else(|e| panic!("{text:?} is not a timestamp: {e}"))
        .with_timezone(&Utc)
}

/// A timestamp `secs` seconds before now, in Klaviyo's format.
pub(crate) fn ago(secs: i64) -> String {
    let t = Utc::now() - chrono::Duration::seconds(secs);
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

pub(crate) fn decode(path_and_query: &str) -> String {
    url::form_urlencoded::parse(
        path_and_query
            .split_once('?')
            .map_or("", |(_, q)| q)
            .as_bytes(),
    )
    .map(|(k, v)| format!("{k}={v}"))
    .collect::<Vec<_>>()
    .join("&")
}

/// Profiles in clusters that share a second: `(seconds ago, how many)`.
pub(crate) fn clustered_profiles(h: &Harness, clusters: &[(i64, usize)]) {
    let mut n = 0;
    for (secs, count) in clusters {
        let when = ago(*secs);
        for _ in 0..*count {
            n += 1;
            h.fake
                .insert(
                    "profiles",
                    json!({"attributes": {"email": format!("p{n}@example.com"), "created": when, "updated": when}}),
                )
                .expect("inserted");
        }
    }
}

/// A server on 127.0.0.1 that answers the `n`-th request (from 0) with
/// the document `page(n, base)`, for pages whose links no stand-in would
/// send: the request count, and its base URL.
pub(crate) fn json_server(
    page: impl Fn(usize, &str) -> Value + Send + 'static,
) -> (std::sync::Arc<std::sync::atomic::AtomicUsize>, String) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}/api", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let (counted, served) = (count.clone(), base.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = page(counted.fetch_add(1, Ordering::SeqCst), &served).to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.api+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.flush();
            let _ = reader.read(&mut [0; 0]);
        }
    });
    (count, base)
}
