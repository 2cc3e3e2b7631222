//! The test's own AMQP client: declares a flow's topology (the platform's
//! job; sailor declares nothing), publishes input messages the way the
//! platform does, and reads queues with `basic.get` (a consumer would grab
//! more than it asked for).
//!
//! Topology, per step `S` of flow `F` (names after elastic.io's historical
//! convention, reference §3 and §18), on the direct exchange
//! `userexchange:U`:
//!
//! | queue | bound to | holds |
//! |---|---|---|
//! | `F:S:messages` | `F:S:input`, `F:S:requeue` | the step's input; dead-letters rejected messages into `F:S:rejected` |
//! | `F:S:rebounds` | `F:S:rebound` | rebounds, back into `F:S:messages` after `x-message-ttl` |
//! | `F:S:data` | `F:S:message` | the step's data messages |
//! | `F:S:errors` | `F:S:error` | its error messages |
//! | `F:S:snapshots` | `F:S:snapshot` | its snapshots |
//! | `F:S:rejected` | (dead letters) | inputs sailor rejected |

use std::time::{Duration, Instant};

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::{Map, Value, json};

use crate::cipher::Cipher;

/// The queue names of one step.
#[derive(Debug, Clone)]
pub struct StepQueues {
    pub flow: String,
    pub step: String,
}

impl StepQueues {
    pub fn new(flow: &str, step: &str) -> StepQueues {
        StepQueues {
            flow: flow.to_owned(),
            step: step.to_owned(),
        }
    }
    fn name(&self, suffix: &str) -> String {
        format!("{}:{}:{suffix}", self.flow, self.step)
    }
    pub fn messages(&self) -> String {
        self.name("messages")
    }
    pub fn rebounds(&self) -> String {
        self.name("rebounds")
    }
    pub fn data(&self) -> String {
        self.name("data")
    }
    pub fn errors(&self) -> String {
        self.name("errors")
    }
    pub fn snapshots(&self) -> String {
        self.name("snapshots")
    }
    pub fn rejected(&self) -> String {
        self.name("rejected")
    }
    pub fn input_key(&self) -> String {
        self.name("input")
    }
    pub fn data_key(&self) -> String {
        self.name("message")
    }
    pub fn error_key(&self) -> String {
        self.name("error")
    }
    pub fn rebound_key(&self) -> String {
        self.name("rebound")
    }
    pub fn snapshot_key(&self) -> String {
        self.name("snapshot")
    }
    pub fn requeue_key(&self) -> String {
        self.name("requeue")
    }
    /// Every queue of the step.
    pub fn all(&self) -> Vec<String> {
        vec![
            self.messages(),
            self.rebounds(),
            self.data(),
            self.errors(),
            self.snapshots(),
            self.rejected(),
        ]
    }
}

/// One message read from a queue.
#[derive(Debug, Clone)]
pub struct Received {
    pub routing_key: String,
    /// The AMQP headers as JSON (every integer width as a number).
    pub headers: Map<String, Value>,
    pub expiration: Option<String>,
    pub body: Vec<u8>,
}

impl Received {
    /// The body as (plain) JSON.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("the body is not JSON: {e}"))
    }

    /// A data message's body, decrypted per its `protocolVersion` header.
    pub fn decrypt(&self, cipher: &Cipher) -> Result<Value, String> {
        let version = self
            .headers
            .get("protocolVersion")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(1);
        let plain = cipher.decrypt_body(&self.body, version)?;
        serde_json::from_slice(&plain).map_err(|e| format!("the plaintext is not JSON: {e}"))
    }

    /// An error message: `{error: <decrypted {name, message, stack}>,
    /// errorInput: <as published>}`.
    pub fn decrypt_error(&self, cipher: &Cipher) -> Result<Value, String> {
        let mut outer = self.json()?;
        let error = outer["error"]
            .as_str()
            .ok_or("an error message has an `error` string")?;
        let plain = cipher.decrypt_base64(error)?;
        outer["error"] =
            serde_json::from_slice(&plain).map_err(|e| format!("the error is not JSON: {e}"))?;
        Ok(outer)
    }
}

/// A connection and a publisher-confirm channel, driven by a runtime of its
/// own so that tests stay synchronous.
pub struct Broker {
    runtime: tokio::runtime::Runtime,
    // Kept so the connection lives as long as the channel.
    _connection: Connection,
    channel: Channel,
    exchange: String,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Broker({})", self.exchange)
    }
}

fn err(e: lapin::Error) -> String {
    e.to_string()
}

impl Broker {
    pub fn connect(uri: &str, exchange: &str) -> Result<Broker, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let (connection, channel) = runtime.block_on(async {
            let connection = Connection::connect(uri, ConnectionProperties::default())
                .await
                .map_err(err)?;
            let channel = connection.create_channel().await.map_err(err)?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(err)?;
            channel
                .exchange_declare(
                    exchange.into(),
                    ExchangeKind::Direct,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(err)?;
            Ok::<_, String>((connection, channel))
        })?;
        Ok(Broker {
            runtime,
            _connection: connection,
            channel,
            exchange: exchange.to_owned(),
        })
    }

    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// Declares and binds the queues of one step.
    pub fn declare_step(&self, q: &StepQueues) -> Result<(), String> {
        let exchange = self.exchange.clone();
        self.runtime.block_on(async {
            let mut messages_args = FieldTable::default();
            messages_args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString("".into()),
            );
            messages_args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(q.rejected().into()),
            );
            let mut rebound_args = FieldTable::default();
            rebound_args.insert("x-message-ttl".into(), AMQPValue::LongInt(600_000));
            rebound_args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(exchange.as_str().into()),
            );
            rebound_args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(q.requeue_key().into()),
            );
            let queues = [
                (
                    q.messages(),
                    messages_args,
                    vec![q.input_key(), q.requeue_key()],
                ),
                (q.rebounds(), rebound_args, vec![q.rebound_key()]),
                (q.data(), FieldTable::default(), vec![q.data_key()]),
                (q.errors(), FieldTable::default(), vec![q.error_key()]),
                (q.snapshots(), FieldTable::default(), vec![q.snapshot_key()]),
                (q.rejected(), FieldTable::default(), vec![]),
            ];
            for (name, args, keys) in queues {
                self.declare_bound(&name, args, &keys).await?;
            }
            Ok(())
        })
    }

    /// Declares `queue` anew, bound to `key`, holding at most `max`
    /// messages and refusing (nacking) publishes beyond them, as a queue
    /// under an overflow policy does: the publish fails at the broker.
    pub fn limit_queue(&self, queue: &str, key: &str, max: u32) -> Result<(), String> {
        self.runtime.block_on(async {
            self.channel
                .queue_delete(queue.into(), QueueDeleteOptions::default())
                .await
                .map_err(err)?;
            let mut args = FieldTable::default();
            args.insert(
                "x-max-length".into(),
                AMQPValue::LongInt(max.try_into().unwrap_or(i32::MAX)),
            );
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
            self.declare_bound(queue, args, &[key.to_owned()]).await
        })
    }

    /// Declares the durable queue `name` with `args`, bound to the
    /// exchange by each of `keys`.
    async fn declare_bound(
        &self,
        name: &str,
        args: FieldTable,
        keys: &[String],
    ) -> Result<(), String> {
        self.channel
            .queue_declare(
                name.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                args,
            )
            .await
            .map_err(err)?;
        for key in keys {
            self.channel
                .queue_bind(
                    name.into(),
                    self.exchange.as_str().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    /// Publishes `body` with `headers` to the exchange, waiting for the
    /// broker's confirm.
    pub fn publish(
        &self,
        routing_key: &str,
        body: &[u8],
        headers: &Map<String, Value>,
    ) -> Result<(), String> {
        let mut table = FieldTable::default();
        for (k, v) in headers {
            table.insert(k.as_str().into(), to_amqp(v));
        }
        let props = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("utf8".into())
            .with_headers(table);
        self.runtime.block_on(async {
            let confirm = self
                .channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    routing_key.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    body,
                    props,
                )
                .await
                .map_err(err)?
                .await
                .map_err(err)?;
            if confirm.is_nack() {
                return Err(format!("the broker refused a message to {routing_key}"));
            }
            Ok(())
        })
    }

    /// Publishes `message` (e.g. `{"body": {}}`) as the platform does: v1,
    /// encrypted, with a fresh `messageId` header (sailor 2.7.8 needs one).
    /// Returns the message id.
    pub fn publish_input(
        &self,
        q: &StepQueues,
        cipher: &Cipher,
        message: &Value,
    ) -> Result<String, String> {
        let id = uuid::Uuid::new_v4().to_string();
        let headers = json!({"messageId": id, "taskId": q.flow, "execId": "exec1"});
        let Value::Object(headers) = headers else {
            unreachable!("a JSON object literal")
        };
        self.publish(
            &q.input_key(),
            &cipher.encrypt_v1(message.to_string().as_bytes()),
            &headers,
        )?;
        Ok(id)
    }

    /// The next message of `queue`, taken off it, if there is one.
    pub fn get(&self, queue: &str) -> Result<Option<Received>, String> {
        self.runtime.block_on(async {
            let got = self
                .channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await
                .map_err(err)?;
            Ok(got.map(|m| {
                let d = m.delivery;
                Received {
                    routing_key: d.routing_key.as_str().to_owned(),
                    headers: d
                        .properties
                        .headers()
                        .as_ref()
                        .map(table_to_json)
                        .unwrap_or_default(),
                    expiration: d
                        .properties
                        .expiration()
                        .as_ref()
                        .map(|e| e.as_str().to_owned()),
                    body: d.data,
                }
            }))
        })
    }

    /// Everything in `queue` now.
    pub fn drain(&self, queue: &str) -> Result<Vec<Received>, String> {
        let mut out = Vec::new();
        while let Some(m) = self.get(queue)? {
            out.push(m);
        }
        Ok(out)
    }

    /// Reads `queue` until `done` says the messages read so far are enough,
    /// or fails after `limit` (a guard against hanging, not a measurement).
    /// `alive` is asked between reads; an `Err` from it (a sailor that died)
    /// ends the wait at once.
    pub fn read_until(
        &self,
        queue: &str,
        limit: Duration,
        mut done: impl FnMut(&[Received]) -> bool,
        mut alive: impl FnMut() -> Result<(), String>,
    ) -> Result<Vec<Received>, String> {
        let started = Instant::now();
        let mut got = Vec::new();
        loop {
            if done(&got) {
                return Ok(got);
            }
            match self.get(queue)? {
                Some(m) => got.push(m),
                None => {
                    alive()?;
                    if started.elapsed() > limit {
                        return Err(format!(
                            "{queue}: gave up after {} s with {} message(s)",
                            limit.as_secs(),
                            got.len()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// Reads exactly `n` messages of `queue` (more would stay there).
    pub fn read(
        &self,
        queue: &str,
        n: usize,
        limit: Duration,
        alive: impl FnMut() -> Result<(), String>,
    ) -> Result<Vec<Received>, String> {
        self.read_until(queue, limit, |got| got.len() >= n, alive)
    }

    /// Waits until `queue` holds at least `n` messages, without taking
    /// them (so that reading does not slow what is measured); fails after
    /// `limit` or when `alive` says a sailor died.
    pub fn wait_count(
        &self,
        queue: &str,
        n: usize,
        limit: Duration,
        mut alive: impl FnMut() -> Result<(), String>,
    ) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let count = self.count(queue)? as usize;
            if count >= n {
                return Ok(());
            }
            alive()?;
            if started.elapsed() > limit {
                return Err(format!(
                    "{queue}: gave up after {} s with {count} message(s)",
                    limit.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many messages are ready in `queue`.
    pub fn count(&self, queue: &str) -> Result<u32, String> {
        self.runtime.block_on(async {
            let q = self
                .channel
                .queue_declare(
                    queue.into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(err)?;
            Ok(q.message_count())
        })
    }
}

fn to_amqp(v: &Value) -> AMQPValue {
    match v {
        Value::Null => AMQPValue::Void,
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AMQPValue::LongLongInt(i),
            None => AMQPValue::Double(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        Value::Array(_) | Value::Object(_) => AMQPValue::LongString(v.to_string().into()),
    }
}

fn table_to_json(t: &FieldTable) -> Map<String, Value> {
    t.inner()
        .iter()
        .map(|(k, v): (&ShortString, &AMQPValue)| (k.as_str().to_owned(), amqp_to_json(v)))
        .collect()
}

fn amqp_to_json(v: &AMQPValue) -> Value {
    match v {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(i) => json!(i),
        AMQPValue::ShortShortUInt(i) => json!(i),
        AMQPValue::ShortInt(i) => json!(i),
        AMQPValue::ShortUInt(i) => json!(i),
        AMQPValue::LongInt(i) => json!(i),
        AMQPValue::LongUInt(i) => json!(i),
        AMQPValue::LongLongInt(i) => json!(i),
        AMQPValue::Float(f) => json!(f),
        AMQPValue::Double(f) => json!(f),
        AMQPValue::DecimalValue(d) => json!(f64::from(d.value) / 10f64.powi(i32::from(d.scale))),
        AMQPValue::ShortString(s) => Value::String(s.as_str().to_owned()),
        AMQPValue::LongString(s) => {
            Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned())
        }
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(amqp_to_json).collect()),
        AMQPValue::Timestamp(t) => json!(t),
        AMQPValue::FieldTable(t) => Value::Object(table_to_json(t)),
        AMQPValue::ByteArray(b) => Value::String(format!("{b:?}")),
        AMQPValue::Void => Value::Null,
    }
}
