#!/usr/bin/env bash
# Packaging test: installs a built kiln into a temp prefix, builds examples/cpp against it with
# find_package(kiln) and runs the example on the runtime's test fixture module
# (tests/runtime/fixture_module.cc: y = relu(x) * w + b, x: f32[N,4]).
#
#   install_test.sh BUILD_DIR FIXTURE_MODULE.so
#
# Registered in tests/CMakeLists.txt as packaging.install_and_example.
set -euo pipefail

build_dir=$(cd "$1" && pwd)
fixture_module=$2
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln_install_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

# 1. Install from the caller's build (nothing is rebuilt).
cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
for f in bin/kiln share/kiln/src/codegen/runtime_src/kiln_rt.h share/kiln/include/kiln/module_abi.h \
         share/kiln/src/codegen/cpu/runtime_src/kiln_cpu.h include/kiln/status.h include/kiln/module_abi.h include/kiln/module.h \
         lib/libkiln_runtime.a lib/cmake/kiln/kilnConfig.cmake \
         lib/cmake/kiln/kilnConfigVersion.cmake lib/cmake/kiln/kilnTargets.cmake; do
  [[ -e "$tmp/prefix/$f" ]] || fail "not installed: $f"
done
# The exported targets must not point into the source or build tree, nor require nlohmann_json.
if grep -rqE "nlohmann|$source_dir/|$build_dir" "$tmp/prefix/lib/cmake/kiln"; then
  grep -rnE "nlohmann|$source_dir/|$build_dir" "$tmp/prefix/lib/cmake/kiln" >&2
  fail "the package config leaks build-tree paths or nlohmann_json"
fi
"$tmp/prefix/bin/kiln" --help >/dev/null || fail "installed kiln --help"

# 2. Build the example as a separate project against the prefix, with the same C++ compiler.
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$source_dir/examples/cpp" -B "$tmp/example" "${generator[@]}" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/example.log" 2>&1 ||
  { cat "$tmp/example.log"; fail "configuring examples/cpp"; }
cmake --build "$tmp/example" >>"$tmp/example.log" 2>&1 ||
  { cat "$tmp/example.log"; fail "building examples/cpp"; }

# 3. The fixture's weights (w = [1, 2, -1, 0.5], b = [0.5, -1, 2, 0], both f32[4]) as a
# safetensors file: 8-byte little-endian header length, JSON header, raw little-endian data.
python3 - "$tmp/weights.safetensors" <<'PY'
import json, struct, sys
w, b = [1, 2, -1, 0.5], [0.5, -1, 2, 0]
header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                     "b": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}}).encode()
header += b" " * (-len(header) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + struct.pack("<8f", *w, *b))
PY

# 4. Run it. N = 2, x = 0.5 * i - 2 = [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5]; by hand:
# row 0: relu = 0 -> y = b = [0.5, -1, 2, 0];
# row 1: relu = [0, 0.5, 1, 1.5] -> [0, 1, -1, 0.75] + b = [0.5, 0, 1, 0.75].
"$tmp/example/run_model" "$fixture_module" "$tmp/weights.safetensors" >"$tmp/run.log" 2>&1 ||
  { cat "$tmp/run.log"; fail "run_model exited with $?"; }
cat "$tmp/run.log"
expected="output y f32[2,4] = [0.5, -1, 2, 0, 0.5, 0, 1, 0.75]"
grep -qxF "$expected" "$tmp/run.log" || fail "expected the line: $expected"
grep -qxF "  symbol N in [1, 8], using 2" "$tmp/run.log" || fail "symbol line missing"

# 4b. The same model compiled by the installed kiln (runtime sources from <prefix>/share/kiln)
# with the same weights, run by the same program: same numbers.
cat >"$tmp/fixture.kir" <<'KIR'
graph @fixture(%x: f32[N,4]) -> (%y) where N in [1, 8] {
  %w = weight "w" : f32[4]
  %b = weight "b" : f32[4]
  %r = relu(%x) : f32[N,4]
  %m = mul(%r, %w) : f32[N,4]
  %y = add(%m, %b) : f32[N,4]
}
KIR
env -u KILN_HOME "$tmp/prefix/bin/kiln" compile "$tmp/fixture.kir" --weights "$tmp/weights.safetensors" \
  -o "$tmp/compiled" --cache-dir "$tmp/cache" -q >"$tmp/compile.log" 2>&1 ||
  { cat "$tmp/compile.log"; fail "installed kiln compile"; }
"$tmp/example/run_model" "$tmp/compiled/model.so" "$tmp/compiled/model.safetensors" >"$tmp/run2.log" 2>&1 ||
  { cat "$tmp/run2.log"; fail "run_model on the compiled model exited with $?"; }
cat "$tmp/run2.log"
grep -qxF "$expected" "$tmp/run2.log" || fail "compiled model: expected the line: $expected"

# 5. Errors come back as a Status and a nonzero exit.
if "$tmp/example/run_model" "$tmp/missing.so" "$tmp/weights.safetensors" >"$tmp/err.log" 2>&1; then
  fail "run_model succeeded on a missing module"
fi
grep -q "missing.so" "$tmp/err.log" || { cat "$tmp/err.log"; fail "error does not name the file"; }
echo "install_test: PASS"
