"""`minigrad compare --seeds N`: each mode trained with N seeds, its row their mean and standard deviation."""
import itertools
import json
import math

import pytest

from models import data, report
from models.cli import main
from models.seeds import aggregate, mean_and_std, run_name

from test_resume import stop_at_step


def run(seed, accuracy, steps=(2, 4), stopped=None, peak=10.0, seconds=0.5, forgetting=0.01):
    """A run's row as compare writes it, with made-up scores."""
    return {"mode": "lora", "seed": seed, "options": {"r": 8}, "lr": 5e-3, "optimizer": "adamw", "weight_decay": 0.0,
            "steps": 4, "batch_size": 32, "trainable": 8322, "total": 245380, "trainable_pct": 3.4,
            "seconds_per_step": seconds, "peak_mib": peak, "val_loss": 1 - accuracy, "val_accuracy": accuracy,
            "val_per_class": [{"f1": accuracy}], "test_accuracy": accuracy - 0.1, "forgetting": forgetting,
            "stopped": stopped, "steps_done": steps[-1], "weights_step": steps[-1], "log": f"log-lora-seed{seed}.jsonl",
            "curve": [{"step": step, "val_loss": 1.0, "val_accuracy": accuracy * step / 4} for step in steps]}


def test_a_modes_row_is_the_mean_and_sample_deviation_of_its_runs():
    runs = [run(0, 0.8, seconds=0.4, peak=10.0), run(1, 0.9, seconds=0.5, peak=12.0), run(2, 1.0, seconds=0.9)]
    row = aggregate(runs)
    assert row["val_accuracy"] == pytest.approx(0.9) and row["val_accuracy_std"] == pytest.approx(0.1)  # n - 1
    assert row["test_accuracy"] == pytest.approx(0.8) and row["test_accuracy_std"] == pytest.approx(0.1)
    assert row["forgetting"] == pytest.approx(0.01) and row["forgetting_std"] == pytest.approx(0.0)
    assert row["seconds_per_step"] == pytest.approx(0.6) and row["peak_mib"] == 12.0  # the largest peak
    assert (row["mode"], row["trainable"], row["options"], row["seeds"]) == ("lora", 8322, {"r": 8}, [0, 1, 2])
    assert row["runs"] == runs and "val_per_class" not in row  # the details stay in each run's own row
    assert row["curve"] == [{"step": 2, "val_loss": 1.0, "val_loss_std": 0.0, "val_accuracy": pytest.approx(0.45),
                             "val_accuracy_std": pytest.approx(0.05)},
                            {"step": 4, "val_loss": 1.0, "val_loss_std": 0.0, "val_accuracy": pytest.approx(0.9),
                             "val_accuracy_std": pytest.approx(0.1)}]
    assert row["stopped"] is None


def test_the_mean_curve_keeps_the_steps_every_run_evaluated_and_a_stop_is_reported():
    early = run(1, 0.9, steps=(2,), stopped="early stopping")
    row = aggregate([run(0, 0.8, steps=(2, 4)), early])
    assert [point["step"] for point in row["curve"]] == [2]
    assert row["stopped"] is None  # early stopping is a run's own choice, not a fault
    diverged = {**run(2, 0.5, stopped="non-finite loss"), "val_accuracy": math.nan}
    row = aggregate([run(0, 0.8), diverged, run(1, 0.9, stopped="interrupted")])
    assert row["stopped"] == "interrupted"  # the most telling reason any run gave
    assert math.isnan(row["val_accuracy"]) and math.isnan(row["val_accuracy_std"])  # a diverged run shows


def test_one_value_has_no_deviation_and_a_missing_score_none():
    assert mean_and_std([0.7]) == (0.7, None)
    assert mean_and_std([0.7, None]) == (None, None)
    assert run_name("lora", 3, 1) == "lora" and run_name("lora", 3, 2) == "lora-seed3"


def test_the_table_writes_the_deviation_after_the_mean():
    row = aggregate([run(0, 0.8), run(1, 0.9)])
    cells = report.table_row(row, spread=True)
    assert "85.0% ±7.1" in cells and "75.0% ±7.1" in cells and "+0.010 ±0.000" in cells
    assert "±" not in report.table_row(run(0, 0.8))  # a single run has no spread
    header, line = report.table_header(spread=True), report.table_row(row, spread=True)
    assert header.index("val acc") + len("val acc") == line.index("85.0% ±7.1") + len("85.0% ±7.1")  # aligned


def results(folder):
    return json.loads((folder / "results.json").read_text())


def without_timing(value, *others):
    """A row (and the runs inside it) without what differs from one run of the program to the next: time,
    memory, and the name of its log file (a single-seed run's is log-<mode>.jsonl); and without others."""
    left_out = ("seconds_per_step", "peak_mib", "log", *others)
    if isinstance(value, dict):
        return {k: without_timing(v, *others) for k, v in value.items() if k not in left_out}
    if isinstance(value, list):
        return [without_timing(v, *others) for v in value]
    return value


COMPARE = ["compare", "--modes", "head,lora", "--steps", "4", "--eval-every", "2", "--no-baselines"]


def write_task(folder):
    """The bundled sentiment task (a few hundred of its examples) as the user's own files: a run's --seed
    then changes only the run (new weights, batch order), not the data, as in a run over seeds."""
    import csv

    task = data.load_task("sentiment")
    files = []
    for split, count in (("train", 300), ("valid", 100), ("test", 100)):
        path = folder / f"{split}.csv"
        with path.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["text", "label"])
            writer.writerows((e.text, task.labels[e.label]) for e in getattr(task, split)[:count])
        files += [f"--{split}", str(path)]
    return files


def test_each_seed_is_the_run_that_seed_gives_alone(tmp_path, capsys):
    own = COMPARE + write_task(tmp_path)
    assert main(own + ["--seeds", "2", "--seed", "3", "--out", str(tmp_path / "both")]) == 0
    out = capsys.readouterr().out
    assert "2 seeds each (rows: mean ± standard deviation)" in out and "±" in out.split("mode")[1]
    assert "each row: the mean over 2 seeds ± their sample standard deviation" in out
    assert main(own + ["--seed", "3", "--out", str(tmp_path / "three")]) == 0
    assert main(own + ["--seed", "4", "--out", str(tmp_path / "four")]) == 0
    rows, alone = results(tmp_path / "both")["rows"], [results(tmp_path / name)["rows"] for name in ("three", "four")]
    for index, row in enumerate(rows):
        assert row["seeds"] == [3, 4]
        # forgetting is measured on reviews --seed draws: a run over seeds keeps the first seed's draw
        assert without_timing(row["runs"], "forgetting") == without_timing([alone[0][index], alone[1][index]],
                                                                           "forgetting")
        accuracies = [alone[0][index]["val_accuracy"], alone[1][index]["val_accuracy"]]
        assert row["val_accuracy"] == pytest.approx(sum(accuracies) / 2)
        assert row["val_accuracy_std"] == pytest.approx(abs(accuracies[0] - accuracies[1]) / math.sqrt(2))
    assert accuracies[0] != accuracies[1]  # the seeds differ: the spread is not a constant 0
    logs = sorted(path.name for path in (tmp_path / "both").glob("log-*"))
    assert logs == ["log-head-seed3.jsonl", "log-head-seed4.jsonl", "log-lora-seed3.jsonl", "log-lora-seed4.jsonl"]
    assert (tmp_path / "both" / "curves.png").is_file()


def test_the_data_is_the_one_seed_gives_for_every_run(tmp_path):
    """The bundled tasks are drawn with --seed: every run over seeds is scored on that draw."""
    assert main(COMPARE + ["--modes", "head", "--seeds", "2", "--seed", "3", "--out", str(tmp_path / "both")]) == 0
    assert main(COMPARE + ["--modes", "head", "--seed", "3", "--out", str(tmp_path / "three")]) == 0
    first = results(tmp_path / "both")["rows"][0]["runs"][0]
    assert without_timing(first) == without_timing(results(tmp_path / "three")["rows"][0])


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError], ids=["ctrl-c", "crash"])
def test_a_resumed_run_over_seeds_keeps_the_seeds_that_finished(tmp_path, monkeypatch, capsys, stop):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    seeded = COMPARE + ["--seeds", "2"]
    assert main(seeded + ["--out", str(whole)]) == 0
    stop_at_step(4 + 4 + 4 + 3, monkeypatch, stop)  # lora's second seed, after its step-2 checkpoint
    assert main(seeded + ["--out", str(stopped)]) == (130 if stop is KeyboardInterrupt else 2)
    unfinished = results(stopped)["rows"][-1]
    assert unfinished["mode"] == "lora" and unfinished["runs"][0]["seed"] == 0  # the first seed is on disk
    assert (stopped / "checkpoint-lora-seed1.safetensors").is_file()
    assert not (stopped / "checkpoint-lora-seed0.safetensors").exists()
    if stop is KeyboardInterrupt:
        assert "lora-seed1: interrupted after 2 steps" in capsys.readouterr().out
    monkeypatch.undo()
    capsys.readouterr()

    assert main(["compare", "--resume", str(stopped)]) == 0
    assert "resuming: 3 runs done before the stop" in capsys.readouterr().out
    assert without_timing(results(stopped)["rows"]) == without_timing(results(whole)["rows"])
    assert not list(stopped.glob("checkpoint-*"))


def test_seeds_must_be_at_least_one(capsys):
    with pytest.raises(SystemExit):
        main(COMPARE + ["--seeds", "0"])
    assert "argument --seeds: expected a value >= 1, got 0" in capsys.readouterr().err


SWEEP = ["finetune", "--mode", "lora", "--option", "r=2", "--sweep", "lr=1e-2,3e-3", "--steps", "4", "--eval-every", "2",
         "--seeds", "2"]


def validation_accuracy_of(delta):
    """The validation accuracy of the model a delta rebuilds on the shipped model."""
    from models import pretrained, tasks
    from models.finetune import load_delta

    base = pretrained.load("tiny")
    task = data.load_task("sentiment")
    model = load_delta(base, delta)
    return tasks.evaluate(model, task.valid, base.tokenizer, 2, {"max_len": 48, "device": "cpu"})["accuracy"]


def test_a_sweep_over_seeds_picks_by_the_mean_and_saves_that_settings_best_run(tmp_path, capsys):
    assert main(SWEEP + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    record = results(tmp_path)
    rows, best = record["rows"], record["best"]
    assert [row["seeds"] for row in rows] == [[0, 1], [0, 1]]
    assert best["point"] == max(rows, key=lambda row: row["val_accuracy"])["point"]  # by the mean
    runs = best["runs"]
    saved = max(runs, key=lambda run: (run["val_accuracy"], -run["val_loss"]))
    assert best["saved_seed"] == saved["seed"]
    assert validation_accuracy_of(tmp_path / "delta.safetensors") == saved["val_accuracy"]  # that run's model
    assert f"over 2 seeds; saved: seed {saved['seed']}'s model (val {100 * saved['val_accuracy']:.1f}%)" in out
    assert not list(tmp_path.glob("candidate-*"))  # only the chosen setting's model is kept


def test_a_sweep_over_seeds_resumes_with_the_seeds_that_finished(tmp_path, monkeypatch, capsys):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    assert main(SWEEP + ["--out", str(whole)]) == 0
    stop_at_step(4 + 4 + 4 + 3, monkeypatch)  # the second setting's second seed, after its step-2 checkpoint
    assert main(SWEEP + ["--out", str(stopped)]) == 130
    assert (stopped / "candidate-2.safetensors").is_file()  # the second setting's first seed, waiting
    assert "lr=0.003 (seed 1): interrupted after 2 steps" in capsys.readouterr().out
    monkeypatch.undo()

    assert main(["finetune", "--resume", str(stopped)]) == 0
    finished, expected = results(stopped), results(whole)
    assert without_timing(finished["rows"]) == without_timing(expected["rows"])
    assert without_timing(finished["best"]) == without_timing(expected["best"])
    assert validation_accuracy_of(stopped / "delta.safetensors") == validation_accuracy_of(whole / "delta.safetensors")


def drawn_figure(monkeypatch, plot, *args):
    """The figure a report plot draws (kept open to look at, instead of closed after saving)."""
    kept = []
    monkeypatch.setattr(report.plt, "close", kept.append)
    plot(*args)
    return kept[0]


def test_the_plots_show_the_spread_of_a_mean_and_no_spread_for_one_run(tmp_path, monkeypatch):
    from matplotlib.collections import PolyCollection
    from matplotlib.container import ErrorbarContainer

    mean, single = aggregate([run(0, 0.8), run(1, 0.9)]), {**run(0, 0.8), "mode": "head", "trainable": 130}
    figure = drawn_figure(monkeypatch, report.plot_curves, [mean, single], tmp_path / "curves.png")
    bands = [c for c in figure.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1  # lora's band of one standard deviation; head's single run has none
    at_step_4 = [y for x, y in bands[0].get_paths()[0].vertices if x == 4]  # 85 % ± 7.07 points there
    assert (min(at_step_4), max(at_step_4)) == (pytest.approx(85 - 7.071, abs=1e-3), pytest.approx(85 + 7.071, abs=1e-3))
    figure = drawn_figure(monkeypatch, report.plot_score_vs_parameters, [mean, single], tmp_path / "versus.png")
    bars = [c for c in figure.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1 and (tmp_path / "versus.png").is_file()


# ---- found in review: the edges of stopping and resuming ------------------------------------------
def test_a_run_that_timed_no_step_has_no_s_per_step_and_the_mean_takes_the_others():
    row = aggregate([run(0, 0.8, seconds=0.4), {**run(1, 0.9), "seconds_per_step": None}])
    assert row["seconds_per_step"] == pytest.approx(0.4)
    assert aggregate([{**run(0, 0.8), "seconds_per_step": None}] * 2)["seconds_per_step"] is None


def test_ctrl_c_on_a_seeds_first_step_resumes(tmp_path, monkeypatch, capsys):
    """Its row then has no timed step (s/step None): the mean over seeds must not trip on it."""
    seeded, stopped = COMPARE + ["--modes", "lora", "--seeds", "2"], tmp_path / "stopped"
    stop_at_step(4 + 1, monkeypatch)  # the second seed's first step
    assert main(seeded + ["--out", str(stopped)]) == 130
    monkeypatch.undo()
    assert main(["compare", "--resume", str(stopped)]) == 0
    assert "resuming: 1 run done before the stop" in capsys.readouterr().out
    assert [run["seed"] for run in results(stopped)["rows"][0]["runs"]] == [0, 1]


def test_a_crash_before_a_finished_setting_is_recorded_keeps_its_model(tmp_path, monkeypatch):
    """The setting's candidate model stays on disk until results.json holds its row."""
    from models import sweep

    real, folder = sweep.write_results, tmp_path / "stopped"

    def crash_once_the_first_setting_is_done(out_dir, **sections):
        if sections["state"] == "running" and any(len(row.get("runs", [])) == 2 for row in sections["rows"]):
            raise RuntimeError("the machine went down")
        return real(out_dir, **sections)

    monkeypatch.setattr(sweep, "write_results", crash_once_the_first_setting_is_done)
    assert main(SWEEP + ["--out", str(folder)]) == 2
    monkeypatch.undo()
    assert main(["finetune", "--resume", str(folder)]) == 0
    best = results(folder)["best"]
    saved = next(run for run in best["runs"] if run["seed"] == best["saved_seed"])
    assert validation_accuracy_of(folder / "delta.safetensors") == saved["val_accuracy"]


def test_a_language_models_run_over_seeds_shows_the_kept_models_sample(tmp_path, capsys):
    words = ("good", "bad", "slow", "fine", "long", "dull", "sharp", "cheap")
    texts = tmp_path / "texts.txt"  # 111 texts: more than a batch, so the seeds' batches differ
    texts.write_text("".join(f"the {a} film is {b} and the {c} cast is {d} .\n"
                             for a, b, c, d in itertools.islice(itertools.product(words, repeat=4), 0, 4096, 37)))
    assert main(["finetune", "--task", "lm", "--train", str(texts), "--mode", "full", "--lr", "3e-2", "--steps", "4",
                 "--eval-every", "2", "--seeds", "2", "--out", str(tmp_path / "run")]) == 0
    best = results(tmp_path / "run")["best"]
    kept = next(run for run in best["runs"] if run["seed"] == best["saved_seed"])
    assert best["saved_seed"] == 1 and best["runs"][0]["sample"] != kept["sample"]  # not the first run's
    assert best["sample"] == kept["sample"] and "greedy sample; saved: seed 1" in capsys.readouterr().out


def test_a_run_recorded_before_runs_had_seeds_resumes_without_training_them_again(tmp_path, monkeypatch, capsys):
    stopped = tmp_path / "stopped"
    stop_at_step(4 + 3, monkeypatch)  # lora, after head finished
    assert main(COMPARE + ["--out", str(stopped)]) == 130
    monkeypatch.undo()
    record = results(stopped)
    for row in record["rows"]:
        del row["seed"]  # as an older minigrad wrote them
    (stopped / "results.json").write_text(json.dumps(record))
    assert main(["compare", "--resume", str(stopped)]) == 0
    assert len((stopped / "log-head.jsonl").read_text().splitlines()) == 2  # head's evaluations, once each
