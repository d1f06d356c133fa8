#!/bin/sh
# initdb's $PGDATA when it holds no cluster, sets the password of `postgres` from
# POSTGRES_PASSWORD on every start, then runs the server on 0.0.0.0:5432 (scram-sha-256 for
# every host). TERM and INT both mean a fast shutdown (postgres itself would wait for
# clients on TERM), and the exit status is the server's.
set -eu

: "${PGDATA:?PGDATA is not set}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "entrypoint: POSTGRES_PASSWORD is not set" >&2
  exit 64
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username=postgres --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 -D "$PGDATA" > /dev/null
  rm -f "$pwfile"
  printf '%s\n' 'host all all 0.0.0.0/0 scram-sha-256' 'host all all ::/0 scram-sha-256' >> "$PGDATA/pg_hba.conf"
  echo "entrypoint: initialized $PGDATA as uid $(id -u)"
else
  # The kubelet's fsGroup handling may have made the volume group-writable since; PostgreSQL
  # refuses a data folder with more than u=rwx,g=rx.
  chmod 0700 "$PGDATA"
  # The Secret may have changed since initdb: the environment wins. Single-user mode reads
  # the statement from stdin, so the password shows up in no argument list.
  escaped="$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")"
  printf "ALTER ROLE postgres PASSWORD '%s';\n" "$escaped" | postgres --single -D "$PGDATA" -j postgres > /dev/null
fi

# Runtimes that mount a fresh tmpfs on /run hide the image's /var/run/postgresql (and
# uid 999 cannot create it there): the socket then goes to /tmp.
socket_dir=/var/run/postgresql
if ! mkdir -p "$socket_dir" 2>/dev/null || [ ! -w "$socket_dir" ]; then
  socket_dir=/tmp
fi

postgres -D "$PGDATA" -c listen_addresses='*' -c port=5432 -c unix_socket_directories="$socket_dir" &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null' INT TERM
# wait returns early when a trapped signal arrives; wait again for the server's own exit.
status=0
wait "$pid" || status=$?
if kill -0 "$pid" 2>/dev/null; then
  status=0
  wait "$pid" || status=$?
fi
exit "$status"
