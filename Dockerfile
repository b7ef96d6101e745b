# syntax=docker/dockerfile:1.7
# The reference server's image: `kraftsoci-server` on Debian's slim base, as a non-root user.
#
#   docker build -t kraftsoci-server .
#
# That command is exactly what CI lints (hadolint) but does not run: no Docker engine runs on the
# project's CI machines, so this image has not been built there (see docs/deployment.md).

# ---- build ------------------------------------------------------------------------------------
# The toolchain the workspace is tested with (rust-version in Cargo.toml is the floor).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# --locked: the exact dependency versions CI tested and cargo-deny checked. The cache mounts keep
# the registry and the target directory between builds; the binary is copied out of the mount.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p kraftsoci-server \
    && install -m 0755 target/release/kraftsoci-server /usr/local/bin/kraftsoci-server

# ---- run --------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# CA roots for rustls' platform verifier (Meta, OpenAI, Stripe, SMTP, S3 and PostgreSQL over TLS);
# nothing else: no shell tools beyond the base, no curl (the health check is the binary itself).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311* \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kraftsoci \
    && useradd --system --uid 10001 --gid kraftsoci --home-dir /var/lib/kraftsoci \
       --shell /usr/sbin/nologin kraftsoci \
    && install -d -o kraftsoci -g kraftsoci -m 0750 /var/lib/kraftsoci
COPY --from=build /usr/local/bin/kraftsoci-server /usr/local/bin/kraftsoci-server

USER 10001:10001
WORKDIR /var/lib/kraftsoci
# Listen on every interface inside the container; the platform's proxy terminates TLS.
ENV KRAFTSOCI_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Asks this container's server for /healthz (reads only KRAFTSOCI_LISTEN).
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["kraftsoci-server", "healthcheck"]
ENTRYPOINT ["kraftsoci-server"]
CMD ["serve"]
