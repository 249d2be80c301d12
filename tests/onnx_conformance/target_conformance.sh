#!/usr/bin/env bash
# Target conformance on the ONNX backend node tests: compiles node tests with
# `kiln compile model.onnx --target TARGET` (default cpu) and runs every test_data_set_* of each
# with `kiln run LIB --inputs SET --expect SET` (host tensors; CUDA libraries stage them through
# the device). Tolerance: max |error| / max |reference| <= 1e-4 for f32 outputs (the `kiln run`
# default; integers and bools within the same bound, i.e. exactly for small values). A test whose
# op the target has no kernel for is counted as unsupported, not failed.
#
# Which tests: those the importer supports and the reference interpreter passes (the `pass` lines
# of `kiln_onnx_conformance --verbose`), single-op ones only, the first (by name) of each ONNX op;
# of those ops (sorted by name) MAX spread evenly over the list (default 40; 0: all of them).
#
# Prints one line per test (pass / FAIL with kiln's message / unsupported) and the totals. Exit
# code: 0 when no chosen test fails, 1 when one fails, 2 on a usage error or missing data /
# binaries, 77 for a CUDA target on a machine without a GPU (ctest's skip code).
#
#   tests/onnx_conformance/target_conformance.sh BUILD_DIR [DATA_DIR] [--max N] [--target T]
#                                                 [--jobs J] [--keep]
#
# --jobs: tests compiled and run at once (default 1; nvcc compiles make a CUDA run slow, use the
# machine's cores there).
#
# BUILD_DIR holds the built `kiln` and tests/kiln_onnx_conformance. Compiled objects are cached in
# BUILD_DIR/test-object-cache (as the CLI tests do), so only the first compile builds the runtime.
set -euo pipefail
export LC_ALL=C  # sort order, hence the choice of tests, must not depend on the locale

usage() {
  sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

build=""
data=/usr/share/libonnx-testdata/data/node
max=40
keep=0
target=cpu
jobs=1
positional=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --max) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage; max=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --target) [[ $# -ge 2 ]] || usage; target=$2; shift 2 ;;
    --jobs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || usage; jobs=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "target_conformance: unknown option $1" >&2; usage ;;
    *)
      if [[ $positional -eq 0 ]]; then build=$1; else data=$1; fi
      positional=$((positional + 1)); shift ;;
  esac
done
[[ -n "$build" ]] || usage
kiln="$build/kiln"
runner="$build/tests/kiln_onnx_conformance"
for f in "$kiln" "$runner"; do
  [[ -x "$f" ]] || { echo "target_conformance: $f not found: build the kiln and kiln_onnx_conformance targets" >&2; exit 2; }
done
[[ -d "$data" ]] || { echo "target_conformance: no such directory $data (install Debian's libonnx-testdata)" >&2; exit 2; }
if [[ "$target" == cuda* ]] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "target_conformance: no GPU (nvidia-smi -L failed): $target skipped"
  exit 77  # ctest SKIP_RETURN_CODE
fi
# Compiler processes per test: the cores shared among the parallel tests.
compile_jobs=$(( $(nproc) / jobs )); [[ $compile_jobs -ge 1 ]] || compile_jobs=1

work=$(mktemp -d "${TMPDIR:-/tmp}/kiln_target_conformance.XXXXXX")
if [[ $keep -eq 0 ]]; then trap 'rm -rf "$work"' EXIT; fi
cache="$build/test-object-cache"

# "pass  test_x  [Op]" lines; the runner sorts tests by name, so the first per op is the first
# by name. Multi-op tests (the *_expanded ones: [A+B+...]) are left out.
"$runner" "$data" --verbose > "$work/interpreter.txt" || true
mapfile -t candidates < <(awk '$1 == "pass" && $2 ~ /^test_/ && $3 ~ /^\[/ && $3 !~ /\+/ && !seen[$3]++ { print $2 " " $3 }' \
                               "$work/interpreter.txt" | sort -k2,2)
n=${#candidates[@]}
[[ $n -gt 0 ]] || { echo "target_conformance: the interpreter passes no node test in $data" >&2; exit 1; }
chosen=()
if [[ $max -eq 0 || $max -ge $n ]]; then
  chosen=("${candidates[@]}")
else
  for ((i = 0; i < max; i++)); do chosen+=("${candidates[$((i * n / max))]}"); done
fi

# One test: compile, then every data set; prints "pass|FAIL|unsupported  test  [Op]  reason".
run_one() {
  local test=$1 op=$2 lib="$work/$1" msg out set reason=""
  if ! msg=$("$kiln" compile "$data/$test/model.onnx" -o "$lib" --target "$target" -q --cache-dir "$cache" -j "$compile_jobs" 2>&1 >/dev/null); then
    if [[ "$msg" == *"not supported on the $target target"* || "$msg" == *"not supported on the cuda targets"* ]]; then
      echo "unsupported  $test  $op  ${msg##*kiln: error: }"
    else
      echo "FAIL  $test  $op  compile: ${msg##*kiln: error: }"
    fi
    return
  fi
  for set in "$data/$test"/test_data_set_*; do
    if ! out=$("$kiln" run "$lib" --inputs "$set" --expect "$set" 2>&1); then
      reason="$(basename "$set"): $(grep -E 'MISMATCH|kiln: error' <<< "$out" | head -2 | tr '\n' ' ')"
      echo "FAIL  $test  $op  $reason"
      return
    fi
  done
  echo "pass  $test  $op"
}
export -f run_one
export kiln data work target cache compile_jobs

start=$SECONDS
printf '%s\n' "${chosen[@]}" | xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _ | tee "$work/results.txt"
pass=$(grep -c '^pass ' "$work/results.txt" || true)
fail=$(grep -c '^FAIL ' "$work/results.txt" || true)
unsupported=$(grep -c '^unsupported ' "$work/results.txt" || true)
echo
echo "$target target: ${#chosen[@]} node tests (one per op, of $n ops the interpreter passes):" \
     "$pass pass, $fail fail, $unsupported unsupported on the target ($((SECONDS - start)) s)"
if [[ $fail -gt 0 ]]; then
  echo "failed: $(awk '$1 == "FAIL" { printf "%s ", $2 }' "$work/results.txt")"
  exit 1
fi
