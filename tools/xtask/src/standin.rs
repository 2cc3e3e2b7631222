//! The Klaviyo stand-in (`klaviyo-fake serve`) as a child process; it stops
//! when its stdin closes, which dropping this does.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::Conn;

pub(crate) struct StandIn {
    child: Child,
    pub base_url: String,
    pub api_key: String,
    /// How long it took to seed its data and listen.
    pub ready_in: Duration,
}

impl StandIn {
    /// Starts `klaviyo-fake serve ARGS`, its log going to `log` (or
    /// nowhere).
    pub(crate) fn start(
        bin: &Path,
        args: &[String],
        log: Option<&Path>,
    ) -> Result<StandIn, String> {
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        let started = Instant::now();
        let mut child = Command::new(bin)
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start the stand-in {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let ready_in = started.elapsed();
        let hello = match read {
            Ok(n) if n > 0 => serde_json::from_str::<Value>(&line)
                .map_err(|e| format!("the stand-in said {line:?}: {e}"))?,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the stand-in did not start (args {args:?})"));
            }
        };
        Ok(StandIn {
            base_url: hello["base_url"].as_str().ok_or("no base_url")?.to_owned(),
            api_key: hello["api_key"].as_str().ok_or("no api_key")?.to_owned(),
            child,
            ready_in,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn addr(&self) -> &str {
        let rest = self
            .base_url
            .strip_prefix("http://")
            .unwrap_or(&self.base_url);
        rest.split('/').next().unwrap_or(rest)
    }

    /// `http://127.0.0.1:PORT`, the base URL without `/api`.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The headers the runner sends, with `revision`.
    pub(crate) fn headers(&self, revision: &str) -> Vec<(&'static str, String)> {
        vec![
            ("authorization", format!("Klaviyo-API-Key {}", self.api_key)),
            ("revision", revision.to_owned()),
            ("accept", "application/vnd.api+json".to_owned()),
        ]
    }

    /// One GET with a plain client; the status.
    pub(crate) fn get(&self, path: &str, revision: &str) -> Result<u16, String> {
        let headers = self.headers(revision);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Conn::connect(self.addr())?
            .get(path, &headers)
            .map(|(status, _)| status)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
