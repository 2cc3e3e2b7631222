'use strict';
// The preload that turns Nagle's algorithm off on sailor's AMQP sockets
// (platform/elasticio/amqp-nodelay.js). Run with `npm test`.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const net = require('net');
const path = require('path');

const { patch, sailorsAmqplib } = require('../elasticio/amqp-nodelay');

const ROOT = path.join(__dirname, '..', '..');
const SAILOR_RUN = path.join(ROOT, 'node_modules', 'elasticio-sailor-nodejs', 'run.js');

test('connect gets noDelay: true and keeps every other option', async () => {
    const calls = [];
    const amqplib = { connect: (url, opts) => { calls.push([url, opts]); return Promise.resolve('conn'); } };
    assert.equal(patch(amqplib), true);
    assert.equal(patch(amqplib), false, 'once');
    assert.equal(await amqplib.connect('amqp://h', { clientProperties: { connection_name: 'x-write' } }), 'conn');
    await amqplib.connect('amqp://h');
    assert.deepEqual(calls, [
        ['amqp://h', { clientProperties: { connection_name: 'x-write' }, noDelay: true }],
        ['amqp://h', { noDelay: true }]
    ]);
});

test('only a sailor script finds the amqplib to patch: sailor\'s own', () => {
    assert.equal(sailorsAmqplib(path.join(ROOT, 'platform', 'test', 'fake-runner.js')), null);
    assert.equal(sailorsAmqplib(undefined), null);
    const amqplib = sailorsAmqplib(SAILOR_RUN);
    const fromSailor = require.resolve('amqplib', {
        paths: [path.join(ROOT, 'node_modules', 'elasticio-sailor-nodejs', 'lib')]
    });
    assert.equal(amqplib, require(fromSailor));
});

test('amqplib 0.8.0, patched, opens its socket with Nagle off', async () => {
    const amqplib = sailorsAmqplib(SAILOR_RUN);
    patch(amqplib);
    const seen = [];
    const original = net.Socket.prototype.setNoDelay;
    net.Socket.prototype.setNoDelay = function setNoDelay(on) {
        seen.push(on);
        return original.call(this, on);
    };
    // A "broker" that accepts and hangs up: the connection fails after
    // amqplib has set up its socket.
    const server = net.createServer(sock => sock.destroy());
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
        await assert.rejects(amqplib.connect(`amqp://127.0.0.1:${server.address().port}`));
    } finally {
        net.Socket.prototype.setNoDelay = original;
        server.close();
    }
    assert.deepEqual(seen, [true]);
});

test('the image and the platform tests preload the same module', () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^ENV NODE_OPTIONS="--require \/app\/platform\/elasticio\/amqp-nodelay\.js"$/m);
    assert.match(dockerfile, /^COPY platform\/elasticio \.\/platform\/elasticio$/m);
    const harness = fs.readFileSync(path.join(ROOT, 'tools', 'sailor-harness', 'src', 'sailor.rs'), 'utf8');
    assert.match(harness, /pub const PRELOAD: &str = "platform\/elasticio\/amqp-nodelay\.js";/);
    assert.ok(fs.existsSync(path.join(ROOT, 'platform', 'elasticio', 'amqp-nodelay.js')));
});
