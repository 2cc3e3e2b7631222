'use strict';
// Runs klaviyo-runner; the trigger itself is Rust (crates/klaviyo-component).
module.exports = require('../runner').step('getNewAndUpdatedObjectsPolling');
