'use strict';
// The adapter's own tests, with a stand-in runner (fake-runner.js).
// Run with `npm test` (node --test, no framework).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { PassThrough } = require('stream');

const adapter = require('../elasticio/runner');
const { findRunner, runnerEnv, eachLine, runProcess, runService, levelName } = adapter._internal;

const FAKE = path.join(__dirname, 'fake-runner.js');
const KEY = 'pk_secret_in_log';

function env(mode, extra = {}) {
    return { ...process.env, KLAVIYO_RUNNER_PATH: FAKE, FAKE_RUNNER_MODE: mode, ...extra };
}

/** A `this` like sailor's TaskExec: records emits and log records. */
function recorder({ holdFirst } = {}) {
    const emitted = [];
    const logs = [];
    const logger = {};
    const makeLogger = (fields) => {
        const l = {};
        for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
            l[level] = (msg) => logs.push({ level, msg, fields });
        }
        l.child = (more) => makeLogger({ ...fields, ...more });
        return l;
    };
    Object.assign(logger, makeLogger({}));
    return {
        emitted,
        logs,
        logger,
        async emit(name, payload) {
            if (holdFirst && emitted.length === 0) {
                emitted.push([name, payload]);
                await holdFirst(name, payload);
                return;
            }
            emitted.push([name, payload]);
        }
    };
}

test('the runner is KLAVIYO_RUNNER_PATH when set, else klaviyo-runner on PATH', () => {
    assert.equal(findRunner({ KLAVIYO_RUNNER_PATH: FAKE, PATH: '' }), FAKE);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-'));
    const onPath = path.join(dir, 'klaviyo-runner');
    fs.copyFileSync(FAKE, onPath);
    fs.chmodSync(onPath, 0o755);
    assert.equal(findRunner({ PATH: `/nonexistent${path.delimiter}${dir}` }), onPath);
    fs.rmSync(dir, { recursive: true });
});

test('a missing runner is an error that says so', async () => {
    assert.throws(() => findRunner({ PATH: '/nonexistent' }),
        { message: 'klaviyo-runner was not found on PATH; install it or set KLAVIYO_RUNNER_PATH' });
    assert.throws(() => findRunner({ KLAVIYO_RUNNER_PATH: '/nonexistent/klaviyo-runner' }),
        { message: 'KLAVIYO_RUNNER_PATH is /nonexistent/klaviyo-runner, which is not an executable file' });
    const self = recorder();
    await assert.rejects(runProcess(self, 'makeRawRequest', {}, {}, {}, { PATH: '/nonexistent' }),
        /klaviyo-runner was not found on PATH/);
    assert.deepEqual(self.emitted, []);
});

test('events become emits, in order; error is an Error; rebound gets the reason; end is left to sailor', async () => {
    const self = recorder();
    await runProcess(self, 'makeRawRequest', { body: {} }, { apiKey: KEY }, {}, env('events'));
    assert.equal(self.emitted.length, 5);
    assert.deepEqual(self.emitted[0], ['data', { id: 'r1', body: { n: 1 }, headers: {}, attachments: {} }]);
    assert.deepEqual(self.emitted[1], ['snapshot', { s: 1 }]);
    assert.deepEqual(self.emitted[2], ['updateSnapshot', { u: 2 }]);
    assert.deepEqual(self.emitted[3], ['rebound', 'Klaviyo is busy']);
    const [name, err] = self.emitted[4];
    assert.equal(name, 'error');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'UpstreamError');
    assert.equal(err.message, 'Klaviyo answered 400');
    assert.equal(err.stack, 'Not Available');
});

test('the runner gets the function id, {cfg, msg, snapshot} and the environment', async () => {
    const self = recorder();
    const msg = { id: 'm1', body: { url: '/lists' }, headers: { h: 'v' }, attachments: {}, passthrough: { s: {} } };
    const cfg = { apiKey: KEY, doNotThrow404: true };
    await runProcess(self, 'makeRawRequest', msg, cfg, { last: 1 }, env('echo', {
        ELASTICIO_FLOW_TYPE: 'debug',
        KLAVIYO_BASE_URL: 'http://127.0.0.1:1/api',
        LOG_LEVEL: 'debug',
        ELASTICIO_MESSAGE_CRYPTO_PASSWORD: 'cipher-secret',
        ELASTICIO_API_KEY: 'platform-secret',
        ELASTICIO_CFG: JSON.stringify(cfg)
    }));
    assert.equal(self.emitted.length, 1);
    const body = self.emitted[0][1].body;
    assert.deepEqual(body.args, ['process', 'makeRawRequest']);
    assert.deepEqual(body.input, {
        cfg,
        msg: { id: 'm1', body: { url: '/lists' }, headers: { h: 'v' }, attachments: {} },
        snapshot: { last: 1 }
    });
    assert.deepEqual(body.env, {
        ELASTICIO_FLOW_TYPE: 'debug',
        KLAVIYO_BASE_URL: 'http://127.0.0.1:1/api',
        LOG_LEVEL: 'debug'
    });
});

test('an empty tick reaches the runner as an empty message', async () => {
    const self = recorder();
    await runProcess(self, 'getNewAndUpdatedObjectsPolling', {}, undefined, undefined, env('echo'));
    assert.deepEqual(self.emitted[0][1].body.input, { cfg: {}, msg: {}, snapshot: {} });
});

// Masking is the runner's alone (crates/runner/src/redact.rs: every line it
// writes); the adapter relays its text as written. The stand-in runner here
// masks nothing, so what it writes arrives unchanged.
test('log lines go to the logger at their own level, as fields, as the runner wrote them', async () => {
    const self = recorder();
    await runProcess(self, 'makeRawRequest', {}, { apiKey: KEY }, {}, env('logs'));
    assert.deepEqual(self.logs, [
        { level: 'debug', msg: 'a debug line', fields: { target: 'client', attempt: 2 } },
        { level: 'warn', msg: `a warning with the key ${KEY} inside`, fields: { url: `https://x/?k=${KEY}` } },
        { level: 'error', msg: 'an error line', fields: {} },
        { level: 'warn', msg: 'not json at all', fields: {} }
    ]);
});

test('bunyan levels map to logger methods', () => {
    assert.deepEqual([10, 20, 30, 40, 50, 60, 35, undefined].map(levelName),
        ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'info', 'info']);
});

test('a runner that dies without an end line is an error naming the exit and the last log line', async () => {
    const self = recorder();
    await assert.rejects(runProcess(self, 'makeRawRequest', {}, {}, {}, env('crash')), {
        message: 'klaviyo-runner exited with status 3 before its end line; last log line: panicked at the disco'
    });
    assert.deepEqual(self.emitted, []);
});

test('a runner killed by a signal is an error; what it emitted before stays emitted', async () => {
    const self = recorder();
    await assert.rejects(runProcess(self, 'makeRawRequest', {}, {}, {}, env('signal')), {
        message: 'klaviyo-runner was stopped by SIGKILL before its end line; last log line: about to be killed'
    });
    assert.deepEqual(self.emitted, [['data', { body: { before: true } }]]);
});

test('a non-zero exit without an error event is an error', async () => {
    const self = recorder();
    await assert.rejects(runProcess(self, 'makeRawRequest', {}, {}, {}, env('exit-no-error')), {
        message: 'klaviyo-runner exited with status 4 without an error event; last log line: the last words'
    });
});

test('an unfinished last line is not an event', async () => {
    const self = recorder();
    await assert.rejects(runProcess(self, 'makeRawRequest', {}, {}, {}, env('unfinished')),
        /exited with status 0 before its end line/);
    assert.deepEqual(self.emitted, [['data', { body: { whole: true } }]]);
});

test('the stream is paused while an emit is pending, and lines keep their order', async () => {
    const stream = new PassThrough();
    const seen = [];
    let release;
    const held = new Promise(resolve => { release = resolve; });
    let pausedDuringHold = null;
    const done = eachLine(stream, async (line) => {
        seen.push(line);
        if (seen.length === 1) {
            // Let the writer try to push more while this emit is pending.
            await new Promise(resolve => setImmediate(resolve));
            pausedDuringHold = stream.isPaused();
            await held;
        }
    });
    stream.write('a\nb');
    stream.write('c\nd\n');
    stream.write('e\n');
    await new Promise(resolve => setImmediate(resolve));
    await new Promise(resolve => setImmediate(resolve));
    assert.deepEqual(seen, ['a']);
    assert.equal(pausedDuringHold, true);
    release();
    stream.end('f\nunfinished');
    await done;
    assert.deepEqual(seen, ['a', 'bc', 'd', 'e', 'f']);
});

test('many large events arrive exactly once and in order through an emitter that is not sailor\'s (one at a time)', async () => {
    const count = 3000;
    const self = recorder({ holdFirst: () => new Promise(resolve => setTimeout(resolve, 20)) });
    await runProcess(self, 'getNewAndUpdatedObjectsPolling', {}, {}, {},
        env('many', { FAKE_RUNNER_COUNT: String(count), FAKE_RUNNER_PAD: '4000' }));
    assert.equal(self.emitted.length, count);
    self.emitted.forEach(([name, payload], i) => {
        assert.equal(name, 'data');
        assert.equal(payload.body.i, i);
    });
});

test('a failing emit stops the runner and is the error', async () => {
    const self = recorder();
    self.emit = async () => { throw new Error('publish failed'); };
    await assert.rejects(runProcess(self, 'getNewAndUpdatedObjectsPolling', {}, {}, {},
        env('many', { FAKE_RUNNER_COUNT: '100000' })), { message: 'publish failed' });
});

test('service commands return the envelope data', async () => {
    const data = await runService(recorder(), ['selectModel', 'getNewAndUpdatedObjectsPolling', 'getObjectTypes'],
        { apiKey: KEY }, env('service-ok'));
    assert.deepEqual(data, {
        args: ['selectModel', 'getNewAndUpdatedObjectsPolling', 'getObjectTypes'],
        cfg: { apiKey: KEY }
    });
});

test('a service error envelope throws its message as the runner wrote it', async () => {
    await assert.rejects(runService(recorder(), ['getMetaModel', 'makeRawRequest'], { apiKey: KEY },
        env('service-error')), { message: `Klaviyo refused ${KEY}` });
});

test('the adapter has no masking rule of its own', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', 'elasticio', 'runner.js'), 'utf8');
    assert.doesNotMatch(source, /PasswordFieldView|secretsOf|masker|\*\*\*/);
});

test('a service answer that is no envelope is an error naming the exit', async () => {
    await assert.rejects(runService(recorder(), ['verifyCredentials'], {}, env('service-garbage')), {
        message: 'klaviyo-runner exited with status 2 without a service envelope; last log line: it broke'
    });
});

test('the platform secrets are withheld from the runner', () => {
    const out = runnerEnv({
        A: '1', ELASTICIO_MESSAGE_CRYPTO_PASSWORD: 'x', ELASTICIO_MESSAGE_CRYPTO_IV: 'y',
        ELASTICIO_AMQP_URI: 'amqp://', ELASTICIO_API_KEY: 'k', ELASTICIO_CFG: '{}',
        ELASTICIO_POST_RESULT_URL: 'http://u:p@h/', ELASTICIO_OBJECT_STORAGE_TOKEN: 't',
        ELASTICIO_FUNCTION: 'f'
    });
    assert.deepEqual(out, { A: '1', ELASTICIO_FUNCTION: 'f' });
});

test('every main of component.json is an adapter exporting what sailor calls', () => {
    const root = path.join(__dirname, '..', '..');
    const json = JSON.parse(fs.readFileSync(path.join(root, 'component.json'), 'utf8'));
    const steps = { ...json.triggers, ...json.actions };
    assert.ok(Object.keys(steps).length >= 2);
    for (const [id, def] of Object.entries(steps)) {
        assert.equal(typeof def.main, 'string', `${id} has a main`);
        const mod = require(path.join(root, def.main));
        const expected = ['process'];
        if (def.dynamicMetadata) {
            expected.push('getMetaModel');
        }
        for (const field of Object.values(def.fields || {})) {
            if (typeof field.model === 'string') {
                expected.push(field.model);
            }
        }
        assert.deepEqual(Object.keys(mod).sort(), expected.sort(), id);
        for (const name of expected) {
            assert.equal(typeof mod[name], 'function');
        }
    }
    assert.equal(require(path.join(root, 'verifyCredentials.js')), adapter.verifyCredentials);
});

test('the adapters hold no step logic: each is one call of the shared module', () => {
    const dir = path.join(__dirname, '..', 'elasticio');
    for (const kind of ['triggers', 'actions']) {
        for (const file of fs.readdirSync(path.join(dir, kind))) {
            const code = fs.readFileSync(path.join(dir, kind, file), 'utf8')
                .split('\n').filter(l => l.trim() && !l.trim().startsWith('//') && l.trim() !== "'use strict';");
            assert.deepEqual(code, [`module.exports = require('../runner').step('${path.basename(file, '.js')}');`]);
        }
    }
});

test('package.json and component.json carry the same version', () => {
    const root = path.join(__dirname, '..', '..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const json = JSON.parse(fs.readFileSync(path.join(root, 'component.json'), 'utf8'));
    assert.equal(pkg.version, json.version);
    assert.deepEqual(Object.keys(pkg.dependencies), ['elasticio-sailor-nodejs']);
    assert.equal(pkg.dependencies['elasticio-sailor-nodejs'], '2.7.8');
    assert.equal(pkg.devDependencies, undefined);
});
