#!/usr/bin/env bash
# Starts vigie locally: moto (AWS APIs), tables from template.yaml, demo data, the functions
# under `cargo lambda watch`, and the stream relay that feeds the fan-out. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=${VIGIE_SEED:-infra/demo/seed.json}
mkdir -p .local
. infra/local-env.sh
export PATH="$PWD/.venv-run/bin:$PWD/.venv/bin:$PATH"

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  echo "vigie stopped."
}
trap stop EXIT
trap "stop; exit 0" INT TERM

wait_for() { # url, what
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$2 did not start: see .local/" >&2
  exit 1
}

# A second `make run` must not share (and corrupt) the first one's emulator.
for url in "$AWS_ENDPOINT_URL" "$VIGIE_GATEWAY_URL" "$VIGIE_LAMBDA_URL"; do
  if curl -s -o /dev/null --max-time 1 "$url"; then
    echo "something already answers at $url: is vigie already running? (set VIGIE_AWS_PORT / VIGIE_GATEWAY_PORT / VIGIE_LAMBDA_PORT)" >&2
    exit 1
  fi
done

# One DynamoDB request at a time, as transactions are isolated on AWS (infra/moto/moto_server.py).
infra/moto/moto_server -H 127.0.0.1 -p "$port" >.local/moto.log 2>&1 &
pids+=($!)
wait_for "$AWS_ENDPOINT_URL/moto-api/data.json" "the AWS emulator"

target/debug/vigie-local setup
target/debug/vigie-local seed "$seed"

# The functions reach AWS through the gateway: sends above SMS_PARTS_PER_SECOND and
# EMAILS_PER_SECOND are answered with AWS's throttling errors, as AWS would (.local/gateway.log
# says what went through and the busiest second).
target/debug/vigie-local gateway --port "$gateway_port" >.local/gateway.log 2>&1 &
pids+=($!)
wait_for "$VIGIE_GATEWAY_URL/moto-api/data.json" "the gateway"

AWS_ENDPOINT_URL="$VIGIE_GATEWAY_URL" cargo lambda watch -A 127.0.0.1 -P "$lambda_port" >.local/watch.log 2>&1 &
pids+=($!)
wait_for "$VIGIE_LAMBDA_URL/lambda-url/web/health" "cargo lambda watch"

target/debug/vigie-local relay >.local/relay.log 2>&1 &
pids+=($!)

echo "vigie is running: open $PUBLIC_BASE_URL/"
echo "  text the shared number ${SMS_SHARED_NUMBER}:  make sms FROM=+33639980001 TEXT=\"Homme suspect rue des Lilas\""
echo "  see what was sent:                    make outbox"
echo "  logs in .local/ ; Ctrl-C stops everything."
wait
