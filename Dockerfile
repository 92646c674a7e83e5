# leindexd container image.
#
# Two stages on debian:bookworm-slim: "build" compiles the service and runs its test suite (a red
# suite fails the image build), "runtime" holds only the shared libraries and the binary.
#
#   docker build --build-context corpora=../shared/corpora -t leindexd .
#   docker run -d --name leindexd -p 127.0.0.1:8080:8080 \
#     -v "$PWD/tokens:/run/secrets/leindexd-tokens:ro" \
#     -v leindexd-data:/data -v /srv/projects:/scan:ro leindexd
#
# The image ships no token: ./tokens above is the operator's token file (lines printed by
# `leindexd token new`; see the runtime stage's ENV).
#
# tests/deploy/dockerfile-rules.sh checks the rules this file must keep (multi-stage, numeric
# USER, exec-form ENTRYPOINT, HEALTHCHECK through the binary, ...), and
# tests/deploy/exercise-dockerfile-rootfs.bash runs every RUN step below for real in a debootstrap
# root, since no Docker engine runs where the tests do.

# The integration tests make their trees with the corpus generators of shared/corpora, which
# sit beside the repository, not in it. A named build context (--build-context corpora=DIR,
# BuildKit) replaces this empty stage; without it the build stops at ctest, saying the
# generators are missing.
FROM scratch AS corpora

FROM debian:bookworm-slim AS build

ENV DEBIAN_FRONTEND=noninteractive
# The -dev packages to build, CUnit for the unit tests, and the tools the integration tests
# compare against (bfs, fd-find, findutils, git) or drive the server with (curl, python3), the
# gzip and zstd tools that decode compressed streams, and PyYAML for the contract test of
# openapi.yaml.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libmicrohttpd-dev liblmdb-dev libjansson-dev libssl-dev libcunit1-dev libgit2-dev \
      zlib1g-dev libzstd-dev \
      bfs fd-find findutils git curl python3 python3-yaml ca-certificates gzip zstd \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY --from=corpora / /corpora/
COPY . /src
# Release (-O3) for the image: its inlining also finds what -O2 does not (a use after free on an
# out-of-memory path, a variable read unset), and -Werror makes that a failed build here, in CI.
RUN cmake -S /src -B /src/build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /src/build -j"$(nproc)"
# The unit tests and two end-to-end runs of the binary (a scan compared with find; a scan's life
# over HTTP) run here, against this stage's libraries: enough to refuse an image whose libraries
# misbehave. The rest of the integration suite, the deploy checks (docker-compose,
# systemd-analyze, npm) and the ASan/TSan rebuilds are CI's, which runs them all anyway.
RUN LEINDEX_CORPORA=/corpora ctest --test-dir /src/build --output-on-failure --no-tests=error -j"$(nproc)" \
      --label-exclude 'integration|deploy|sanitize|e2e|fuzz|fault' \
 && LEINDEX_CORPORA=/corpora ctest --test-dir /src/build --output-on-failure --no-tests=error \
      -L integration -R '^it_(scan_find|api_lifecycle)$' --label-exclude 'deploy|sanitize|e2e|fuzz|fault' \
 && strip --strip-debug -o /src/build/leindexd.stripped /src/build/leindexd


FROM debian:bookworm-slim AS runtime

# Only the shared libraries the binary uses (libcrypto comes from libssl3; zlib1g and libzstd1
# compress streamed answers; libmicrohttpd12 and libgit2-1.5 are opened at run time, by the
# server and by the view git when it reads an index: base/dynlib.h); no recommends, and the apt
# lists go in the same layer so they never reach the image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 liblmdb0 libjansson4 libssl3 libgit2-1.5 zlib1g libzstd1 \
 && rm -rf /var/lib/apt/lists/*

# A numeric, non-root user: Kubernetes' runAsNonRoot can only verify a number. /data holds the
# LMDB environment and is a volume; /scan is where trees are mounted read-only, and the only
# root scans may start from unless LEINDEX_ALLOWED_ROOTS says otherwise.
RUN groupadd --system --gid 10001 leindexd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin leindexd \
 && mkdir -p /data /scan \
 && chown 10001:10001 /data \
 && chmod 0750 /data

COPY --from=build /src/build/leindexd.stripped /usr/local/bin/leindexd

# 0.0.0.0 inside the container: the port is only reachable where it is published, and the API
# needs a bearer token (/healthz, /readyz, /openapi.yaml and, unless LEINDEX_METRICS_AUTH=1,
# /metrics do not). The image ships no token: the operator mounts a token file at
# LEINDEX_TOKEN_FILE (a Docker or compose secret named leindexd-tokens lands there; a Kubernetes
# Secret is mounted and pointed to). The file holds `ID SCOPE sha256:HEX` lines, digests and no
# secret, so mode 0644 is fine; it must be readable by uid 10001. Without it the server does not
# start: it exits 1 saying "the token file: opening /run/secrets/leindexd-tokens: No such file
# or directory" (fail closed; serving without tokens is never this image's default). SIGHUP
# (docker kill -s HUP) re-reads the file.
ENV LEINDEX_LISTEN=0.0.0.0:8080 \
    LEINDEX_DATA_DIR=/data \
    LEINDEX_ALLOWED_ROOTS=/scan \
    LEINDEX_TOKEN_FILE=/run/secrets/leindexd-tokens \
    LEINDEX_LOG_FORMAT=json

USER 10001:10001
WORKDIR /data
EXPOSE 8080
VOLUME ["/data"]
# leindexd finishes running scandirs and closes LMDB on SIGTERM; exec form below keeps it PID 1
# so the signal reaches it (a shell form would run it under /bin/sh -c, which swallows SIGTERM).
STOPSIGNAL SIGTERM
# The slim image has no curl: the binary probes its own /healthz, which needs no token.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/leindexd", "health"]
ENTRYPOINT ["/usr/local/bin/leindexd"]
