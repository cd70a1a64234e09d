# Gatehouse container image. Multi-stage: the build stage compiles TypeScript and the native SQLite addon; the
# runtime stage holds only dist/, production dependencies and the launcher, runs as a non-root user and works on a
# read-only root filesystem (state lives in /data, or in PostgreSQL + Redis).
#   docker build -t gatehouse .
#   docker run --read-only -v gatehouse-data:/data -p 8787:8787 -e GATEHOUSE_MASTER_KEY=... gatehouse serve --config /etc/gatehouse/gatehouse.yaml
FROM node:20-bookworm AS build
WORKDIR /app
# better-sqlite3 builds from source against Node's headers (python3, make and g++ are in this image).
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    GATEHOUSE_MODE=production \
    GATEHOUSE_LISTEN=0.0.0.0:8787 \
    GATEHOUSE_DATA_DIR=/data \
    GATEHOUSE_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# What the package ships (package.json "files"; test/deploy checks the two agree): the provider catalogue that
# `provider:` services and `gatehouse providers` read, the word vectors tool search reads (data/README.md), the docs.
COPY catalog ./catalog
COPY data ./data
COPY docs ./docs
COPY README.md ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8787
# /healthz: the process answers (liveness). Orchestrators should probe /readyz for readiness (store reachable,
# not draining).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains (docs/operations.md, "Stopping and draining"); node is PID 1 here and handles it itself.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/gatehouse.js"]
CMD ["serve"]
