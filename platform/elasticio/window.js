'use strict';
// The data emits in flight between the runner and sailor's broker.
//
// Sailor's `emit('data')` resolves once the broker has confirmed the
// message. Awaiting each one before reading the runner's next line costs a
// confirm's round trip per record; a window lets a bounded number of them
// be unconfirmed at once, and every other event waits behind a barrier
// until the window is empty, so that a snapshot (or a rebound, an error,
// the end) is never published ahead of a data message it follows.

/** At most this many data emits are unconfirmed at once... */
const MAX_EMITS = 32;
/**
 * ...and at most this many characters of their event lines: records can be
 * as large as a platform message (10 MB), and sailor holds each one
 * encrypted until its confirm. A line larger than this goes alone.
 */
const MAX_CHARS = 4 * 1024 * 1024;

class EmitWindow {
    constructor({ maxEmits = MAX_EMITS, maxChars = MAX_CHARS } = {}) {
        this.maxEmits = maxEmits;
        this.maxChars = maxChars;
        this.count = 0;
        this.chars = 0;
        /** The first failure of an emit in the window, for good. */
        this.failure = null;
        this.waiters = [];
        let fail;
        /** Rejects with the first failure; never resolves. */
        this.failed = new Promise((resolve, reject) => { fail = reject; });
        this.failed.catch(() => {});
        this.fail = (err) => {
            if (!this.failure) {
                this.failure = err;
                fail(err);
                this.wake();
            }
        };
    }

    /** Whether an emit of `chars` fits now (an empty window takes any). */
    fits(chars) {
        return this.count === 0
            || (this.count < this.maxEmits && this.chars + chars <= this.maxChars);
    }

    /**
     * Resolves when an emit of `chars` fits; rejects with the window's
     * failure instead, so nothing more is emitted after one failed.
     */
    room(chars) {
        return this.until(() => this.fits(chars));
    }

    /**
     * The barrier: resolves when every emit in the window is confirmed;
     * rejects with the window's failure.
     */
    drained() {
        return this.until(() => this.count === 0);
    }

    /** Resolves when every emit in the window has settled, failed or not. */
    settled() {
        return new Promise((resolve) => {
            const check = () => {
                if (this.count === 0) {
                    resolve();
                    return true;
                }
                return false;
            };
            if (!check()) {
                this.waiters.push(check);
            }
        });
    }

    until(ready) {
        return new Promise((resolve, reject) => {
            const check = () => {
                if (this.failure) {
                    reject(this.failure);
                    return true;
                }
                if (ready()) {
                    resolve();
                    return true;
                }
                return false;
            };
            if (!check()) {
                this.waiters.push(check);
            }
        });
    }

    /**
     * Counts `confirmed` (an emit's promise) in the window until it
     * settles; its rejection is the window's failure.
     */
    add(confirmed, chars) {
        this.count += 1;
        this.chars += chars;
        Promise.resolve(confirmed).then(
            () => this.settle(chars, null),
            (err) => this.settle(chars, err || new Error('a data emit failed'))
        );
    }

    settle(chars, err) {
        this.count -= 1;
        this.chars -= chars;
        if (err) {
            this.fail(err);
        }
        this.wake();
    }

    wake() {
        this.waiters = this.waiters.filter(check => !check());
    }
}

module.exports = { EmitWindow, MAX_EMITS, MAX_CHARS };
