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

/** The values of every PasswordFieldView field present in cfg. */
function secretsOf(cfg) {
    const json = componentJson();
    const secretFields = new Set();
    const collect = (fields) => {
        for (const [id, field] of Object.entries(fields || {})) {
            if (field && field.viewClass === 'PasswordFieldView') {
                secretFields.add(id);
            }
        }
    };
    collect(json.credentials && json.credentials.fields);
    for (const group of [json.triggers, json.actions]) {
        for (const fn of Object.values(group || {})) {
            collect(fn.fields);
        }
    }
    const values = [];
    for (const id of secretFields) {
        const value = cfg && cfg[id];
        if (typeof value === 'string' && value.length > 0) {
            values.push(value);
        }
    }
    return values;
}

function masker(secrets) {
    return (text) => {
        let out = String(text);
        for (const secret of secrets) {
            out = out.split(secret).join('***');
        }
        return out;
    };
}

function maskDeep(value, mask) {
    if (typeof value === 'string') {
        return mask(value);
    }
    if (Array.isArray(value)) {
        return value.map(v => maskDeep(v, mask));
    }
    if (value && typeof value === 'object') {
        const out = {};
        for (const [k, v] of Object.entries(value)) {
            out[k] = maskDeep(v, mask);
        }
        return out;
    }
    return value;
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
 */
function forwardLogs(stream, logger, mask) {
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
            last = mask(line);
            log(logger, 'warn', {}, last);
            return;
        }
        const fields = {};
        for (const [k, v] of Object.entries(record)) {
            if (!BUNYAN_CORE.includes(k)) {
                fields[k] = maskDeep(v, mask);
            }
        }
        last = mask(record.msg === undefined ? '' : record.msg);
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
 * `process(msg, cfg, snapshot)` of one step: runs the runner and emits its
 * events through `self.emit`, in order, each awaited. Returns when the
 * runner has exited; sailor's executor then emits the one `end`, which acks
 * the input (or rejects it when an error was emitted).
 */
async function runProcess(self, functionId, msg, cfg, snapshot, env = process.env) {
    const mask = masker(secretsOf(cfg));
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
    const lastLog = forwardLogs(child.stderr, self.logger, mask);
    let ended = false;
    let errors = 0;
    let badLines = 0;
    const onLine = async (line) => {
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
            case 'snapshot':
            case 'updateSnapshot':
                await self.emit(event.event, payload);
                break;
            case 'rebound':
                await self.emit('rebound', mask((payload && payload.reason) || 'Rebound'));
                break;
            case 'error': {
                errors += 1;
                const err = new Error(mask((payload && payload.message) || 'klaviyo-runner reported an error'));
                err.name = (payload && payload.name) || 'Error';
                err.stack = mask((payload && payload.stack) || 'Not Available');
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
    let readError = null;
    try {
        await reading;
    } catch (err) {
        // An emit failed (sailor could not publish): stop the runner; the
        // error goes to sailor, which rejects the input.
        readError = err;
        child.kill('SIGKILL');
    }
    const exit = await exited;
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
    const mask = masker(secretsOf(cfg));
    const { child, exited } = spawnRunner(args, { cfg: cfg || {} }, env);
    const lastLog = forwardLogs(child.stderr, self && self.logger, mask);
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
    throw new Error(mask(message || `${RUNNER_NAME} answered ${args[0]} with an error`));
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
    _internal: { findRunner, runnerEnv, eachLine, runProcess, runService, secretsOf, levelName }
};
