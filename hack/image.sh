#!/bin/sh
# Build a swarmjob image from the code in this repository, with nothing
# pulled: a static swarmjob binary (CGO_ENABLED=0) on BASE (deploy/Dockerfile).
#
#   hack/image.sh BASE TAG
#   hack/image.sh scratch swarmjob/swarmjob:dev               # the server (make image)
#   hack/image.sh swarmjob/busybox:test swarmjob/cli:dev      # a shell and the CLI, for jobs (make cli-image)
set -eu
BASE=${1:?usage: hack/image.sh BASE TAG}
TAG=${2:?usage: hack/image.sh BASE TAG}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}

if [ "$BASE" != scratch ] && ! docker image inspect "$BASE" >/dev/null 2>&1; then
	echo "image: no image $BASE; run hack/swarm-up.sh first" >&2
	exit 1
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -o "$ctx/swarmjob" ./cmd/swarmjob)
mkdir -m 1777 "$ctx/tmp"
cp "$ROOT/deploy/Dockerfile" "$ctx/Dockerfile"
if ! out=$(DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$BASE" -t "$TAG" "$ctx" 2>&1); then
	echo "$out" >&2
	exit 1
fi
echo "image: built $TAG (on $BASE)"
