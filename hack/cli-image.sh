#!/bin/sh
# Build an image that holds the swarmjob CLI and a shell, for jobs that start
# child jobs (childJobs): the static binary in /bin on top of the local test
# image (busybox, built by hack/swarm-up.sh). Nothing is pulled.
#
#   hack/cli-image.sh [TAG]      default TAG: swarmjob/cli:dev
exec "$(dirname "$0")/image.sh" swarmjob/busybox:test "${1:-swarmjob/cli:dev}"
