"""benchmarks/run_all.py (`minigrad bench`): a script with nothing to measure here says so with
common.SKIPPED, and the summary counts it as skipped, neither run nor failed."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad as mg

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run_all(monkeypatch):
    # run_all.py's `from common import SKIPPED` finds benchmarks/common.py, as when it runs as a
    # script; under that plain name only for this test
    monkeypatch.setitem(sys.modules, "common", load("common", BENCHMARKS / "common.py"))
    return load("bench_run_all", BENCHMARKS / "run_all.py")


def fake_suite(run_all, monkeypatch, folder, statuses):
    """The suite replaced by scripts in `folder` that exit with these statuses: {name: status}."""
    for name, status in statuses.items():
        (folder / name).write_text(f"import sys\nsys.exit({status})\n")
    monkeypatch.setattr(run_all, "HERE", folder)
    monkeypatch.setattr(run_all, "SUITE", list(statuses))


def test_a_skipped_benchmark_is_reported_as_skipped_not_as_run(run_all, monkeypatch, tmp_path, capsys):
    assert run_all.SKIPPED == 77  # automake's "skipped"
    fake_suite(run_all, monkeypatch, tmp_path, {"ran.py": 0, "no_gpu.py": 77, "no_data.py": 77})
    assert run_all.main([]) == 0  # a skip is no failure
    assert capsys.readouterr().out.rstrip().endswith("1/3 benchmarks ran; skipped: no_gpu.py, no_data.py")


def test_a_failed_benchmark_fails_the_run_and_is_named(run_all, monkeypatch, tmp_path, capsys):
    fake_suite(run_all, monkeypatch, tmp_path, {"ran.py": 0, "crashed.py": 1, "no_gpu.py": 77})
    assert run_all.main(["--quick"]) == 1
    assert capsys.readouterr().out.rstrip().endswith("1/3 benchmarks ran; skipped: no_gpu.py; failed: crashed.py")


def run_script(name, tmp_path):
    """A benchmark script run as run_all.py runs it (the working tree's minigrad), with an empty data cache."""
    env = dict(os.environ, MINIGRAD_CACHE=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCHMARKS.parent), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(BENCHMARKS / name), "--quick"], cwd=BENCHMARKS, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the benchmarks import PyTorch")
def test_the_shakespeare_benchmark_without_its_data_exits_skipped(tmp_path):
    result = run_script("bench_shakespeare.py", tmp_path)
    assert result.returncode == 77, result.stdout + result.stderr
    assert "bench_shakespeare skipped (RESULTS.md untouched): the shakespeare data is not on this machine" \
        in result.stdout


@pytest.mark.skipif(mg.cuda_is_available(), reason="on a GPU the benchmark runs")
def test_the_gpu_benchmark_without_a_gpu_exits_skipped(tmp_path):
    result = run_script("bench_gpu.py", tmp_path)
    assert result.returncode == 77, result.stdout + result.stderr
    assert "bench_gpu skipped: no CuPy + NVIDIA GPU on this machine" in result.stdout
