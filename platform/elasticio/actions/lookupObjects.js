'use strict';
// Runs klaviyo-runner; the action itself is Rust (crates/klaviyo-component).
module.exports = require('../runner').step('lookupObjects');
