//! `klaviyo-runner-fixture`: the runner with a test registry, for
//! tests/e2e. Its steps emit every event kind, fail and panic on demand, so
//! the wire contract can be exercised without Klaviyo. Not shipped.

use std::process::ExitCode;

use component_sdk::{
    Component, Config, Env, Error, ErrorKind, ErrorPayload, Event, Field, Function, LocalBoxFuture,
    Message, MetaModel, SelectModel, Sink, Step, StepInput, Verification,
};
use serde_json::{Value, json};

const COMPONENT_JSON: &str = r#"{
  "title": "Fixture",
  "version": "1.0.0",
  "credentials": {"fields": {
    "apiKey": {"label": "API key", "viewClass": "PasswordFieldView", "required": true}
  }},
  "triggers": {
    "emitEvents": {
      "title": "Emit events", "type": "polling", "dynamicMetadata": true,
      "fields": {
        "kind": {"label": "Kind", "viewClass": "SelectView", "model": "getKinds"},
        "other": {"label": "Other", "viewClass": "SelectView", "model": "failingModel"}
      }
    }
  },
  "actions": {
    "echo": {"title": "Echo", "metadata": {"in": {}, "out": {}}}
  }
}"#;

const API_KEY: Field = Field::new("apiKey", "API key");

struct EmitEvents;

impl Step for EmitEvents {
    async fn process(&self, input: StepInput, out: &mut dyn Sink) -> Result<(), Error> {
        let cfg = input.cfg.values();
        for (i, kind) in cfg
            .get("emit")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .enumerate()
        {
            let event = match kind {
                "data" => Event::Data(Message::with_body(&json!({ "n": i }))?),
                "snapshot" => Event::Snapshot(json!({ "cursor": i })),
                "updateSnapshot" => Event::UpdateSnapshot(
                    json!({ "k": i }).as_object().cloned().unwrap_or_default(),
                ),
                "rebound" => Event::Rebound {
                    reason: "try again later".to_owned(),
                },
                "error" => Event::Error(ErrorPayload {
                    name: "FixtureError".to_owned(),
                    message: "an error emitted on purpose".to_owned(),
                }),
                other => return Err(Error::config(format!("unknown kind {other:?}"))),
            };
            out.emit(event)?;
        }
        if cfg.get("panic") == Some(&Value::Bool(true)) {
            let key = input.cfg.text(API_KEY)?.unwrap_or_default();
            panic!("fixture panic while holding {key}");
        }
        match cfg.get("fail").and_then(Value::as_str) {
            Some("config") => Err(Error::config("\"Kind\" must be chosen")),
            Some("transient") => Err(Error::new(ErrorKind::Transient, "the service is down")),
            Some("upstream") => Err(Error::new(ErrorKind::Upstream, "the service said no")),
            _ => Ok(()),
        }
    }
}

struct Echo;

impl Step for Echo {
    async fn process(&self, input: StepInput, out: &mut dyn Sink) -> Result<(), Error> {
        let body: Value = input
            .msg
            .body_as()
            .map_err(|e| Error::input(format!("body: {e}")))?;
        let echoed = json!({
            "cfg": input.cfg.values(),
            "msg": {"id": input.msg.id, "body": body, "headers": input.msg.headers},
            "snapshot": input.snapshot,
            "sample": input.env.is_sample_run(),
        });
        out.emit(Event::Data(Message::with_body(&echoed)?))
    }
}

fn get_kinds(_: &Config) -> Result<SelectModel, Error> {
    Ok([
        ("data", "Data"),
        ("snapshot", "Snapshot"),
        ("error", "Error"),
    ]
    .into_iter()
    .collect())
}

fn failing_model(_: &Config) -> Result<SelectModel, Error> {
    Err(Error::config("\"Kind\" must be chosen first"))
}

fn meta_model(cfg: &Config) -> Result<MetaModel, Error> {
    let kind = cfg.required_text(Field::new("kind", "Kind"))?;
    Ok(MetaModel {
        input: json!({}),
        output: json!({"type": "object", "title": kind}),
    })
}

fn echo_metadata() -> MetaModel {
    MetaModel {
        input: json!({}),
        output: json!({}),
    }
}

static FUNCTIONS: &[Function] = &[
    Function {
        id: "emitEvents",
        step: &EmitEvents,
        select_models: &[("getKinds", get_kinds), ("failingModel", failing_model)],
        meta_model: Some(meta_model),
        static_metadata: None,
    },
    Function {
        id: "echo",
        step: &Echo,
        select_models: &[],
        meta_model: None,
        static_metadata: Some(echo_metadata),
    },
];

fn verify_credentials<'a>(
    cfg: &'a Config,
    _: &'a Env,
) -> LocalBoxFuture<'a, Result<Verification, Error>> {
    Box::pin(async move {
        let key = cfg.text(API_KEY)?.unwrap_or_default();
        if key.starts_with("good") {
            Ok(Verification::Verified { note: None })
        } else if key.starts_with("down") {
            Err(Error::new(
                ErrorKind::Transient,
                format!("the service is unreachable for {key}"),
            ))
        } else if key.starts_with("panic") {
            panic!("verification panic");
        } else {
            Ok(Verification::Rejected {
                reason: "the key was refused".to_owned(),
            })
        }
    })
}

static COMPONENT: Component = Component {
    component_json: COMPONENT_JSON,
    functions: FUNCTIONS,
    verify_credentials,
};

fn main() -> ExitCode {
    runner::main(&COMPONENT)
}
