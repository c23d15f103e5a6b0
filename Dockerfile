# syntax=docker/dockerfile:1
# shardline on Fly.io: LiteFS (FUSE) as the entrypoint, running `shardline start` once the
# node has joined the cluster. Two stages: the first compiles TypeScript and the native
# SQLite driver, the second carries only production dependencies and the compiled app.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends fuse3 ca-certificates sqlite3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=flyio/litefs:0.5 /usr/local/bin/litefs /usr/local/bin/litefs
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations
COPY litefs.yml /etc/litefs.yml
COPY scripts/litefs-entrypoint.sh /usr/local/bin/litefs-entrypoint
RUN chmod +x /app/dist/runtime/node-main.js /usr/local/bin/litefs-entrypoint \
 && ln -s /app/dist/runtime/node-main.js /usr/local/bin/shardline
ENV NODE_ENV=production
# The internal and admin HTTP API; fly.toml keeps it off the public internet.
EXPOSE 8080
# LiteFS mounts FUSE, which needs root; shardline itself runs as LiteFS's child.
ENTRYPOINT ["litefs-entrypoint"]
