# The outbox relay (a native binary, not Wasm) as a container.
# docker build -f deploy/relay.Dockerfile -t <registry>/order-payment-platform-relay:0.1.0 .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p relay

FROM debian:bookworm-slim
COPY --from=build /src/target/release/relay /usr/local/bin/relay
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/relay"]
