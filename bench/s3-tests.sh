#!/usr/bin/env bash
# Runs a restricted copy of ceph s3-tests (the boto3/pytest suite, s3tests_boto3/functional)
# against Strata's S3 gateway and against radosgw side by side, and prints both pass counts.
# The suite is not part of this repository: point S3TESTS_DIR at a copy (default
# /tmp/s3-tests); the tests run are the names in bench/s3-tests.list (one a line, `#` comments).
# Needs python3-boto3, python3-pytest, python3-requests, and a built dist/ (npm run build).
# Usage: bench/s3-tests.sh [pytest -k expression]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SUITE="${S3TESTS_DIR:-/tmp/s3-tests}"
LIST="$ROOT/bench/s3-tests.list"
[[ -d "$SUITE/s3tests_boto3/functional" ]] || { echo "no s3-tests copy in $SUITE (set S3TESTS_DIR)" >&2; exit 2; }
WORK="$(mktemp -d /tmp/strata-s3tests.XXXXXX)"
PORT="${S3TESTS_PORT:-17590}"
cleanup() { [[ -n "${SPID:-}" ]] && kill "$SPID" 2>/dev/null; wait "${SPID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# Strata: a fresh server with two admin users (s3-tests' "main" and "alt").
mkdir -p "$WORK/data" "$WORK/ufs"
cat >"$WORK/data/users.json" <<JSON
{ "users": [
  { "name": "main", "accessKeyId": "S3TESTSMAIN000000001", "secretKey": "s3tests-main-secret-000001", "role": "admin" },
  { "name": "alt", "accessKeyId": "S3TESTSALT0000000001", "secretKey": "s3tests-alt-secret-0000001", "role": "admin" }
] }
JSON
chmod 600 "$WORK/data/users.json"
node "$ROOT/bin/strata.mjs" server --data-dir "$WORK/data" --root-ufs "file://$WORK/ufs" --port 0 --s3-port "$PORT" \
  >"$WORK/server.log" 2>&1 &
SPID=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.2; done

# radosgw: the shared test server, with a second user.
eval "$("$ROOT/scripts/s3-server.sh" start)"
CEPH_CONF="${STRATA_S3_DIR:-/tmp/strata-s3}/ceph.conf" radosgw-admin -n client.admin user create --uid=strata-s3tests-alt \
  --display-name=alt --access-key=STRATAS3TESTSALT0001 --secret-key=strata-s3tests-alt-secret-0001 >/dev/null 2>&1 || true

mapfile -t NAMES < <(grep -v '^\s*#' "$LIST" | sed '/^\s*$/d')
run() { # name endpoint main-key main-secret alt-key alt-secret api-name
  local out="$WORK/$1.txt"
  ( cd "$SUITE" && S3T_ENDPOINT="$2" S3T_MAIN_KEY="$3" S3T_MAIN_SECRET="$4" S3T_ALT_KEY="$5" S3T_ALT_SECRET="$6" S3T_API_NAME="$7" \
    timeout 1800 python3 -m pytest -q -p no:cacheprovider \
      "${NAMES[@]/#/s3tests_boto3/functional/test_s3.py::}" ${K:+-k "$K"} >"$out" 2>&1 || true )
  local passed failed
  passed="$(grep -Eo '[0-9]+ passed' "$out" | grep -Eo '[0-9]+' || echo 0)"
  failed="$(grep -Eo '[0-9]+ failed' "$out" | grep -Eo '[0-9]+' || echo 0)"
  printf '%-8s %s/%s passed (%s tests listed)\n' "$1" "$passed" "$((passed + failed))" "${#NAMES[@]}"
  grep -E '^FAILED' "$out" | sed "s/^/  $1 /" || true
}
K="${1:-}"
run gateway "http://127.0.0.1:$PORT" S3TESTSMAIN000000001 s3tests-main-secret-000001 S3TESTSALT0000000001 s3tests-alt-secret-0000001 eu-west-1
run radosgw "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" STRATAS3TESTSALT0001 strata-s3tests-alt-secret-0001 default
