#!/usr/bin/env bash
# pjdfstest (the POSIX file-system conformance suite, github.com/pjd/pjdfstest) inside a Strata
# FUSE mount and inside `rclone mount` of a local directory, side by side, as root. Prints the
# pass counts per test directory and in total for both mounts: test files (a file passes when
# every subtest it plans passes) and subtests.
#
#   bench/pjdfstest.sh [--pjdfstest DIR] [--only strata|rclone] [--tcp] [--keep] [DIR...]
#   bench/pjdfstest.sh --report OUTDIR [DIR...]   (the tables again from a run's TAP files)
#
# PJDFSTEST_LANES (default 4): test directories run at once per mount; the TAP output of each
# test file is left in PJDFSTEST_OUT (default /tmp/pjdfstest-out/{strata,rclone}/DIR-NN.tap).
#
# pjdfstest is not part of this repository: DIR (default /tmp/pjdfstest, or $PJDFSTEST) must
# hold a built `pjdfstest` binary (`cc -o pjdfstest pjdfstest.c`) and its tests/ directory
# (tests/misc.sh, tests/conf, tests/OPERATION/NN.t). Debian's `prove` is not needed: each .t
# file is run with sh and its TAP output counted here.
#
# The chosen part: the test directories of the operations the FUSE issue lists (DIR... to run
# fewer). link/, symlink/, mkfifo/, mknod/ are left out (the part stays the one the figures in
# docs/fuse.md were first measured on; hard links do not exist in Strata, symbolic links, FIFOs,
# sockets and devices are namespace-only inodes: docs/fuse.md, "Special files"); chflags/ is
# FreeBSD only; granular/ is NFSv4 ACLs. The tests inside the chosen directories that create
# FIFOs, sockets, device nodes or symbolic links as one of their file types are kept (the
# totals without them are printed too: docs/fuse.md, "Conformance (pjdfstest)").
#
# Strata: `strata fuse mount MNT --embedded --data-dir D --background` (an in-process
# Coordinator whose root UFS is D/ufs), or with --tcp a `strata server` on a loopback port and
# a TCP mount of it. rclone 1.60: `rclone mount D/ufs MNT --vfs-cache-mode writes
# --default-permissions --allow-other` (the options that make it enforce modes and owners),
# each suite in its own subdirectory. Both mounts run at once; everything is unmounted at the end.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
PJD=${PJDFSTEST:-/tmp/pjdfstest}
ONLY=""
TCP=0
KEEP=0
REPORT=""
LANES=${PJDFSTEST_LANES:-4}
DIRS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pjdfstest) PJD=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --tcp) TCP=1; shift ;;
    --keep) KEEP=1; shift ;;
    --report) REPORT=$2; shift 2 ;;
    -h|--help) sed -n 2,25p "$0"; exit 0 ;;
    *) DIRS+=("$1"); shift ;;
  esac
done
[ ${#DIRS[@]} -gt 0 ] || DIRS=(chmod chown ftruncate mkdir open posix_fallocate rename rmdir truncate unlink utimensat)
[ -n "$REPORT" ] || [ "$(id -u)" = 0 ] || { echo "run as root (the suite changes owners and runs calls as other users)" >&2; exit 2; }
[ -n "$REPORT" ] || { [ -x "$PJD/pjdfstest" ] && [ -r "$PJD/tests/misc.sh" ]; } || { echo "no built pjdfstest in $PJD (see the header of $0)" >&2; exit 2; }

if [ -n "$REPORT" ]; then
  OUT=$REPORT
  START=""
fi
setup() {
BASE=$(mktemp -d /tmp/strata-pjdfstest-XXXXXX)
chmod 755 "$BASE"  # other users (nobody, 65533…) must reach the mounts
D="$BASE/data"; MS="$BASE/strata"; MR="$BASE/rclone"; OUT="$BASE/out"
mkdir -p "$D/ufs" "$MS" "$MR" "$OUT"
SERVER_PID=""; RCLONE_PID=""
trap cleanup EXIT
}

cleanup() {
  set +e
  if mountpoint -q "$MS"; then node "$HERE/bin/strata.mjs" fuse unmount "$MS" >/dev/null 2>&1 || fusermount3 -u -z "$MS"; fi
  if [ -n "$RCLONE_PID" ]; then fusermount3 -u -z "$MR" 2>/dev/null; kill "$RCLONE_PID" 2>/dev/null; fi
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  sleep 1
  # The TAP output of every test file stays for reading failures.
  rm -rf "${PJDFSTEST_OUT:-/tmp/pjdfstest-out}" && cp -r "$OUT" "${PJDFSTEST_OUT:-/tmp/pjdfstest-out}" 2>/dev/null
  [ "$KEEP" = 1 ] && echo "kept $BASE" || rm -rf "$BASE"
}

wait_mounted() {
  for _ in $(seq 1 100); do mountpoint -q "$1" && return 0; sleep 0.2; done
  echo "$1 did not get mounted" >&2; return 1
}

# run_suite MOUNT NAME: every chosen .t file, one TAP file each in OUT/NAME/. Each test directory
# runs in its own work directory MOUNT/NAME-run/DIR, LANES directories at a time (the suite
# mostly waits: its ctime checks sleep a second each).
run_suite() {
  local mnt=$1 name=$2 d
  mkdir -p "$mnt/$name-run" "$OUT/$name"
  chmod 755 "$mnt/$name-run"
  for d in "${DIRS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$LANES" ]; do wait -n || true; done
    (
      work="$mnt/$name-run/$d"
      mkdir -p "$work" && chmod 755 "$work"
      for t in "$PJD"/tests/"$d"/*.t; do
        [ -e "$t" ] || continue
        (cd "$work" && timeout 900 sh "$t" >"$OUT/$name/$d-$(basename "$t" .t).tap" 2>/dev/null) || true
      done
    ) &
  done
  wait
}

# count NAME DIR: "files_passed files subtests_passed subtests" of OUT/NAME/DIR-*.tap.
count() {
  awk '
    FNR == 1 { if (f) close(f); f = FILENAME; files++; plan[f] = -1 }
    /^1\.\.[0-9]+/ { sub(/^1\.\./, ""); plan[f] = $0 + 0 }
    /^ok / { ok[f]++; next }
    /^not ok [0-9]+ # TODO/ { ok[f]++; next }
    /^not ok / { bad[f]++ }
    END {
      for (x in plan) {
        p = plan[x]; sp += (p > 0 ? p : 0)
        good = ok[x] + 0; if (good > p) good = p
        st += good
        if (p > 0 && ok[x] + 0 == p && bad[x] + 0 == 0) fp++
      }
      printf "%d %d %d %d\n", fp, files, st, sp
    }' "$OUT/$1/$2"*.tap
}

report() {
  commit=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')
  echo "pjdfstest ${START:-?} · strata commit ${commit}$([ "$TCP" = 1 ] && echo ' (TCP mount)' || echo ' (embedded mount)') · $(rclone version 2>/dev/null | head -1) · load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-16s | %-22s | %-22s\n' directory "strata files / subtests" "rclone files / subtests"
  declare -A T=([strata]="0 0 0 0" [rclone]="0 0 0 0")
  for d in "${DIRS[@]}"; do
    line=$(printf '%-16s' "$d")
    for n in strata rclone; do
      if [ -d "$OUT/$n" ] && ls "$OUT/$n/$d"-*.tap >/dev/null 2>&1; then
        read -r fp f sp s < <(count "$n" "$d-")
        read -r a b c e <<<"${T[$n]}"
        T[$n]="$((a + fp)) $((b + f)) $((c + sp)) $((e + s))"
        line+=$(printf ' | %3d/%-3d  %5d/%-6d' "$fp" "$f" "$sp" "$s")
      else
        line+=$(printf ' | %-22s' '-')
      fi
    done
    echo "$line"
  done
  line=$(printf '%-16s' total)
  for n in strata rclone; do
    read -r a b c e <<<"${T[$n]}"
    if [ "$b" -gt 0 ]; then
      line+=$(printf ' | %3d/%-3d  %5d/%-6d' "$a" "$b" "$c" "$e")
      pct+=$(awk -v n="$n" -v a="$a" -v b="$b" -v c="$c" -v e="$e" 'BEGIN { printf "%s: files %.1f%%, subtests %.1f%%   ", n, 100*a/b, 100*c/e }')
    else
      line+=$(printf ' | %-22s' '-')
    fi
  done
  echo "$line"
  echo "${pct:-}"
  # The same without the test files that use FIFOs, sockets, device nodes, symbolic links or
  # hard links (comparable with runs from before Strata had special files).
  PLAIN=$(mktemp -d); 
  for n in strata rclone; do
    [ -d "$OUT/$n" ] || continue
    mkdir -p "$PLAIN/$n"
    for d in "${DIRS[@]}"; do
      for t in "$PJD"/tests/"$d"/*.t; do
        [ -e "$t" ] || continue
        grep -Eq 'fifo|socket|symlink|mknod|bind |[^a-z_]link |ln -s|require link' "$t" && continue
        tap="$OUT/$n/$d-$(basename "$t" .t).tap"
        [ -e "$tap" ] && cp "$tap" "$PLAIN/$n/"
      done
    done
  done
  line="without the files that need FIFOs, sockets, devices, symlinks or hard links:"
  for n in strata rclone; do
    [ -d "$PLAIN/$n" ] || continue
    read -r a b c e < <(OUT="$PLAIN" count "$n" "")
    line+=$(awk -v n="$n" -v a="$a" -v b="$b" -v c="$c" -v e="$e" 'BEGIN { printf "  %s %d/%d files (%.1f%%), %d/%d subtests (%.1f%%)", n, a, b, 100*a/b, c, e, 100*c/e }')
  done
  echo "$line"
  # The failing subtests, for docs/fuse.md.
  for n in strata rclone; do
    [ -d "$OUT/$n" ] || continue
    echo "--- $n: failing subtests"
    grep -H "^not ok" "$OUT/$n"/*.tap | sed "s#$OUT/$n/##" | cut -c1-220 | head -2000 || true
  done > "${PJDFSTEST_FAILURES:-/tmp/pjdfstest-failures.txt}"
  rm -rf "$PLAIN"
  echo "failing subtests: ${PJDFSTEST_FAILURES:-/tmp/pjdfstest-failures.txt}"
}

main() {
  START=$(date -u +%FT%TZ)
  if [ "$ONLY" != rclone ]; then
    if [ "$TCP" = 1 ]; then
      # A loopback server without credentials (the mount runs as root, like the suite).
    node "$HERE/bin/strata.mjs" server --data-dir "$D" --port 0 --insecure-no-auth >"$BASE/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 150); do grep -q '^strata listening on' "$BASE/server.log" 2>/dev/null && break; sleep 0.2; done
    PORT=$(sed -n 's/^strata listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$BASE/server.log" | head -1)
    [ -n "$PORT" ] || { echo "the server did not start: $(tail -3 "$BASE/server.log")" >&2; exit 1; }
    node "$HERE/bin/strata.mjs" fuse mount "$MS" --address "127.0.0.1:$PORT" --background --log-file "$BASE/fuse.log" >/dev/null
    else
      node "$HERE/bin/strata.mjs" fuse mount "$MS" --embedded --data-dir "$D" --background --log-file "$BASE/fuse.log" >/dev/null
    fi
    wait_mounted "$MS"
  fi
  if [ "$ONLY" != strata ]; then
    mkdir -p "$D/ufs/rclone-run"
    AWS_CA_BUNDLE= rclone mount "$D/ufs" "$MR" --config /dev/null --allow-other --default-permissions \
      --vfs-cache-mode writes --cache-dir "$BASE/rclone-cache" >"$BASE/rclone.log" 2>&1 &
    RCLONE_PID=$!
    wait_mounted "$MR"
  fi

  pids=()
  [ "$ONLY" != rclone ] && { run_suite "$MS" strata & pids+=($!); }
  [ "$ONLY" != strata ] && { run_suite "$MR" rclone & pids+=($!); }
  for p in "${pids[@]}"; do wait "$p"; done
  report
}

if [ -n "$REPORT" ]; then
  report
else
  setup
  main
fi
exit
