#!/usr/bin/env bash
# Crash and revive nodes of the cluster made by hack/cluster-up.sh, to test
# node loss.
#
#   hack/cluster-node.sh kill NODE    SIGKILL the node's dockerd and its
#                                     containerd (its containers keep running,
#                                     as after a daemon crash)
#   hack/cluster-node.sh start NODE   start its dockerd again on the same data
#                                     root; wait until the manager sees the
#                                     node ready
#   hack/cluster-node.sh status       one line per node
#
# NODE is n1 (the manager), n2 or n3, or a hostname swarmjob-n2 as Swarm and
# swarmjob report it.
#
# Environment: SWARMJOB_CLUSTER_DIR (as for cluster-up.sh).
set -euo pipefail
LOG_TAG=cluster-node
# shellcheck source=hack/cluster-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

usage() {
	echo "usage: $0 kill|start NODE | status   (NODE: ${NODES[*]})" >&2
	exit 2
}

require_root
(($# >= 1)) || usage
action="$1"
node=
if [[ "$action" != status ]]; then
	(($# == 2)) || usage
	node="${2#"$NS_PREFIX"}"
	valid_node "$node" || usage
fi
take_lock
[[ -d "$CLUSTER_DIR" ]] || die "no cluster at $CLUSTER_DIR; run hack/cluster-up.sh"

case "$action" in
kill)
	kill_node "$node"
	;;
start)
	start_node "$node"
	wait_swarm_active "$node" 60 || die "$node: swarm state '$(node_swarm_state "$node")' after 60 s"
	# The manager itself answers node inspect only once it has a leader.
	wait_node_ready "$node" 60 || die "$node: not ready in the swarm after 60 s"
	log "$node: up and ready"
	;;
status)
	for n in "${NODES[@]}"; do
		if pid="$(dockerd_pid "$n")"; then
			printf '%s %s dockerd=%s swarm=%s\n' "$n" "$(node_hostname "$n")" "$pid" "$(node_swarm_state "$n" || echo '?')"
		else
			printf '%s %s dockerd=down\n' "$n" "$(node_hostname "$n")"
		fi
	done
	;;
*) usage ;;
esac
