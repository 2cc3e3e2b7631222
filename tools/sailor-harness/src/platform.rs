//! RabbitMQ, the stub platform API, the flow's topology and sailor
//! processes together: one flow (`flow1` of `user1`) whose steps are
//! declared one by one, each run by real sailors with the environment the
//! platform gives them (reference §18).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::{API_KEY, API_USERNAME, StubApi};
use crate::broker::{Broker, StepQueues};
use crate::cipher::Cipher;
use crate::rabbit::Rabbit;
use crate::sailor::{Sailor, ServiceRun};
use crate::{Unavailable, rabbit, sailor};

pub const FLOW: &str = "flow1";
pub const USER: &str = "user1";
pub const EXCHANGE: &str = "userexchange:user1";
/// Sailor's own test values (sailor `mocha_spec/integration_helpers`).
pub const CRYPTO_PASSWORD: &str = "testCryptoPassword";
pub const CRYPTO_IV: &str = "iv=any16_symbols";

/// How long sailor may take to start (it takes about 0.3 s).
pub const READY_LIMIT: Duration = Duration::from_secs(60);

/// Whether everything the platform path needs is installed.
pub fn available(root: &Path) -> Result<(), Unavailable> {
    rabbit::available()?;
    sailor::available(root)
}

/// One step of the flow.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub function: String,
    pub queues: StepQueues,
}

pub struct Platform {
    pub api: StubApi,
    pub broker: Broker,
    pub cipher: Cipher,
    root: PathBuf,
    runner: PathBuf,
    /// Env every sailor and service call gets (e.g. `KLAVIYO_BASE_URL`).
    base_env: BTreeMap<String, String>,
    // Last: stopped after the connections to it are gone.
    pub rabbit: Rabbit,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Platform(amqp port {})", self.rabbit.port())
    }
}

impl Platform {
    /// Starts RabbitMQ and the stub API, and connects. `runner` is the
    /// klaviyo-runner sailor's adapters run.
    pub fn start(root: &Path, runner: &Path) -> Result<Platform, String> {
        if !runner.is_file() {
            return Err(format!("{} is not built", runner.display()));
        }
        let rabbit = Rabbit::start().map_err(|e| e.to_string())?;
        let api = StubApi::start().map_err(|e| format!("stub API: {e}"))?;
        let broker = Broker::connect(&rabbit.amqp_uri(), EXCHANGE)?;
        Ok(Platform {
            api,
            broker,
            cipher: Cipher::new(CRYPTO_PASSWORD, CRYPTO_IV)?,
            root: root.to_owned(),
            runner: runner.to_owned(),
            base_env: BTreeMap::new(),
            rabbit,
        })
    }

    /// Adds `name=value` to the environment of every sailor started after.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.base_env.insert(name.to_owned(), value.to_owned());
    }

    /// Declares a step's queues and serves its step data: `config` is the
    /// credential's and the step's fields merged, as the platform does.
    pub fn add_step(&self, id: &str, function: &str, config: Value) -> Result<Step, String> {
        let queues = StepQueues::new(FLOW, id);
        self.broker.declare_step(&queues)?;
        self.api.set_step(
            FLOW,
            id,
            json!({
                "id": id,
                "comp_id": "comp1",
                "function": function,
                "config": config,
                "snapshot": {},
                "is_passthrough": false,
                "variables": {}
            }),
        );
        Ok(Step {
            id: id.to_owned(),
            function: function.to_owned(),
            queues,
        })
    }

    fn common_env(&self) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            ("ELASTICIO_API_URI", self.api.uri()),
            ("ELASTICIO_API_USERNAME", API_USERNAME.to_owned()),
            ("ELASTICIO_API_KEY", API_KEY.to_owned()),
            ("ELASTICIO_COMP_ID", "comp1".to_owned()),
            ("ELASTICIO_USER_ID", USER.to_owned()),
            ("ELASTICIO_WORKSPACE_ID", "ws1".to_owned()),
            ("KLAVIYO_RUNNER_PATH", self.runner.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(self.base_env.clone());
        env
    }

    /// The environment of one `run.js` for `step` (reference §18).
    pub fn sailor_env(&self, step: &Step, container: &str) -> BTreeMap<String, String> {
        let q = &step.queues;
        let mut env = self.common_env();
        for (k, v) in [
            ("ELASTICIO_FLOW_ID", FLOW.to_owned()),
            ("ELASTICIO_EXEC_ID", "exec1".to_owned()),
            ("ELASTICIO_STEP_ID", step.id.clone()),
            ("ELASTICIO_CONTAINER_ID", container.to_owned()),
            ("ELASTICIO_FUNCTION", step.function.clone()),
            ("ELASTICIO_AMQP_URI", self.rabbit.amqp_uri()),
            ("ELASTICIO_LISTEN_MESSAGES_ON", q.messages()),
            ("ELASTICIO_PUBLISH_MESSAGES_TO", EXCHANGE.to_owned()),
            ("ELASTICIO_DATA_ROUTING_KEY", q.data_key()),
            ("ELASTICIO_ERROR_ROUTING_KEY", q.error_key()),
            ("ELASTICIO_REBOUND_ROUTING_KEY", q.rebound_key()),
            ("ELASTICIO_SNAPSHOT_ROUTING_KEY", q.snapshot_key()),
            (
                "ELASTICIO_MESSAGE_CRYPTO_PASSWORD",
                CRYPTO_PASSWORD.to_owned(),
            ),
            ("ELASTICIO_MESSAGE_CRYPTO_IV", CRYPTO_IV.to_owned()),
        ] {
            env.entry(k.to_owned()).or_insert(v);
        }
        env
    }

    /// Starts a sailor for `step` and waits until it consumes.
    pub fn spawn_sailor(
        &self,
        step: &Step,
        container: &str,
        extra: &[(&str, &str)],
    ) -> Result<Sailor, String> {
        let mut env = self.sailor_env(step, container);
        for (k, v) in extra {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let mut s = Sailor::spawn(&self.root, container, &env)?;
        s.wait_ready(READY_LIMIT)?;
        Ok(s)
    }

    /// Runs `runService.js method` with `cfg` (credential and step fields)
    /// for `function` (and `model` for selectModel); returns the run and
    /// the bodies it posted to its result URL.
    pub fn service(
        &self,
        method: &str,
        cfg: &Value,
        function: Option<&str>,
        model: Option<&str>,
    ) -> Result<(ServiceRun, Vec<Value>), String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut env = self.common_env();
        env.insert("ELASTICIO_POST_RESULT_URL".into(), self.api.result_url(&id));
        env.insert("ELASTICIO_CFG".into(), cfg.to_string());
        if let Some(f) = function {
            env.insert("ELASTICIO_ACTION_OR_TRIGGER".into(), f.to_owned());
        }
        if let Some(m) = model {
            env.insert("ELASTICIO_GET_MODEL_METHOD".into(), m.to_owned());
        }
        let run = sailor::run_service(&self.root, method, &env, Duration::from_secs(120))?;
        let results = self.api.results(&id);
        Ok((run, results))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
