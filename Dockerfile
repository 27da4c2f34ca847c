# session-auth container image: build in a Rust image, run as a non-root
# user in a slim Debian. Build: `docker build -t session-auth .`
# Run:   docker run -p 5000:5000 -v session-auth-data:/var/lib/session-auth session-auth
#
# Both bases are pinned by digest (the multi-platform index of the tag
# named beside it), so a rebuild uses the same images until someone
# changes the digest on purpose. To move to a newer build of the tag:
#   docker buildx imagetools inspect rust:1.94-slim-bookworm   (and debian:bookworm-slim)
# and paste the "Digest:" line here.
FROM rust:1.94-slim-bookworm@sha256:4d716df1764a41cb27d01f8be7f76baccf2c25289403fa600273bf2f7471cc20 AS build
WORKDIR /src

# 1. The dependencies alone, from the manifests, the lock file and empty
#    crates: this layer is rebuilt only when a manifest or Cargo.lock
#    changes, not when a source file does.
COPY Cargo.toml Cargo.lock ./
COPY domain/Cargo.toml domain/
COPY adapters/memory/Cargo.toml adapters/memory/
COPY adapters/file/Cargo.toml adapters/file/
COPY adapters/http/Cargo.toml adapters/http/
COPY adapters/crypto/Cargo.toml adapters/crypto/
COPY adapters/seaorm/Cargo.toml adapters/seaorm/
COPY adapters/audit/Cargo.toml adapters/audit/
COPY migration/Cargo.toml migration/
COPY app/Cargo.toml app/
COPY tests/Cargo.toml tests/build.rs tests/
RUN for crate in domain adapters/memory adapters/file adapters/http adapters/crypto \
                 adapters/seaorm adapters/audit migration app tests; do \
      mkdir -p "$crate/src" && touch "$crate/src/lib.rs"; \
    done \
 && echo 'fn main() {}' > app/src/main.rs \
 && cargo build --release --locked -p session-auth --bin session-auth

# 2. The sources (.dockerignore keeps target/, .git and local data out).
#    Touched so that cargo sees them newer than the empty crates above and
#    compiles the workspace's own crates again (only those).
COPY . .
RUN find domain adapters migration app tests -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p session-auth --bin session-auth

FROM debian:bookworm-slim@sha256:abd67ffcfa541b485a3dff59865ab629aa048a6c613e639d36e7456b0b229241
# ca-certificates unpinned on purpose: the newest trust store of the
# pinned release is the one wanted.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/session-auth --create-home session-auth
COPY --from=build /src/target/release/session-auth /usr/local/bin/session-auth
USER 10001
WORKDIR /var/lib/session-auth
ENV API_HOST=0.0.0.0 \
    API_PORT=5000 \
    DATA_DIR=/var/lib/session-auth \
    LOG_FORMAT=json
VOLUME ["/var/lib/session-auth"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=3s \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${API_PORT} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/session-auth"]
CMD ["serve"]
