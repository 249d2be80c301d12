#!/usr/bin/env bash
# Builds what bench/gpu/suite.sh runs on the GPU machine, on the development machine (nvcc, no
# GPU), into .carry/ (git-ignored): kiln, kiln_gpu_tests and kiln_onnx_conformance stripped into
# .carry/bin, the Python 3.12 extension (the GPU machine's interpreter) into .carry/pyb/python/kiln,
# and, when .carry/env.sh or the oneDNN package is missing, the CUTLASS headers and Debian packages
# (ONNX, SQLite, oneDNN) through ../shared/tools/prepare-device-carry. Binaries built here (glibc 2.36) run there (2.39).
#
#   bench/gpu/build-carry.sh            # then: run with carry [".carry"], `bash bench/gpu/suite.sh ...`
#
# Needs scripts/setup's .venv (nanobind, CUTLASS) and a Python 3.12 with headers: PYTHON312, else
# python3.12 on PATH, else pyenv's. Build directory: build-gpu (BUILD_GPU), ccache when present.
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
build=${BUILD_GPU:-build-gpu}
# The interpreter itself (sys.executable), not a pyenv shim, which CMake cannot run.
py312=${PYTHON312:-$(python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null ||
  ls -d "$HOME"/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | tail -1 || true)}
[ -x "$py312" ] || { echo "build-carry: no Python 3.12 (set PYTHON312)"; exit 1; }
nanobind_dir=$(.venv/bin/python -m nanobind --cmake_dir)
# oneDNN (the cpu target's library) too: the GPU pytest tests also compile cpu modules there.
[ -f .carry/env.sh ] && ls .carry/debs/libdnnl-dev_* >/dev/null 2>&1 ||
  ../shared/tools/prepare-device-carry libdnnl-dev libdnnl2
launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_CUDA=ON -DKILN_ONNX=ON \
  -DKILN_PYTHON=ON -DPython_EXECUTABLE="$py312" -Dnanobind_DIR="$nanobind_dir" \
  -DCMAKE_CUDA_ARCHITECTURES=90a "${launcher[@]}" >/dev/null
CCACHE_NOHASHDIR=true ninja -C "$build" kiln kiln_gpu_tests kiln_onnx_conformance _kiln
mkdir -p .carry/bin .carry/pyb/python/kiln
strip -o .carry/bin/kiln "$build/kiln"
strip -o .carry/bin/kiln_gpu_tests "$build/tests/kiln_gpu_tests"
strip -o .carry/bin/kiln_onnx_conformance "$build/tests/kiln_onnx_conformance"
ext=$(find "$build/python" -name '_kiln.cpython-312-*.so' | head -1)
strip -o ".carry/pyb/python/kiln/$(basename "$ext")" "$ext"
echo "build-carry: $(du -sh .carry | cut -f1) in .carry (the device tool carries at most 64 MiB with the tree)"
