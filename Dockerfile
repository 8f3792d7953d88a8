# argo-cred on the argo CLI image: `docker run IMAGE list -n ci` is the argo
# CLI with a credential that argo-cred assembled and checked first.
#
# With a registry:  docker build -t argo-cred .
# Offline:          make image (builds bin/argo-cred on the host, passes
#                   PREBUILT=true, and a local stand-in for the bases; see
#                   test/image/build.sh)
#
# The argocli tag matches the argo apiclient in go.mod; the release process
# pins it by digest too (ARGOCLI_IMAGE=quay.io/argoproj/argocli:vX@sha256:…).
ARG ARGOCLI_IMAGE=quay.io/argoproj/argocli:v3.7.9
ARG GO_IMAGE=golang:1.26-bookworm

# The build stage runs on the builder's platform and cross-compiles for the
# target's (docker buildx build --platform linux/amd64,linux/arm64).
FROM --platform=${BUILDPLATFORM:-linux/amd64} ${GO_IMAGE} AS build
ARG TARGETOS
ARG TARGETARCH
# PREBUILT=true takes bin/argo-cred from the build context instead of
# building it (the offline path: no Go image can be pulled there).
ARG PREBUILT=false
ARG VERSION=dev
WORKDIR /src
COPY . .
RUN if [ "$PREBUILT" = true ]; then test -x bin/argo-cred; \
    else CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w -X github.com/argo-cred/argo-cred/internal/version.Version=${VERSION}" -o bin/argo-cred ./cmd/argo-cred; fi \
    && mkdir -p /rootfs/bin /rootfs/tmp /rootfs/etc/ssl/certs && chmod 1777 /rootfs/tmp \
    && cp bin/argo-cred /rootfs/bin/ && ln -s argo-cred /rootfs/bin/argo-cred-post \
    && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
    && mkdir -p /homefs/argo && chmod 1777 /homefs/argo

# The GitHub Action's image (action.yml, docker build --target action): the
# runner runs it as the image's user with no --user, and the file-command
# files belong to the runner's user, so it runs as root. No shell: argo-cred
# and CA certificates only, and a /tmp (RUNNER_TEMP is /tmp under act). The
# post stage runs argo-cred as argo-cred-post.
FROM scratch AS action
COPY --from=build /rootfs/ /
ENTRYPOINT ["/bin/argo-cred", "action"]

FROM ${ARGOCLI_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="argo-cred" \
      org.opencontainers.image.description="The argo CLI with a verified, least-privilege credential" \
      org.opencontainers.image.source="https://github.com/argo-cred/argo-cred" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="NOASSERTION"
COPY --from=build /rootfs/bin/argo-cred /bin/argo-cred
# As the argocli image: uid 8737, which has no passwd entry there, so HOME
# is set explicitly (argo-cred keeps its CA bundle in $HOME/.cache). HOME is
# mode 1777, as /tmp: `docker run --user "$(id -u):$(id -g)"`, which reads
# the caller's mounted 0600 files, has a HOME it can write to as well.
COPY --from=build /homefs/ /home/
USER 8737
ENV HOME=/home/argo
WORKDIR /home/argo
ENTRYPOINT ["/bin/argo-cred", "exec", "--", "/bin/argo"]
