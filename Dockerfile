# session-auth container image: build in a Rust image, run as a non-root
# user in a slim Debian. Build: `docker build -t session-auth .`
# Run:   docker run -p 5000:5000 -v session-auth-data:/var/lib/session-auth session-auth
FROM rust:1.94-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p session-auth --bin session-auth \
 && strip target/release/session-auth

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/session-auth --create-home session-auth
COPY --from=build /src/target/release/session-auth /usr/local/bin/session-auth
USER session-auth
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
