# tflab for docker-compose.yml: one image, every lab role a different command.
# The base images are pinned in internal/images/versions.txt (a Go test checks).
ARG GOLANG_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${GOLANG_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces Toxiproxy with the patched copy in third_party (see its PATCHES.md).
COPY third_party ./third_party
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/tflab ./cmd/tflab

FROM ${RUNTIME_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/tflab /usr/local/bin/tflab
WORKDIR /lab
ENTRYPOINT ["tflab"]
CMD ["up"]
