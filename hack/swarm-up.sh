#!/usr/bin/env bash
# Bring up a single-node Docker Swarm for swarmjob development and tests.
#
# Idempotent: every step first checks whether it is needed, so running it
# again against a working setup changes nothing. It records in
# $SWARMJOB_STATE_DIR what it started itself (dockerd, the swarm), so that
# hack/swarm-down.sh undoes exactly that and never touches an engine or a
# swarm that was already there.
#
# Runs as root on Debian 12. Environment:
#   DOCKER_HOST          engine to use/start (default unix:///var/run/docker.sock)
#   SWARMJOB_STATE_DIR   state and dockerd log (default /tmp/swarmjob-hack)
#   SWARMJOB_TEST_IMAGE  test image tag (default swarmjob/busybox:test)
set -euo pipefail

export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
STATE_DIR="${SWARMJOB_STATE_DIR:-/tmp/swarmjob-hack}"
IMAGE="${SWARMJOB_TEST_IMAGE:-swarmjob/busybox:test}"
BUSYBOX=/bin/busybox
# Label on the test image holding the busybox checksum, so a changed busybox
# (package upgrade) triggers a rebuild while an unchanged one does not.
BUSYBOX_LABEL=io.swarmjob.busybox.sha256

DOCKERD_PIDFILE="$STATE_DIR/dockerd.pid"
DOCKERD_LOG="$STATE_DIR/dockerd.log"
SWARM_MARKER="$STATE_DIR/swarm-initialised"

log() { printf 'swarm-up: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Field 22 of /proc/PID/stat (start time in clock ticks since boot). Stored
# next to the PID so swarm-down never signals a recycled PID.
proc_starttime() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	# Strip "pid (comm) " first: comm may contain spaces.
	stat="${stat##*) }"
	# shellcheck disable=SC2086 # intentional word splitting into fields
	set -- $stat
	printf '%s\n' "${20}"
}

# True when the PID recorded in the state file is still the dockerd we started
# and not a zombie (an unreaped dockerd counts as dead).
recorded_dockerd_alive() {
	local pid start stat
	[[ -f "$DOCKERD_PIDFILE" ]] || return 1
	read -r pid start <"$DOCKERD_PIDFILE" || return 1
	[[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
	[[ "$(proc_starttime "$pid")" == "$start" ]] || return 1
	stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	[[ "${stat%% *}" != Z ]]
}

# A hung engine can keep the socket open without answering; bound each probe.
engine_answers() { timeout 10 docker version >/dev/null 2>&1; }

[[ "$(id -u)" -eq 0 ]] || die "must run as root (installs packages, starts dockerd)"
mkdir -p "$STATE_DIR"
# Test packages may call this concurrently; serialise so only one starts dockerd.
exec 9>"$STATE_DIR/lock"
flock -w 180 9 || die "another swarm-up/swarm-down holds $STATE_DIR/lock"

# --- packages -----------------------------------------------------------------
# busybox-static, not busybox: the test image is FROM scratch (nothing can be
# pulled here), so the binary must not need a libc from the image.
pkgs=()
command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
if [[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true)" != "install ok installed" ]]; then
	pkgs+=(busybox-static)
fi
if ((${#pkgs[@]})); then
	log "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# With recommends, as on the machines this was measured on (cgroupfs-mount,
	# xz-utils, ca-certificates come with docker.io that way).
	apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"

# --- engine -------------------------------------------------------------------
if engine_answers; then
	# Someone else's engine (or ours from an earlier run). If the recorded
	# dockerd is gone, the state is stale: forget it so swarm-down does not
	# claim an engine it did not start.
	if [[ -f "$DOCKERD_PIDFILE" ]] && ! recorded_dockerd_alive; then
		rm -f "$DOCKERD_PIDFILE"
	fi
else
	# We can only start a local daemon listening where DOCKER_HOST points.
	[[ "$DOCKER_HOST" == unix://* ]] ||
		die "no engine answers at DOCKER_HOST=$DOCKER_HOST and it is not a unix socket, so it cannot be started here"
	if recorded_dockerd_alive; then
		die "dockerd we started earlier (pid $(cut -d' ' -f1 "$DOCKERD_PIDFILE")) is running but does not answer; see $DOCKERD_LOG or run hack/swarm-down.sh"
	fi
	log "starting dockerd (log: $DOCKERD_LOG)"
	# No systemd on these machines, so dockerd is started directly and
	# detached (setsid: own session, survives this shell and its terminal).
	# Default flags are enough here (overlay2, iptables via iptables-nft,
	# cgroup v1 cgroupfs all work; measured on Debian 12, kernel 6.18), so no
	# --storage-driver / --iptables overrides. It spawns its own containerd.
	# DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: on 20.10 a swarm task whose image
	# is named by tag first tries a registry pull and only falls back to the
	# local image after the pull fails; with no registry reachable that adds a
	# failed pull to every task start.
	DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
		setsid nohup dockerd -H "$DOCKER_HOST" >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
	pid=$!
	# setsid execs (this non-interactive shell's background child is not a
	# process-group leader), so $! is dockerd itself. 9>&-: dockerd must not
	# inherit the lock, or it would hold it for its whole life.
	sleep 0.2
	start="$(proc_starttime "$pid")" || {
		tail -n 30 "$DOCKERD_LOG" >&2
		die "dockerd exited at once"
	}
	printf '%s %s\n' "$pid" "$start" >"$DOCKERD_PIDFILE"
	deadline=$((SECONDS + 60))
	until engine_answers; do
		if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
			log "dockerd exited or did not answer at $DOCKER_HOST within 60 s; last lines of $DOCKERD_LOG:"
			tail -n 30 "$DOCKERD_LOG" >&2
			kill -0 "$pid" 2>/dev/null || rm -f "$DOCKERD_PIDFILE"
			exit 1
		fi
		sleep 0.25
	done
fi

# --- swarm --------------------------------------------------------------------
swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }
state="$(swarm_state)"
# A restarted dockerd that already holds swarm state may report "pending" for a
# moment while it rejoins; wait instead of treating that as "no swarm".
deadline=$((SECONDS + 30))
while [[ "$state" == pending ]] && ((SECONDS < deadline)); do
	sleep 0.5
	state="$(swarm_state)"
done
case "$state" in
active) ;;
inactive)
	log "initialising swarm"
	# Loopback: the dev swarm has one node and must not depend on, or expose
	# itself on, the machine's network.
	docker swarm init --advertise-addr 127.0.0.1 >/dev/null
	docker info --format '{{.Swarm.NodeID}}' >"$SWARM_MARKER"
	;;
*) die "swarm is in state '$state'; not touching it (unlock or leave it by hand)" ;;
esac
[[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" == true ]] ||
	die "this engine is a swarm worker; swarmjob needs a manager"
# After a restart the manager needs a few seconds to elect itself leader;
# until then every service call fails with "the swarm does not have a leader".
deadline=$((SECONDS + 30))
until docker node ls -q >/dev/null 2>&1; do
	((SECONDS < deadline)) || die "swarm manager has no leader after 30 s"
	sleep 0.5
done

# --- test image ---------------------------------------------------------------
want_sum="$(sha256sum "$BUSYBOX" | cut -d' ' -f1)"
have_sum="$(docker image inspect --format "{{index .Config.Labels \"$BUSYBOX_LABEL\"}}" "$IMAGE" 2>/dev/null || true)"
if [[ "$have_sum" != "$want_sum" ]]; then
	log "building $IMAGE"
	old_id="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
	ctx="$(mktemp -d)"
	trap 'rm -rf "$ctx"' EXIT
	cp "$BUSYBOX" "$ctx/busybox"
	cat >"$ctx/Dockerfile" <<-'EOF'
		FROM scratch
		COPY busybox /bin/busybox
		RUN ["/bin/busybox", "--install", "-s", "/bin"]
		ENV PATH=/bin
		CMD ["sh"]
	EOF
	# Classic builder, pinned: the CLI picks BuildKit when the engine is >= 23
	# (or DOCKER_BUILDKIT=1 is set) and then fails, as no buildx plugin is
	# installed here ("BuildKit is enabled but the buildx component is missing").
	DOCKER_BUILDKIT=0 docker build -q --label "$BUSYBOX_LABEL=$want_sum" -t "$IMAGE" "$ctx" >/dev/null 2>"$ctx/build.err" || {
		cat "$ctx/build.err" >&2
		die "building $IMAGE failed"
	}
	# The replaced image is now untagged; drop it so rebuilds do not pile up
	# (fails harmlessly if a container still uses it).
	if [[ -n "$old_id" && "$old_id" != "$(docker image inspect --format '{{.Id}}' "$IMAGE")" ]]; then
		docker image rm "$old_id" >/dev/null 2>&1 || true
	fi
fi

printf 'swarm-up: engine %s (API %s), swarm node %s, image %s %s\n' \
	"$(docker version --format '{{.Server.Version}}')" \
	"$(docker version --format '{{.Server.APIVersion}}')" \
	"$(docker info --format '{{.Swarm.NodeID}}')" \
	"$IMAGE" \
	"$(docker image inspect --format '{{.Id}}' "$IMAGE")"
