# The image holds one static binary and a CA bundle, nothing else: no shell,
# no libc, no /etc/passwd, no time zones (the binary works in UTC and needs
# none of them; cmd/ecs-registry-rotate/chroot_test.go runs it from such a
# root). It is built two ways, with the same bases and flags:
#
#   - from source, the default target: what `uses: ./` in this repository's
#     own workflows, CI and `docker build .` run;
#   - from the binaries goreleaser already built, the `release` target: the
#     multi-arch image published to ghcr.io on a v* tag (.goreleaser.yaml).
#
# Base images are pinned by digest, the tag kept for the reader; Dependabot
# (.github/dependabot.yml) moves the digests. The `release` stage comes
# before the default one; BuildKit builds only the stages a target needs.
#
# The image runs as root, on purpose: GitHub runs container actions as root,
# and the files it mounts for the step (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY
# under /github/file_commands) belong to the runner's user, which only root
# can write from inside the container. Hence no USER line.

FROM --platform=$BUILDPLATFORM golang:1.26@sha256:0f063af2d465d8dcae54cce04278ada488b96f77b42449c8d071e47d016cc65a AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
# Cross-compiled for the target platform on the build platform: no emulation.
ARG TARGETOS
ARG TARGETARCH
# Empty values leave internal/version to say "dev".
ARG VERSION
ARG COMMIT
ARG DATE
RUN pkg=github.com/ecs-registry-rotate/ecs-registry-rotate/internal/version && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X $pkg.Version=$VERSION -X $pkg.Commit=$COMMIT -X $pkg.Date=$DATE" \
      -o /out/ecs-registry-rotate ./cmd/ecs-registry-rotate

# Only its CA bundle (Debian's ca-certificates) goes into the image; it is
# the same file on every platform.
FROM --platform=$BUILDPLATFORM gcr.io/distroless/static-debian12:latest@sha256:d75cdd72874d4790092fcb1b058493ecf6bb5bf2b2b897045b00ff01d91843f2 AS certs

# goreleaser's build context holds linux/amd64/ecs-registry-rotate and
# linux/arm64/ecs-registry-rotate, built with the same flags as above.
FROM scratch AS release
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/ecs-registry-rotate /ecs-registry-rotate
ENTRYPOINT ["/ecs-registry-rotate"]

FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ecs-registry-rotate /ecs-registry-rotate
ENTRYPOINT ["/ecs-registry-rotate"]
