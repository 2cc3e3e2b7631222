'use strict';
// The one adapter between elastic.io's sailor and klaviyo-runner.
//
// Every trigger, action and service entry point of component.json is a
// one-line file that calls `step(functionId)` or `verifyCredentials`. Each
// call runs `klaviyo-runner` once (docs/protocol.md) and hands what it writes
// to sailor. No step logic lives here: which requests to make, what to emit
// and what a failure means are decided by the Rust runner alone.

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

const { EmitWindow } = require('./window');
const { hookSailor, Ticket, emitWith } = require('./handover');

const COMPONENT_JSON = path.join(__dirname, '..', '..', 'component.json');
const RUNNER_NAME = 'klaviyo-runner';

// What the runner does not need and so is not given: the platform's own
// secrets (message cipher, AMQP and API credentials, the service call's
// cfg with the API key in it). The runner gets the key on stdin only.
const WITHHELD_ENV = [
    'ELASTICIO_MESSAGE_CRYPTO_PASSWORD',
    'ELASTICIO_MESSAGE_CRYPTO_IV',
    'ELASTICIO_AMQP_URI',
    'ELASTICIO_API_KEY',
    'ELASTICIO_CFG',
    'ELASTICIO_POST_RESULT_URL',
    'ELASTICIO_OBJECT_STORAGE_TOKEN'
];

// bunyan's own members of a record; the rest of a runner log line becomes
// fields of the sailor logger's record.
const BUNYAN_CORE = ['v', 'level', 'name', 'hostname', 'pid', 'time', 'msg', 'src'];
const LEVELS = [[60, 'fatal'], [50, 'error'], [40, 'warn'], [30, 'info'], [20, 'debug'], [10, 'trace']];

// Runners still working, stopped if this process exits first.
const running = new Set();
process.on('exit', () => {
    for (const child of running) {
        child.kill('SIGKILL');
    }
});

let descriptor;
function componentJson() {
    if (!descriptor) {
        descriptor = JSON.parse(fs.readFileSync(COMPONENT_JSON, 'utf8'));
    }
    return descriptor;
}

/** Where klaviyo-runner is: KLAVIYO_RUNNER_PATH, else the first on PATH. */
function findRunner(env = process.env) {
    const configured = env.KLAVIYO_RUNNER_PATH;
    if (configured) {
        if (!isExecutable(configured)) {
            throw new Error(`KLAVIYO_RUNNER_PATH is ${configured}, which is not an executable file`);
        }
        return configured;
    }
    for (const dir of (env.PATH || '').split(path.delimiter)) {
        if (dir) {
            const candidate = path.join(dir, RUNNER_NAME);
            if (isExecutable(candidate)) {
                return candidate;
            }
        }
    }
    throw new Error(`${RUNNER_NAME} was not found on PATH; install it or set KLAVIYO_RUNNER_PATH`);
}

function isExecutable(file) {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch (e) {
        return false;
    }
}

function runnerEnv(env = process.env) {
    const out = { ...env };
    for (const name of WITHHELD_ENV) {
        delete out[name];
    }
    return out;
}

function levelName(level) {
    if (typeof level === 'number') {
        for (const [n, name] of LEVELS) {
            if (level >= n) {
                return name;
            }
        }
        return 'trace';
    }
    return 'info';
}

/**
 * Hands the runner's bunyan lines to `logger` at their own level, as
 * records with their fields, not as text. Resolves, once the stream has
 * ended, with the last message logged.
 *
 * Nothing is masked here: the runner masks every line it writes, by the one
 * rule (every form of every secret field's value: as given, trimmed, inside
 * a JSON string, and any start of it of 10 characters or more), and what
 * the adapter adds to a text of the runner's names only the runner's exit.
 */
function forwardLogs(stream, logger) {
    let last = '';
    return eachLine(stream, (line) => {
        if (line.trim() === '') {
            return;
        }
        let record;
        try {
            record = JSON.parse(line);
        } catch (e) {
            record = null;
        }
        if (!record || typeof record !== 'object' || Array.isArray(record)) {
            last = line;
            log(logger, 'warn', {}, last);
            return;
        }
        const fields = {};
        for (const [k, v] of Object.entries(record)) {
            if (!BUNYAN_CORE.includes(k)) {
                fields[k] = v;
            }
        }
        last = record.msg === undefined ? '' : String(record.msg);
        log(logger, levelName(record.level), fields, last);
    }).then(() => last, () => last);
}

function log(logger, level, fields, msg) {
    if (!logger) {
        return;
    }
    const target = Object.keys(fields).length > 0 && typeof logger.child === 'function'
        ? logger.child(fields, true)
        : logger;
    const fn = target[level] || target.info;
    if (typeof fn === 'function') {
        fn.call(target, msg);
    }
}

/**
 * Calls `onLine` for every complete line of `stream`, in order; while an
 * async `onLine` is pending the stream is paused, so a slow consumer holds
 * at most one chunk and the pipe's buffer. A last line without its newline
 * is not a line (docs/protocol.md). Resolves when the stream has ended and
 * every line was handled; rejects with the first error of `onLine`.
 */
function eachLine(stream, onLine) {
    return new Promise((resolve, reject) => {
        let pending = [];
        let chain = Promise.resolve();
        let failed = false;
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => {
            if (failed) {
                return;
            }
            const lines = [];
            let start = 0;
            let nl = chunk.indexOf('\n');
            while (nl !== -1) {
                pending.push(chunk.slice(start, nl));
                lines.push(pending.join(''));
                pending = [];
                start = nl + 1;
                nl = chunk.indexOf('\n', start);
            }
            if (start < chunk.length) {
                pending.push(chunk.slice(start));
            }
            if (lines.length === 0) {
                return;
            }
            stream.pause();
            chain = chain
                .then(async () => {
                    for (const line of lines) {
                        await onLine(line);
                    }
                })
                .then(() => stream.resume(), (err) => {
                    failed = true;
                    stream.resume();
                    reject(err);
                });
        });
        stream.on('end', () => {
            chain.then(() => resolve(), () => {});
        });
        stream.on('error', (err) => {
            failed = true;
            reject(err);
        });
    });
}

/** Starts the runner; resolves with its exit once stdout and stderr closed. */
function spawnRunner(args, input, env) {
    const child = childProcess.spawn(findRunner(env), args, {
        env: runnerEnv(env),
        stdio: ['pipe', 'pipe', 'pipe']
    });
    running.add(child);
    const exited = new Promise((resolve, reject) => {
        child.on('error', (err) => {
            running.delete(child);
            reject(new Error(`${RUNNER_NAME} could not be started: ${err.message}`));
        });
        child.on('close', (code, signal) => {
            running.delete(child);
            resolve({ code, signal });
        });
    });
    // A runner that stops early closes stdin; that is reported by its exit.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(input));
    return { child, exited };
}

function describeExit({ code, signal }) {
    return code === null ? `was stopped by ${signal}` : `exited with status ${code}`;
}

async function withLastLog(text, lastLog) {
    const last = await lastLog;
    return last ? `${text}; last log line: ${last}` : text;
}

/**
 * A data message sailor could not publish: sailor has already published
 * the error for it (and counts it on the TaskExec, so the input is
 * rejected); the adapter stops the runner and adds no error of its own.
 */
class PublishedByThePlatform extends Error {}

/**
 * `process(msg, cfg, snapshot)` of one step: runs the runner and emits its
 * events through `self.emit`, in the order the runner wrote them. Data
 * emits overlap in a bounded window (window.js), handed to sailor one at a
 * time (handover.js); every other event waits until each data message
 * before it is confirmed. While the window is full the runner's stdout is
 * not read, so the runner blocks. Returns when the runner has exited and
 * every emit has settled; sailor's executor then emits the one `end`,
 * which acks the input (or rejects it when an error was emitted).
 */
async function runProcess(self, functionId, msg, cfg, snapshot, env = process.env) {
    const message = msg || {};
    const input = {
        cfg: cfg || {},
        msg: {
            id: message.id,
            body: message.body,
            headers: message.headers,
            attachments: message.attachments
        },
        snapshot: snapshot || {}
    };
    const { child, exited } = spawnRunner(['process', functionId], input, env);
    const lastLog = forwardLogs(child.stderr, self.logger);
    // Without the hook there is no knowing when sailor has published a
    // message, so none may overlap another.
    const window = new EmitWindow(hookSailor(self) ? {} : { maxEmits: 1 });
    let ended = false;
    let errors = 0;
    let badLines = 0;
    let handed = 0;
    // Errors sailor published for data it could not publish: it counts
    // those and the adapter's own on the TaskExec.
    const sailorErrors = () => (typeof self.errorCount === 'number' ? self.errorCount - errors : 0);
    const emitData = async (payload, chars) => {
        await window.room(chars);
        const n = ++handed;
        const ticket = new Ticket(() => handed === n && !window.failure);
        const confirmed = emitWith(self, ticket, 'data', payload).then(() => {
            if (sailorErrors() > 0) {
                throw new PublishedByThePlatform('sailor could not publish a data message and has reported it');
            }
        });
        window.add(confirmed, chars);
        await ticket.handedOver;
    };
    // The barrier: nothing but data goes ahead of unconfirmed data.
    const emitAfterData = async (name, value) => {
        await window.drained();
        await self.emit(name, value);
    };
    const onLine = async (line) => {
        if (window.failure) {
            throw window.failure;
        }
        if (line.trim() === '') {
            return;
        }
        let event;
        try {
            event = JSON.parse(line);
        } catch (e) {
            badLines += 1;
            return;
        }
        if (ended || !event || typeof event.event !== 'string') {
            badLines += 1;
            return;
        }
        const payload = event.payload;
        switch (event.event) {
            case 'data':
                await emitData(payload, line.length);
                break;
            case 'snapshot':
            case 'updateSnapshot':
                await emitAfterData(event.event, payload);
                break;
            case 'rebound':
                await emitAfterData('rebound', (payload && payload.reason) || 'Rebound');
                break;
            case 'error': {
                await window.drained();
                const err = new Error((payload && payload.message) || 'klaviyo-runner reported an error');
                err.name = (payload && payload.name) || 'Error';
                err.stack = (payload && payload.stack) || 'Not Available';
                errors += 1;
                await self.emit('error', err);
                break;
            }
            case 'end':
                ended = true;
                break;
            default:
                badLines += 1;
        }
    };
    const reading = eachLine(child.stdout, onLine);
    reading.catch(() => {});
    let readError = null;
    try {
        // A failure in the window stops the runner at once, even while the
        // adapter is waiting for the runner's next line.
        await Promise.race([reading, window.failed]);
        await window.drained();
    } catch (err) {
        // An emit failed (sailor could not publish): stop the runner; the
        // error goes to sailor, which rejects the input.
        readError = err;
        child.kill('SIGKILL');
    }
    // Nothing of this input is still being published when sailor acks or
    // rejects it.
    await window.settled();
    const exit = await exited;
    if (readError instanceof PublishedByThePlatform) {
        log(self.logger, 'error', {}, `${RUNNER_NAME} was stopped: ${readError.message}`);
        return;
    }
    if (readError) {
        throw readError;
    }
    if (badLines > 0) {
        log(self.logger, 'warn', {}, `${RUNNER_NAME} wrote ${badLines} line(s) that are not events`);
    }
    if (!ended && errors === 0) {
        throw new Error(await withLastLog(`${RUNNER_NAME} ${describeExit(exit)} before its end line`, lastLog));
    }
    if (exit.code !== 0 && errors === 0) {
        throw new Error(await withLastLog(`${RUNNER_NAME} ${describeExit(exit)} without an error event`, lastLog));
    }
}

/**
 * A service command (`verifyCredentials`, `getMetaModel FN`,
 * `selectModel FN METHOD`): the envelope's data, or an Error with its
 * message.
 */
async function runService(self, args, cfg, env = process.env) {
    const { child, exited } = spawnRunner(args, { cfg: cfg || {} }, env);
    const lastLog = forwardLogs(child.stderr, self && self.logger);
    const chunks = [];
    child.stdout.on('data', chunk => chunks.push(chunk));
    const exit = await exited;
    const text = Buffer.concat(chunks).toString('utf8');
    let envelope = null;
    try {
        envelope = JSON.parse(text);
    } catch (e) {
        envelope = null;
    }
    if (!envelope || typeof envelope !== 'object' || !('status' in envelope)) {
        throw new Error(await withLastLog(`${RUNNER_NAME} ${describeExit(exit)} without a service envelope`, lastLog));
    }
    if (envelope.status === 'success') {
        return envelope.data;
    }
    const message = envelope.data && envelope.data.message;
    throw new Error(message || `${RUNNER_NAME} answered ${args[0]} with an error`);
}

/**
 * The module of one trigger or action: `process`, `getMetaModel` when
 * component.json says its metadata is dynamic, and every select model its
 * fields name.
 */
function step(functionId) {
    const json = componentJson();
    const def = (json.triggers && json.triggers[functionId]) || (json.actions && json.actions[functionId]);
    if (!def) {
        throw new Error(`Trigger or action "${functionId}" is not found in component.json`);
    }
    const exported = {
        process(msg, cfg, snapshot) {
            return runProcess(this, functionId, msg, cfg, snapshot);
        }
    };
    if (def.dynamicMetadata) {
        exported.getMetaModel = function getMetaModel(cfg) {
            return runService(this, ['getMetaModel', functionId], cfg);
        };
    }
    for (const field of Object.values(def.fields || {})) {
        if (typeof field.model === 'string') {
            const method = field.model;
            exported[method] = function selectModel(cfg) {
                return runService(this, ['selectModel', functionId, method], cfg);
            };
        }
    }
    return exported;
}

/** verifyCredentials.js: `{verified: true}` or `{verified: false, reason}`. */
function verifyCredentials(credentials) {
    return runService(this, ['verifyCredentials'], credentials);
}

module.exports = {
    step,
    verifyCredentials,
    // For the tests.
    _internal: { findRunner, runnerEnv, eachLine, runProcess, runService, levelName }
};
