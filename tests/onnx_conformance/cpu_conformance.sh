#!/usr/bin/env bash
# CPU-target conformance on the ONNX backend node tests: compiles node tests with
# `kiln compile model.onnx --target cpu` and runs every test_data_set_* of each with
# `kiln run LIB --inputs SET --expect SET` (tolerance: max |error| / max |reference| <= 1e-4, the
# `kiln run` default; integers and bools within the same bound, i.e. exactly for small values).
#
# Which tests: those the importer supports and the reference interpreter passes (the `pass` lines
# of `kiln_onnx_conformance --verbose`), single-op ones only, the first (by name) of each ONNX op;
# of those ops (sorted by name) MAX spread evenly over the list (default 40; 0: all of them).
#
# Prints one line per test (pass / FAIL with kiln's message) and the totals. Exit code: 0 when
# every chosen test passes, 1 when one fails, 2 on a usage error or missing data / binaries.
#
#   tests/onnx_conformance/cpu_conformance.sh BUILD_DIR [DATA_DIR] [--max N] [--keep]
#
# BUILD_DIR holds the built `kiln` and tests/kiln_onnx_conformance. Compiled objects are cached in
# BUILD_DIR/test-object-cache (as the CLI tests do), so only the first compile builds the runtime.
set -euo pipefail
export LC_ALL=C  # sort order, hence the choice of tests, must not depend on the locale

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

build=""
data=/usr/share/libonnx-testdata/data/node
max=40
keep=0
positional=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --max) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage; max=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    -*) echo "cpu_conformance: unknown option $1" >&2; usage ;;
    *)
      if [[ $positional -eq 0 ]]; then build=$1; else data=$1; fi
      positional=$((positional + 1)); shift ;;
  esac
done
[[ -n "$build" ]] || usage
kiln="$build/kiln"
runner="$build/tests/kiln_onnx_conformance"
for f in "$kiln" "$runner"; do
  [[ -x "$f" ]] || { echo "cpu_conformance: $f not found: build the kiln and kiln_onnx_conformance targets" >&2; exit 2; }
done
[[ -d "$data" ]] || { echo "cpu_conformance: no such directory $data (install Debian's libonnx-testdata)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kiln_cpu_conformance.XXXXXX")
if [[ $keep -eq 0 ]]; then trap 'rm -rf "$work"' EXIT; fi
cache="$build/test-object-cache"

# "pass  test_x  [Op]" lines; the runner sorts tests by name, so the first per op is the first
# by name. Multi-op tests (the *_expanded ones: [A+B+...]) are left out.
"$runner" "$data" --verbose > "$work/interpreter.txt" || true
mapfile -t candidates < <(awk '$1 == "pass" && $2 ~ /^test_/ && $3 ~ /^\[/ && $3 !~ /\+/ && !seen[$3]++ { print $2 " " $3 }' \
                               "$work/interpreter.txt" | sort -k2,2)
n=${#candidates[@]}
[[ $n -gt 0 ]] || { echo "cpu_conformance: the interpreter passes no node test in $data" >&2; exit 1; }
chosen=()
if [[ $max -eq 0 || $max -ge $n ]]; then
  chosen=("${candidates[@]}")
else
  for ((i = 0; i < max; i++)); do chosen+=("${candidates[$((i * n / max))]}"); done
fi

pass=0
fail=0
failed=()
start=$SECONDS
for entry in "${chosen[@]}"; do
  test=${entry%% *}
  op=${entry#* }
  lib="$work/$test"
  if ! msg=$("$kiln" compile "$data/$test/model.onnx" -o "$lib" --target cpu -q --cache-dir "$cache" 2>&1 >/dev/null); then
    echo "FAIL  $test  $op  compile: ${msg##*kiln: error: }"
    fail=$((fail + 1)); failed+=("$test"); continue
  fi
  ok=1
  reason=""
  for set in "$data/$test"/test_data_set_*; do
    if ! out=$("$kiln" run "$lib" --inputs "$set" --expect "$set" 2>&1); then
      ok=0
      reason="$(basename "$set"): $(grep -E 'MISMATCH|kiln: error' <<< "$out" | head -2 | tr '\n' ' ')"
      break
    fi
  done
  if [[ $ok -eq 1 ]]; then
    echo "pass  $test  $op"
    pass=$((pass + 1))
  else
    echo "FAIL  $test  $op  $reason"
    fail=$((fail + 1)); failed+=("$test")
  fi
done
echo
echo "cpu target: ${#chosen[@]} node tests (one per op, of $n ops the interpreter passes):" \
     "$pass pass, $fail fail ($((SECONDS - start)) s)"
if [[ $fail -gt 0 ]]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
