# Builds the three binaries: cws (all-in-one / `cws say`), cws-bot (no AWS SDK) and cws-worker.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bins

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/cws /src/target/release/cws-bot /src/target/release/cws-worker /usr/local/bin/
USER 65534
CMD ["cws"]
