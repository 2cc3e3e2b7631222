'use strict';
// Preloaded into sailor's process (`NODE_OPTIONS=--require` this file): the
// Dockerfile sets it for the image, tools/sailor-harness for the platform
// tests and the bench, so both run sailor the same way.
//
// Sailor 2.7.8 connects to the broker with amqplib 0.8.0, which leaves
// Nagle's algorithm on (`sock.setNoDelay(!!socketOptions.noDelay)`, and
// sailor gives no such option). A message is written as a method, a header
// and body frames; once one segment is unacknowledged Nagle holds the next
// small one until the broker's ACK, which delayed ACK holds about 40 ms.
// So each publish confirm, and so each message of a step that answers one
// input with one output, waited about 40 ms. amqplib's own socket option
// `noDelay: true` turns Nagle off on the connections sailor opens, and on
// nothing else; sailor's files are not changed.
//
// In any other Node.js process (npm, runService.js's callers, the tests'
// stand-ins) this does nothing.

const path = require('path');

const SAILOR = `${path.sep}elasticio-sailor-nodejs${path.sep}`;
const PATCHED = Symbol.for('klaviyo-component.amqpNoDelay');

/** Makes `amqplib.connect` open its sockets with `noDelay: true`. */
function patch(amqplib) {
    if (!amqplib || typeof amqplib.connect !== 'function' || amqplib[PATCHED]) {
        return false;
    }
    const connect = amqplib.connect;
    amqplib.connect = function connectWithNoDelay(url, socketOptions, ...rest) {
        return connect.call(this, url, { ...(socketOptions || {}), noDelay: true }, ...rest);
    };
    amqplib[PATCHED] = true;
    return true;
}

/** The amqplib that sailor's lib/amqp.js loads, when `script` is sailor's. */
function sailorsAmqplib(script) {
    const at = script ? script.lastIndexOf(SAILOR) : -1;
    if (at === -1) {
        return null;
    }
    const lib = path.join(script.slice(0, at + SAILOR.length), 'lib');
    try {
        return require(require.resolve('amqplib', { paths: [lib] }));
    } catch (e) {
        return null;
    }
}

patch(sailorsAmqplib(process.argv[1] && path.resolve(process.argv[1])));

module.exports = { patch, sailorsAmqplib };
