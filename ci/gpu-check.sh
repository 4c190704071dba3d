#!/usr/bin/env bash
# GPU parity check for mlp_xp, for one machine with an NVIDIA GPU and no network.
#
#   ci/gpu-check.sh OUTDIR [--wheel FILE] [--wheelhouse DIR]
#
# 1. Checks that an NVIDIA GPU is there and usable from Python (CuPy or PyTorch CUDA);
#    without one it says so and exits 3.
# 2. Installs mlp_xp (from this source tree, or from --wheel FILE) and whatever else the
#    parity suite needs, offline: from --wheelhouse DIR (or $MLP_XP_WHEELHOUSE) when given,
#    otherwise it names the missing packages and the pip download command that brings them.
# 3. Runs the parity suite on numpy, CuPy and PyTorch (CPU and CUDA), then `mlp-xp parity`
#    on the same backends, and benchmarks/step.py --gpu when that script exists.
# 4. Writes into OUTDIR: pytest-parity.log, parity.txt, parity.json, parity.png,
#    nvidia-smi.txt, environment.json, pip-freeze.txt, bench.log, bench.json, bench.png
#    and summary.txt.  (On the device tool, which returns at most 8 files, tar OUTDIR.)
#
# The whole script stays under 5 minutes: every step runs under `timeout`, with what is
# left of a 285-second budget.  Exit codes: 0 all passed; 1 a test or a parity row failed;
# 2 bad usage; 3 no usable GPU; 4 missing packages and no wheelhouse; 124 a step timed out.
set -euo pipefail

BUDGET_S=285
usage() {
    echo "usage: ci/gpu-check.sh OUTDIR [--wheel FILE] [--wheelhouse DIR]" >&2
    exit 2
}

outdir=""
wheel=""
wheelhouse="${MLP_XP_WHEELHOUSE:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) [ $# -ge 2 ] || usage; wheel="$2"; shift 2 ;;
        --wheelhouse) [ $# -ge 2 ] || usage; wheelhouse="$2"; shift 2 ;;
        -h | --help) usage ;;
        -*) echo "gpu-check: unknown option $1" >&2; usage ;;
        *) [ -z "$outdir" ] || usage; outdir="$1"; shift ;;
    esac
done
[ -n "$outdir" ] || usage
if [ -n "$wheel" ] && [ ! -f "$wheel" ]; then
    echo "gpu-check: --wheel $wheel: no such file" >&2
    exit 2
fi
if [ -n "$wheelhouse" ] && [ ! -d "$wheelhouse" ]; then
    echo "gpu-check: wheelhouse $wheelhouse: no such directory" >&2
    exit 2
fi

repo="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
[ -z "$wheel" ] || wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"
[ -z "$wheelhouse" ] || wheelhouse="$(cd "$wheelhouse" && pwd)"
PY="${PYTHON:-python3}"
summary="$outdir/summary.txt"
: >"$summary"

say() { echo "gpu-check: $*" | tee -a "$summary"; }
left() { echo $((BUDGET_S - SECONDS)); }
# Run a step under timeout with at most $1 seconds, never past the overall budget.
timed() {
    local want="$1" have
    shift
    have="$(left)"
    if [ "$have" -le 5 ]; then
        say "out of time before: $*"
        return 124
    fi
    timeout "$((want < have ? want : have))" "$@"
}

# ---- 1. is there a GPU? ----------------------------------------------------------------
gpu_reason=""
if ! command -v nvidia-smi >/dev/null 2>&1; then
    if ls /dev/nvidia[0-9]* >/dev/null 2>&1; then
        gpu_reason="nvidia-smi is not installed (though /dev/nvidia* exists)"
    else
        gpu_reason="nvidia-smi is not installed and no /dev/nvidia* device exists"
    fi
elif ! gpu_list="$(nvidia-smi -L 2>&1)" || ! grep -q "^GPU " <<<"$gpu_list"; then
    gpu_reason="nvidia-smi lists no GPU: $(head -n 3 <<<"$gpu_list" | tr '\n' ' ')"
else
    nvidia-smi >"$outdir/nvidia-smi.txt" 2>&1 || true
fi

# What Python sees, without needing mlp_xp: which GPU libraries import and see a device.
probe="$(timed 60 "$PY" - <<'EOF' 2>&1 || true
import importlib.util
found = []
if importlib.util.find_spec("cupy") is None:
    print("cupy: not installed")
else:
    try:
        import cupy
        ok = bool(cupy.is_available())
        print(f"cupy {cupy.__version__}: is_available() is {ok}")
        if ok:
            found.append("cupy")
    except Exception as exc:
        print(f"cupy: {type(exc).__name__}: {exc}")
if importlib.util.find_spec("torch") is None:
    print("torch: not installed")
else:
    try:
        import torch
        ok = bool(torch.cuda.is_available())
        print(f"torch {torch.__version__} (CUDA {torch.version.cuda}): cuda.is_available() is {ok}")
        if ok:
            found.append("torch:cuda")
    except Exception as exc:
        print(f"torch: {type(exc).__name__}: {exc}")
print("USABLE=" + ",".join(found))
EOF
)"
usable="$(printf '%s\n' "$probe" | sed -n 's/^USABLE=//p')"
details="$(printf '%s\n' "$probe" | grep -v '^USABLE=' | tr '\n' ';' | sed 's/;$//; s/;/; /g')"

if [ -n "$gpu_reason" ] || [ -z "$usable" ]; then
    [ -n "$gpu_reason" ] || gpu_reason="neither CuPy nor PyTorch can use a CUDA device"
    say "no NVIDIA GPU is available here: $gpu_reason"
    say "python ($PY) sees: ${details:-nothing (python failed to start)}"
    say "this check needs a machine with an NVIDIA GPU, its driver, and cupy-cuda12x/13x or a CUDA build of PyTorch; nothing was run"
    exit 3
fi
say "GPU: $(grep '^GPU ' <<<"$gpu_list" | head -n 4 | paste -sd ';' -)"
say "python ($PY $("$PY" -c 'import platform; print(platform.python_version())')) sees: $details"

# ---- 2. install what is missing, offline --------------------------------------------------
pip_offline() {
    timed 120 "$PY" -m pip install --quiet --no-index --disable-pip-version-check "$@"
}
has() { "$PY" -c "import $1" >/dev/null 2>&1; }

need=()
has numpy || need+=("numpy")
has array_api_compat || need+=("array-api-compat")
has pytest || need+=("pytest")
want=()
has array_api_strict || want+=("array-api-strict")
has matplotlib || want+=("matplotlib")
# pyproject.toml's license = "MIT" needs setuptools >= 77 to install this tree.
"$PY" -c 'import setuptools, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 77)' \
    >/dev/null 2>&1 || want+=("setuptools>=77")

if [ ${#need[@]} -gt 0 ] || [ ${#want[@]} -gt 0 ]; then
    if [ -n "$wheelhouse" ]; then
        say "installing from $wheelhouse: ${need[*]} ${want[*]}"
        pip_offline --find-links "$wheelhouse" ${need[@]+"${need[@]}"} ${want[@]+"${want[@]}"} \
            || pip_offline --find-links "$wheelhouse" ${need[@]+"${need[@]}"} \
            || true
    fi
    still=()
    for pkg in ${need[@]+"${need[@]}"}; do
        has "${pkg//-/_}" || still+=("$pkg")
    done
    if [ ${#still[@]} -gt 0 ]; then
        pyver="$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        say "missing Python packages: ${still[*]} (also useful: ${want[*]:-none})"
        say "this machine has no network; on one that has, run:"
        say "  pip download --only-binary=:all: --python-version $pyver --platform manylinux2014_$(uname -m) --platform manylinux_2_28_$(uname -m) -d wheelhouse numpy array-api-compat array-api-strict pytest matplotlib 'setuptools>=77'"
        say "then copy wheelhouse/ here and run: ci/gpu-check.sh $outdir --wheelhouse wheelhouse"
        exit 4
    fi
    for pkg in array_api_strict matplotlib; do
        has "$pkg" || say "optional package $pkg is missing; continuing without it"
    done
fi

# mlp_xp itself: from the wheel, or from this tree (editable, no build isolation = offline).
testdir="$repo"
if [ -n "$wheel" ]; then
    say "installing mlp_xp from $wheel"
    pip_offline --no-deps --force-reinstall "$wheel"
    # Run the tests from a copy, so that `import mlp_xp` finds the wheel, not this tree.
    testdir="$(mktemp -d)"
    trap 'rm -rf "$testdir"' EXIT
    cp -r "$repo/tests" "$repo/pyproject.toml" "$testdir/"
    mlp_cli=(mlp-xp)
elif (cd "$repo" && pip_offline --no-deps --no-build-isolation -e .) >>"$outdir/pip-install.log" 2>&1; then
    mlp_cli=(mlp-xp)
else
    say "pip could not install this tree offline (see pip-install.log); using PYTHONPATH=$repo"
    export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
    mlp_cli=("$PY" -m mlp_xp.cli)
fi
command -v mlp-xp >/dev/null 2>&1 || mlp_cli=("$PY" -m mlp_xp.cli)
(cd "$testdir" && "$PY" -c 'import mlp_xp; print("mlp_xp", mlp_xp.__version__, "from", mlp_xp.__file__)') \
    | tee -a "$summary"
"$PY" -m pip freeze --disable-pip-version-check >"$outdir/pip-freeze.txt" 2>&1 || true
(cd "$testdir" && "$PY" -c 'import json, mlp_xp.backend as b; print(json.dumps(b.environment_report(), indent=2))') \
    >"$outdir/environment.json" 2>&1 || true

# ---- 3. the parity suite and mlp-xp parity -------------------------------------------------
backends="numpy,torch:cpu,$usable"
has array_api_strict && backends="numpy,array_api_strict:device1,torch:cpu,$usable"
has torch || backends="${backends//torch:cpu,/}"

status=0
set +e
(cd "$testdir" && timed 120 "$PY" -m pytest -p no:cacheprovider -m parity \
    tests/test_parity.py tests/test_parity_cli.py \
    --backend numpy --backend cupy --backend torch --backend array_api_strict) \
    >"$outdir/pytest-parity.log" 2>&1
rc=$?
set -e
say "parity suite: exit $rc ($(tail -n 1 "$outdir/pytest-parity.log"))"
[ "$rc" -eq 0 ] || status=$rc

plot=(--plot "$outdir/parity.png")
has matplotlib || plot=()
set +e
(cd "$testdir" && timed 60 "${mlp_cli[@]}" parity --backends "$backends" \
    --json "$outdir/parity.json" ${plot[@]+"${plot[@]}"}) >"$outdir/parity.txt" 2>&1
rc=$?
set -e
cat "$outdir/parity.txt"
say "mlp-xp parity --backends $backends: exit $rc"
[ "$rc" -eq 0 ] || [ "$status" -ne 0 ] || status=$rc

# ---- 4. the step benchmark on CuPy and PyTorch CUDA (its targets are reported, not judged) --
if [ -f "$repo/benchmarks/step.py" ]; then
    bench_plot=(--plot "$outdir/bench.png")
    has matplotlib || bench_plot=()
    set +e
    (cd "$repo" && timed 90 "$PY" benchmarks/step.py --gpu --check --budget 2 --json "$outdir/bench.json" \
        ${bench_plot[@]+"${bench_plot[@]}"}) >"$outdir/bench.log" 2>&1
    rc=$?
    set -e
    say "benchmarks/step.py --gpu: exit $rc (not part of the verdict; see bench.log)"
else
    say "benchmarks/step.py is not in this tree; no benchmark run"
fi

say "finished in ${SECONDS}s with exit $status; results in $outdir"
exit "$status"
