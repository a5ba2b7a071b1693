"""`minigrad compare --resume` and `minigrad finetune --resume`: a run stopped part-way (Ctrl-C, or a
crash) continues in its folder, and ends with the table an uninterrupted run gives."""
import json

import pytest

import minigrad as mg
from models import pretrained
from models.cli import main
from models.finetune import prepare
from models.train import TrainConfig, load_trained_state, save_checkpoint, trained_state, make_optimizer, make_schedule


def stop_at_step(n, monkeypatch, error=KeyboardInterrupt):
    """From now on, the n-th training step (counted over every run) raises error: Ctrl-C, or a crash."""
    from models import compare  # noqa: F401 - imported first, so its warm-up steps keep the real training_step
    from models import train as training

    real_step, calls = training.training_step, []

    def step_then_stop(*args):
        calls.append(1)
        if len(calls) == n:
            raise error("stopped by the test") if error is not KeyboardInterrupt else error
        return real_step(*args)

    monkeypatch.setattr(training, "training_step", step_then_stop)


def results(folder):
    return json.loads((folder / "results.json").read_text())


def comparable(rows):
    """The rows without their measurements of time and memory, which differ a little from run to run."""
    return [{k: v for k, v in row.items() if k not in ("seconds_per_step", "peak_mib")} for row in rows]


def logged_steps(path):
    return [json.loads(line)["step"] for line in path.read_text().splitlines()]


COMPARE = ["compare", "--modes", "head,lora", "--steps", "6", "--eval-every", "2", "--no-baselines"]


@pytest.mark.parametrize("stop, accumulate", [(KeyboardInterrupt, 1), (RuntimeError, 1), (KeyboardInterrupt, 2)],
                         ids=["ctrl-c", "crash", "ctrl-c, 2 batches per step"])
def test_a_resumed_comparison_gives_the_uninterrupted_table(tmp_path, monkeypatch, capsys, stop, accumulate):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    command = COMPARE + ["--accumulate", str(accumulate)]
    assert main(command + ["--out", str(whole)]) == 0
    stop_at_step(6 + 4, monkeypatch, stop)  # lora's 4th step: its step-2 evaluation left a checkpoint
    assert main(command + ["--out", str(stopped)]) == (130 if stop is KeyboardInterrupt else 2)
    record = results(stopped)
    assert record["state"] == ("interrupted" if stop is KeyboardInterrupt else "running")
    assert record["rows"][0]["mode"] == "head" and (stopped / "checkpoint-lora.safetensors").is_file()
    if stop is KeyboardInterrupt:
        assert f"to continue where it stopped: minigrad compare --resume {stopped}" in capsys.readouterr().out
    monkeypatch.undo()

    assert main(["compare", "--resume", str(stopped)]) == 0
    assert "resuming: 1 mode done before the stop" in capsys.readouterr().out
    assert results(stopped)["state"] == "finished"
    assert comparable(results(stopped)["rows"]) == comparable(results(whole)["rows"])
    assert not list(stopped.glob("checkpoint-*"))  # a finished row needs none
    assert logged_steps(stopped / "log-lora.jsonl") == [2, 4, 6]  # each evaluation once


def test_a_resumed_sweep_keeps_the_best_setting_and_tests_it_once(tmp_path, monkeypatch, capsys):
    sweep = ["finetune", "--mode", "lora", "--option", "r=2", "--sweep", "lr=1e-2,3e-3", "--steps", "4",
             "--eval-every", "2"]
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    assert main(sweep + ["--out", str(whole)]) == 0
    stop_at_step(4 + 3, monkeypatch)  # the second setting's 3rd step, after its step-2 checkpoint
    assert main(sweep + ["--out", str(stopped)]) == 130
    assert results(stopped)["best"]["point"] == {"lr": 0.01}  # the best so far, saved as it was found
    assert (stopped / "delta.safetensors").is_file() and (stopped / "checkpoint-2.safetensors").is_file()
    assert not list(stopped.glob("candidate-*"))  # the stopped setting had no finished run to keep
    monkeypatch.undo()
    capsys.readouterr()

    assert main(["finetune", "--resume", str(stopped)]) == 0
    finished, expected = results(stopped), results(whole)
    assert comparable(finished["rows"]) == comparable(expected["rows"])
    assert finished["best"]["point"] == expected["best"]["point"]
    assert finished["best"]["test_accuracy"] == expected["best"]["test_accuracy"]
    ours, theirs = mg.load(stopped / "delta.safetensors"), mg.load(whole / "delta.safetensors")
    assert ours.keys() == theirs.keys()
    assert all((ours[name].numpy() == theirs[name].numpy()).all() for name in ours)


def test_a_resumed_single_setting_finishes_its_training_from_the_checkpoint(tmp_path, monkeypatch, capsys):
    run = ["finetune", "--mode", "head", "--steps", "6", "--eval-every", "2"]
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    assert main(run + ["--out", str(whole)]) == 0
    stop_at_step(5, monkeypatch)
    assert main(run + ["--out", str(stopped)]) == 130
    assert load_step(stopped / "checkpoint-1.safetensors") == 4
    monkeypatch.undo()
    assert main(["finetune", "--resume", str(stopped)]) == 0
    assert comparable(results(stopped)["rows"]) == comparable(results(whole)["rows"])
    assert results(stopped)["rows"][0]["steps_done"] == 6


def load_step(path):
    return int(mg.io.load_metadata(path)["step"])


def test_resume_refuses_other_options_and_runs_that_cannot_continue(tmp_path, capsys):
    finished = tmp_path / "finished"
    assert main(COMPARE[:-1] + ["--steps", "2", "--out", str(finished)]) == 0
    capsys.readouterr()
    cases = [
        (["compare", "--resume", str(tmp_path / "nowhere")], "no such folder"),
        (["compare", "--resume", str(tmp_path)], "it has no results.json"),
        (["compare", "--resume", str(finished)], "that run finished; nothing is left to run"),
        (["finetune", "--resume", str(finished)], "that is a `minigrad compare` run"),
        (["compare", "--resume", str(finished), "--steps", "9"], "--steps cannot be given with --resume"),
        (["compare", "--resume", str(finished), "--modes", "full"], "--modes cannot be given with --resume"),
        (["finetune", "--steps", "2"], "finetune needs --mode"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv


def test_resume_refuses_a_data_file_that_changed_since_the_run_started(tmp_path, monkeypatch, capsys):
    train, stopped = tmp_path / "train.csv", tmp_path / "stopped"
    words = {"positive": "good fine great", "negative": "bad poor awful"}
    original = "text,label\n" + "".join(f"{words[label]} {n},{label}\n" for n in range(20) for label in words)
    train.write_text(original)
    stop_at_step(3, monkeypatch)  # Ctrl-C in head's row
    assert main(COMPARE + ["--train", str(train), "--out", str(stopped)]) == 130
    assert set(results(stopped)["inputs"]) == {"--train"}
    monkeypatch.undo()
    capsys.readouterr()

    train.write_text(original + "so so,neutral\n" * 10)  # the same path, now with a third class
    assert main(["compare", "--resume", str(stopped)]) == 2
    assert f"--train {train} is not the file the run started with" in capsys.readouterr().err
    train.unlink()
    assert main(["compare", "--resume", str(stopped)]) == 2
    assert "(it changed, or is gone)" in capsys.readouterr().err
    train.write_text(original)  # put back, the run continues
    assert main(["compare", "--resume", str(stopped)]) == 0
    assert results(stopped)["state"] == "finished"


def test_a_fine_tuning_checkpoint_holds_only_what_trains(tmp_path):
    base = pretrained.load("tiny")
    lora = prepare(base, "lora", num_labels=2, r=2)
    names = set(trained_state(lora))
    assert names == {name for name, p in lora.named_parameters() if p.requires_grad}
    assert len(names) < len(lora.state_dict()) / 2  # the frozen body stays out
    optimizer = make_optimizer(lora.param_groups, TrainConfig())
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, lora, optimizer, make_schedule(optimizer, TrainConfig()), step=3)
    weights = {k: v for k, v in mg.load(path).items() if not k.startswith("optimizer.")}
    assert set(weights) == names

    head = prepare(base, "head", num_labels=2)  # another mode: its trained weights are other ones
    with pytest.raises(ValueError, match=r"does not fit this model.*missing: none; unexpected: body.blocks.0.attn.query.lora_A, .* and 13 more"):
        load_trained_state(head, weights, path)


def test_a_resumed_language_model_comparison_keeps_its_pretrained_row(tmp_path, monkeypatch, capsys):
    """The lm task's first row scores the model before any training; a resumed run keeps it as it was
    (and starts again from the settings as given: --max-len, which lm fills in itself, is no option there).
    The --train file was given relative to the folder the run started in, and it resumes from another."""
    from models import data
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(example.text for example in data.load_task("sentiment").train[:200]) + "\n")
    run = ["compare", "--task", "lm", "--train", "texts.txt", "--modes", "prefix", "--steps", "4",
           "--eval-every", "2"]
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    monkeypatch.chdir(tmp_path)
    assert main(run + ["--out", str(whole)]) == 0
    assert [row["mode"] for row in results(whole)["rows"]] == ["pretrained", "prefix", "scratch"]
    stop_at_step(3, monkeypatch)
    assert main(run + ["--out", str(stopped)]) == 130
    monkeypatch.undo()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["compare", "--resume", str(stopped)]) == 0
    assert comparable(results(stopped)["rows"]) == comparable(results(whole)["rows"])
