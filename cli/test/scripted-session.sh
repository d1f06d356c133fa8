#!/usr/bin/env bash
# A scripted session with fsa (create --wait, env set, shell, stop), run by cli/cli.test.ts;
# its transcript lands in test-results/cli-session.txt. FSA_NODE and FSA_BIN say how to run
# fsa (node cli/bin/fsa.mjs); STRIPE_KEY is a secret from the environment.
set -euo pipefail
fsa() { "$FSA_NODE" "$FSA_BIN" "$@"; }
step() { printf '$ %s\n' "$1"; }

step 'fsa create shop --wait'
fsa create shop --wait
step 'fsa env set -p shop API_URL=https://api.example.com'
fsa env set -p shop API_URL=https://api.example.com
step 'printf %s "$STRIPE_KEY" | fsa env set -p shop STRIPE_KEY --secret'
printf %s "$STRIPE_KEY" | fsa env set -p shop STRIPE_KEY --secret
step 'fsa env ls shop'
fsa env ls shop
step "printf 'echo \$((6*7))\\nexit\\n' | fsa shell shop --quiet"
printf 'echo $((6*7))\nexit\n' | fsa shell shop --quiet
step 'fsa stop shop --wait'
fsa stop shop --wait
step 'fsa status shop'
fsa status shop
