# syntax=docker/dockerfile:1

# The klaxon image: one static binary on a distroless base, which has no
# shell and no package manager. Build it from the repository root:
#
#   docker build --build-arg VERSION=0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     -t ghcr.io/klaxon-agent/klaxon:0.1.0 .

ARG GO_VERSION=1.26.8

# The build stage runs on the builder's own platform and cross-compiles, so
# a multi-platform build needs no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=devel
WORKDIR /src

# The modules first, so that a change to the code reuses this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
# CGO_ENABLED=0 links the binary statically, so it runs without a libc.
# -trimpath keeps the builder's paths out of it, and VERSION is what
# "klaxon version" prints.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags="-s -w -X main.buildVersion=${VERSION}" \
    -o /out/klaxon ./cmd/klaxon

# The nonroot variant runs as user 65532 by default, which suits replay on
# a workstation. The DaemonSet runs the agent as user 0 with all
# capabilities but DAC_READ_SEARCH dropped, to read root-owned node logs.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=devel
ARG REVISION=unknown
LABEL org.opencontainers.image.title="klaxon" \
      org.opencontainers.image.description="Alerts on failures in the logs of a Kubernetes node's system components" \
      org.opencontainers.image.source="https://github.com/klaxon-agent/klaxon" \
      org.opencontainers.image.url="https://github.com/klaxon-agent/klaxon" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/klaxon /klaxon
ENTRYPOINT ["/klaxon"]
