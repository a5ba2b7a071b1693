"""Shared helpers for the benchmark scripts: threads, timing, machine info, RESULTS.md.

Import this before NumPy or PyTorch: `limit_threads` only works if it runs
before the BLAS libraries start their thread pools. Nothing here imports
NumPy at module level for that reason.
"""
import contextlib
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "RESULTS.md"

# The exit status of a script with nothing it can measure here (no GPU, no data set), as automake's
# tests use it: run_all.py reports that script as skipped, neither run nor failed.
SKIPPED = 77

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def limit_threads(n):
    """Give every BLAS/OpenMP pool n threads. Call before importing numpy or torch."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(n)


@contextlib.contextmanager
def using_threads(n, torch=None):
    """Run the block with n threads in every BLAS/OpenMP pool and in torch.

    Lowering the count at run time needs threadpoolctl (`pip install threadpoolctl`);
    without it only the count given to limit_threads is possible.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if str(n) != os.environ.get("OPENBLAS_NUM_THREADS"):
            raise RuntimeError(f"running with {n} threads needs threadpoolctl: pip install threadpoolctl") from None
        threadpool_limits = lambda limits: contextlib.nullcontext()  # noqa: E731
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)


def thread_report(torch=None):
    """What each library actually uses, read back rather than assumed."""
    parts = []
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            parts.append(f"{pool['internal_api']} ({Path(pool['filepath']).name}): {pool['num_threads']}")
    except ImportError:
        parts.append(f"BLAS pools: OPENBLAS/MKL/OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    if torch is not None:
        parts.append(f"torch.get_num_threads(): {torch.get_num_threads()}")
    return "; ".join(parts)


def time_interleaved(cases, repeats, warmup=2, pause=0.0):
    """Median seconds per call of each case, timing the cases in turn on every repeat.

    cases: {name: zero-argument function}. Interleaving (a, b, a, b, ...) rather
    than (a, a, ..., b, b, ...) exposes every case to the same drifts in clock
    speed and background load, so their ratio is fair even on a noisy machine.

    pause: seconds to sleep before each timed call. With several threads, a BLAS
    or OpenMP pool keeps its idle workers spinning for a while after each call
    (OpenBLAS for ~2^28 cycles, about 0.1 s), and those spinning workers would
    take cores from the next case, from another library; a pause lets them sleep.
    """
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def peak_memory_mib(step, repeats=3):
    """Peak resident memory of `repeats` calls of step, above the resident memory before them (MiB),
    run in a process of its own (memory_in_subprocess). Linux's high-water mark of the process is
    reset first (writing 5 to /proc/self/clear_refs), so imports and set-up that peaked higher
    before do not count."""
    def status_mib(key):  # from /proc/self/status, in kB
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key)) / 1024

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the high-water mark is now the resident size
    before = status_mib("VmRSS")
    for _ in range(repeats):
        step()
    return status_mib("VmHWM") - before


def memory_in_subprocess(script, *args):
    """Run `script *args` in a fresh process; it prints peak_memory_mib's result as its last line."""
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        match = re.search(r"Model name:\s*(.+)", out)
        if match:
            return match.group(1).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or platform.machine()


def machine_info():
    """One line: CPU, cores, OS, Python and library versions, BLAS."""
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        blas = "unknown BLAS"
    parts = [f"{cpu_name()} ({os.cpu_count()} logical CPUs)", f"{platform.system()} {platform.release()}",
             f"Python {platform.python_version()}", f"NumPy {np.__version__} ({blas})"]
    try:
        import torch

        parts.append(f"PyTorch {torch.__version__}")
    except ImportError:
        pass
    return ", ".join(parts)


def today():
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


def write_section(name, body, path=RESULTS):
    """Write or replace the section `name` of RESULTS.md, leaving the others alone.

    A section lives between `<!-- bench:name -->` and `<!-- /bench:name -->`, so
    several scripts can share one file; a new section is appended at the end.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n\nEach section is written by the script it names.\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
    return path
