#!/usr/bin/env bash
# Undo hack/cluster-up.sh: stop every node's dockerd, kill what is left of
# their containers and shims, remove the nodes' cgroups, network namespaces
# and $SWARMJOB_CLUSTER_DIR. Everything it touches was made by cluster-up
# (names swarmjob-n1..n3, swarmjob-br, cgroup /swarmjob-cluster); the host's
# own engine and swarm are not touched. Idempotent.
#
# Environment: SWARMJOB_CLUSTER_DIR (as for cluster-up.sh).
set -euo pipefail
LOG_TAG=cluster-down
# shellcheck source=hack/cluster-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/cluster-lib.sh"

require_root
take_lock
[[ -n "$CLUSTER_DIR" && "$CLUSTER_DIR" != / ]] || die "refusing CLUSTER_DIR='$CLUSTER_DIR'"

# PIDs of every process in our cgroups, that is in the nodes' containers.
container_pids() {
	local f
	for f in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT"; do
		[[ -d "$f" ]] || continue
		find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true
	done
}

# PIDs of every process of the cluster: containers, and whatever runs in the
# nodes' network namespaces (dockerd, containerd, shims); a containerd that
# outlived its dockerd, wherever it is.
leftover_pids() {
	local n ns p
	container_pids
	for n in "${NODES[@]}"; do
		ns="$(node_ns "$n")"
		if ns_exists "$ns"; then ip netns pids "$ns" || true; fi
	done
	for p in $(pgrep -f "^containerd --config $CLUSTER_DIR/" || true); do echo "$p"; done
} 2>/dev/null

# kill_all LIST_FUNCTION: SIGKILL what it lists until nothing alive is left.
kill_all() {
	local deadline=$((SECONDS + 15)) left live p
	while :; do
		mapfile -t left < <("$1" | sort -un)
		live=()
		for p in "${left[@]}"; do alive "$p" && live+=("$p"); done
		((${#live[@]})) || return 0
		((SECONDS < deadline)) || die "processes still alive after SIGKILL: ${live[*]}"
		kill -KILL "${live[@]}" 2>/dev/null || true
		sleep 0.2
	done
}

# --- containers -----------------------------------------------------------------
# Nothing in them is worth a graceful stop, and dockerd would give each 10 s.
kill_all container_pids

# --- engines ------------------------------------------------------------------
pids=()
for n in "${NODES[@]}"; do
	if pid="$(dockerd_pid "$n")"; then
		log "$n: stopping dockerd ($pid)"
		kill -TERM "$pid"
		pids+=("$pid")
	fi
done
if ((${#pids[@]})) && ! wait_dead 20 "${pids[@]}"; then
	log "dockerd still running after 20 s; killing"
fi

# --- whatever is left: a hung dockerd, containerd, shims -------------------------
kill_all leftover_pids

# --- cgroups ------------------------------------------------------------------
for f in /sys/fs/cgroup/*/"$CGROUP_PARENT" /sys/fs/cgroup/"$CGROUP_PARENT"; do
	[[ -d "$f" ]] || continue
	# Children first; a cgroup whose last task just died can be busy for a
	# moment.
	for _ in 1 2 3 4 5; do
		find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true
		[[ -d "$f" ]] || break
		sleep 0.2
	done
	if [[ -d "$f" ]]; then log "warning: could not remove cgroup $f"; fi
done

# --- network ------------------------------------------------------------------
for n in "${NODES[@]}"; do
	ns="$(node_ns "$n")"
	if [[ -e "/run/netns/$ns" ]]; then ip netns del "$ns"; fi
done
if [[ -e "/run/netns/$BRIDGE_NS" ]]; then ip netns del "$BRIDGE_NS"; fi
# `ip netns add` bind-mounted /run/netns for us; undo that if nobody else
# has a namespace there now.
if [[ -f "$CLUSTER_DIR/netns-mount-created" ]] && mountpoint -q /run/netns &&
	[[ -z "$(ls -A /run/netns)" ]]; then
	umount -n /run/netns
	rmdir /run/netns 2>/dev/null || true
fi

# --- files --------------------------------------------------------------------
# Mounts live in the nodes' private mount namespaces, gone with their
# processes; one leaked into this namespace would make rm fail.
while read -r _ mnt _; do
	if [[ "$mnt" == "$CLUSTER_DIR"/* ]]; then umount -n -l "$mnt"; fi
done < <(tac /proc/self/mounts)
rm -rf "$CLUSTER_DIR"
log "done"
