#!/usr/bin/env bash
# App-URL activity for the idle auto-stop (docs/decisions/0010-app-url-activity.md). Runs in
# the background of the sandbox container (entrypoint.sh) and looks at the TCP connections
# of the app's port every few seconds with `ss` (sock_diag netlink: no privileges, and the
# pod's network namespace holds every connection to the app, whoever serves it). A
# connection not seen before, or one that received bytes since the last look, is a request
# to the app. At most once a minute such activity is written to the container's log as
#   fsa-app-activity at=<UTC time of the last activity seen> connections=<n>
# where the worker reads it (pods/log, sinceTime) when the idle deadline comes, for the
# projects that opted in. The first activity after a quiet minute is written at once, the
# rest at the end of the minute with the time of the last one. Nothing else is written.
set -uo pipefail
export TZ=UTC

port="${FSA_APP_PORT:-3000}"
poll="${FSA_APP_ACTIVITY_POLL_SECONDS:-5}"
interval="${FSA_APP_ACTIVITY_REPORT_SECONDS:-60}"

if [[ "${FSA_APP_ACTIVITY:-1}" == "0" ]]; then
  exit 0
fi
if ! command -v ss >/dev/null 2>&1; then
  echo "app-activity: ss (iproute2) not found; requests to the app are not seen" >&2
  exit 0
fi
if [[ ! "$port" =~ ^[0-9]{1,5}$ || ! "$poll" =~ ^[0-9]+$ || ! "$interval" =~ ^[0-9]+$ || "$poll" -lt 1 ]]; then
  echo "app-activity: invalid FSA_APP_PORT / FSA_APP_ACTIVITY_POLL_SECONDS / FSA_APP_ACTIVITY_REPORT_SECONDS" >&2
  exit 0
fi

# One line per socket of the app's port: "<local> <peer> <bytes received>" (0 when the
# kernel keeps no counters, e.g. TIME-WAIT). `ss -i` prints the counters on a second line.
snapshot() {
  ss -Htin state connected "( sport = :${port} )" 2>/dev/null | awk '
    /^[A-Z]/ { if (key != "") print key, bytes; key = $4 " " $5; bytes = 0; next }
    { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_received:/) { split($i, kv, ":"); bytes = kv[2] } }
    END { if (key != "") print key, bytes }'
}

declare -A previous=()
declare -A current=()
first=1
last_written=0   # when a line was last written (epoch seconds)
pending=0        # activity seen since then, not written yet (its epoch seconds)

write_line() {
  printf 'fsa-app-activity at=%(%Y-%m-%dT%H:%M:%SZ)T connections=%s\n' "$1" "$2"
  last_written=$(printf '%(%s)T' -1)
  pending=0
}

while :; do
  current=()
  active=0
  count=0
  while read -r local peer bytes; do
    [[ -z "$local" ]] && continue
    key="$local $peer"
    current["$key"]="$bytes"
    count=$((count + 1))
    if [[ -z "${previous[$key]+set}" ]] || (( bytes > ${previous[$key]} )); then
      active=1
    fi
  done < <(snapshot)
  previous=()
  for key in "${!current[@]}"; do previous["$key"]="${current[$key]}"; done
  now=$(printf '%(%s)T' -1)
  # The first look is the baseline: connections already open are not news.
  if (( first )); then
    first=0
    active=0
  fi
  if (( active )); then
    if (( now - last_written >= interval )); then
      write_line "$now" "$count"
    else
      pending=$now
    fi
  elif (( pending > 0 && now - last_written >= interval )); then
    write_line "$pending" "$count"
  fi
  sleep "$poll"
done
