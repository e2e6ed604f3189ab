#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU, each step under its own time limit with
# its log in $OUT (default /tmp/arrayport-gpu): env (versions, arrayport doctor), gpu_tests,
# bench_gpu, jax_probe (where a GPU import into jax spends its time), oom (real
# out-of-memory scenarios), cle (pyclesperanto on the NVIDIA OpenCL
# driver, from wheels in .whl/cle/), conformance, example_dask (and with 512 MiB
# workers, example_dask_512), full_suite and bench_cpu (the CPU rows on that machine's
# quieter CPU). Needs python3 with numpy,
# torch and/or jax and/or cupy built for CUDA; wheels in .whl/ (arrayport and whatever the
# machine lacks, e.g. array-api-compat, dask) are installed first into /tmp/site.
#
#   bash scripts/gpu_check.sh              # every step: about 12 minutes (26 at most)
#   bash scripts/gpu_check.sh bench_gpu    # only the steps named
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/arrayport-gpu}"
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
# tensorflow, like jax, would otherwise take nearly all GPU memory at its first GPU op.
export PYTHONUNBUFFERED=1 ARRAYPORT_DEVICE=cuda XLA_PYTHON_CLIENT_PREALLOCATE=false
export TF_FORCE_GPU_ALLOW_GROWTH=true
export ARRAYPORT_HYPOTHESIS_PROFILE=ci

WANTED=" $* "
step() {  # step NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.log, print status
    local name=$1 limit=$2
    shift 2
    if [ "$WANTED" != "  " ] && [[ "$WANTED" != *" $name "* ]]; then
        return
    fi
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "== $name: rc=$rc in $((SECONDS - start)) s"
    tail -n 25 "$OUT/$name.log"
    # pytest -v under xdist names each failure as it happens: kept even when the step's
    # limit cuts the run short before pytest's own summary.
    if grep -qE '(FAILED|ERROR) ' "$OUT/$name.log"; then
        echo "-- $name: failures as they happened"
        grep -E '(FAILED|ERROR) ' "$OUT/$name.log" | sort -u | head -n 30
    fi
}

step env 60 bash -c 'nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv;
    python3 -c "import sys, numpy, arrayport; print(sys.version); print(\"numpy\", numpy.__version__, \"arrayport\", arrayport.__version__)";
    python3 -m arrayport doctor'
step gpu_tests 100 python3 -m pytest tests -m gpu -p no:cacheprovider -q -rfEs --timeout 60
# pyclesperanto is not in the GPU image: its wheels travel in .whl/cle/ and go to their own
# folder, so the other steps run without it. The NVIDIA OpenCL driver ships with the CUDA
# driver; an ICD file naming it is written when the image has none.
step cle 150 bash -c 'compgen -G ".whl/cle/*.whl" >/dev/null || { echo "no .whl/cle wheels"; exit 2; }
    ls /etc/OpenCL/vendors 2>&1; ldconfig -p | grep -i opencl
    if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
        lib=$(ldconfig -p | grep -o "/[^ ]*libnvidia-opencl.so.1" | head -n 1)
        [ -n "$lib" ] || lib=$(find /usr/local/nvidia /usr/lib /usr/lib64 /lib -name "libnvidia-opencl.so.1" 2>/dev/null | head -n 1)
        [ -n "$lib" ] || { echo "no NVIDIA OpenCL driver (libnvidia-opencl.so.1) found"; exit 3; }
        mkdir -p /etc/OpenCL/vendors && echo "$lib" > /etc/OpenCL/vendors/nvidia.icd && echo "wrote nvidia.icd: $lib"
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site_cle .whl/cle/*.whl || exit 4
    export PYTHONPATH=/tmp/site_cle:${PYTHONPATH:-} ARRAYPORT_DEVICE=cpu
    python3 -c "import pyclesperanto as cle; print(cle.__version__, cle.list_available_devices()); print(cle.get_device())"
    python3 -m arrayport doctor
    python3 -m pytest tests -p no:cacheprovider -q -rfE -n 8 --timeout 60 -k pyclesperanto'
step bench_gpu 150 python3 benchmarks/bench_convert.py --device cuda:0 --repeat "${REPEAT:-5}"
step jax_probe 100 python3 scripts/gpu_jax_import_probe.py
step oom $((${OOM_BUDGET:-230} + 30)) python3 scripts/gpu_oom_check.py --budget "${OOM_BUDGET:-230}" \
    --json "$OUT/oom.json"

step conformance 120 python3 -m pytest conformance -p no:cacheprovider -v -n 12 --timeout 120 --maxfail=25 -rfE
step example_dask 90 python3 examples/dask_out_of_core.py
step example_dask_512 150 env ARRAYPORT_EXAMPLE_WORKER_MIB=512 python3 examples/dask_out_of_core.py
step full_suite 240 python3 -m pytest tests -p no:cacheprovider -v -n 12 --timeout 90 --maxfail=25 -rfE
step bench_cpu 120 python3 benchmarks/bench_convert.py --mib 1 64 --repeat 5 --no-per-call
