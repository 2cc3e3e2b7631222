//! A stub of the elastic.io platform API, on 127.0.0.1: what sailor asks
//! of it (reference §2.3, §2.4, §13).
//!
//! - `GET /v1/tasks/{flow}/steps/{step}`: the step's data (config,
//!   snapshot, ...), as set with [`StubApi::set_step`]; its snapshot can be
//!   replaced with [`StubApi::set_snapshot`], as the platform stores the
//!   snapshots a step publishes.
//! - `PUT /v1/accounts/{id}`: 200.
//! - `POST /result/{id}`: a service call's result; 200, kept.
//!
//! Every request is recorded. Answers close the connection.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::{Value, json};

/// The basic-auth user and password sailor is given
/// (`ELASTICIO_API_USERNAME`, `ELASTICIO_API_KEY`).
pub const API_USERNAME: &str = "harness-user";
pub const API_KEY: &str = "harness-api-key";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// `Authorization` header, if any.
    pub authorization: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct State {
    steps: BTreeMap<(String, String), Value>,
    requests: Vec<Request>,
}

pub struct StubApi {
    state: Arc<Mutex<State>>,
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StubApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StubApi(127.0.0.1:{})", self.port)
    }
}

impl StubApi {
    pub fn start() -> std::io::Result<StubApi> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("stub-api".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        let s = s.clone();
                        std::thread::spawn(move || {
                            let _ = serve(conn, &s);
                        });
                    }
                }
            })?;
        Ok(StubApi {
            state,
            port,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The result URL a service call is given, with the basic-auth userinfo
    /// sailor strips off before posting.
    pub fn result_url(&self, id: &str) -> String {
        format!("http://svc:svc-secret@127.0.0.1:{}/result/{id}", self.port)
    }

    /// Serves `step_data` for `GET /v1/tasks/{flow}/steps/{step}`.
    pub fn set_step(&self, flow: &str, step: &str, step_data: Value) {
        lock(&self.state)
            .steps
            .insert((flow.to_owned(), step.to_owned()), step_data);
    }

    /// Replaces the snapshot a step's data carries.
    pub fn set_snapshot(&self, flow: &str, step: &str, snapshot: Value) {
        if let Some(data) = lock(&self.state)
            .steps
            .get_mut(&(flow.to_owned(), step.to_owned()))
        {
            data["snapshot"] = snapshot;
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).requests.clone()
    }

    /// The bodies posted to `/result/{id}`, parsed.
    pub fn results(&self, id: &str) -> Vec<Value> {
        let path = format!("/result/{id}");
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == path)
            .map(|r| serde_json::from_str(&r.body).unwrap_or(Value::String(r.body)))
            .collect()
    }
}

impl Drop for StubApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve(conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim().to_owned();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "authorization" => authorization = Some(value),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, answer) = {
        let mut st = lock(state);
        st.requests.push(Request {
            method: method.clone(),
            path: path.clone(),
            authorization,
            body,
        });
        route(&st, &method, &path)
    };
    let text = answer.to_string();
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    conn.flush()
}

fn route(st: &State, method: &str, path: &str) -> (u16, Value) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["v1", "tasks", flow, "steps", step]) => {
            match st.steps.get(&((*flow).to_owned(), (*step).to_owned())) {
                Some(data) => (200, data.clone()),
                None => (404, json!({"error": "no such step"})),
            }
        }
        ("PUT", ["v1", "accounts", _]) => (200, json!({})),
        ("POST", ["result", _]) => (200, json!({})),
        _ => (404, json!({"error": "not stubbed"})),
    }
}
