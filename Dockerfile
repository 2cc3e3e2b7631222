# The image elastic.io builds from this repository (docs/platform.md).
# A Node.js component, as the platform requires: the real sailor runs the
# adapters in platform/elasticio, which run the Rust klaviyo-runner once per
# message. Steps as in elastic.io's generated images: no CMD, tini as the
# entry point; the platform supplies the command (node ... run.js, or
# runService.js for service calls).

# Builder: the release runner, static (musl is Alpine's libc and Rust links
# it statically there).
FROM rust:1.95-alpine AS builder
RUN apk add --no-cache musl-dev
WORKDIR /build
COPY . .
RUN cargo build --release --locked -p runner --bin klaviyo-runner

# Release: the Node.js LTS sailor 2.7.8 supports (engines: node >= 12.13;
# the tests run on 20), with only the runtime dependencies.
FROM node:20-alpine AS release
RUN apk add --no-cache tini
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
# logo.png: the icon elastic.io shows beside the component.
COPY component.json verifyCredentials.js logo.png ./
COPY platform/elasticio ./platform/elasticio
COPY --from=builder /build/target/release/klaviyo-runner /usr/local/bin/klaviyo-runner
RUN chown -R node:node /app
# TCP_NODELAY on sailor's AMQP sockets (platform/elasticio/amqp-nodelay.js):
# without it every publish confirm waits ~40 ms on Nagle and delayed ACK.
# The platform's command is `node .../run.js`; NODE_OPTIONS preloads the
# module into it (and does nothing in any other Node.js process).
ENV NODE_OPTIONS="--require /app/platform/elasticio/amqp-nodelay.js"
USER node
ENTRYPOINT ["/sbin/tini", "-v", "-e", "143", "--"]
