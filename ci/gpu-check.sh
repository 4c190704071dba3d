#!/usr/bin/env bash
# GPU check of mlp_xp: one short run, without network, on a machine with an NVIDIA GPU.
#
#   ci/gpu-check.sh OUTDIR      run every stage; the report goes to OUTDIR/summary.md
#   ci/gpu-check.sh --help      this text
#
# Python: $PY when set (taken as it is), else the first of python3, python3.12, python
# and .venv/bin/python that has CuPy and torch (else the one lacking the least);
# summary.md names what it lacks.  mlp_xp runs from this tree through PYTHONPATH,
# nothing is installed, and the command line is invoked as `$PY -m mlp_xp.cli`.
#
# Stages, in order.  Each runs under its own `timeout -k 5 N` and appends its verdict
# (PASS, FAIL or TIMEOUT), its seconds and its key lines to OUTDIR/summary.md, whatever
# happened before it:
#    N s  stage
#    10   interpreter   find $PY (each candidate asked under `timeout 4`, at most)
#    20   probe         can CuPy or torch use a CUDA GPU?  Decided by that alone, not by
#                       nvidia-smi; when neither can, summary.md says why and exit is 3
#    10   facts         nvidia-smi, nvidia-smi -q, pip freeze
#    30+  smoke         ci/gpu_repros.py --smoke: nvidia-smi -L, `import cupy` under
#                       -W error, CuPy elementwise/sum/float32 matmul/copy back, a torch
#                       CUDA matmul, environment_report(), available_backends(),
#                       `$PY -m mlp_xp.cli --version`, a JAX CUDA matmul (if jax imports)
#    55   repros        ci/gpu_repros.py: one PASS/FAIL/SKIP line per finding
#    43+  tests-parity  pytest -m parity tests/ --backend cupy --backend torch --backend jax
#                       (JAX eager and compiled trajectories included)
#    37+  tests-core    pytest tests/test_training.py tests/test_placement.py
#                       tests/test_estimators.py --backend cupy --backend torch
#    20   parity        mlp-xp parity --backends numpy,cupy,torch:cuda,jax:cuda
#    15+  memory        ci/gpu_memory.py: fit's peak extra device memory over the data
#                       (1e6 x 64 float32) from CuPy's pool and torch.cuda's statistics,
#                       on device and NumPy input; one PASS/FAIL/SKIP line per case
#    25+  bench         benchmarks/step.py --gpu --check --budget 2 (JSON after each case)
#    20+  jax-fit       benchmarks/jax_fit.py --gpu --check --rounds 3: the lecture's fit
#                       epoch in compiled JAX on CUDA against CuPy's eager loop (else
#                       torch CUDA), compile time apart; JSON in details.tar.gz
#     5   pack          OUTDIR/details.tar.gz
#   ---
#   290   in all.  A stage marked + also gets the seconds that earlier stages left
#         unused (the sum stays 290), no stage runs past 280 s of the run (so the
#         5 s kill grace and the packing still fit in 5 minutes), and CuPy's kernel
#         cache is kept in ${OUTDIR%/}.cache/cupy, outside OUTDIR.
#
# OUTDIR ends with at most four files, no folders: summary.md (every stage's verdict,
# its last line the overall one), details.tar.gz (every log, environment.json,
# available_backends.json, parity.log (the table), parity.png, bench.log, bench.png,
# nvidia-smi output, pip-freeze.txt, a copy of summary.md), parity.json and bench.json
# (the benchmark rewrites it after every case, so a timeout leaves what it measured).
# The logs are written to ${OUTDIR%/}.work first.
#
# Exit codes: 0 every stage passed; 1 a stage failed (or the run was stopped by
# SIGINT/SIGTERM: summary.md and details.tar.gz are written first); 2 bad usage;
# 3 no usable GPU (summary.md says why, within seconds); 124 a stage timed out and
# none failed.
#
# Test hooks (for a machine without a GPU):
#   MLP_XP_GPU_CHECK_FORCE=usable|unusable   overrides the probe's answer
#   MLP_XP_GPU_CHECK_TIMEOUT_SCALE=F         multiplies every stage's N by F (>= 1 s each)

set -uo pipefail

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"
}
die_usage() {
    echo "gpu-check: $*" >&2
    echo "usage: ci/gpu-check.sh OUTDIR   (ci/gpu-check.sh --help explains)" >&2
    exit 2
}

outdir=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        -*) die_usage "unknown option $1" ;;
        *) [ -z "$outdir" ] || die_usage "one OUTDIR only"; outdir="$1"; shift ;;
    esac
done
[ -n "$outdir" ] || die_usage "OUTDIR is missing"

force="${MLP_XP_GPU_CHECK_FORCE:-}"
case "$force" in
    "" | usable | unusable) ;;
    *) die_usage "MLP_XP_GPU_CHECK_FORCE=$force: use usable or unusable" ;;
esac
scale="${MLP_XP_GPU_CHECK_TIMEOUT_SCALE:-1}"
awk -v f="$scale" 'BEGIN { exit !(f + 0 > 0) }' ||
    die_usage "MLP_XP_GPU_CHECK_TIMEOUT_SCALE=$scale: use a positive number"

repo="$(cd "$(dirname "$0")/.." && pwd)"
# A relative PY is relative to where the script was started, not to the tree.
case "${PY:-}" in
    "" | /*) ;;
    */*) PY="$PWD/$PY" ;;
esac
mkdir -p "$outdir" || die_usage "cannot create $outdir"
outdir="$(cd "$outdir" && pwd)"
work="$outdir.work"
cache="$outdir.cache/cupy"
rm -rf "$work"
mkdir -p "$work" "$cache"
rm -f "$outdir/summary.md" "$outdir/details.tar.gz" "$outdir/parity.json" "$outdir/bench.json"
summary="$outdir/summary.md"
cd "$repo" || exit 2

export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export CUPY_CACHE_DIR="$cache"
export MPLBACKEND=Agg
export XLA_PYTHON_CLIENT_PREALLOCATE=false
export MLP_XP_COMPILATION_CACHE="$outdir.cache/jax"

KILL_GRACE=5
DEADLINE=280 # no stage runs past this many seconds of the run
allotted=0   # the seconds of every stage begun so far
failed=()
timedout=()
stage=""     # the stage running now, its key lines' pattern, and its timeout's pid
stage_pattern=""
stage_pid=""

# N seconds times the scale, at least 1.
scaled() { awk -v n="$1" -v f="$scale" 'BEGIN { v = int(n * f + 0.5); print (v < 1 ? 1 : v) }'; }

say() { printf '%s\n' "$*" >>"$summary"; }

# record NAME VERDICT SECONDS LIMIT [KEY LINES FILE]
record() {
    local name="$1" verdict="$2" secs="$3" limit="$4" lines="${5:-}"
    say ""
    say "## $name: $verdict ($secs s, limit $limit s)"
    if [ -n "$lines" ] && [ -s "$lines" ]; then
        say '```'
        cut -c1-400 "$lines" >>"$summary"
        say '```'
    fi
    case "$verdict" in
        FAIL*) failed+=("$name") ;;
        TIMEOUT*) timedout+=("$name") ;;
    esac
}

# The lines of LOG that match PATTERN (at most 40), else its last 8 lines; after a
# failure or a timeout, its last 4 lines as well.
key_lines() {
    local log="$1" pattern="$2" verdict="$3" out="$work/.key"
    grep -E -- "$pattern" "$log" 2>/dev/null | head -n 40 >"$out"
    if [ ! -s "$log" ]; then
        echo "(no output)" >"$out"
    elif [ ! -s "$out" ]; then
        tail -n 8 "$log" >"$out"
    elif [ "${verdict#FAIL}" != "$verdict" ] || [ "${verdict#TIMEOUT}" != "$verdict" ]; then
        local tail_lines
        tail_lines="$(tail -n 4 "$log" | grep -vxF -f "$out")"
        [ -z "$tail_lines" ] || printf -- '--- last lines of %s:\n%s\n' "$(basename "$log")" \
            "$tail_lines" >>"$out"
    fi
    echo "$out"
}

# run_stage NAME N ELASTIC PATTERN CMD...: CMD under `timeout -k 5 LIMIT`, its output in
# $work/NAME.log; STAGE_LIMIT holds LIMIT for CMD.  Returns CMD's exit status.
run_stage() {
    local name="$1" nominal="$2" elastic="$3" pattern="$4"
    shift 4
    local limit left start rc verdict log="$work/$name.log"
    nominal="$(scaled "$nominal")"
    allotted=$((allotted + nominal))
    limit="$nominal"
    if [ "$elastic" = 1 ] && [ $((allotted - SECONDS)) -gt "$limit" ]; then
        limit=$((allotted - SECONDS))
    fi
    left=$((DEADLINE - SECONDS))
    [ "$left" -ge "$limit" ] || limit="$left"
    if [ "$limit" -lt 1 ]; then
        echo "not started: ${DEADLINE} s of the run were used up" >"$log"
        record "$name" "TIMEOUT (not started)" 0 0 "$log"
        return 124
    fi
    start=$SECONDS
    stage="$name" stage_pattern="$pattern"
    # In the background, so that a signal to this script is handled at once (see on_signal).
    STAGE_LIMIT="$limit" timeout -k "$KILL_GRACE" "$limit" "$@" >"$log" 2>&1 </dev/null &
    stage_pid=$!
    wait "$stage_pid"
    rc=$?
    stage="" stage_pid=""
    case "$name:$rc" in
        probe:3) verdict="NO GPU (exit 3)" ;;
        *:0) verdict=PASS ;;
        *:124 | *:137) verdict="TIMEOUT (exit $rc)" ;;
        *) verdict="FAIL (exit $rc)" ;;
    esac
    record "$name" "$verdict" $((SECONDS - start)) "$limit" "$(key_lines "$log" "$pattern" "$verdict")"
    return "$rc"
}

pack() {
    # A JSON writer killed between its temporary file and the rename leaves the former.
    find "$outdir" -maxdepth 1 -name '.*.tmp' -type f -delete 2>/dev/null
    cp "$summary" "$work/summary.md" 2>/dev/null
    rm -f "$work/.key"
    timeout -k 2 "$(scaled 5)" tar -czf "$outdir/details.tar.gz.tmp" -C "$work" . &&
        mv "$outdir/details.tar.gz.tmp" "$outdir/details.tar.gz"
    local rc=$?
    rm -f "$outdir/details.tar.gz.tmp"
    return "$rc"
}

# finish EXIT WORD REASON: the last line of summary.md, the tarball, and the exit.
finish() {
    local code="$1" word="$2" reason="$3"
    pack || say "(details.tar.gz could not be written)"
    say ""
    say "overall: $word (exit $code) in ${SECONDS} s; $reason"
    sed -n '$p' "$summary"
    echo "gpu-check: report in $summary" >&2
    exit "$code"
}

# SIGINT or SIGTERM: stop the running stage, record it, and still write the report.
on_signal() {
    trap - INT TERM
    if [ -n "$stage_pid" ]; then
        kill -TERM "$stage_pid" 2>/dev/null
        wait "$stage_pid" 2>/dev/null
        record "$stage" INTERRUPTED "?" "?" "$(key_lines "$work/$stage.log" "$stage_pattern" FAIL)"
    fi
    finish 1 INTERRUPTED "stopped by a signal${stage:+ during $stage}"
}
trap on_signal INT TERM

say "# mlp_xp GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n)"
say ""
say "tree: $repo ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')$(
    git -C "$repo" status --porcelain 2>/dev/null | grep -q . && echo ', with local changes'))"
[ "$scale" = 1 ] || say "test hook: stage timeouts scaled by $scale"
[ -z "$force" ] || say "test hook: the probe's answer is forced to '$force'"

# ---- interpreter ----------------------------------------------------------------------
REQUIRED="cupy torch numpy array_api_compat pytest"
OPTIONAL="jax matplotlib array_api_strict sklearn hypothesis safetensors"
# ask_python EXE SECONDS: prints "VERSION missing: MOD...", without importing anything.
# shellcheck disable=SC2086 # the module lists are split into words on purpose
ask_python() {
    timeout -k 1 "$2" "$1" -c '
import importlib.util as u, sys
assert sys.version_info >= (3, 10), "mlp_xp needs Python 3.10 or newer"
mods = sys.argv[1:]
print(sys.version.split()[0], "missing:", *[m for m in mods if u.find_spec(m) is None])
' $REQUIRED $OPTIONAL 2>&1 | grep -v '^[[:space:]]*$' | tail -n 1
}

interp_log="$work/interpreter.log"
: >"$interp_log"
istart=$SECONDS
allotted=$((allotted + $(scaled 10)))
if [ -n "${PY:-}" ]; then
    if ! command -v "$PY" >/dev/null 2>&1; then
        say ""
        say "## interpreter: FAIL: PY=$PY is not an executable"
        finish 2 "BAD USAGE" "PY=$PY is not an executable"
    fi
    candidates=("$PY")
else
    candidates=(python3 python3.12 python "$repo/.venv/bin/python")
fi
best=""
best_missing=99
seen=" "
for cand in "${candidates[@]}"; do
    exe="$(command -v "$cand" 2>/dev/null)" || { echo "$cand: not found" >>"$interp_log"; continue; }
    real="$(readlink -f "$exe" 2>/dev/null || echo "$exe")"
    case "$seen" in *" $real "*)
        echo "$cand: same as an earlier candidate ($real)" >>"$interp_log"; continue ;;
    esac
    # Each candidate gets up to 4 s (a cold start), within the stage's 10 s.
    ask_s=$((istart + $(scaled 10) - SECONDS))
    [ "$ask_s" -le "$(scaled 4)" ] || ask_s="$(scaled 4)"
    if [ "$ask_s" -lt 1 ]; then
        echo "$cand ($exe): not asked: the stage's $(scaled 10) s are used up" >>"$interp_log"
        continue
    fi
    answer="$(ask_python "$exe" "$ask_s")"
    case "$answer" in
        *"missing:"*) echo "$cand ($exe): Python $answer" >>"$interp_log" ;;
        *) echo "$cand ($exe): does not run: ${answer:-no answer}" >>"$interp_log"; continue ;;
    esac
    seen="$seen$real "
    n=0
    for m in $REQUIRED; do
        case " ${answer#*missing:} " in *" $m "*) n=$((n + 1)) ;; esac
    done
    if [ "$n" -lt "$best_missing" ]; then
        best="$exe" best_missing="$n" best_answer="$answer"
    fi
    [ "$n" -eq 0 ] && break
done
if [ -z "$best" ]; then
    record interpreter FAIL $((SECONDS - istart)) "$(scaled 10)" "$interp_log"
    finish 3 "NO GPU" "no Python interpreter could be asked (tried ${candidates[*]}), so no GPU could be probed"
fi
PY="$best"
missing="${best_answer#*missing:}"
missing_required=""
for m in $REQUIRED; do
    case " $missing " in *" $m "*) missing_required="$missing_required $m" ;; esac
done
{
    echo "chosen: PY=$PY (Python ${best_answer%% *})"
    echo "missing, needed:${missing_required:- none}"
    missing_optional=""
    for m in $OPTIONAL; do
        case " $missing " in *" $m "*) missing_optional="$missing_optional $m" ;; esac
    done
    echo "missing, optional:${missing_optional:- none}"
} >>"$interp_log"
if [ -n "$missing_required" ]; then
    record interpreter "FAIL (lacks$missing_required)" $((SECONDS - istart)) "$(scaled 10)" "$interp_log"
else
    record interpreter PASS $((SECONDS - istart)) "$(scaled 10)" "$interp_log"
fi
has() { case " $missing " in *" $1 "*) return 1 ;; *) return 0 ;; esac; }

# ---- probe: a usable GPU or exit 3 -------------------------------------------------------
run_stage probe 20 0 '^(cupy|torch|USABLE=)' "$PY" ci/gpu_repros.py --probe
probe_rc=$?
usable="$(sed -n 's/^USABLE=//p' "$work/probe.log" | tail -n 1)"
case "$force" in
    usable)
        say "(test hook: the GPU is taken as usable; the probe said: '${usable:-none}')"
        ;;
    unusable)
        finish 3 "NO GPU" "forced unusable by MLP_XP_GPU_CHECK_FORCE; nothing else was run"
        ;;
    *)
        if [ -z "$usable" ]; then
            if [ "$probe_rc" -eq 3 ]; then
                why="neither CuPy nor torch can use a CUDA GPU here: $(grep -E '^(cupy|torch)' \
                    "$work/probe.log" | paste -sd ';' - | sed 's/;/; /g')"
            else
                why="the probe did not finish (exit $probe_rc): $(tail -n 1 "$work/probe.log")"
            fi
            finish 3 "NO GPU" "$why; nothing else was run"
        fi
        ;;
esac

# ---- facts ----------------------------------------------------------------------------
facts() {
    if command -v nvidia-smi >/dev/null 2>&1; then
        timeout -k 1 4 nvidia-smi >"$work/nvidia-smi.txt" 2>&1
        timeout -k 1 4 nvidia-smi -q >"$work/nvidia-smi-q.txt" 2>&1
        echo "nvidia-smi: $(grep -m1 'Driver Version' "$work/nvidia-smi.txt" | tr -s ' |')"
    else
        echo "nvidia-smi: not installed"
    fi
    "$PY" -m pip freeze --disable-pip-version-check >"$work/pip-freeze.txt" 2>&1
    echo "pip freeze: exit $?, $(wc -l <"$work/pip-freeze.txt") lines"
    grep -iE '^(cupy|torch|jax|jaxlib|numpy|array.api|nvidia-cu(blas|da-runtime|da-nvrtc))' \
        "$work/pip-freeze.txt" | head -n 12
}
export -f facts
export PY work
run_stage facts 10 0 '.' bash -c facts

# ---- 1. smoke -------------------------------------------------------------------------
# shellcheck disable=SC2016 # $STAGE_LIMIT is expanded by the inner bash
run_stage smoke 30 1 '^(PASS|FAIL|SKIP|#) ' bash -c \
    '"$PY" ci/gpu_repros.py --smoke --out "$work" --time-limit "$STAGE_LIMIT"'

# ---- 2. one repro per finding ----------------------------------------------------------
# shellcheck disable=SC2016
run_stage repros 55 0 '^(PASS|FAIL|SKIP|#) ' bash -c \
    '"$PY" ci/gpu_repros.py --time-limit "$STAGE_LIMIT"'

# ---- 3. the test suite -----------------------------------------------------------------
TESTS_PATTERN='^(FAILED|ERROR|SKIPPED|XPASS) |^[0-9]+ (passed|failed|skipped|errors?|deselected)|no tests ran|^ERROR: |^E +[A-Za-z]*Error'
run_stage tests-parity 43 1 "$TESTS_PATTERN" \
    "$PY" -m pytest -p no:cacheprovider -q -m parity tests/ \
    --backend cupy --backend torch --backend jax --durations=15
run_stage tests-core 37 1 "$TESTS_PATTERN" \
    "$PY" -m pytest -p no:cacheprovider -q \
    tests/test_training.py tests/test_placement.py tests/test_estimators.py \
    --backend cupy --backend torch --durations=15

# ---- 4. mlp-xp parity ---------------------------------------------------------------------
plot=()
if has matplotlib; then plot=(--plot "$work/parity.png"); fi
run_stage parity 20 0 '^(backend|numpy|cupy|torch|jax|array_api_strict|dask) |^(pass|fail)|^mlp-xp|GPU|reduced-precision|^skipped|rror' \
    "$PY" -m mlp_xp.cli parity --backends numpy,cupy,torch:cuda,jax:cuda \
    --json "$outdir/parity.json" ${plot[@]+"${plot[@]}"}

# ---- 5. device memory: fit's peak over the data, from each library's own statistics -----
# shellcheck disable=SC2016
run_stage memory 15 1 '^(PASS|FAIL|SKIP|#) ' bash -c \
    '"$PY" ci/gpu_memory.py --time-limit "$STAGE_LIMIT"'

# ---- 6. the benchmark ----------------------------------------------------------------------
bench_plot=()
if has matplotlib; then bench_plot=(--plot "$work/bench.png"); fi
run_stage bench 25 1 '^# GPU|^# reduced|^targets:|^  (PASS|FAIL) |^\.\.\. |rror|^benchmarks/step.py: ' \
    "$PY" benchmarks/step.py --gpu --check --budget 2 \
    --json "$outdir/bench.json" ${bench_plot[@]+"${bench_plot[@]}"}

# ---- 7. JAX's compiled epoch against the eager GPU loop ------------------------------------
run_stage jax-fit 20 1 '^case=|^(ok|MISSED) |^jax_fit: |rror' \
    "$PY" benchmarks/jax_fit.py --gpu --check --rounds 3 --json "$work/jax_fit.json"

# ---- the verdict -----------------------------------------------------------------------
trap - INT TERM
if [ ${#failed[@]} -gt 0 ]; then
    finish 1 FAIL "failed: ${failed[*]}${timedout[*]:+; timed out: ${timedout[*]}}; details in details.tar.gz"
elif [ ${#timedout[@]} -gt 0 ]; then
    finish 124 TIMEOUT "timed out: ${timedout[*]}; nothing failed; details in details.tar.gz"
fi
finish 0 PASS "every stage passed; details in details.tar.gz"
