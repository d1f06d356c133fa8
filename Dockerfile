# One image for the platform's web and worker (docker-compose.temporal.yml picks the
# command). TypeScript runs through tsx; the web's pages are built by Remix/Vite here, and
# web/server/index.ts serves that build when NODE_ENV=production.
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so code changes reuse this layer. Dev dependencies stay: the Prisma
# CLI generates the client and Remix/Vite build the web assets.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .

# The Prisma 7 client needs no native engine at run time; generate only reads the schema,
# so the schema-engine download is skipped.
RUN PRISMA_SCHEMA_ENGINE_BINARY=/bin/true npx prisma generate \
 && npm run build:web

ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=3000 \
    WORKER_METRICS_PORT=9464
RUN mkdir -p /data && chown node:node /data
USER node

EXPOSE 3000 9464
# docker-compose.temporal.yml sets the command: `npx tsx web/server/index.ts` or
# `npx tsx worker/index.ts`.
CMD ["npx", "tsx", "web/server/index.ts"]
