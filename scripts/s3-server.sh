#!/usr/bin/env bash
# A real S3 server on loopback for Strata's tests and for users trying Strata: Ceph's RADOS
# Gateway (Debian package radosgw 16.2.15) over a one-node, in-memory Ceph cluster (one
# ceph-mon, one memstore OSD). Everything (config, mon and OSD data, sockets, logs, pid
# files) lives under one directory, removed by `stop`. Data is lost when the OSD stops.
#
#   scripts/s3-server.sh start    install if missing, start, wait until ready, print env
#   scripts/s3-server.sh env      print the export lines of the running server
#   scripts/s3-server.sh status   say whether it runs (exit 0) or not (exit 1)
#   scripts/s3-server.sh stop     kill its daemons and remove the directory
#   scripts/s3-server.sh mb NAME  create bucket NAME (rb NAME removes an empty one)
#
#   eval "$(scripts/s3-server.sh start)"     # then AWS_* and S3_ENDPOINT are set
#
# Environment: STRATA_S3_DIR (default /tmp/strata-s3), S3_PORT (default 7480),
# S3_FRONTEND (beast | civetweb, default beast), S3_MON_PORT (default S3_PORT + 10000).
# Progress and errors go to stderr; only the export lines go to stdout.
set -Eeuo pipefail

DIR="${STRATA_S3_DIR:-/tmp/strata-s3}"
PORT="${S3_PORT:-7480}"
FRONTEND="${S3_FRONTEND:-beast}"
MON_PORT="${S3_MON_PORT:-$((PORT + 10000))}"
ACCESS_KEY="STRATATESTACCESSKEY0"
SECRET_KEY="strataTestSecretKey0000000000000000000000"
REGION="${AWS_REGION:-us-east-1}"
CONF="$DIR/ceph.conf"
# start/stop are serialised by this lock (outside $DIR, which stop removes); daemons are
# started with fd 9 closed so that they never hold it.
LOCK_FILE="${DIR%/}.lock"
export CEPH_CONF="$CONF"

log() { printf 's3-server: %s\n' "$*" >&2; }

print_env() {
  # Values of the running server come from the state file written by `start`.
  local port="$PORT"
  [[ -f "$DIR/state" ]] && port="$(sed -n 's/^port=//p' "$DIR/state")"
  cat <<EOF
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$REGION
export S3_ENDPOINT=http://127.0.0.1:$port
EOF
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

http_ready() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"; }

is_running() {
  [[ -f "$DIR/state" ]] || return 1
  local port
  port="$(sed -n 's/^port=//p' "$DIR/state")"
  pid_alive "$DIR/run/mon.a.pid" && pid_alive "$DIR/run/osd.0.pid" && pid_alive "$DIR/run/client.rgw.pid" &&
    http_ready "$port"
}

show_logs() {
  log "start failed; last lines of the logs under $DIR/log:"
  local f
  for f in "$DIR"/log/*.log; do
    [[ -f "$f" ]] || continue
    printf '==> %s <==\n' "$f" >&2
    tail -n 25 "$f" >&2
  done
}

# Start failed: show why, stop what did start, keep the directory (logs) until the next start.
on_failure() {
  trap - ERR
  show_logs
  kill_pidfile "$DIR/run/client.rgw.pid"
  kill_pidfile "$DIR/run/osd.0.pid"
  kill_pidfile "$DIR/run/mon.a.pid"
  log "logs kept in $DIR/log (removed by the next start or by stop)"
  exit 1
}

ensure_installed() {
  if command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v radosgw >/dev/null &&
     command -v radosgw-admin >/dev/null && command -v monmaptool >/dev/null; then
    return 0
  fi
  if [[ "$(id -u)" != 0 ]]; then
    log "ceph-mon, ceph-osd and radosgw are not installed; run as root or: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw"
    exit 1
  fi
  log "installing ceph-mon ceph-osd radosgw (apt-get) ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw >&2
  fi
}

kill_pidfile() {
  local f="$1" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

do_stop() {
  if [[ -d "$DIR" ]]; then
    kill_pidfile "$DIR/run/client.rgw.pid"
    kill_pidfile "$DIR/run/osd.0.pid"
    kill_pidfile "$DIR/run/mon.a.pid"
    rm -rf "$DIR"
  fi
}

write_conf() {
  local fsid="$1" frontends
  if [[ "$FRONTEND" == civetweb ]]; then
    frontends="civetweb port=127.0.0.1:$PORT num_threads=64 tcp_nodelay=1"
  else
    frontends="beast endpoint=127.0.0.1:$PORT tcp_nodelay=1"
  fi
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms cluster mode = crc
ms service mode = crc
mon warn on insecure global id reclaim allowed = false
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
mon data = $DIR/mon/\$name
osd data = $DIR/osd/\$name
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail crit = 1
mon data avail warn = 2
mon max pg per osd = 1000
paxos propose interval = 0.05
paxos min wait = 0.01
mon osd laggy halflife = 1
osd max object name len = 1024
osd max object namespace len = 256
debug ms = 0
[client.rgw]
rgw frontends = $frontends
rgw data = $DIR/rgw
rgw dns name = localhost
rgw enable usage log = false
rgw thread pool size = 128
EOF
}

# The daemons of a server started earlier are alive: give a loaded machine time to answer
# (a busy radosgw can take longer than one probe) before calling the server dead. Stopping a
# live server here would wipe the buckets of every test that shares it.
daemons_alive() {
  [[ -f "$DIR/state" ]] && pid_alive "$DIR/run/mon.a.pid" && pid_alive "$DIR/run/osd.0.pid" && pid_alive "$DIR/run/client.rgw.pid"
}

do_start() {
  if is_running; then
    print_env
    return 0
  fi
  if daemons_alive; then
    local port i
    port="$(sed -n 's/^port=//p' "$DIR/state")"
    for i in $(seq 1 30); do
      if http_ready "$port"; then print_env; return 0; fi
      daemons_alive || break
      sleep 1
    done
    log "radosgw's daemons run but it has not answered on port $port for 30 s: restarting it"
  fi
  if [[ -d "$DIR" ]]; then
    log "removing the remains of a stopped server in $DIR"
    do_stop
  fi
  ensure_installed
  if http_ready "$PORT"; then
    log "port $PORT is already taken by another server (set S3_PORT)"
    exit 1
  fi
  local t0=$SECONDS
  mkdir -p "$DIR"/{run,log,mon,osd/osd.0,rgw}
  local fsid osd_uuid
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  write_conf "$fsid"
  trap 'on_failure' ERR

  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" \
    --enable-all-features "$DIR/monmap" >"$DIR/log/setup.log" 2>&1
  ceph-mon --mkfs -i a --monmap "$DIR/monmap" >>"$DIR/log/setup.log" 2>&1
  ceph-mon -i a >>"$DIR/log/setup.log" 2>&1 9>&-

  local id
  id="$(ceph --connect-timeout 20 osd new "$osd_uuid" 2>>"$DIR/log/setup.log")"
  [[ "$id" == 0 ]] || { log "ceph osd new returned '$id', expected 0"; false; }
  ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/setup.log" 2>&1
  ceph-osd -i 0 >>"$DIR/log/setup.log" 2>&1 9>&-

  radosgw -n client.rgw >>"$DIR/log/setup.log" 2>&1 9>&-
  local ready=0
  for _ in $(seq 1 600); do
    if http_ready "$PORT"; then ready=1; break; fi
    pid_alive "$DIR/run/client.rgw.pid" || [[ ! -f "$DIR/run/client.rgw.pid" ]] || break
    sleep 0.1
  done
  if [[ $ready != 1 ]]; then log "radosgw did not answer on 127.0.0.1:$PORT"; false; fi

  radosgw-admin -n client.admin user create --uid=strata --display-name="Strata tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$DIR/log/setup.log" 2>&1
  printf 'port=%s\nfrontend=%s\nmon_port=%s\n' "$PORT" "$FRONTEND" "$MON_PORT" >"$DIR/state"
  trap - ERR
  log "radosgw ($FRONTEND) ready on http://127.0.0.1:$PORT in $((SECONDS - t0))s (data in $DIR, in memory)"
  print_env
}

# Create (PUT) or remove (DELETE) a bucket with curl's SigV4 signing (no AWS CLI needed).
bucket_op() {
  local method="$1" name="${2:-}" port code
  [[ -n "$name" ]] || { echo "usage: $0 mb|rb BUCKET" >&2; exit 2; }
  is_running || { log "not running (start it with: $0 start)"; exit 1; }
  port="$(sed -n 's/^port=//p' "$DIR/state")"
  code="$(curl -s -o "$DIR/log/last-bucket-op.xml" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" \
    --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    -X "$method" "http://127.0.0.1:$port/$name")"
  if [[ "$code" != 200 && "$code" != 204 ]]; then
    log "$method bucket $name: HTTP $code $(grep -o '<Code>[^<]*' "$DIR/log/last-bucket-op.xml" | sed 's/<Code>//')"
    exit 1
  fi
  log "bucket $name: $([[ $method == PUT ]] && echo created || echo removed)"
}

lock() {
  exec 9>"$LOCK_FILE"
  flock -w 600 9 || { log "timed out waiting for $LOCK_FILE"; exit 1; }
}

case "${1:-}" in
  start) lock; do_start ;;
  stop) lock; do_stop ;;
  env)
    if is_running; then print_env; else log "not running (start it with: $0 start)"; exit 1; fi ;;
  status)
    if is_running; then log "running on $(sed -n 's/^port=//p' "$DIR/state") (dir $DIR)"; else log "not running"; exit 1; fi ;;
  restart) lock; do_stop; do_start ;;
  mb) bucket_op PUT "${2:-}" ;;
  rb) bucket_op DELETE "${2:-}" ;;
  *) echo "usage: $0 start|stop|env|status|restart|mb BUCKET|rb BUCKET" >&2; exit 2 ;;
esac
