#!/bin/sh
# Build an image that holds the swarmjob CLI, for jobs that start child jobs
# (childJobs): a static swarmjob binary in /bin on top of the local test
# image (busybox, built by hack/swarm-up.sh). Nothing is pulled.
#
#   hack/cli-image.sh [TAG]      default TAG: swarmjob/cli:dev
set -eu
TAG=${1:-swarmjob/cli:dev}
BASE=swarmjob/busybox:test
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
	echo "cli-image: no image $BASE; run hack/swarm-up.sh first" >&2
	exit 1
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -o "$ctx/swarmjob" ./cmd/swarmjob)
printf 'FROM %s\nCOPY swarmjob /bin/swarmjob\n' "$BASE" >"$ctx/Dockerfile"
if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$TAG" "$ctx" 2>&1); then
	echo "$out" >&2
	exit 1
fi
echo "cli-image: built $TAG"
