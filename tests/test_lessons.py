"""Every lesson runs in quick mode and prints the numbers it teaches.

Lessons are found by glob, so a new `lessons/NN_name.py` is run here without
editing this file; lessons listed in EXPECTED must also print those strings.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))

# lesson file name -> strings its --quick output must contain (numbers a reader can check)
EXPECTED = {
    "01_chain_rule.py": ["1.08060461", "-5.46678157", "largest |engine - hand|"],
    "02_gradient_descent.py": ["4.4", "4.400000", "3.920000", "3.536000", "after one step w = 4.4"],
    "03_autograd_engine.py": [
        "t  = Tanh(n)", "dt/dn = +0.6400", "dL/da = -9.6000", "dL/db = +6.4000",
        "a.grad = -19.2000", "retain_graph=True", "grad_fn=<MulBackward0>", "AccumulateGrad -> a.grad",
        "a hook on n saw dL/dn = +3.2000", "a.grad = -4.8000",
    ],
    "04_gradcheck.py": [
        "analytic (backward) 4 vs numeric (finite differences) 12", "gradcheck needs float64",
        "with upcast=True it checks a float64 copy instead: passed",
    ],
    "05_mlp.py": ["ln 2 = 0.6931", "more than 95 %: yes", "the same gradient, up to float32 rounding: yes"],
    "06_optimizers.py": ["5 - 0.1 * 6 = 4.4", "optim.SGD after one step: w = 4.4"],
    "07_attention.py": [
        "e / (e + 4) = 0.4046", "0.5637 on \"not\"", "is_causal=True: max |fused - masked by hand|",
        "\"bad\" gives [PAD] weight 0.0000", "e / (e + 3) = 0.4754: 0.4754", "recomputed weights reproduce",
    ],
    "08_transformer.py": [
        "ln(vocab size) = ln 512 = 6.238", "the perplexity fell from", "sample after training",
        "greedy            :", "top-k 5 (temp 1)  :",
    ],
    "10_finetune_modes.py": ["trainable", "val acc", "forgetting", "majority", "head ", "lora ",
                             "confusion matrix", "macro F1", "luck or a real difference?", "mean "],
    "11_overfitting.py": [
        "(keeping the label words: 0)", "early stopping", "weight decay 1.0", "augment, keep labels",
        "lower test loss than no remedy", "higher test accuracy than no remedy",
    ],
    "12_peft.py": [
        "p.grad is None", "(up = 0, so h + up(...) = h)", "(B = 0, so B A x = 0)",
        "adapter body vs pretrained body: max abs difference 0.0e+00",
        "lora    body vs pretrained body: max abs difference 0.0e+00",
        "logits merged vs with the LoRA path", "load_delta(base, path): logits max abs difference",
        "|update|, alpha 16", "the higher rank\nforgets less",
    ],
}


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_runs_quick(lesson, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    # the working tree's minigrad, whether or not it is pip-installed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # run from elsewhere: a lesson must find its figures folder from its own path
    started = time.time()
    result = subprocess.run(
        [sys.executable, str(lesson), "--quick"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"{lesson.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    for expected in EXPECTED.get(lesson.name, []):
        assert expected in result.stdout, f"{lesson.name} did not print {expected!r}:\n{result.stdout}"
    if lesson.name in EXPECTED:
        figure = ROOT / "lessons" / "figures" / f"{lesson.stem}.png"
        assert figure.is_file() and figure.stat().st_mtime >= started - 1, f"{figure} was not written"


def test_the_lessons_are_found():
    names = [p.name for p in LESSONS]
    assert set(EXPECTED) <= set(names), f"missing lessons: {set(EXPECTED) - set(names)}"


def test_lesson_3s_figure_draws_every_edge_of_the_graph_it_freed(monkeypatch):
    # the lesson draws after backward(), which frees the graph's inputs: it must keep the edges itself
    import runpy

    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    arrows = []
    annotate = Axes.annotate
    monkeypatch.setattr(Axes, "annotate", lambda self, *args, **kw: arrows.append(args) or annotate(self, *args, **kw))
    monkeypatch.setattr(sys, "argv", ["03_autograd_engine.py", "--quick"])
    runpy.run_path(str(ROOT / "lessons" / "03_autograd_engine.py"), run_name="__main__")
    assert len(arrows) == 7  # a*b, +c, tanh, *d: a, b -> e; e, c -> n; n -> t; t, d -> L
