# Build a fully static (musl) binary, then ship it alone with a CA bundle in an empty image.
# Base images are pinned by exact tag.
FROM rust:1.95.0-alpine3.22 AS build
RUN apk add --no-cache musl-dev=1.2.5-r10
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin fetch-artifact \
 && cp target/release/fetch-artifact /fetch-artifact

FROM alpine:3.22.2 AS certs
RUN apk add --no-cache ca-certificates=20250911-r0

FROM scratch
# rustls reads the system store (or SSL_CERT_FILE, for a GHES private CA) at start-up.
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /fetch-artifact /fetch-artifact
# No USER on purpose: the runner starts container actions as root and mounts the workspace and
# the file-command files owned by its own user; running as root, the action gives what it
# creates to the workspace's owner.
ENTRYPOINT ["/fetch-artifact"]
