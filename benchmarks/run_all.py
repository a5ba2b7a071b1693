"""Run every benchmark in turn; each writes its own section of benchmarks/RESULTS.md.

    python benchmarks/run_all.py            # the whole suite (several minutes)
    python benchmarks/run_all.py --quick    # a smoke run of each; RESULTS.md untouched
    minigrad bench [--quick]                # the same, from anywhere in a clone

They run one after another, never side by side: each measures ratios on a machine
that should be otherwise idle. Needs `pip install torch==2.13.0 threadpoolctl`.
A script with nothing to measure here (bench_gpu.py without a GPU, bench_shakespeare.py
without its data) exits with common.SKIPPED and is reported as skipped, not as run.
"""
import subprocess
import sys
import time
from pathlib import Path

from common import SKIPPED

HERE = Path(__file__).parent
SUITE = ["bench_overhead.py", "bench_engine.py", "bench_mlp.py", "bench_transformer.py", "bench_modes.py",
         "bench_accumulate.py", "bench_shakespeare.py", "bench_gpu.py"]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    skipped, failed = [], []
    for script in SUITE:
        print(f"== {script} {' '.join(argv)}", flush=True)
        start = time.perf_counter()
        status = subprocess.run([sys.executable, str(HERE / script), *argv], cwd=HERE).returncode
        if status == SKIPPED:
            skipped.append(script)
        elif status:
            failed.append(script)
        print(f"== {script}: {time.perf_counter() - start:.0f} s\n", flush=True)
    ran = len(SUITE) - len(skipped) - len(failed)
    print(f"{ran}/{len(SUITE)} benchmarks ran" + (f"; skipped: {', '.join(skipped)}" if skipped else "")
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0  # a skip is not a failure: that machine lacks what the script needs


if __name__ == "__main__":
    sys.exit(main())
