'use strict';
// The window of data emits in flight, against a stand-in for sailor's
// emitter: `emit('data')` waits in a throttle, then goes through
// `__getAmqp().publishMessage` as sailor 2.7.8's does, and resolves when the
// test's broker confirms it. Run with `npm test`.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');

const adapter = require('../elasticio/runner');
const { MAX_EMITS, MAX_CHARS } = require('../elasticio/window');
const { runProcess } = adapter._internal;

const FAKE = path.join(__dirname, 'fake-runner.js');
const ROOT = path.join(__dirname, '..', '..');

function env(mode, extra = {}) {
    return { ...process.env, KLAVIYO_RUNNER_PATH: FAKE, FAKE_RUNNER_MODE: mode, ...extra };
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/**
 * A stand-in for sailor behind a TaskExec. `confirm(i, iteration)` is the
 * broker: a promise per publish. `onFailure`: 'report' as sailor's onData
 * does (publishes an error, counts it, the emit resolves) or 'reject'.
 */
function standInSailor({ confirm, onFailure = 'report', retries = false }) {
    const s = {
        handed: [],
        published: [],
        confirmed: [],
        reported: [],
        events: [],
        logs: [],
        errorCount: 0,
        inFlight: 0,
        maxInFlight: 0
    };
    const logger = {};
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
        logger[level] = msg => s.logs.push({ level, msg });
    }
    logger.child = () => logger;
    s.logger = logger;
    const amqp = {
        // Sailor's publishMessage(exchange, routingKey, buffer, options,
        // iteration): retries itself through `this` when the broker refuses.
        publishMessage(exchange, routingKey, buffer, options, iteration) {
            s.published.push(options.i);
            return Promise.resolve(confirm(options.i, iteration)).catch((err) => {
                if (!retries) {
                    throw err;
                }
                return sleep(5).then(() => this.publishMessage(exchange, routingKey, buffer, options, iteration + 1));
            });
        }
    };
    s.__getAmqp = () => amqp;
    // Like p-throttle once the rate is reached: waiters that meet are
    // released together, the last first.
    let batch = [];
    const throttle = () => new Promise((resolve) => {
        batch.push(resolve);
        if (batch.length === 1) {
            setTimeout(() => {
                const released = batch.reverse();
                batch = [];
                released.forEach(r => r());
            }, 2);
        }
    });
    s.emit = async function emit(name, payload) {
        if (name !== 'data') {
            s.events.push({ name, payload, confirmed: s.confirmed.length, inFlight: s.inFlight });
            if (name === 'error') {
                s.errorCount += 1;
            }
            return;
        }
        const i = payload.body.i;
        s.handed.push(i);
        s.inFlight += 1;
        s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
        try {
            await Promise.resolve();
            await throttle();
            await amqp.publishMessage('exchange', 'data', Buffer.from('x'), { headers: {}, i }, 0);
            s.confirmed.push(i);
        } catch (err) {
            if (onFailure === 'reject') {
                throw err;
            }
            s.errorCount += 1;
            s.reported.push(err.message);
        } finally {
            s.inFlight -= 1;
        }
    };
    return s;
}

/** A broker whose confirms the test lets go of. */
function heldBroker() {
    const held = [];
    let auto = false;
    return {
        held,
        confirm(i) {
            if (auto) {
                return Promise.resolve();
            }
            return new Promise((resolve, reject) => held.push({ i, resolve, reject }));
        },
        releaseAll() {
            auto = true;
            held.splice(0).forEach(h => h.resolve());
        }
    };
}

/** A broker that confirms after a random few milliseconds. */
const slowBroker = () => () => sleep(Math.floor(Math.random() * 4));

/** Waits until `value()` is truthy, then until it has not changed for `quiet` ms. */
async function settle(value, quiet = 300) {
    while (!value()) {
        await sleep(20);
    }
    let last = value();
    let since = Date.now();
    while (Date.now() - since < quiet) {
        await sleep(20);
        const now = value();
        if (now !== last) {
            last = now;
            since = Date.now();
        }
    }
    return last;
}

const range = n => Array.from({ length: n }, (_, i) => i);

test('control: the stand-in throttle reorders emits that wait in it together', async () => {
    const s = standInSailor({ confirm: () => Promise.resolve() });
    await Promise.all(range(5).map(i => s.emit('data', { body: { i } })));
    assert.deepEqual(s.published, [4, 3, 2, 1, 0]);
});

test('data emits overlap up to the window, each handed to sailor once the one before is published', async () => {
    const s = standInSailor({ confirm: slowBroker() });
    await runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('many', { FAKE_RUNNER_COUNT: '400' }));
    assert.deepEqual(s.handed, range(400));
    assert.deepEqual(s.published, range(400), 'published in the order the runner wrote them');
    assert.deepEqual(s.confirmed, range(400));
    assert.ok(s.maxInFlight > 1 && s.maxInFlight <= MAX_EMITS, `${s.maxInFlight} in flight at most`);
});

test('a full window pauses the runner\'s stdout, so the runner blocks; confirms let it go on', async () => {
    const broker = heldBroker();
    const s = standInSailor({ confirm: i => broker.confirm(i) });
    const progress = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'window-')), 'progress');
    const count = 3000;
    const done = runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('many', {
        FAKE_RUNNER_COUNT: String(count), FAKE_RUNNER_PAD: '1000', FAKE_RUNNER_PROGRESS: progress
    }));
    const written = () => Number(fs.existsSync(progress) ? fs.readFileSync(progress, 'utf8') || 0 : 0);
    try {
        await settle(() => s.handed.length > 0 && `${s.handed.length}/${written()}`);
        assert.equal(s.handed.length, MAX_EMITS, 'as many emits as the window holds, no more');
        assert.equal(s.inFlight, MAX_EMITS);
        assert.deepEqual(s.published, range(MAX_EMITS));
        const blockedAt = written();
        assert.ok(blockedAt < count, `the runner stopped writing at line ${blockedAt} of ${count}`);
        await sleep(300);
        assert.equal(written(), blockedAt, 'and stays blocked');
    } finally {
        broker.releaseAll();
        await done;
    }
    assert.deepEqual(s.published, range(count));
    assert.equal(written(), count);
});

test('the window holds at most 4 MiB of event lines; a larger line goes alone', async () => {
    const broker = heldBroker();
    const s = standInSailor({ confirm: i => broker.confirm(i) });
    const pad = Math.floor(MAX_CHARS * 0.4);
    const done = runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('many', {
        FAKE_RUNNER_COUNT: '5', FAKE_RUNNER_PAD: String(pad)
    }));
    try {
        await settle(() => s.handed.length);
        assert.equal(s.inFlight, 2, 'two lines of 40% fit, a third does not');
    } finally {
        broker.releaseAll();
        await done;
    }
    assert.deepEqual(s.published, range(5));

    const big = heldBroker();
    const t = standInSailor({ confirm: i => big.confirm(i) });
    const alone = runProcess(t, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('many', {
        FAKE_RUNNER_COUNT: '3', FAKE_RUNNER_PAD: String(MAX_CHARS + 10)
    }));
    try {
        await settle(() => t.handed.length);
        assert.equal(t.inFlight, 1);
    } finally {
        big.releaseAll();
        await alone;
    }
    assert.deepEqual(t.published, range(3));
});

test('a snapshot, an updateSnapshot, a rebound and an error each wait until every data message before them is confirmed', async () => {
    const s = standInSailor({ confirm: slowBroker() });
    await runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('bursts', { FAKE_RUNNER_COUNT: '40' }));
    assert.deepEqual(s.events.map(e => [e.name, e.confirmed, e.inFlight]), [
        ['snapshot', 40, 0],
        ['updateSnapshot', 80, 0],
        ['rebound', 120, 0],
        ['error', 160, 0]
    ]);
    assert.deepEqual(s.events[0].payload, { after: 40 });
    assert.deepEqual(s.published, range(200));
    assert.ok(s.maxInFlight > 1);
});

test('a publish that fails inside the window stops the runner and is the error', async () => {
    const s = standInSailor({
        onFailure: 'reject',
        confirm: i => (i === 5 ? sleep(20).then(() => { throw new Error('publish failed'); }) : sleep(1))
    });
    await assert.rejects(runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {},
        env('many', { FAKE_RUNNER_COUNT: '100000' })), { message: 'publish failed' });
    assert.ok(s.handed.length <= 5 + MAX_EMITS + 1, `nothing handed over after the failure: ${s.handed.length}`);
    assert.equal(s.inFlight, 0, 'every emit settled before the adapter returned');
    assert.deepEqual(s.events, []);
});

test('a data message sailor reports it could not publish stops the runner, with no second error', async () => {
    const s = standInSailor({
        confirm: i => (i === 5 ? sleep(20).then(() => { throw new Error('Failed on publishing'); }) : sleep(1))
    });
    await runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('bursts', { FAKE_RUNNER_COUNT: '2000' }));
    assert.deepEqual(s.reported, ['Failed on publishing']);
    assert.equal(s.errorCount, 1, 'sailor\'s error is the one error');
    assert.deepEqual(s.events, [], 'no snapshot after the failed message, nor an error of the adapter');
    assert.ok(s.handed.length < 2000, `the runner was stopped: ${s.handed.length} handed over`);
    assert.ok(s.logs.some(l => l.level === 'error' && /klaviyo-runner was stopped/.test(l.msg)), JSON.stringify(s.logs));
});

test('sailor\'s retry of a refused publish is refused once a later message was handed over', async () => {
    let refusedOnce = false;
    const s = standInSailor({
        retries: true,
        confirm: (i, iteration) => {
            if (i === 3 && iteration === 0) {
                refusedOnce = true;
                return sleep(20).then(() => { throw new Error('nack'); });
            }
            return sleep(1);
        }
    });
    await runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('many', { FAKE_RUNNER_COUNT: '100000' }));
    assert.ok(refusedOnce);
    assert.equal(s.published.filter(i => i === 3).length, 1, 'not published again');
    assert.equal(s.reported.length >= 1, true);
    assert.match(s.reported[0], /out of order/);
    assert.ok(s.handed.length < 100000);
});

test('a retry of the last message handed over keeps the order, so it goes ahead', async () => {
    const s = standInSailor({
        retries: true,
        confirm: (i, iteration) => (iteration === 0 ? Promise.reject(new Error('nack')) : Promise.resolve())
    });
    await runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('many', { FAKE_RUNNER_COUNT: '1' }));
    assert.deepEqual(s.published, [0, 0], JSON.stringify(s.reported));
    assert.deepEqual(s.confirmed, [0]);
    assert.deepEqual(s.reported, []);
});

test('without sailor\'s publishMessage to watch, data emits go one at a time', async () => {
    const s = standInSailor({ confirm: slowBroker() });
    s.__getAmqp = undefined;
    await runProcess(s, 'getNewAndUpdatedObjectsPolling', {}, {}, {}, env('many', { FAKE_RUNNER_COUNT: '100' }));
    assert.equal(s.maxInFlight, 1);
    assert.deepEqual(s.published, range(100));
});

test('the hook fits sailor 2.7.8: TaskExec.__getAmqp and Amqp#publishMessage as the adapter calls them', () => {
    const sailorLib = path.join(ROOT, 'node_modules', 'elasticio-sailor-nodejs', 'lib');
    const { TaskExec } = require(path.join(sailorLib, 'executor.js'));
    const { Amqp } = require(path.join(sailorLib, 'amqp.js'));
    assert.equal(typeof TaskExec.prototype.__getAmqp, 'function');
    const publish = Amqp.prototype.publishMessage;
    assert.equal(publish.length, 5, 'publishMessage(exchange, routingKey, buffer, options, iteration)');
    const source = publish.toString();
    // Retries go back through the instance's method, with the same options.
    assert.match(source, /this\.publishMessage\(exchangeName, routingKey, payloadBuffer, options, iteration\)/);
    assert.match(Amqp.prototype.sendToExchange.toString(), /await throttle\(\);[\s\S]*this\.publishMessage\(/);
});
