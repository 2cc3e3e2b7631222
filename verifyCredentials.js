'use strict';
// Sailor looks for verifyCredentials.js at the component's root; the check
// itself is klaviyo-runner's (crates/klaviyo-component/src/credentials.rs).
module.exports = require('./platform/elasticio/runner').verifyCredentials;
