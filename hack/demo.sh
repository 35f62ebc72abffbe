#!/usr/bin/env bash
# The swarmjob demo: start `swarmjob serve` in the background (embedded
# store in ./data), run one job with `swarmjob run`, show its output and
# final status. `hack/demo.sh stop` stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=bin/swarmjob
DATA=${SWARMJOB_DATA_DIR:-./data}
LISTEN=${SWARMJOB_LISTEN:-127.0.0.1:8080}
export SWARMJOB_URL="http://$LISTEN"
# The server writes its admin token (mode 0600) into its data directory on
# first start; the CLI reads it from there. (Without this variable the CLI
# looks in ./data/admin-token, the default data directory.)
export SWARMJOB_TOKEN_FILE="$DATA/admin-token"
PIDFILE="$DATA/server.pid"
LOG="$DATA/server.log"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [[ "${1:-}" == stop ]]; then
	if [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		kill "$(cat "$PIDFILE")"
		echo "demo: stopped swarmjob serve (pid $(cat "$PIDFILE"))"
	else
		echo "demo: no demo server running"
	fi
	rm -f "$PIDFILE"
	exit 0
fi

mkdir -p "$DATA"
if "$BIN" ls >/dev/null 2>&1; then
	echo "demo: a swarmjob server already answers at $SWARMJOB_URL; using it"
elif curl -fsS "$SWARMJOB_URL/healthz" >/dev/null 2>&1; then
	# Something answers there but refuses this demo's token: another
	# server (another data directory) holds the address.
	echo "demo: another swarmjob server answers at $SWARMJOB_URL with a different token;" >&2
	echo "      stop it, or pick another address: SWARMJOB_LISTEN=127.0.0.1:18080 make demo" >&2
	exit 1
else
	say "starting swarmjob serve --listen $LISTEN --data-dir $DATA (log: $LOG)"
	# --job-network lets jobs with childJobs reach the API (the child-job step).
	nohup "$BIN" serve --listen "$LISTEN" --data-dir "$DATA" --job-network swarmjob-jobs >>"$LOG" 2>&1 &
	echo $! >"$PIDFILE"
	for _ in $(seq 1 100); do
		if curl -fsS "$SWARMJOB_URL/readyz" >/dev/null 2>&1; then break; fi
		if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
			echo "demo: server exited; last log lines:" >&2
			tail -20 "$LOG" >&2
			exit 1
		fi
		sleep 0.1
	done
	curl -fsS "$SWARMJOB_URL/readyz" >/dev/null || { echo "demo: server not ready; see $LOG" >&2; exit 1; }
	if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null || ! "$BIN" ls >/dev/null 2>&1; then
		echo "demo: the server did not start (is $LISTEN taken?); last log lines:" >&2
		tail -5 "$LOG" >&2
		exit 1
	fi
fi

say "swarmjob run swarmjob/busybox:test sh -c '…'   (a one-shot job on the Swarm)"
set +e
# shellcheck disable=SC2016 # the job's shell expands these, not this one
"$BIN" run --name demo --label demo=main swarmjob/busybox:test sh -c '
	echo "hello from job $SWARMJOB_JOB_ID (attempt $SWARMJOB_ATTEMPT) on $(hostname)"
	for i in 1 2 3; do echo "working... step $i"; sleep 0.3; done
	echo "a warning on stderr" >&2
	echo "done"'
code=$?
set -e
echo "(swarmjob run exited with $code, the job's exit code)"

say "a job that starts child jobs through its own scoped token (no Docker socket)"
hack/cli-image.sh swarmjob/cli:dev
set +e
# shellcheck disable=SC2016 # the job's shell expands these, not this one
"$BIN" run --name demo-parent --label demo=children --max-children 2 swarmjob/cli:dev sh -c '
	echo "parent: SWARMJOB_URL=$SWARMJOB_URL"
	swarmjob run --name demo-child --label demo=children swarmjob/busybox:test sh -c "echo hello from child \$SWARMJOB_JOB_ID"
	swarmjob run -d --name demo-child --label demo=children swarmjob/busybox:test true >/dev/null
	swarmjob run -d swarmjob/busybox:test true || echo "parent: the third child was refused, as maxChildren says"'
code=$?
set -e
echo "(the parent exited with $code)"
parent=$("$BIN" ls --label demo=children --name-prefix demo-parent -q --limit 1 2>/dev/null)
for child in $("$BIN" ls --parent "$parent" -q); do "$BIN" wait "$child" >/dev/null 2>&1 || true; done

say "swarmjob ls --label demo   (jobs that have the label demo)"
"$BIN" ls --label demo --limit 8 2>/dev/null

id=$("$BIN" ls --label demo=main -q --limit 1 2>/dev/null)
say "final status of job $id"
"$BIN" get "$id" | sed -n '/"status"/,$p'

say "no service is left on the Swarm:"
docker service ls --filter label=io.swarmjob.managed=true

cat <<EOT

The server keeps running in the background ($SWARMJOB_URL, store in $DATA).
Its admin token is $DATA/admin-token. In another shell, first:
  export SWARMJOB_URL=$SWARMJOB_URL SWARMJOB_TOKEN_FILE=$(realpath "$DATA")/admin-token
Try:   $BIN run swarmjob/busybox:test sh -c 'echo hi; exit 3'; echo "exit: \$?"
Stop:  make demo-stop
EOT
