# syntax=docker/dockerfile:1
# The one image every meshtap component runs from: the sidecar (`meshtap proxy`), the
# webhook, the tap API and the node agent differ only in their arguments.
#
# Stage 1 (build): TypeScript, the BPF objects and their skeletons, and the native addon
# that embeds them. Stage 2 (runtime): slim Node LTS with production dependencies only,
# the built output, and the libbpf runtime the addon links against; runs as a non-root
# numeric uid (Kubernetes can verify runAsNonRoot; the agent overrides it to load BPF).
# The injected sidecar runs `--engine native` (the default, issue 14), so an image without a
# loadable addon must not exist: the build stage fails when the addon was not built, and the
# runtime stage fails when it does not load there (a runtime library missing).

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev bpftool make gcc g++ libc6-dev pkg-config python3 libnghttp2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && bash scripts/build-native.sh \
 && test -f native/build/Release/meshtap_native.node
# Stage what the runtime needs at the same relative paths (dist/native/index.js finds
# ../../native/build/Release/meshtap_native.node; assets such as .proto files are read
# next to their sources): the tree without dev dependencies and build intermediates.
RUN rm -rf node_modules native/build/Release/obj.target native/build/Release/.deps \
 && mkdir -p /out && cp -a . /out/

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/package.json /out/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /out/ ./
RUN node -e "import('/app/dist/native/index.js').then((n) => { if (!n.isNativeAvailable()) { console.error('the native addon does not load: ' + n.nativeUnavailableReason()); process.exit(1); } })"
ENV NODE_ENV=production
USER 2102:2102
EXPOSE 4143 4140 4190 4191 8443 8089
ENTRYPOINT ["node", "/app/dist/bin/meshtap.js"]
CMD ["--help"]
