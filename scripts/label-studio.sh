#!/usr/bin/env bash
# A local Label Studio for this project: start | stop | status | venv.
#
# The server runs from its own virtual environment (label-studio pins its own SDK), installed
# from scripts/label-studio.lock (every package at an exact version, with its sha256) and cached
# in ${XDG_CACHE_HOME:-$HOME/.cache}/raidcorpus/label-studio-VERSION-DIGEST, where DIGEST starts
# the lock's sha256: a changed lock gets a new environment, a stale one is never used. It listens
# on 127.0.0.1 only
# and keeps its data in .label-studio/ (ignored by git), so a restart keeps every annotation.
# The admin password and API token are generated on first start and kept in
# .label-studio/credentials (mode 600); they are never printed.
#
# Environment: LABEL_STUDIO_PORT (default 8080), LABEL_STUDIO_DATA (default .label-studio),
# PYTHON (default python3.11), LABEL_STUDIO_FEEDBACK_PORT (default: the port + 1). `start --no-push`
# skips pushing the corpus. `start` also runs `raidcorpus feedback`, the webhook receiver that shows
# annotators the validation problems of their work; with LABEL_STUDIO_RECOMMENDER=1 also
# `raidcorpus recommend` on the port + 2 (LABEL_STUDIO_RECOMMENDER_PORT), the ML backend that
# proposes the MUC-4 key fillers and strings annotated elsewhere, which push connects to the project.
# It is off by default: both annotators of a task would see the same proposals, and Label Studio
# 1.23.2 refuses the connection's settings (HTTP 400) on the project of the whole corpus. `stop`
# stops whatever runs.
# LABEL_STUDIO_DB=postgresql (`make label DB=postgresql`) keeps Label Studio's database in a
# PostgreSQL cluster of its own in .label-studio/postgres instead of SQLite. Open sign-up is closed
# (LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK) unless LABEL_STUDIO_OPEN_SIGNUP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOCK="$ROOT/scripts/label-studio.lock"
LS_VERSION="$(sed -n 's/^label-studio==\([^ ]*\) .*/\1/p' "$LOCK")"
LOCK_DIGEST="$(sha256sum "$LOCK" | cut -c1-16)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/raidcorpus/label-studio-$LS_VERSION-$LOCK_DIGEST"
PORT="${LABEL_STUDIO_PORT:-8080}"
DATA="${LABEL_STUDIO_DATA:-$ROOT/.label-studio}"
URL="http://127.0.0.1:$PORT"
PIDFILE="$DATA/server.pid"
LOG="$DATA/server.log"
CREDENTIALS="$DATA/credentials"

say() { echo "label-studio.sh: $*" >&2; }

ensure_venv() {
  # The stamp is written last: an environment whose install was cut off is rebuilt, never used.
  if [ -f "$CACHE/.complete" ]; then return; fi
  mkdir -p "$(dirname "$CACHE")"
  exec 9>"$CACHE.flock"
  flock 9  # two clones starting at once: one installs, the other waits for it
  if [ -f "$CACHE/.complete" ]; then return; fi
  local t0=$SECONDS
  say "[1/4] installing Label Studio $LS_VERSION from scripts/label-studio.lock into its own environment"
  say "      $CACHE (once per machine and lock; about 2-3 minutes, mostly downloads)"
  rm -rf "$CACHE"
  "${PYTHON:-python3.11}" -m venv "$CACHE"
  "$CACHE/bin/pip" install -q --no-deps --require-hashes -r "$LOCK"
  "$CACHE/bin/pip" check >/dev/null
  cp "$LOCK" "$CACHE/.complete"
  say "      done in $((SECONDS - t0)) s"
}

# alive PIDFILE: the process a pid file names is running (the server, the feedback receiver, the recommender).
alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

running() { alive "$PIDFILE"; }

ensure_credentials() {
  mkdir -p "$DATA"
  chmod 700 "$DATA"
  if [ ! -f "$CREDENTIALS" ]; then
    (
      umask 077
      "$CACHE/bin/python" - >"$CREDENTIALS" <<'PY'
import secrets
print("LABEL_STUDIO_USERNAME=admin@raidcorpus.local")
print("LABEL_STUDIO_PASSWORD=" + secrets.token_urlsafe(18))
print("LABEL_STUDIO_API_KEY=" + secrets.token_hex(20))
PY
    )
  fi
  chmod 600 "$CREDENTIALS"
}

read_credential() {
  sed -n "s/^$1=//p" "$CREDENTIALS"
}

# --- PostgreSQL (LABEL_STUDIO_DB=postgresql, `make label DB=postgresql`) ---------------------
# Debian's postgresql runs a cluster of the project's own in $DATA/postgres, reachable only
# through a Unix socket in that folder (no TCP port), as the calling user, or as `postgres`
# when called as root (PostgreSQL refuses to run as root).
DB="${LABEL_STUDIO_DB:-sqlite}"
PGDIR="$DATA/postgres"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() {
  [ -n "$PG_BIN" ] && [ -f "$PGDIR/PG_VERSION" ] || return 1
  if [ "$(id -u)" = 0 ]; then chmod 711 "$DATA"; fi
  as_pg "$PG_BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1
}

pg_start() {
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    say "PostgreSQL is not installed: run 'apt-get install postgresql' (scripts/install-system-deps.sh does)"
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then chmod 711 "$DATA"; fi  # postgres must reach its folder; credentials stay 600
  if [ ! -f "$PGDIR/PG_VERSION" ]; then
    say "[db] creating a PostgreSQL cluster in ${PGDIR#"$ROOT/"} (once, a few seconds)"
    mkdir -p "$PGDIR"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
    chmod 700 "$PGDIR"
    as_pg "$PG_BIN/initdb" -D "$PGDIR" -U labelstudio --auth=trust -E UTF8 >/dev/null
  fi
  if [ "$(id -u)" = 0 ]; then chmod 711 "$DATA"; fi  # postgres must reach its folder; credentials stay 600
  if ! pg_running; then
    say "[db] starting PostgreSQL (socket in ${PGDIR#"$ROOT/"})"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDIR" -w -l "$PGDIR/server.log" -o "-k $PGDIR -c listen_addresses= -p 5432" start >/dev/null
  fi
  if ! as_pg "$PG_BIN/psql" -h "$PGDIR" -U labelstudio -d postgres -tAc "select 1 from pg_database where datname = 'labelstudio'" | grep -q 1; then
    as_pg "$PG_BIN/createdb" -h "$PGDIR" -U labelstudio labelstudio
  fi
  export DJANGO_DB=default POSTGRE_NAME=labelstudio POSTGRE_USER=labelstudio POSTGRE_PASSWORD=unused \
    POSTGRE_HOST="$PGDIR" POSTGRE_PORT=5432
}

pg_stop() {
  if pg_running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PGDIR" -w -m fast stop >/dev/null && echo "PostgreSQL stopped"
  fi
}

MIGRATIONS=396  # in Label Studio 1.23.2's SQLite database

migrations() {  # how many migrations the new database has so far
  if [ "$DB" = postgresql ]; then
    as_pg "$PG_BIN/psql" -h "$PGDIR" -U labelstudio -d labelstudio -tAc "select count(*) from django_migrations" 2>/dev/null || echo 0
    return
  fi
  "$CACHE/bin/python" - "$DATA/data/label_studio.sqlite3" <<'PY' 2>/dev/null || echo 0
import sqlite3, sys
try:
    print(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("select count(*) from django_migrations").fetchone()[0])
except Exception:
    print(0)
PY
}

healthy() {
  "$CACHE/bin/python" - "$URL/health" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=3).status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

start() {
  local push=1
  [ "${1:-}" = "--no-push" ] && push=0
  ensure_venv
  ensure_credentials
  if running; then
    echo "Label Studio is already running at $URL"
  else
    mkdir -p "$DATA/data"
    case "$DB" in
      sqlite) ;;
      postgresql) pg_start ;;
      *) say "LABEL_STUDIO_DB must be sqlite or postgresql, not '$DB'"; exit 2 ;;
    esac
    (
      cd "$DATA"
      export LATEST_VERSION_CHECK=false
      # Webhooks go to our feedback receiver on 127.0.0.1, which the SSRF guard would refuse;
      # the server itself listens on 127.0.0.1 only.
      export SSRF_PROTECTION_ENABLED=false
      # The same for the recommender (`raidcorpus recommend`), an ML backend on 127.0.0.1.
      export ML_BLOCK_LOCAL_IP=false
      export LABEL_STUDIO_USERNAME LABEL_STUDIO_PASSWORD LABEL_STUDIO_USER_TOKEN
      LABEL_STUDIO_USERNAME="$(read_credential LABEL_STUDIO_USERNAME)"
      LABEL_STUDIO_PASSWORD="$(read_credential LABEL_STUDIO_PASSWORD)"
      LABEL_STUDIO_USER_TOKEN="$(read_credential LABEL_STUDIO_API_KEY)"
      # Every account in a Community organization sees every project: no open sign-up.
      if [ "${LABEL_STUDIO_OPEN_SIGNUP:-}" != 1 ]; then export LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true; fi
      nohup setsid "$CACHE/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$PORT" \
        --data-dir "$DATA/data" --enable-legacy-api-token >"$LOG" 2>&1 </dev/null &
      echo $! >"$PIDFILE"
    )
    local t0=$SECONDS first=0 last=0
    [ -f "$DATA/.migrated" ] || first=1
    if [ "$first" = 1 ]; then
      say "[2/4] first start at $URL: creating the database (about $MIGRATIONS migrations; 1-2 minutes on"
      say "      2 cores, then the admin account); later starts take about 10 s"
    else
      say "[2/4] starting Label Studio at $URL (about 10 s)"
    fi
    for _ in $(seq 1 600); do
      if healthy; then break; fi
      if ! running; then
        say "Label Studio exited during start; last lines of $LOG:"
        tail -n 20 "$LOG" >&2
        exit 1
      fi
      if [ $((SECONDS - last)) -ge 10 ]; then
        last=$SECONDS
        if [ "$first" = 1 ]; then
          say "      $((SECONDS - t0)) s: $(migrations) of about $MIGRATIONS migrations applied"
        else
          say "      $((SECONDS - t0)) s: waiting for the server"
        fi
      fi
      sleep 1
    done
    if ! healthy; then
      say "Label Studio did not become healthy within 600 s; see $LOG"
      exit 1
    fi
    touch "$DATA/.migrated"
    say "      ready after $((SECONDS - t0)) s"
  fi
  local connect=()
  if start_recommender; then connect=(--recommender "http://127.0.0.1:$RECOMMENDER_PORT"); fi
  if [ "$push" = 1 ] && [ -d "$ROOT/corpus" ]; then
    say "[3/4] pushing the corpus into the project (raidcorpus push ${connect[*]})"
    (
      cd "$ROOT"
      LABEL_STUDIO_URL="$URL" LABEL_STUDIO_API_KEY="$(read_credential LABEL_STUDIO_API_KEY)" \
        "$ROOT/.venv/bin/raidcorpus" push "${connect[@]}"
    )
  fi
  start_feedback
  say "[4/4] ready"
  echo "Label Studio: $URL"
  echo "log in as $(read_credential LABEL_STUDIO_USERNAME); the password is in ${CREDENTIALS#"$ROOT/"} (never printed)"
  echo "next:"
  echo "  export LABEL_STUDIO_URL=$URL"
  echo "  export LABEL_STUDIO_API_KEY=\$(sed -n 's/^LABEL_STUDIO_API_KEY=//p' ${CREDENTIALS#"$ROOT/"})"
  echo "  .venv/bin/raidcorpus annotators add ANNOTATOR@EXAMPLE.ORG   # one account per annotator"
  echo "  .venv/bin/raidcorpus pull                                    # after they have annotated"
}

# --- the feedback receiver: validation problems shown to annotators (raidcorpus feedback) ---
FEEDBACK_PORT="${LABEL_STUDIO_FEEDBACK_PORT:-$((PORT + 1))}"
FEEDBACK_PID="$DATA/feedback.pid"
FEEDBACK_LOG="$DATA/feedback.log"

start_feedback() {
  if alive "$FEEDBACK_PID"; then return; fi
  if [ ! -x "$ROOT/.venv/bin/raidcorpus" ]; then
    echo "no $ROOT/.venv: the feedback receiver is not started (run make label)" >&2
    return
  fi
  (
    cd "$ROOT"
    export LABEL_STUDIO_URL="$URL"
    LABEL_STUDIO_API_KEY="$(read_credential LABEL_STUDIO_API_KEY)"
    export LABEL_STUDIO_API_KEY
    nohup setsid "$ROOT/.venv/bin/raidcorpus" feedback --port "$FEEDBACK_PORT" >"$FEEDBACK_LOG" 2>&1 </dev/null &
    echo $! >"$FEEDBACK_PID"
  )
  echo "feedback receiver on 127.0.0.1:$FEEDBACK_PORT (log: $FEEDBACK_LOG)"
}

# --- the recommender: an ML backend Label Studio asks when a task opens (raidcorpus recommend) ---
RECOMMENDER_PORT="${LABEL_STUDIO_RECOMMENDER_PORT:-$((PORT + 2))}"
RECOMMENDER_PID="$DATA/recommender.pid"
RECOMMENDER_LOG="$DATA/recommender.log"

# start_recommender: start it when LABEL_STUDIO_RECOMMENDER=1; true when it answers /health.
start_recommender() {
  if [ "${LABEL_STUDIO_RECOMMENDER:-0}" != 1 ]; then
    echo "recommender off (LABEL_STUDIO_RECOMMENDER=1 starts it): annotators start from nothing"
    return 1
  fi
  if [ ! -x "$ROOT/.venv/bin/raidcorpus" ]; then
    echo "no $ROOT/.venv: the recommender is not started (run make label)" >&2
    return 1
  fi
  if ! alive "$RECOMMENDER_PID"; then
    (
      cd "$ROOT"
      nohup setsid "$ROOT/.venv/bin/raidcorpus" recommend --port "$RECOMMENDER_PORT" >"$RECOMMENDER_LOG" 2>&1 </dev/null &
      echo $! >"$RECOMMENDER_PID"
    )
  fi
  # Label Studio checks /health when push connects it: wait until it answers (it reads the layers first)
  for _ in $(seq 1 120); do
    if "$ROOT/.venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "http://127.0.0.1:$RECOMMENDER_PORT/health" 2>/dev/null; then
      echo "recommender on 127.0.0.1:$RECOMMENDER_PORT (log: $RECOMMENDER_LOG)"
      return 0
    fi
    alive "$RECOMMENDER_PID" || break
    sleep 0.5
  done
  echo "the recommender did not answer on 127.0.0.1:$RECOMMENDER_PORT; see $RECOMMENDER_LOG" >&2
  return 1
}

# terminate PID TRIES DELAY: TERM the process group (or the process) and wait up to TRIES x DELAY s.
terminate() {
  kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1"
  for _ in $(seq 1 "$2"); do
    kill -0 "$1" 2>/dev/null || break
    sleep "$3"
  done
}

# stop_service PIDFILE: stop a helper process (feedback receiver, recommender) and forget its pid.
stop_service() {
  if alive "$1"; then
    terminate "$(cat "$1")" 20 0.25
  fi
  rm -f "$1"
}

stop() {
  stop_service "$FEEDBACK_PID"
  stop_service "$RECOMMENDER_PID"
  if running; then
    local pid
    pid="$(cat "$PIDFILE")"
    terminate "$pid" 30 0.5
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
    echo "Label Studio stopped"
  else
    echo "Label Studio is not running"
  fi
  rm -f "$PIDFILE"
  pg_stop
}

status() {
  if running && healthy; then
    echo "Label Studio is running at $URL"
  elif running; then
    echo "Label Studio is starting (or unhealthy) at $URL; see $LOG"
  else
    echo "Label Studio is not running"
    return 3
  fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  venv) ensure_venv; echo "$CACHE" ;;
  *) echo "usage: $0 start [--no-push] | stop | status | venv" >&2; exit 2 ;;
esac
