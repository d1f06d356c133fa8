# shellcheck shell=bash
# Interactive shell setup of the runtime image. Installed as /etc/fullstack/bashrc and
# sourced from /etc/bash.bashrc, so it lives in the image (the home directory is a PVC
# and would hide a ~/.bashrc baked into the image).

case $- in
  *i*) ;;
  *) return ;;
esac

export TERM="${TERM:-xterm-256color}"
export EDITOR="${EDITOR:-vim}"
export PATH="$HOME/.local/bin:$PATH"

PS1='\[\e[1;32m\]${PROJECT_NAME:-sandbox}\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ '

alias ll='ls -alF'
alias la='ls -A'

# Start the AI coding CLI once per pod, not on every (re)connect: /tmp is the container's
# own filesystem, so the marker disappears when the pod restarts. mkdir is atomic, so two
# tabs opening at once start it only once. FSA_AI_CLI_MARKER is overridable for tests.
# Without a credential it would only open a sign-in screen over the shell: say how instead.
__fsa_ai_cli_marker="${FSA_AI_CLI_MARKER:-/tmp/.fullstack-ai-cli-started}"
if [[ -z "${FSA_SKIP_AI_CLI:-}" ]] && command -v claude >/dev/null 2>&1 \
  && mkdir "$__fsa_ai_cli_marker" 2>/dev/null; then
  if [[ -n "${ANTHROPIC_API_KEY:-}${ANTHROPIC_AUTH_TOKEN:-}" ]]; then
    echo "Starting the AI coding assistant (exit it to get a plain shell; run 'claude' to start it again)."
    claude || true
  else
    echo "AI coding assistant: run 'claude' (set ANTHROPIC_API_KEY in the project's environment to start it here automatically)."
  fi
fi
unset __fsa_ai_cli_marker
