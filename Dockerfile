# Builds the three binaries: cws (all-in-one / `cws say`), cws-bot (no AWS SDK) and cws-worker.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bins

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/cws /src/target/release/cws-bot /src/target/release/cws-worker /usr/local/bin/
# cws-bot allocates with mimalloc, which reserves its first arena at 1 GiB by default and
# touches metadata in proportion: 4 MiB arenas keep the bot's peak RSS under load 2-3 MB lower
# (bench/ack_wrk.sh runs it the same way). The other binaries use the system allocator.
ENV MIMALLOC_ARENA_RESERVE=4MiB
USER 65534
CMD ["cws"]
