# Build a static binary, then ship it alone on a minimal base with CA
# certificates. GitHub runs container actions as root so that they can write
# the files it mounts (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY): the image keeps
# the default root user on purpose.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ecs-registry-rotate ./cmd/ecs-registry-rotate

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ecs-registry-rotate /ecs-registry-rotate
ENTRYPOINT ["/ecs-registry-rotate"]
