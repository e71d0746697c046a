#!/usr/bin/env bash
# kura benchmark (issue 8): kura against the stock tar | zstd | age pipeline,
# restic and borg, on generated data of a chosen size.
#
#   bench/run.sh --size 256M --runs 3 [--out docs/BENCHMARKS.md] [--keep] [--no-build]
#
# Everything is written under a fresh scratch directory in
# ${BENCH_DIR:-/tmp/kura-bench} (never in the repository), removed on exit.
# See docs/BENCHMARKS.md for what each row measures.
set -euo pipefail

readonly OPERATOR="山田 太郎"
readonly SOURCES=(data/master logs/system logs/app)

# ---------------------------------------------------------------------------
# Internal sub-commands. The stock pipelines are several processes; to report
# their memory fairly against kura's single process, every stage runs under
# its own `/usr/bin/time -f %M`, and the script re-invokes itself so that the
# outer `/usr/bin/time -v` times the whole pipeline as one command.
# ---------------------------------------------------------------------------

# One stage of a pipeline, its peak RSS (KiB) written to $1.
stage() {
  local rss_file=$1
  shift
  /usr/bin/time -f %M -o "$rss_file" "$@"
}

# tar | zstd | age | tee OUT | sha256sum, run inside the demo directory.
internal_stock_backup() {
  local out=$1 recipient=$2 rss=$3
  stage "$rss/0.tar" tar -cf - "${SOURCES[@]}" \
    | stage "$rss/0.zstd" zstd -3 -T0 -q \
    | stage "$rss/0.age" age -r "$recipient" \
    | stage "$rss/0.tee" tee "$out" \
    | stage "$rss/0.sha256sum" sha256sum >"$out.sha256"
}

# age -d | zstd -d | sha256sum over every archive of a snapshot, one after the other.
internal_stock_verify() {
  local snapdir=$1 key=$2 rss=$3 i=0 f
  for f in "$snapdir"/*.tar.zst.age; do
    stage "$rss/$i.age" age -d -i "$key" "$f" \
      | stage "$rss/$i.zstd" zstd -d -q \
      | stage "$rss/$i.sha256sum" sha256sum >/dev/null
    i=$((i + 1))
  done
}

# age -d | zstd -d | tar -x of every archive into <to>/<archive name>/, as kura restore lays it out.
internal_stock_restore() {
  local snapdir=$1 key=$2 to=$3 rss=$4 i=0 f name
  for f in "$snapdir"/*.tar.zst.age; do
    name=$(basename "$f" .tar.zst.age)
    mkdir -p "$to/$name"
    stage "$rss/$i.age" age -d -i "$key" "$f" \
      | stage "$rss/$i.zstd" zstd -d -q \
      | stage "$rss/$i.tar" tar -xf - -C "$to/$name"
    i=$((i + 1))
  done
}

case "${1:-}" in
  __stock-backup) shift; internal_stock_backup "$@"; exit 0 ;;
  __stock-verify) shift; internal_stock_verify "$@"; exit 0 ;;
  __stock-restore) shift; internal_stock_restore "$@"; exit 0 ;;
esac

# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------

usage() {
  cat <<'EOF'
Usage: bench/run.sh [--size SIZE] [--runs N] [--out FILE] [--keep] [--no-build]

  --size SIZE   data to generate: 256M, 2G, 512MiB, 1GiB, or a number of MiB [256M]
  --runs N      rounds; every tool runs once per round, round-robin [3]
  --out FILE    append the results (machine, command line, table) to FILE
  --keep        keep the scratch directory (for looking at logs)
  --no-build    use the existing target/release/kura instead of building it

Scratch space: ${BENCH_DIR:-/tmp/kura-bench}/run.XXXXXX (about 5x SIZE free needed),
removed on exit; KURA_BENCH_KEEP_ON_ERROR=1 keeps it when a run fails.
Installs restic and borgbackup (and age, zstd, time) with apt-get if missing.
EOF
}

SIZE_ARG=256M
RUNS=3
OUT_FILE=""
KEEP=0
BUILD=1
COMMAND_LINE="bench/run.sh $*"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) SIZE_ARG=${2:?--size needs a value}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --out) OUT_FILE=${2:?--out needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() {
  echo "run.sh: error: $*" >&2
  exit 1
}

# "256M", "2G", "512MiB", "1GiB", "300" -> MiB
parse_size_mib() {
  local s=${1^^}
  s=${s%IB}
  s=${s%B}
  if [[ $s =~ ^([0-9]+)M?$ ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ $s =~ ^([0-9]+)G$ ]]; then
    echo $((BASH_REMATCH[1] * 1024))
  else
    return 1
  fi
}

SIZE_MIB=$(parse_size_mib "$SIZE_ARG") || die "--size: cannot read '$SIZE_ARG' (use e.g. 256M or 2G)"
[[ $SIZE_MIB -ge 1 ]] || die "--size must be at least 1 MiB"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SELF="$REPO/bench/run.sh"
if [[ -n $OUT_FILE && $OUT_FILE != /* ]]; then
  OUT_FILE="$PWD/$OUT_FILE" # the script changes directory later
fi

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------

# Installs missing Debian packages, or says exactly what is missing.
ensure_tools() {
  local missing=() cmd pkg
  local -A package_of=([restic]=restic [borg]=borgbackup [age]=age [zstd]=zstd [/usr/bin/time]=time)
  for cmd in restic borg age zstd /usr/bin/time tar sha256sum tee awk; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if [[ $BUILD -eq 1 ]] && ! command -v cargo >/dev/null 2>&1; then
    die "cargo is not installed (needed to build kura; or use --no-build)"
  fi
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local packages=()
  for cmd in "${missing[@]}"; do
    pkg=${package_of[$cmd]:-}
    [[ -n $pkg ]] || die "'$cmd' is not installed, and there is no Debian package this script knows for it"
    packages+=("$pkg")
  done
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing: ${missing[*]} — install the Debian packages: apt-get install ${packages[*]}"
  fi
  echo "Installing ${packages[*]} (apt-get)…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >/dev/null ||
    die "apt-get install ${packages[*]} failed"
  for cmd in "${missing[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is still missing after installing ${packages[*]}"
  done
}

# ---------------------------------------------------------------------------
# Scratch directory
# ---------------------------------------------------------------------------

SCRATCH=""
cleanup() {
  local rc=$?
  if [[ -n $SCRATCH && -d $SCRATCH ]]; then
    if [[ $KEEP -eq 1 || $rc -ne 0 && -n ${KURA_BENCH_KEEP_ON_ERROR:-} ]]; then
      echo "Scratch directory kept: $SCRATCH" >&2
    else
      rm -rf -- "$SCRATCH"
    fi
  fi
  exit "$rc"
}

make_scratch() {
  local base=${BENCH_DIR:-/tmp/kura-bench}
  base=$(realpath -m -- "$base")
  case "$base/" in
    "$REPO"/*) die "BENCH_DIR ($base) is inside the repository; use a directory outside it" ;;
  esac
  mkdir -p "$base"
  # What one round needs at its peak: the data, kura's snapshot, one other
  # tool's output and one restored copy (each at most about the data size),
  # plus the demo's own two snapshots while it generates; 5x + 512 MiB covers it.
  local need_mib=$((SIZE_MIB * 5 + 512))
  local avail_mib
  avail_mib=$(df -Pm "$base" | awk 'NR == 2 { print $4 }')
  if [[ $avail_mib -lt $need_mib ]]; then
    die "not enough space in $base: ${avail_mib} MiB free, ${need_mib} MiB needed for --size ${SIZE_MIB}M (set BENCH_DIR to a larger disk)"
  fi
  SCRATCH=$(mktemp -d "$base/run.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$SCRATCH/bin" "$SCRATCH/logs" "$SCRATCH/work"
}

# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------

# Bytes of the regular files under the given paths.
bytes_of() {
  find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d\n", s }'
}

# Drops writes still in the page cache of the previous measurement, so each
# command starts from the same state and pays only for its own writes.
settle() { sync; }

# timed NAME CMD... : runs CMD under /usr/bin/time -v (stdout and stderr to a
# log); sets WALL (seconds), CPU_S (user + system seconds, all threads and
# child processes) and RSS_KIB. A failure stops the whole benchmark:
# dropping a run would bias min and median.
WALL=0
CPU_S=0
RSS_KIB=0
timed() {
  local name=$1
  shift
  local tfile="$SCRATCH/logs/$name.time" log="$SCRATCH/logs/$name.log"
  settle
  if ! /usr/bin/time -v -o "$tfile" "$@" >"$log" 2>&1; then
    echo "run.sh: error: '$name' failed: $*" >&2
    echo "--- last lines of its output ($log):" >&2
    tail -n 20 "$log" >&2 || true
    grep -E 'Exit status|Command' "$tfile" >&2 || true
    exit 1
  fi
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0
      for (i = 1; i <= n; i++) s = s * 60 + p[i]
      printf "%.2f\n", s }' "$tfile")
  CPU_S=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f\n", u + s }' "$tfile")
  RSS_KIB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tfile")
}

# Peak memory of a pipeline run by the internal sub-commands: the stages of
# one pipeline run at the same time, so their peaks add up; pipelines of
# successive archives run one after the other, so the largest sum counts.
pipeline_rss_kib() {
  local dir=$1
  local f
  for f in "$dir"/*; do
    printf '%s %s\n' "$(basename "$f" | cut -d. -f1)" "$(tail -n 1 "$f")"
  done | awk '{ sum[$1] += $2 } END { m = 0; for (k in sum) if (sum[k] > m) m = sum[k]; print m }'
}

RESULTS=""
# record TOOL OPERATION RUN WALL RSS_KIB OUTPUT_BYTES ("-" when there is no
# output); the CPU time is the last `timed` command's.
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "$CPU_S" >>"$RESULTS"
  printf '  %-28s %-16s run %s: %7.2f s wall  %6.2f s CPU  %7.1f MiB RSS\n' \
    "${1//\\/}" "$2" "$3" "$4" "$CPU_S" "$(awk -v k="$5" 'BEGIN { print k / 1024 }')" >&2
}

# ---------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------

build_kura() {
  if [[ $BUILD -eq 1 ]]; then
    echo "Building kura (cargo build --release)…" >&2
    (cd "$REPO" && cargo build --release -q) || die "cargo build --release failed"
  fi
  [[ -x $REPO/target/release/kura ]] || die "$REPO/target/release/kura does not exist (build it, or drop --no-build)"
  # A private copy: someone else's `cargo build` must not swap the binary mid-run.
  cp "$REPO/target/release/kura" "$SCRATCH/bin/kura"
  KURA="$SCRATCH/bin/kura"
}

make_data() {
  echo "Generating ${SIZE_MIB} MiB of demo data (kura demo)…" >&2
  "$KURA" demo --dir "$SCRATCH/demo" --size-mib "$SIZE_MIB" -q >"$SCRATCH/logs/demo.log" 2>&1 ||
    { tail -n 20 "$SCRATCH/logs/demo.log" >&2; die "kura demo failed"; }
  DEMO="$SCRATCH/demo"
  KEY="$DEMO/keys/demo-identity.txt"
  RECIPIENT=$(grep -m1 '^age1' "$DEMO/keys/recipients.txt") || die "no age1 recipient in $DEMO/keys/recipients.txt"
  export KURA_POLICY="$DEMO/kura.toml" KURA_LANG=en
  SNAPSHOTS="$DEMO/usb-hdd/kura/snapshots"
  # The demo's own snapshots (on both disks) only take space; kura writes to hdd1 from here on.
  rm -rf "${SNAPSHOTS:?}"/* "$DEMO"/usb-hdd2/kura/snapshots/*
  cd "$DEMO"
  DATA_BYTES=$(bytes_of "${SOURCES[@]}")
  DATA_FILES=$(find "${SOURCES[@]}" -type f | wc -l)
  echo "Data: $DATA_BYTES bytes in $DATA_FILES files (${SOURCES[*]})" >&2
  # Warm caches: every measured command reads the data from memory alike.
  find "${SOURCES[@]}" -type f -exec cat {} + >/dev/null
}

HANDOVER=0
check_handover() {
  if ! "$KURA" handover --help >/dev/null 2>&1; then
    echo "kura handover: not built yet — its row is skipped" >&2
    return 0
  fi
  local help
  help=$("$KURA" handover create --help 2>&1) || { echo "kura handover create --help failed — skipped" >&2; return 0; }
  local opt
  for opt in --include --snapshots --to --out; do
    if ! grep -q -- "$opt" <<<"$help"; then
      echo "kura handover create has no $opt — interface differs, row skipped" >&2
      HANDOVER=2
      return 0
    fi
  done
  HANDOVER=1
}

# Empties the per-measurement work directory (outputs, repositories, restores).
clear_work() {
  rm -rf "${SCRATCH:?}/work"
  mkdir -p "$SCRATCH/work"
}

# The snapshot the verify and restore rows read: the only one on hdd1.
latest_snapshot() {
  local d
  d=$(find "$SNAPSHOTS" -mindepth 1 -maxdepth 1 -type d -name '2*' | sort | tail -n 1)
  [[ -n $d ]] || die "no snapshot in $SNAPSHOTS after kura backup"
  echo "$d"
}

# One round: every tool once, in a fixed order, so that slow phases of the
# shared machine spread over all tools rather than hitting one.
round() {
  local r=$1 w="$SCRATCH/work" snap rss
  echo "Round $r/$RUNS" >&2

  # --- backup ---------------------------------------------------------------
  # Each kura run starts from an empty destination (same state every run) and
  # gets its own clock, so its snapshot id differs from the last one's.
  rm -rf "${SNAPSHOTS:?}"/*
  local now
  now=$(date -u -d "@$((START_EPOCH - 86400 + r * 60))" +%Y-%m-%dT%H:%M:%SZ)
  timed "kura-backup-$r" env KURA_NOW="$now" "$KURA" backup --dest hdd1 --operator "$OPERATOR" -q
  snap=$(latest_snapshot)
  record kura backup "$r" "$WALL" "$RSS_KIB" "$(bytes_of "$snap")"

  clear_work && mkdir -p "$w/rss"
  timed "stock-backup-$r" "$SELF" __stock-backup "$w/out.tar.zst.age" "$RECIPIENT" "$w/rss"
  record 'tar \| zstd \| age' backup "$r" "$WALL" "$(pipeline_rss_kib "$w/rss")" "$(bytes_of "$w/out.tar.zst.age")"

  # restic and borg: a fresh repository (and cache) per run, initialised
  # untimed, so each run is a first, full backup like kura's.
  clear_work
  RESTIC_PASSWORD=bench restic init -q --repo "$w/restic" --repository-version 2 \
    >"$SCRATCH/logs/restic-init-$r.log" 2>&1 || die "restic init failed (see $SCRATCH/logs)"
  timed "restic-backup-$r" env RESTIC_PASSWORD=bench restic backup -q --repo "$w/restic" \
    --cache-dir "$w/restic-cache" --compression auto --host bench "${SOURCES[@]}"
  record restic backup "$r" "$WALL" "$RSS_KIB" "$(bytes_of "$w/restic")"

  clear_work
  BORG_PASSPHRASE=bench BORG_BASE_DIR="$w/borg-base" borg init --encryption=repokey-blake2 "$w/borg" \
    >"$SCRATCH/logs/borg-init-$r.log" 2>&1 || die "borg init failed (see $SCRATCH/logs)"
  timed "borg-create-$r" env BORG_PASSPHRASE=bench BORG_BASE_DIR="$w/borg-base" \
    borg create --compression zstd,3 "$w/borg::run$r" "${SOURCES[@]}"
  record borg create "$r" "$WALL" "$RSS_KIB" "$(bytes_of "$w/borg")"
  clear_work

  # --- verify (the snapshot kura just wrote) -------------------------------
  timed "kura-verify-$r" "$KURA" verify -i "$KEY" --operator "$OPERATOR" --dest hdd1 -q latest
  record kura 'verify -i' "$r" "$WALL" "$RSS_KIB" -

  mkdir -p "$w/rss"
  timed "stock-verify-$r" "$SELF" __stock-verify "$snap" "$KEY" "$w/rss"
  record 'age -d \| zstd -d \| sha256sum' verify "$r" "$WALL" "$(pipeline_rss_kib "$w/rss")" -
  clear_work

  # --- restore -------------------------------------------------------------
  timed "kura-restore-$r" "$KURA" restore latest --to "$w/restored" -i "$KEY" --operator "$OPERATOR" --dest hdd1 -q
  record kura restore "$r" "$WALL" "$RSS_KIB" "$(bytes_of "$w/restored")"
  clear_work

  mkdir -p "$w/rss" "$w/restored"
  timed "stock-restore-$r" "$SELF" __stock-restore "$snap" "$KEY" "$w/restored" "$w/rss"
  record 'age -d \| zstd -d \| tar -x' restore "$r" "$WALL" "$(pipeline_rss_kib "$w/rss")" "$(bytes_of "$w/restored")"
  clear_work

  # --- handover ------------------------------------------------------------
  if [[ $HANDOVER -eq 1 ]]; then
    mkdir -p "$w/handover"
    local includes=() s
    for s in "${SOURCES[@]}"; do includes+=(--include "$s"); done
    timed "kura-handover-$r" "$KURA" handover create "${includes[@]}" --snapshots none \
      --to "$RECIPIENT" --out "$w/handover/package.tar.zst.age" --operator "$OPERATOR" -q
    record kura 'handover create' "$r" "$WALL" "$RSS_KIB" "$(bytes_of "$w/handover")"
    # The receiver's check: signature, package hash, decrypt, full bag
    # validation, without extracting (the package is encrypted to the demo key).
    timed "kura-hverify-$r" "$KURA" handover verify "$w/handover/package.tar.zst.age" \
      -i "$KEY" --operator "$OPERATOR" -q
    record kura 'handover verify' "$r" "$WALL" "$RSS_KIB" -
    clear_work
  fi
}

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

first_line() { "$@" 2>&1 | head -n 1 || true; }

machine_description() {
  local cpu mem disk_src disk_fs rota=""
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  read -r disk_src disk_fs < <(df --output=source,fstype "$SCRATCH" | awk 'NR == 2 { print $1, $2 }')
  if command -v lsblk >/dev/null 2>&1; then
    rota=$(lsblk -ndo ROTA "$disk_src" 2>/dev/null | tr -d ' ' || true)
    case "$rota" in 1) rota=", rotational as the kernel reports it" ;; 0) rota=", non-rotational" ;; *) rota="" ;; esac
  fi
  local commit
  commit=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
  cat <<EOF
- CPU: $(nproc) cores, ${cpu:-unknown}
- RAM: $mem
- kernel: $(uname -sr)
- scratch disk: $disk_src ($disk_fs$rota), $(df -Ph "$SCRATCH" | awk 'NR == 2 { print $2 " total, " $4 " free" }') at start
- load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)
- kura: $(first_line "$KURA" --version) (commit $commit)
- age: $(first_line age --version); zstd: $(first_line zstd --version | sed 's/^\*\*\* //; s/ \*\*\*$//')
- restic: $(first_line restic version)
- borg: $(first_line borg --version); tar: $(first_line tar --version)
EOF
}

# The Markdown table: one row per tool and operation, over all runs.
results_table() {
  local data_mib
  data_mib=$(awk -v b="$DATA_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
  echo "| tool | operation | data (MiB) | runs | wall min (s) | wall median (s) | throughput (MiB/s, from min) | peak RSS max (MiB) | output (MiB) | CPU min (s) | every run (s) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' -v data="$data_mib" '
    !(($1 SUBSEP $2) in seen) { seen[$1, $2] = 1; order[++n] = $1 SUBSEP $2; tool[n] = $1; op[n] = $2 }
    { k = $1 SUBSEP $2; c = ++cnt[k]; wall[k, c] = $4; all[k] = all[k] (c > 1 ? " " : "") $4
      if ($5 > rss[k]) rss[k] = $5
      if (c == 1 || $7 < cpu[k]) cpu[k] = $7
      if ($6 != "-" && $6 > out[k]) out[k] = $6; if ($6 == "-") noout[k] = 1 }
    END {
      for (i = 1; i <= n; i++) {
        k = order[i]; m = cnt[k]
        for (a = 1; a <= m; a++) v[a] = wall[k, a]
        for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
        med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        tp = (v[1] > 0) ? sprintf("%.1f", data / v[1]) : "n/a"
        o = noout[k] ? "–" : sprintf("%.1f", out[k] / 1048576)
        printf "| %s | %s | %s | %d | %.2f | %.2f | %s | %.1f | %s | %.2f | %s |\n",
          tool[i], op[i], data, m, v[1], med, tp, rss[k] / 1024, o, cpu[k], all[k]
      }
    }' "$RESULTS"
  case $HANDOVER in
    0) echo "| kura | handover create | – | – | – | – | – | – | – | – | skipped: handover not built yet |" ;;
    2) echo "| kura | handover create | – | – | – | – | – | – | – | – | skipped: \`kura handover create\` interface differs |" ;;
  esac
}

# kura's minimum wall time over the reference's, for issue 8's goals (and the
# same for CPU time, which a busy machine disturbs less).
ratio() {
  awk -F'\t' -v a="$1" -v ao="$2" -v b="$3" -v bo="$4" '
    $1 == a && $2 == ao { if (ma == "" || $4 < ma) ma = $4; if (ca == "" || $7 < ca) ca = $7 }
    $1 == b && $2 == bo { if (mb == "" || $4 < mb) mb = $4; if (cb == "" || $7 < cb) cb = $7 }
    END {
      if (ma != "" && mb > 0) printf "%.2f× (CPU time %.2f×)", ma / mb, (cb > 0 ? ca / cb : 0)
      else print "n/a" }' "$RESULTS"
}

ratios() {
  echo "kura / reference, minimum wall time (≤ 1.00× means kura is at least as fast), and minimum CPU time:"
  echo ""
  echo "- backup: vs stock pipeline $(ratio kura backup 'tar \| zstd \| age' backup), vs restic $(ratio kura backup restic backup), vs borg $(ratio kura backup borg create)"
  echo "- verify -i: vs \`age -d | zstd -d | sha256sum\` $(ratio kura 'verify -i' 'age -d \| zstd -d \| sha256sum' verify)"
  echo "- restore: vs \`age -d | zstd -d | tar -x\` $(ratio kura restore 'age -d \| zstd -d \| tar -x' restore)"
}

report() {
  local when
  when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  {
    echo "### ${SIZE_MIB} MiB, ${RUNS} runs — $when"
    echo ""
    echo "Command: \`$COMMAND_LINE\`"
    echo ""
    echo "Data: $DATA_BYTES bytes in $DATA_FILES files (\`kura demo --size-mib $SIZE_MIB\`)."
    echo ""
    machine_description
    echo ""
    results_table
    echo ""
    ratios
    echo ""
  } >"$SCRATCH/report.md"
  echo "" >&2
  cat "$SCRATCH/report.md"
  if [[ -n $OUT_FILE ]]; then
    { echo ""; cat "$SCRATCH/report.md"; } >>"$OUT_FILE"
    echo "Appended to $OUT_FILE" >&2
  fi
}

main() {
  ensure_tools
  make_scratch
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  START_EPOCH=$(date +%s)
  RESULTS="$SCRATCH/results.tsv"
  : >"$RESULTS"
  build_kura
  check_handover
  make_data
  # Untimed first starts, so no timed run pays for loading a binary from disk.
  restic version >/dev/null
  borg --version >/dev/null
  local r
  for ((r = 1; r <= RUNS; r++)); do
    round "$r"
  done
  report
}

main
