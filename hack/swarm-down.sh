#!/usr/bin/env bash
# Undo hack/swarm-up.sh: remove leftover swarmjob services, then leave the
# swarm and stop dockerd, but each only if swarm-up itself initialised or
# started it (recorded in $SWARMJOB_STATE_DIR). An engine or swarm that was
# already there is left running. Idempotent.
#
# Environment: DOCKER_HOST, SWARMJOB_STATE_DIR (as for swarm-up.sh).
set -euo pipefail

export DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
STATE_DIR="${SWARMJOB_STATE_DIR:-/tmp/swarmjob-hack}"
DOCKERD_PIDFILE="$STATE_DIR/dockerd.pid"
SWARM_MARKER="$STATE_DIR/swarm-initialised"
MANAGED_LABEL=io.swarmjob.managed=true

log() { printf 'swarm-down: %s\n' "$*" >&2; }

# Same as in swarm-up.sh: start time guards against a recycled PID.
proc_starttime() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	# shellcheck disable=SC2086 # intentional word splitting into fields
	set -- $stat
	printf '%s\n' "${20}"
}

# A process counts as gone once it is a zombie: a killed dockerd whose
# parent has not reaped it never disappears from /proc.
alive() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	[[ "${stat%% *}" != Z ]]
}

engine_answers() { timeout 10 docker version >/dev/null 2>&1; }

[[ "$(id -u)" -eq 0 ]] || { log "error: must run as root"; exit 1; }
mkdir -p "$STATE_DIR"
# Serialise with swarm-up.sh (same lock file).
exec 9>"$STATE_DIR/lock"
flock -w 180 9 || { log "error: another swarm-up/swarm-down holds $STATE_DIR/lock"; exit 1; }

if engine_answers; then
	if [[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" == true ]]; then
		mapfile -t services < <(docker service ls -q --filter "label=$MANAGED_LABEL")
		if ((${#services[@]})); then
			log "removing ${#services[@]} service(s) labelled $MANAGED_LABEL"
			docker service rm "${services[@]}" >/dev/null
		fi
	fi
	if [[ -f "$SWARM_MARKER" ]]; then
		if [[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != inactive ]]; then
			log "leaving the swarm swarm-up initialised"
			docker swarm leave --force >/dev/null
		fi
		rm -f "$SWARM_MARKER"
	fi
elif [[ -f "$SWARM_MARKER" ]]; then
	# The engine is down; its swarm state stays on disk and comes back when it
	# restarts. Keep the marker so a later swarm-down can still leave it.
	log "engine not answering at $DOCKER_HOST; cannot leave the swarm now"
fi

if [[ -f "$DOCKERD_PIDFILE" ]]; then
	read -r pid start <"$DOCKERD_PIDFILE" || true
	if [[ -n "${pid:-}" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd &&
		"$(proc_starttime "$pid")" == "${start:-}" ]] && alive "$pid"; then
		log "stopping dockerd (pid $pid)"
		# dockerd's own containerd; if dockerd has to be SIGKILLed it cannot
		# stop it, so it is killed with it.
		mapfile -t children < <(pgrep -P "$pid" -x containerd || true)
		kill -TERM "$pid"
		# dockerd stops its containers (10 s grace each) and containerd.
		deadline=$((SECONDS + 30))
		while alive "$pid" && ((SECONDS < deadline)); do sleep 0.25; done
		if alive "$pid"; then
			log "dockerd still running after 30 s; killing it"
			kill -KILL "$pid" "${children[@]}" 2>/dev/null || true
			sleep 1
		fi
	fi
	rm -f "$DOCKERD_PIDFILE"
fi
log "done"
