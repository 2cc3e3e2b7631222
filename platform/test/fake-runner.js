#!/usr/bin/env node
'use strict';
// A stand-in for klaviyo-runner in the adapter's tests: what it writes is
// chosen by FAKE_RUNNER_MODE, and it can echo what it was given.

const fs = require('fs');

const input = fs.readFileSync(0, 'utf8');
const args = process.argv.slice(2);
const mode = process.env.FAKE_RUNNER_MODE || 'events';
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
// As the real runner writes: a write returns once the pipe took the line,
// so a reader that stops reading stops the writer (process.stdout would
// queue what a full pipe does not take).
const pause = new Int32Array(new SharedArrayBuffer(4));
const writeBlocking = (obj) => {
    const buf = Buffer.from(JSON.stringify(obj) + '\n');
    let off = 0;
    while (off < buf.length) {
        try {
            off += fs.writeSync(1, buf, off);
        } catch (e) {
            if (e.code !== 'EAGAIN') {
                throw e;
            }
            Atomics.wait(pause, 0, 0, 1);
        }
    }
};
const log = (level, msg, extra) => process.stderr.write(JSON.stringify({
    v: 0, name: 'klaviyo-component', hostname: 'h', pid: process.pid, time: 'T', level, msg, ...extra
}) + '\n');

switch (mode) {
    case 'events':
        log(30, 'started', { target: 'runner::process' });
        out({ event: 'data', payload: { id: 'r1', body: { n: 1 }, headers: {}, attachments: {} } });
        out({ event: 'snapshot', payload: { s: 1 } });
        out({ event: 'updateSnapshot', payload: { u: 2 } });
        out({ event: 'rebound', payload: { reason: 'Klaviyo is busy' } });
        out({ event: 'error', payload: { name: 'UpstreamError', message: 'Klaviyo answered 400', stack: 'Not Available' } });
        out({ event: 'end' });
        process.exitCode = 1;
        break;
    case 'echo':
        out({
            event: 'data',
            payload: {
                body: {
                    args,
                    input: JSON.parse(input),
                    env: {
                        ELASTICIO_FLOW_TYPE: process.env.ELASTICIO_FLOW_TYPE,
                        KLAVIYO_BASE_URL: process.env.KLAVIYO_BASE_URL,
                        LOG_LEVEL: process.env.LOG_LEVEL,
                        ELASTICIO_MESSAGE_CRYPTO_PASSWORD: process.env.ELASTICIO_MESSAGE_CRYPTO_PASSWORD,
                        ELASTICIO_API_KEY: process.env.ELASTICIO_API_KEY,
                        ELASTICIO_CFG: process.env.ELASTICIO_CFG
                    }
                }
            }
        });
        out({ event: 'end' });
        break;
    case 'many': {
        // With FAKE_RUNNER_PROGRESS, the number of lines written so far is
        // kept in that file: a runner blocked on stdout stops counting.
        const count = Number(process.env.FAKE_RUNNER_COUNT);
        const pad = 'x'.repeat(Number(process.env.FAKE_RUNNER_PAD || 0));
        const progress = process.env.FAKE_RUNNER_PROGRESS;
        for (let i = 0; i < count; i++) {
            writeBlocking({ event: 'data', payload: { body: { i, pad } } });
            if (progress) {
                fs.writeFileSync(`${progress}.tmp`, String(i + 1));
                fs.renameSync(`${progress}.tmp`, progress);
            }
        }
        writeBlocking({ event: 'end' });
        break;
    }
    case 'bursts': {
        // Data in bursts, each followed by an event that must wait for it.
        const count = Number(process.env.FAKE_RUNNER_COUNT || 40);
        let i = 0;
        const burst = () => {
            for (let k = 0; k < count; k++, i++) {
                out({ event: 'data', payload: { body: { i } } });
            }
        };
        burst();
        out({ event: 'snapshot', payload: { after: i } });
        burst();
        out({ event: 'updateSnapshot', payload: { after: i } });
        burst();
        out({ event: 'rebound', payload: { reason: `after ${i}` } });
        burst();
        out({ event: 'error', payload: { name: 'Error', message: `after ${i}` } });
        burst();
        out({ event: 'end' });
        process.exitCode = 1;
        break;
    }
    case 'logs':
        log(20, 'a debug line', { target: 'client', attempt: 2 });
        log(40, 'a warning with the key pk_secret_in_log inside', { url: 'https://x/?k=pk_secret_in_log' });
        log(50, 'an error line');
        process.stderr.write('not json at all\n');
        out({ event: 'end' });
        break;
    case 'crash':
        log(50, 'panicked at the disco');
        process.exit(3);
        break;
    case 'exit-no-error':
        log(30, 'the last words');
        out({ event: 'end' });
        process.exitCode = 4;
        break;
    case 'signal':
        log(30, 'about to be killed');
        out({ event: 'data', payload: { body: { before: true } } });
        process.kill(process.pid, 'SIGKILL');
        break;
    case 'unfinished':
        out({ event: 'data', payload: { body: { whole: true } } });
        process.stdout.write('{"event":"data","payload":{"body":{"cut');
        process.exit(0);
        break;
    case 'service-ok':
        process.stdout.write(JSON.stringify({ status: 'success', data: { args, cfg: JSON.parse(input).cfg } }) + '\n');
        break;
    case 'service-error':
        log(50, 'failed');
        process.stdout.write(JSON.stringify({ status: 'error', data: { message: 'Klaviyo refused pk_secret_in_log' } }) + '\n');
        break;
    case 'service-garbage':
        log(50, 'it broke');
        process.stdout.write('oops');
        process.exitCode = 2;
        break;
    default:
        process.exit(99);
}
