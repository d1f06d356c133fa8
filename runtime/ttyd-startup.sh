#!/usr/bin/env bash
# Started by ttyd for every terminal connection. With ttyd's -a, the first argument is the
# session id the web proxy passes as ?arg=<id> (one per browser tab). Records the shell's
# PID in /tmp/.terminal-session-<id> so tools in the pod can find a tab's shell, then
# replaces itself with a login shell (same PID).
set -euo pipefail

session_id="${1:-default}"
# The id lands in a file name: accept only a short, plain token.
if [[ ! "$session_id" =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then
  session_id="default"
fi

echo "$$" > "/tmp/.terminal-session-${session_id}"
printf 'Welcome to %s on FullstackAgent (terminal session %s)\n' "${PROJECT_NAME:-your sandbox}" "$session_id"

exec bash -l
