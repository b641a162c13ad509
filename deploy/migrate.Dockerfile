# The migration command as a container for the Kubernetes Job.
# docker build -f deploy/migrate.Dockerfile -t <registry>/order-payment-platform-migrate:0.1.0 .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p migrate

FROM debian:bookworm-slim
COPY --from=build /src/target/release/migrate /usr/local/bin/migrate
# Never root: the Job also says runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/migrate"]
