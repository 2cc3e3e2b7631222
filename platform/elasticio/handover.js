'use strict';
// When sailor has put a data message on its publish channel.
//
// Sailor publishes on one confirm channel, in the order it calls
// `publishMessage`; but before that, each data emit waits in sailor's rate
// throttle (p-throttle 2.1.0), whose timers release concurrent waiters out
// of order once the rate is reached (each gets its own setTimeout, and
// timers of different delays due in the same millisecond fire list by
// list, not in the order they were set). So the adapter hands sailor one
// data emit at a time, the next as soon as the one before reaches
// `publishMessage`, and only the confirms overlap.
//
// `publishMessage(exchange, routingKey, buffer, options, iteration)` is
// sailor 2.7.8's (lib/amqp.js); the adapter reaches it through the
// TaskExec's `__getAmqp()`. Sailor calls it again with the same `options`
// and `iteration` > 0 to retry a publish the broker refused; once a later
// message was handed over such a retry would publish out of order, so it
// is refused: the publish fails, sailor reports the error and the adapter
// stops the runner.

const { AsyncLocalStorage } = require('async_hooks');

const tickets = new AsyncLocalStorage();
const HOOKED = Symbol.for('klaviyo-component.publishHook');

/**
 * Hooks `publishMessage` of the sailor behind `self` (once per sailor);
 * false when there is none to hook, and then emits must go one at a time.
 */
function hookSailor(self) {
    const amqp = self && typeof self.__getAmqp === 'function' ? self.__getAmqp() : null;
    if (!amqp || typeof amqp.publishMessage !== 'function') {
        return false;
    }
    if (!amqp[HOOKED]) {
        const original = amqp.publishMessage;
        amqp.publishMessage = function publishMessage(...args) {
            const ticket = tickets.getStore();
            if (ticket) {
                const refusal = ticket.publishing(args[3], args[4] || 0);
                if (refusal) {
                    return Promise.reject(refusal);
                }
            }
            return original.apply(this, args);
        };
        amqp[HOOKED] = true;
    }
    return true;
}

/**
 * One data emit's passage through sailor. `handedOver` resolves when
 * sailor publishes it (or gives up on it: the emit settled first).
 * `mayRetry()` says whether a retry of it keeps the order.
 */
class Ticket {
    constructor(mayRetry) {
        this.mayRetry = mayRetry;
        this.options = null;
        this.handedOver = new Promise((resolve) => { this.handOver = resolve; });
    }

    /** Called by the hook; an Error refuses this publish. */
    publishing(options, iteration) {
        if (this.options === null) {
            // The data message itself: the first publish under this emit.
            this.options = options;
            this.handOver();
            return null;
        }
        if (options === this.options && iteration > 0 && !this.mayRetry()) {
            return new Error('The broker refused a data message after later ones were handed to sailor; '
                + 'publishing it again would put it out of order, so the step stops here '
                + 'and the input is rejected');
        }
        // Anything else under this emit (sailor's error message for it).
        return null;
    }
}

/** `self.emit(name, payload)` with `ticket` known to the hook. */
function emitWith(self, ticket, name, payload) {
    const emitted = tickets.run(ticket, () => self.emit(name, payload));
    Promise.resolve(emitted).then(ticket.handOver, ticket.handOver);
    return emitted;
}

module.exports = { hookSailor, Ticket, emitWith };
