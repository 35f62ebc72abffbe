#!/usr/bin/env bash
# Bring up a 3-node Docker Swarm on this one machine for swarmjob's cluster
# tests (node loss): n1 manager, n2 and n3 workers, each a dockerd in its own
# network namespace on a private bridge (10.77.0.11-13/24, no route out). See
# hack/cluster-lib.sh for the layout.
#
# Idempotent: each step checks first; a node whose dockerd died (for example
# after hack/cluster-node.sh kill) is restarted. It never stops, restarts or
# reconfigures the host's own engine or swarm: that engine is only read, to
# copy the test image (built by hack/swarm-up.sh) into every node.
#
# On success it prints, on stdout, the line to point a client at the manager:
#   eval "$(hack/cluster-up.sh)"
#
# Environment: SWARMJOB_CLUSTER_DIR (default /tmp/swarmjob-cluster),
# SWARMJOB_TEST_IMAGE, SWARMJOB_HOST_ENGINE (default
# unix:///var/run/docker.sock, read only).
set -euo pipefail
LOG_TAG=cluster-up
# shellcheck source=hack/cluster-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

require_root
for cmd in docker dockerd containerd ip unshare flock; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found (hack/swarm-up.sh installs docker.io)"
done
take_lock
mkdir -p "$CLUSTER_DIR"

# --- image (checked first: without it there is nothing to test) ----------------
image_id="$(host_docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null)" ||
	die "image $IMAGE not found in the engine at $HOST_ENGINE; run hack/swarm-up.sh first"

# --- network and engines --------------------------------------------------------
setup_network
for n in "${NODES[@]}"; do
	start_node "$n"
done

for n in "${NODES[@]}"; do
	if [[ "$(node_docker "$n" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)" != "$image_id" ]]; then
		log "$n: loading $IMAGE"
		host_docker save "$IMAGE" | node_docker "$n" load -q >/dev/null
	fi
done

# --- swarm ----------------------------------------------------------------------
manager_ip="$(node_ip "$MANAGER")"
state="$(node_swarm_state "$MANAGER")"
if [[ "$state" == pending ]]; then
	wait_swarm_active "$MANAGER" 30 || true
	state="$(node_swarm_state "$MANAGER")"
fi
case "$state" in
active)
	[[ "$(node_docker "$MANAGER" info --format '{{.Swarm.ControlAvailable}}')" == true ]] ||
		die "$MANAGER is in a swarm but not a manager; run hack/cluster-down.sh"
	;;
inactive)
	log "$MANAGER: initialising swarm"
	node_docker "$MANAGER" swarm init --advertise-addr "$manager_ip" \
		--listen-addr "$manager_ip:2377" --default-addr-pool "$SWARM_ADDR_POOL" >/dev/null
	;;
*) die "$MANAGER: swarm state '$state'; run hack/cluster-down.sh and try again" ;;
esac
# A (re)started manager needs a few seconds to elect itself leader.
deadline=$((SECONDS + 30))
until node_docker "$MANAGER" node ls -q >/dev/null 2>&1; do
	((SECONDS < deadline)) || die "$MANAGER: swarm has no leader after 30 s"
	sleep 0.2
done
cluster_id="$(node_docker "$MANAGER" info --format '{{.Swarm.Cluster.ID}}')"
token="$(node_docker "$MANAGER" swarm join-token -q worker)"

for n in "${WORKERS[@]}"; do
	state="$(node_swarm_state "$n")"
	if [[ "$state" == pending ]]; then
		wait_swarm_active "$n" 30 || true
		state="$(node_swarm_state "$n")"
	fi
	if [[ "$state" == active ]]; then
		# Joined, but to this manager's swarm? (Not after a half-finished
		# cluster-down that reset only the manager.)
		id="$(node_docker "$n" info --format '{{.Swarm.NodeID}}')"
		if [[ -n "$id" ]] && node_docker "$MANAGER" node inspect "$id" >/dev/null 2>&1; then
			continue
		fi
		log "$n: in another swarm; leaving it"
		node_docker "$n" swarm leave --force >/dev/null
	elif [[ "$state" != inactive ]]; then
		log "$n: swarm state '$state'; leaving"
		node_docker "$n" swarm leave --force >/dev/null || true
	fi
	log "$n: joining the swarm"
	node_docker "$n" swarm join --token "$token" --advertise-addr "$(node_ip "$n")" \
		--listen-addr "$(node_ip "$n"):2377" "$manager_ip:2377" >/dev/null
done

# Drop entries of nodes that rejoined under a new ID, so that the manager
# lists exactly the three nodes.
mapfile -t current < <(for n in "${NODES[@]}"; do node_docker "$n" info --format '{{.Swarm.NodeID}}'; done)
while read -r id; do
	[[ " ${current[*]} " == *" $id "* ]] && continue
	log "removing stale node entry $id"
	node_docker "$MANAGER" node rm --force "$id" >/dev/null || true
done < <(node_docker "$MANAGER" node ls -q)

for n in "${NODES[@]}"; do
	wait_node_ready "$n" 60 || die "$n: not ready in the swarm after 60 s"
	id="$(node_docker "$n" info --format '{{.Swarm.NodeID}}')"
	labels=(--label-add "$NODE_LABEL=$n")
	[[ "$n" == "$MANAGER" ]] || labels+=(--label-add "$WORKER_LABEL")
	node_docker "$MANAGER" node update "${labels[@]}" "$id" >/dev/null
done

log "swarm $cluster_id: $(node_docker "$MANAGER" node ls --format '{{.Hostname}}={{.Status}}/{{.ManagerStatus}}' | tr '\n' ' ')(up in ${SECONDS}s)"
printf 'export DOCKER_HOST=unix://%s\n' "$(node_sock "$MANAGER")"
