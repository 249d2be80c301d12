#!/usr/bin/env bash
# One GPU-machine session in one command: GPU tests, benchmarks and an ncu profile, each stage
# under its own time limit, so that a stage that runs long still leaves the others' results.
#
#   bash bench/gpu/suite.sh STAGE[:SECONDS[:ARG]] ...
#
# Stages (in the order given): tests (kiln_gpu_tests in $TEST_SHARDS shards, default 4, of which
# TEST_RUN run; ARG: gtest filter), sanitizer
# (compute-sanitizer memcheck on small tests; ARG: filter), mem, attn, gemm, resnet (the bench/
# scripts; extra arguments in MEM_ARGS, ATTN_ARGS, GEMM_ARGS, RESNET_ARGS), ncu (per-kernel profile
# of one run of a compiled library, ARG: its directory, default the resnet stage's; NCU_BATCH,
# NCU_COUNT), kb (python -m kiln.bench $KB_ARGS, output name KB_OUT), onnxcheck
# (bench/onnx_import_check.py $OC_ARGS), conf (ONNX node tests on cuda-sm90; CONF_MAX), pytest
# (all of tests/python: the GPU tests and the PyTorch-frontend tests, which the CI venv, without
# PyTorch, skips; PYTEST_ARGS, e.g. -m gpu), tune (ARG: a zoo model compiled with --tune full,
# its winners and time; TUNE_ARGS), cmd ($CMD in bash under the stage's limit; $W: the results
# folder, $B: the carried binaries).
#
# Layout it expects (what travels to the GPU machine, see ../shared/DESIGN.md): .carry/env.sh
# (CUTLASS headers and the Debian packages, from ../shared/tools/prepare-device-carry),
# .carry/bin/{kiln,kiln_gpu_tests,kiln_onnx_conformance} and, for kb/pytest, the Python 3.12
# extension in .carry/pyb/python/kiln (bench/gpu/build-carry.sh builds all of it). Logs and results go to /tmp/w; after every
# stage they are packed into $OUT/run.tar.gz with $OUT/summary.txt (the device tool returns at most 8 files).
set -u
source .carry/env.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export KILN_HOME=$PWD PYTHONUNBUFFERED=1 CCACHE_DISABLE=1
export KILN_CACHE_DIR=/tmp/kiln-objects KILN_TUNING_CACHE=${KILN_TUNING_CACHE:-/tmp/tuning.sqlite}
[ -f .carry/tuning.sqlite ] && [ ! -f /tmp/tuning.sqlite ] && cp .carry/tuning.sqlite /tmp/tuning.sqlite && chmod u+w /tmp/tuning.sqlite
B=$PWD/.carry/bin
export PATH=$B:$PATH
W=${W:-/tmp/w}; mkdir -p $W/results  # W: another folder for a second suite running beside one
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH} KILN_BUILD_DIR=$PWD/.carry/pyb
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader | tee $W/gpu.txt
T0=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - T0 ))s] $*" | tee -a $W/summary.txt; }

st_tests() {  # $1 timeout, $2 gtest filter; TEST_SHARDS processes (default 4: most of a test's
  # time is one nvcc compile of a CUTLASS instantiation, single-threaded). TEST_RUN="0 1 2 3"
  # runs only those of the TEST_SHARDS shards (the suite split over two commands), each test's
  # compile with KILN_TEST_JOBS nvcc jobs (default: the cores over the shards that run).
  local f=${2:-*} n=${TEST_SHARDS:-4} i
  local run=${TEST_RUN:-$(seq -s ' ' 0 $((n - 1)))}
  export KILN_TEST_JOBS=${KILN_TEST_JOBS:-$(( $(nproc) / $(wc -w <<<"$run") ))}
  for i in $run; do
    GTEST_TOTAL_SHARDS=$n GTEST_SHARD_INDEX=$i timeout $1 $B/kiln_gpu_tests --gtest_filter="$f" >$W/gpu_tests$i.log 2>&1 &
  done
  wait
  grep -h "^\[  \(PASSED\|FAILED\|  OK\) \|^\[  FAILED\|tests ran" $W/gpu_tests*.log | tee -a $W/summary.txt
}
st_sanitizer() {
  timeout $1 compute-sanitizer --tool memcheck --error-exitcode 9 $B/kiln_gpu_tests \
    --gtest_filter="${2:-CudaE2eTest.MlpF16DynamicBatch:CudaAttention*:CudaConvTest.DirectFallbacks}" >$W/sanitizer.log 2>&1
  echo "sanitizer rc=$?" | tee -a $W/summary.txt; grep -h "ERROR SUMMARY\|PASSED\|FAILED" $W/sanitizer.log | tail -5 | tee -a $W/summary.txt
}
st_mem() { timeout $1 python3 bench/memory_bound_h100.py --kiln $B/kiln ${MEM_ARGS:-} --out $W/results/memory_bound_h100 >$W/mem.log 2>&1; echo "mem rc=$?" >>$W/summary.txt; tail -12 $W/mem.log | tee -a $W/summary.txt; }
st_attn() { timeout $1 python3 bench/attention_h100.py --kiln $B/kiln ${ATTN_ARGS:-} --out $W/results/attention_h100 >$W/attn.log 2>&1; echo "attn rc=$?" >>$W/summary.txt; tail -14 $W/attn.log | tee -a $W/summary.txt; }
st_gemm() { timeout $1 python3 bench/gemm_h100.py --kiln $B/kiln ${GEMM_ARGS:-} --out $W/results/gemm_h100 >$W/gemm.log 2>&1; echo "gemm rc=$?" >>$W/summary.txt; tail -16 $W/gemm.log | tee -a $W/summary.txt; }
st_resnet() { timeout $1 python3 bench/resnet50_h100.py --kiln $B/kiln ${RESNET_ARGS:-} --out $W/results/resnet50_h100 >$W/resnet.log 2>&1; echo "resnet rc=$?" >>$W/summary.txt; tail -20 $W/resnet.log | tee -a $W/summary.txt; }
st_conf() {
  mkdir -p /tmp/cb/tests; cp $B/kiln /tmp/cb/; cp $B/kiln_onnx_conformance /tmp/cb/tests/
  timeout $1 bash tests/onnx_conformance/target_conformance.sh /tmp/cb /tmp/sysroot/usr/share/libonnx-testdata/data/node \
    --target cuda-sm90 --jobs 16 --max ${CONF_MAX:-0} >$W/conf.log 2>&1; echo "conf rc=$?" >>$W/summary.txt; tail -6 $W/conf.log | tee -a $W/summary.txt
}
st_pytest() { timeout $1 python3 -m pytest -q ${PYTEST_ARGS:-} tests/python -p no:cacheprovider >$W/pytest.log 2>&1; echo "pytest rc=$?" >>$W/summary.txt; tail -8 $W/pytest.log | tee -a $W/summary.txt; }
st_kb() { timeout $1 python3 -m kiln.bench ${KB_ARGS:-} --out $W/results/${KB_OUT:-kb} >$W/kb_${KB_OUT:-kb}.log 2>&1; echo "kb rc=$?" >>$W/summary.txt; tail -20 $W/kb_${KB_OUT:-kb}.log | tee -a $W/summary.txt; }
st_onnxcheck() { timeout $1 python3 bench/onnx_import_check.py --kiln $B/kiln ${OC_ARGS:-} --out $W/results/onnx_import_check${OC_SUFFIX:-} >$W/onnxcheck.log 2>&1; echo "onnxcheck rc=$?" >>$W/summary.txt; tail -10 $W/onnxcheck.log | tee -a $W/summary.txt; }
st_ncu() {  # $2: library dir (default the resnet bench's), NCU_BATCH
  local lib=${2:-/tmp/kiln_resnet50_h100/kiln}
  timeout $1 ncu --clock-control none --section SpeedOfLight --section Occupancy --section LaunchStats --csv --page details \
    --launch-count ${NCU_COUNT:-80} $B/kiln bench $lib --batch ${NCU_BATCH:-64} --warmup 0 --iters 1 >$W/ncu.csv 2>$W/ncu.err
  echo "ncu rc=$?" | tee -a $W/summary.txt
  python3 bench/gpu/ncu_summary.py $W/ncu.csv | tee $W/ncu_summary.txt | tail -40 | tee -a $W/summary.txt
}
st_tune() {  # $2: zoo model (default vit); TUNE_ARGS: more compile flags (default: f16, batch 1..64)
  local m=${2:-vit}
  ( time timeout $1 kiln compile zoo:$m --target cuda-sm90 --tune full --cuda-graphs -o /tmp/tune_$m \
      ${TUNE_ARGS:---dtype f16 --dynamic batch=1..64} ) >$W/tune_$m.log 2>&1
  echo "tune $m rc=$?" | tee -a $W/summary.txt
  grep -h "tuning: \(building\|.* us)\|[0-9]* kernels:\)\|^real" $W/tune_$m.log | tail -40 | tee -a $W/summary.txt
}
st_cmd() { W=$W B=$B timeout $1 bash -c "${CMD:-true}" >$W/cmd.log 2>&1; echo "cmd rc=$?" >>$W/summary.txt; tail -30 $W/cmd.log | tee -a $W/summary.txt; }

# $OUT after every stage, so that a command the device tool cuts short (its time limit, the
# session's device time running out) still returns the stages that finished.
save() {
  cp /tmp/tuning.sqlite $OUT/ 2>/dev/null
  cp $W/summary.txt $OUT/
  tar czf $OUT/run.tar.gz -C $W . 2>/dev/null
}
for s in "$@"; do
  IFS=: read -r name secs arg <<<"$s"; secs=${secs:-300}
  stamp "stage $name (limit ${secs}s) $arg"
  st_$name "$secs" "$arg"  # quoted: a gtest filter of * must not glob
  save
done
stamp done
save
ls -la $OUT
