# Build stage: compile TypeScript and the native SQLite binding.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY bin bin
COPY server server
COPY clients clients
COPY test test
COPY bench bench
COPY migrations migrations
RUN npm ci && npm prune --omit=dev

# Runtime stage: the compiled server, production dependencies, a non-root user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production BEACON_BIND=0.0.0.0 BEACON_DB=/data/beacon.db
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/bin bin
COPY --from=build /app/migrations migrations
COPY --from=build /app/server/http/dashboard server/http/dashboard
RUN mkdir /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8500 8600/udp 8600/tcp
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8500/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/beacon.js"]
CMD ["server"]
