#!/usr/bin/env bash
# Container entrypoint of the runtime image: serves a login shell over ttyd on port 7681.
# ttyd requires HTTP basic auth (user:$TTYD_ACCESS_TOKEN); only the web server's terminal
# proxy knows the token, so the browser never talks to ttyd directly.
set -euo pipefail

if [[ -z "${TTYD_ACCESS_TOKEN:-}" ]]; then
  echo "entrypoint: TTYD_ACCESS_TOKEN is not set; refusing to start an unauthenticated terminal." >&2
  echo "entrypoint: set TTYD_ACCESS_TOKEN in the pod environment (the platform generates it per sandbox)." >&2
  exit 64
fi

# The pod runs as the image's non-root user (uid 1000) with fsGroup 1000: the home PVC is
# group-writable, but a fresh one is empty, so the project folder is made here (not by the
# image, whose /home/agent is hidden by the mount). A home that cannot be written (a volume
# without fsGroup support) is reported, and the terminal still starts.
HOME="${HOME:-/home/agent}"
export HOME
project_dir="$HOME/project"
if mkdir -p "$project_dir" 2>/dev/null && [[ -w "$project_dir" ]]; then
  cd "$project_dir"
else
  echo "entrypoint: $project_dir cannot be created or written by uid $(id -u) (gid $(id -g)); the home volume needs fsGroup $(id -g) (the platform sets it). Starting in ${PWD}." >&2
fi

# Requests to the app (port 3000) for the idle auto-stop: a background watcher of the app
# port's connections writes at most one line a minute to the container log (app-activity.sh).
APP_ACTIVITY_SCRIPT=/usr/local/bin/app-activity.sh
if [[ "${FSA_APP_ACTIVITY:-1}" != "0" && -x "$APP_ACTIVITY_SCRIPT" ]]; then
  "$APP_ACTIVITY_SCRIPT" </dev/null &
fi

# ttyd is looked up on PATH (/usr/local/bin in the image; a stub in runtime tests).
STARTUP_SCRIPT=/usr/local/bin/ttyd-startup.sh
TTYD_PORT=7681

THEME='{"background":"#1e1e1e","foreground":"#d4d4d4","cursor":"#aeafad","selectionBackground":"#264f78","black":"#000000","red":"#cd3131","green":"#0dbc79","yellow":"#e5e510","blue":"#2472c8","magenta":"#bc3fbc","cyan":"#11a8cd","white":"#e5e5e5"}'

# -p port; -W writable terminal; -a URL query ?arg=<session id> is passed to the startup
# script; -c basic auth credential (ttyd also expects it, base64, as the AuthToken of the
# first WebSocket message); -T terminal type; -t client options (theme, font).
exec ttyd \
  -p "$TTYD_PORT" \
  -W \
  -a \
  -c "user:${TTYD_ACCESS_TOKEN}" \
  -T xterm-256color \
  -t "theme=${THEME}" \
  -t fontSize=14 \
  -t "fontFamily=Menlo, Consolas, 'DejaVu Sans Mono', monospace" \
  -t disableLeaveAlert=true \
  "$STARTUP_SCRIPT"
