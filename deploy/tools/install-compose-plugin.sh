#!/usr/bin/env bash
# Installs the `docker compose` CLI plugin where Docker's own apt repository is out
# of reach (Debian ships only the old Python docker-compose 1.x): builds Docker
# Compose from its Go module with the local Go toolchain, into
# ${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}/docker-compose.
# Enough for `docker compose config`; running containers still needs an engine.
#   bash deploy/tools/install-compose-plugin.sh          # ~2-3 min on 2 cores
set -euo pipefail

VERSION="${COMPOSE_VERSION:-v2.40.3}"
DEST="${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}"

if docker compose version 2>/dev/null | grep -q "${VERSION}"; then
    docker compose version
    exit 0
fi
command -v go >/dev/null 2>&1 || { echo "install-compose-plugin: needs Go (1.24+)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# `go install pkg@version` refuses modules whose go.mod has exclude/replace
# directives, as compose's does: download the module and build it in place.
dir="$(go mod download -json "github.com/docker/compose/v2@${VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$dir" ]] || { echo "install-compose-plugin: download failed" >&2; exit 1; }
cp -r "$dir" src
chmod -R u+w src
cd src
go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=${VERSION}" \
    -o "$work/docker-compose" ./cmd
mkdir -p "$DEST"
install -m 0755 "$work/docker-compose" "$DEST/docker-compose"
docker compose version
