# shellcheck shell=bash
# Shared by hack/cluster-up.sh, hack/cluster-down.sh and hack/cluster-node.sh;
# sourced, never run. Builds blocks of a 3-node Docker Swarm made of dockerd
# instances in network namespaces on this one machine (see "A multi-node swarm
# on one machine" in SWARM-FACTS.md):
#
#   netns swarmjob-br   bridge br0, one veth end per node
#   netns swarmjob-nN   eth0 = 10.77.0.(10+N)/24, no route out; node N's
#                       dockerd runs here with hostname swarmjob-nN, its own
#                       data root, exec root, socket, pidfile and cgroup parent
#
# n1 is the manager, n2 and n3 are workers labelled
# swarmjob-test-role=worker. Everything else lives under $CLUSTER_DIR:
#
#   $CLUSTER_DIR/nN/docker.sock     the node's Engine API
#   $CLUSTER_DIR/nN/dockerd.pid     written by dockerd itself (--pidfile)
#   $CLUSTER_DIR/nN/dockerd.log     its output
#   $CLUSTER_DIR/nN/{data,exec}     --data-root, --exec-root
#   $CLUSTER_DIR/nN/run-containerd  bind-mounted over /run/containerd in the
#                                   node, so containerd shims' sockets stay
#                                   out of the host's /run/containerd
#   $CLUSTER_DIR/nN/boot.sh         what runs inside the namespace
#
# The host's own engine is only ever read from (docker save of the test image).

# Settings, used by the scripts that source this file.
# shellcheck disable=SC2034
{
	CLUSTER_DIR="${SWARMJOB_CLUSTER_DIR:-/tmp/swarmjob-cluster}"
	IMAGE="${SWARMJOB_TEST_IMAGE:-swarmjob/busybox:test}"
	# The engine the test image is copied from. Read only.
	HOST_ENGINE="${SWARMJOB_HOST_ENGINE:-unix:///var/run/docker.sock}"

	NODES=(n1 n2 n3)
	MANAGER=n1
	WORKERS=(n2 n3)
	NS_PREFIX=swarmjob-
	BRIDGE_NS="${NS_PREFIX}br"
	SUBNET_PREFIX=10.77.0
	# The swarm's overlay networks (ingress) take their subnets from here.
	SWARM_ADDR_POOL=10.76.0.0/16
	# Cgroup parent of every node's containers (cgroupfs driver): one subtree per
	# node under this, in each hierarchy, removed by cluster-down.
	CGROUP_PARENT=swarmjob-cluster
	WORKER_LABEL=swarmjob-test-role=worker
	NODE_LABEL=swarmjob-test-node
}

# These scripts address nodes only with -H; an inherited context or host
# must not redirect a command to another engine.
unset DOCKER_CONTEXT DOCKER_HOST

log() { printf '%s: %s\n' "${LOG_TAG:-cluster}" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

require_root() { [[ "$(id -u)" -eq 0 ]] || die "must run as root (network namespaces, dockerd)"; }

# Serialise the cluster scripts with a lock on this file: nothing is left
# behind, unlike a lock file, and cluster-down may remove $CLUSTER_DIR.
# Every process started while holding it must close fd 9 (9<&-), or it keeps
# the lock for its whole life.
take_lock() {
	exec 9<"${BASH_SOURCE[0]}"
	flock -w 300 9 || die "another cluster script holds the lock on ${BASH_SOURCE[0]}"
}

valid_node() {
	local n
	for n in "${NODES[@]}"; do [[ "$1" == "$n" ]] && return 0; done
	return 1
}
node_ns() { printf '%s%s\n' "$NS_PREFIX" "$1"; }
node_hostname() { printf '%s%s\n' "$NS_PREFIX" "$1"; }
node_num() { printf '%s\n' "${1#n}"; }
node_ip() { printf '%s.%d\n' "$SUBNET_PREFIX" $((10 + $(node_num "$1"))); }
node_dir() { printf '%s/%s\n' "$CLUSTER_DIR" "$1"; }
node_sock() { printf '%s/%s/docker.sock\n' "$CLUSTER_DIR" "$1"; }
node_docker() {
	local n="$1"
	shift
	docker -H "unix://$(node_sock "$n")" "$@"
}
host_docker() { docker -H "$HOST_ENGINE" "$@"; }

# --- processes ----------------------------------------------------------------

# A process counts as alive unless it is gone or a zombie: a SIGKILLed dockerd
# or containerd can linger unreaped, and kill -0 still succeeds on it.
alive() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	[[ "${stat%% *}" != Z ]]
}

# pid_from FILE COMM: the PID in FILE when it is a live process named COMM.
pid_from() {
	local pid
	[[ -f "$1" ]] || return 1
	# No trailing newline in dockerd's pidfile: not `read`.
	pid="$(cat "$1" 2>/dev/null)" || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
	alive "$pid" || return 1
	printf '%s\n' "$pid"
}

# pid_by_cmdline PATTERN: the first live process whose command line matches
# the extended regex PATTERN (a zombie has no command line, so never matches).
pid_by_cmdline() {
	local pid
	for pid in $(pgrep -f "$1"); do
		if alive "$pid"; then
			printf '%s\n' "$pid"
			return 0
		fi
	done
	return 1
}

# The node's dockerd and containerd, from their pidfiles or else (a pidfile
# removed under a running daemon) from their command lines, which name the
# node's own files.
dockerd_pid() {
	local dir
	dir="$(node_dir "$1")"
	pid_from "$dir/dockerd.pid" dockerd || pid_by_cmdline "^dockerd --config-file $dir/daemon.json "
}
containerd_pid() {
	local dir
	dir="$(node_dir "$1")"
	pid_from "$dir/exec/containerd/containerd.pid" containerd ||
		pid_by_cmdline "^containerd --config $dir/exec/containerd/containerd.toml"
}

# wait_dead SECONDS PID...: true once none of the PIDs is alive.
wait_dead() {
	local deadline=$((SECONDS + $1)) p any
	shift
	while :; do
		any=
		for p in "$@"; do alive "$p" && any=1; done
		[[ -z "$any" ]] && return 0
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# A hung engine can keep its socket open without answering; bound each probe.
node_answers() { timeout 10 docker -H "unix://$(node_sock "$1")" version >/dev/null 2>&1; }

# --- network ------------------------------------------------------------------

ns_exists() { [[ -e "/run/netns/$1" ]] && ip netns exec "$1" true 2>/dev/null; }

# setup_network: the bridge namespace and one namespace per node, wired with
# veths created directly inside them (nothing ever appears in the host's
# network namespace). Idempotent.
setup_network() {
	local n ns
	if [[ ! -e /run/netns ]] || ! mountpoint -q /run/netns; then
		# `ip netns add` bind-mounts /run/netns on first use; remember that
		# we caused it, so cluster-down can undo it.
		: >"$CLUSTER_DIR/netns-mount-created"
	fi
	ns_exists "$BRIDGE_NS" || ip netns add "$BRIDGE_NS"
	ip -n "$BRIDGE_NS" link set lo up
	ip -n "$BRIDGE_NS" link show br0 >/dev/null 2>&1 ||
		ip -n "$BRIDGE_NS" link add br0 type bridge
	ip -n "$BRIDGE_NS" link set br0 up
	for n in "${NODES[@]}"; do
		ns="$(node_ns "$n")"
		ns_exists "$ns" || ip netns add "$ns"
		ip -n "$ns" link set lo up
		if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
			# A veth dies with its peer, so the bridge end is gone too
			# unless something else took its name.
			ip -n "$BRIDGE_NS" link del "$n" >/dev/null 2>&1 || true
			ip -n "$BRIDGE_NS" link add "$n" type veth peer name eth0 netns "$ns"
		fi
		ip -n "$BRIDGE_NS" link set "$n" master br0 up
		ip -n "$ns" addr show dev eth0 | grep -qF " $(node_ip "$n")/24 " ||
			ip -n "$ns" addr add "$(node_ip "$n")/24" dev eth0
		ip -n "$ns" link set eth0 up
	done
}

# --- nodes --------------------------------------------------------------------

# The cgroup hierarchies as the host mounts them under /sys/fs/cgroup, one
# "fstype dir options" line each; `ip netns exec` remounts /sys and so hides
# them from the node, whose dockerd needs them.
cgroup_mounts() {
	local mnt fstype opts
	while read -r _ mnt fstype opts _; do
		case "$fstype:$mnt" in
		cgroup2:/sys/fs/cgroup) printf 'cgroup2 . %s\n' "$opts" ;;
		cgroup:/sys/fs/cgroup/* | cgroup2:/sys/fs/cgroup/*)
			printf '%s %s %s\n' "$fstype" "${mnt#/sys/fs/cgroup/}" "$opts"
			;;
		esac
	done </proc/self/mounts
}

# write_boot_script NODE: the script that runs in the node's namespaces (as
# `ip netns exec NS unshare --uts sh boot.sh`, so in a fresh mount and UTS
# namespace): remount the cgroups, give containerd its own /run/containerd,
# set the hostname, exec dockerd.
write_boot_script() {
	local n="$1" dir mounts fstype sub opts
	dir="$(node_dir "$n")"
	mounts="$(cgroup_mounts)"
	[[ -n "$mounts" ]] || die "no cgroup hierarchy mounted under /sys/fs/cgroup"
	mkdir -p "$dir/run-containerd"
	[[ -f "$dir/daemon.json" ]] || echo '{}' >"$dir/daemon.json"
	{
		echo '#!/bin/sh'
		echo "# Written by hack/cluster-lib.sh; runs node $n inside netns $(node_ns "$n")."
		echo 'set -eu'
		if grep -q '^cgroup2 \. ' <<<"$mounts"; then
			grep '^cgroup2 \. ' <<<"$mounts" | while read -r fstype sub opts; do
				echo "mount -n -t cgroup2 -o '$opts' cgroup2 /sys/fs/cgroup"
			done
		else
			echo 'mount -n -t tmpfs -o mode=755 cgroup /sys/fs/cgroup'
			while read -r fstype sub opts; do
				echo "mkdir -p '/sys/fs/cgroup/$sub'"
				echo "mount -n -t $fstype -o '$opts' $fstype '/sys/fs/cgroup/$sub'"
			done <<<"$mounts"
		fi
		# Shims put their sockets in /run/containerd/s (hashed names). A
		# per-node directory keeps them apart from the host's and survives
		# a restart of the node, so a new containerd finds old shims.
		echo 'mkdir -p /run/containerd'
		echo "mount -n --bind '$dir/run-containerd' /run/containerd"
		echo "hostname '$(node_hostname "$n")'"
		# DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: nothing can be pulled here; a
		# task should not try first. The ranges are private and only exist
		# inside the node's namespace. --iptables=false etc.: the node's
		# netns has no way out, and nothing needs NAT or published ports.
		echo 'export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1'
		echo "exec dockerd \\"
		echo "  --config-file '$dir/daemon.json' \\"
		echo "  -H 'unix://$dir/docker.sock' \\"
		echo "  --data-root '$dir/data' --exec-root '$dir/exec' --pidfile '$dir/dockerd.pid' \\"
		echo "  --iptables=false --ip-forward=false --ip-masq=false --userland-proxy=false \\"
		echo "  --bip 10.77.$((100 + $(node_num "$n"))).1/24 \\"
		echo "  --default-address-pool base=10.78.0.0/16,size=24 \\"
		echo "  --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent '/$CGROUP_PARENT/$n'"
	} >"$dir/boot.sh.new"
	mv "$dir/boot.sh.new" "$dir/boot.sh"
}

# start_node NODE: start the node's dockerd unless it runs, on its existing
# data root, and wait until it answers. Handles the leftovers of a SIGKILL:
# a zombie dockerd/containerd and their stale pidfiles.
start_node() {
	local n="$1" dir ns pid f
	dir="$(node_dir "$n")"
	ns="$(node_ns "$n")"
	ns_exists "$ns" || die "namespace $ns is missing; run hack/cluster-up.sh"
	if pid="$(dockerd_pid "$n")"; then
		wait_answers "$n" "$pid"
		return
	fi
	# A containerd that outlived its dockerd (it dies with it, normally):
	# stop it, so that the new dockerd does not fight it over the socket.
	if pid="$(containerd_pid "$n")"; then
		log "$n: killing leftover containerd $pid"
		kill -KILL "$pid" 2>/dev/null || true
		wait_dead 10 "$pid" || die "$n: containerd $pid survives SIGKILL"
	fi
	# dockerd refuses to start while its pidfile names an existing process
	# (a zombie counts), and dockerd waits for a containerd whose
	# containerd.pid names one, until it times out.
	for f in "$dir/dockerd.pid" "$dir/exec/containerd/containerd.pid"; do
		[[ -f "$f" ]] && log "$n: removing stale $(basename "$f")"
		rm -f "$f"
	done
	mkdir -p "$dir"
	write_boot_script "$n"
	log "$n: starting dockerd (log: $dir/dockerd.log)"
	# setsid: own session, outlives this script; everything exec()s down to
	# dockerd. 9<&-: it must not inherit the lock.
	setsid nohup ip netns exec "$ns" unshare --uts sh "$dir/boot.sh" \
		>>"$dir/dockerd.log" 2>&1 </dev/null 9<&- &
	wait_answers "$n" "$!"
}

# wait_answers NODE PID: wait up to 60 s for the node's engine to answer.
wait_answers() {
	local n="$1" pid="$2" deadline=$((SECONDS + 60))
	until node_answers "$n"; do
		if ! alive "$pid" || ((SECONDS >= deadline)); then
			log "$n: dockerd exited or did not answer within 60 s; last lines of $(node_dir "$n")/dockerd.log:"
			tail -n 30 "$(node_dir "$n")/dockerd.log" >&2
			exit 1
		fi
		sleep 0.2
	done
}

# kill_node NODE: SIGKILL the node's dockerd and its containerd, as a crash
# would; the containers and their shims stay, as they do after a crash.
kill_node() {
	local n="$1" pids=() p
	p="$(dockerd_pid "$n")" && pids+=("$p")
	p="$(containerd_pid "$n")" && pids+=("$p")
	if ((${#pids[@]} == 0)); then
		log "$n: dockerd is not running"
		return 0
	fi
	kill -KILL "${pids[@]}" 2>/dev/null || true
	wait_dead 10 "${pids[@]}" || die "$n: ${pids[*]} still alive after SIGKILL"
	log "$n: killed dockerd/containerd (${pids[*]})"
}

# node_swarm_state NODE: LocalNodeState of the node's engine.
node_swarm_state() { node_docker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

# wait_swarm_active NODE SECONDS: a restarted node reports "pending" for a
# moment while it rejoins.
wait_swarm_active() {
	local deadline=$((SECONDS + $2)) state
	while :; do
		state="$(node_swarm_state "$1")"
		[[ "$state" == active ]] && return 0
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# wait_node_ready NODE SECONDS: the manager sees the node as ready.
wait_node_ready() {
	local n="$1" deadline=$((SECONDS + $2)) id state
	id="$(node_docker "$n" info --format '{{.Swarm.NodeID}}')"
	while :; do
		state="$(node_docker "$MANAGER" node inspect --format '{{.Status.State}}' "$id" 2>/dev/null || true)"
		[[ "$state" == ready ]] && return 0
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}
