# Build stage: compile TypeScript and the native SQLite binding, then keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY bin bin
COPY contract contract
COPY server server
COPY clients clients
# tsconfig.json compiles the tests and benchmarks too: they are built here and never reach the runtime image.
COPY test test
COPY bench bench
COPY migrations migrations
RUN npm ci && npm prune --omit=dev

# Runtime stage: the compiled server and clients (`beacon server`, `proxy`, `demo-service`) and the
# contract both import, production dependencies, the migrations the store applies at start; run as
# the non-root `node` user. Files under contract/, server/ or clients/ that tsc does not emit (assets
# read at runtime) need a COPY line of their own here; test/deploy/compose.test.ts checks that none is missed.
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production BEACON_BIND=0.0.0.0 BEACON_DB=/data/beacon.db
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/bin bin
COPY --from=build /app/dist/contract dist/contract
COPY --from=build /app/dist/server dist/server
COPY --from=build /app/dist/clients dist/clients
COPY --from=build /app/migrations migrations
COPY --from=build /app/server/http/dashboard server/http/dashboard
RUN mkdir /data && chown node:node /data
USER node
VOLUME /data
# The registry: HTTP 8500, DNS 8600. The same image runs `beacon proxy` (8080, admin 9901) and `beacon demo-service` (9000).
EXPOSE 8500 8600/udp 8600/tcp 8080 9000 9901
# The registry's readiness; docker-compose.yml gives the proxy and the demo services their own checks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.BEACON_HTTP_PORT || 8500) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/beacon.js"]
CMD ["server"]
