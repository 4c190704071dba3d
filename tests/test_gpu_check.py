"""ci/gpu-check.sh and ci/gpu_repros.py, run on this machine (which may lack a GPU).

The GPU machine is lent once, for minutes: these tests make sure that the script
always writes its report there, and says why here, without needing a GPU.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCRIPT = "ci/gpu-check.sh"
REPROS = ROOT / "ci" / "gpu_repros.py"
STAGES = (
    "interpreter",
    "probe",
    "facts",
    "smoke",
    "repros",
    "tests-parity",
    "tests-core",
    "parity",
    "memory",
    "bench",
    "jax-fit",
)
REPRO_CHECKS = (
    "a.cupy_available_and_auto",
    "b.torch_cuda0_save_load",
    "b.load_from_cuda7_warns",
    "c.device_cuda_trains_on_cupy",
    "d.environment_report_no_warning",
    "e.cupy_tf32_mode",
    "f.cupy_cuda1_placement",
    "g.fit_torch_cuda_float32",
    "g.fit_cupy_float32",
)
GPU_CHECKS = ("a.", "b.torch", "c.", "f.", "g.")


@functools.cache
def _gpu_here() -> bool:
    """Whether the probe of ci/gpu_repros.py finds a usable GPU here."""
    done = subprocess.run(
        [sys.executable, str(REPROS), "--probe"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    return done.returncode == 0


def _env(find_python: bool = False, **extra: str) -> dict[str, str]:
    """This environment for the scripts, with PY the interpreter running the tests."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MLP_XP_GPU_CHECK_") and k not in ("PY", "CUPY_TF32")
    }
    if not find_python:
        env["PY"] = sys.executable
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    env.update(extra)
    return env


def _check(
    out: Path, timeout: float, find_python: bool = False, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", SCRIPT, str(out)],
        cwd=ROOT,
        env=_env(find_python, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _stage_lines(summary: str) -> dict[str, str]:
    return dict(re.findall(r"^## ([a-z-]+): (.*)$", summary, flags=re.MULTILINE))


def test_the_script_parses():
    done = subprocess.run(["bash", "-n", SCRIPT], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_nothing():
    done = subprocess.run(
        ["shellcheck", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_help_and_bad_usage():
    helped = subprocess.run(["bash", SCRIPT, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert helped.returncode == 0
    assert "Exit codes" in helped.stdout
    assert "MLP_XP_GPU_CHECK_FORCE" in helped.stdout
    for args in ([], ["--nope", "out"], ["a", "b"]):
        done = subprocess.run(["bash", SCRIPT, *args], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 2, args
        assert "usage:" in done.stderr


def test_stage_timeouts_add_up_to_under_300_seconds():
    header = (ROOT / SCRIPT).read_text().split("\n\n", 1)[0]
    rows = re.findall(r"^#\s+(\d+)\+?\s+([a-z-]+)\s", header, flags=re.MULTILINE)
    limits = {name: int(n) for n, name in rows if name in (*STAGES, "pack")}
    assert set(limits) == {*STAGES, "pack"}
    in_all = [int(n) for n, name in rows if name == "in"]
    assert in_all == [sum(limits.values())]
    assert sum(limits.values()) < 300
    code = (ROOT / SCRIPT).read_text()
    for name in STAGES[1:]:
        found = re.search(rf"^run_stage {name} (\d+) ", code, flags=re.MULTILINE)
        assert found, name
        assert int(found.group(1)) == limits[name], name


@pytest.mark.slow
def test_without_a_gpu_it_exits_3_within_seconds_and_says_why(tmp_path):
    if _gpu_here():
        pytest.skip("this machine has a usable GPU")
    out = tmp_path / "out"
    done = _check(out, timeout=60, find_python=True)  # the script finds its interpreter
    assert done.returncode == 3, done.stdout + done.stderr
    summary = (out / "summary.md").read_text()
    assert "## probe: NO GPU" in summary
    last = summary.strip().splitlines()[-1]
    assert last.startswith("overall: NO GPU (exit 3)")
    assert "neither CuPy nor torch can use a CUDA GPU here" in last
    assert "cupy" in last
    assert "torch" in last
    assert sorted(p.name for p in out.iterdir()) == ["details.tar.gz", "summary.md"]


def test_forced_unusable_exits_3(tmp_path):
    out = tmp_path / "out"
    done = _check(
        out, timeout=60, MLP_XP_GPU_CHECK_FORCE="unusable", MLP_XP_GPU_CHECK_TIMEOUT_SCALE="0.1"
    )
    assert done.returncode == 3
    assert "forced unusable" in (out / "summary.md").read_text().splitlines()[-1]


@pytest.mark.slow
def test_forced_usable_every_stage_reports_and_the_details_come_back(tmp_path):
    if _gpu_here():
        pytest.skip("this machine has a usable GPU: the stages would pass, slowly")
    out = tmp_path / "out"
    done = _check(
        out, timeout=90, MLP_XP_GPU_CHECK_FORCE="usable", MLP_XP_GPU_CHECK_TIMEOUT_SCALE="0.02"
    )
    assert done.returncode in (1, 124), done.stdout + done.stderr
    summary = (out / "summary.md").read_text()
    stages = _stage_lines(summary)
    assert list(stages) == list(STAGES), summary
    for name in STAGES[3:]:  # no GPU: each fails or runs out of its (tiny) time
        assert re.match(r"(FAIL|TIMEOUT)", stages[name]), (name, stages[name])
    last = summary.strip().splitlines()[-1]
    assert last.startswith(("overall: FAIL (exit 1)", "overall: TIMEOUT (exit 124)"))
    # At most 8 files come back from the GPU machine, and no folders.
    files = list(out.iterdir())
    assert len(files) <= 8
    assert all(f.is_file() for f in files)
    with tarfile.open(out / "details.tar.gz") as tar:
        names = {Path(n).name for n in tar.getnames()}
    assert {f"{name}.log" for name in STAGES} <= names
    assert "summary.md" in names
    assert (tmp_path / "out.cache" / "cupy").is_dir()


def test_the_repros_compile():
    done = subprocess.run(
        [sys.executable, "-m", "py_compile", str(REPROS)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_the_repros_report_every_check_without_a_gpu():
    if _gpu_here():
        pytest.skip("this machine has a usable GPU")
    done = subprocess.run(
        [sys.executable, str(REPROS), "--time-limit", "100"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "Traceback" not in done.stdout
    lines = [ln for ln in done.stdout.splitlines() if not ln.startswith("#")]
    verdicts = {}
    for line in lines:
        found = re.match(r"(PASS|FAIL|SKIP) (\S+): \S", line)
        assert found, line
        verdicts[found.group(2)] = found.group(1)
    assert list(verdicts) == list(REPRO_CHECKS)
    for name, verdict in verdicts.items():
        if name.startswith(GPU_CHECKS):
            assert verdict in ("FAIL", "SKIP"), (name, verdict)
    assert done.returncode == 1  # a GPU check failed


@pytest.mark.slow
def test_the_smoke_test_reports_every_part_without_a_gpu(tmp_path):
    if _gpu_here():
        pytest.skip("this machine has a usable GPU")
    done = subprocess.run(
        [sys.executable, str(REPROS), "--smoke", "--out", str(tmp_path), "--time-limit", "60"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    names = re.findall(r"^(?:PASS|FAIL|SKIP) (\S+): ", done.stdout, flags=re.MULTILINE)
    assert names == [
        "s.nvidia_smi",
        "s.import_cupy_W_error",
        "s.cupy_ops",
        "s.torch_cuda_matmul",
        "s.environment_report",
        "s.available_backends",
        "s.mlp_xp_cli",
        "s.jax_cuda_matmul",
    ]
    assert re.search(r"^PASS s.environment_report: ", done.stdout, flags=re.MULTILINE)
    assert (tmp_path / "environment.json").is_file()
