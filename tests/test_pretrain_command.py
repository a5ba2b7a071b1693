"""`minigrad pretrain`: Ctrl-C, --resume, output folders and options that do not apply, on tiny settings."""
import json

import pytest

from models.cli import main
from tests.test_cli import press_ctrl_c_at_step

TINY = ["--n-layers", "1", "--d-model", "16", "--n-heads", "2", "--d-ff", "32", "--max-len", "16"]


def pretrain(out, *options, steps=3):
    """`minigrad pretrain` of a tiny model on a tiny corpus into out; returns the exit status."""
    return main(["pretrain", "--steps", str(steps), "--sentences", "50", "--vocab-size", "270", *TINY,
                 *options, "--out", str(out)])


def resume(checkpoint, out, *options, steps=5):
    return main(["pretrain", "--resume", str(checkpoint), "--steps", str(steps), *options, "--out", str(out)])


def test_ctrl_c_exits_130_and_says_that_no_checkpoint_was_written_yet(tmp_path, capsys, monkeypatch):
    press_ctrl_c_at_step(2, monkeypatch)  # before the first evaluation, the last step (5), wrote a checkpoint
    out = tmp_path / "run"
    assert pretrain(out, steps=5) == 130
    captured = capsys.readouterr()
    printed = captured.out
    assert "the last good checkpoint" not in captured.out + captured.err  # there is none to name
    assert not (out / "checkpoint.safetensors").exists()
    assert "interrupted after 1 step: no checkpoint was written yet (the first would have been at step 5" in printed
    results = json.loads((out / "results.json").read_text())
    assert (results["stopped"], results["final"]["steps"]) == ("interrupted", 1)


def test_ctrl_c_names_the_checkpoint_when_there_is_one(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert pretrain(out) == 0  # its last step, 3, is evaluated and checkpointed
    press_ctrl_c_at_step(2, monkeypatch)
    checkpoint = out / "checkpoint.safetensors"
    assert resume(checkpoint, out, steps=10) == 130  # continuing in its own folder, stopped after step 4
    printed = capsys.readouterr().out
    assert f"interrupted after 4 steps: the last good checkpoint is {checkpoint} (step 3)" in printed


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny run's checkpoint, after 3 steps (lr 3e-3, batch 32, seed 0: the reviews preset's)."""
    out = tmp_path_factory.mktemp("pretrained") / "run"
    assert pretrain(out) == 0
    return out / "checkpoint.safetensors"


@pytest.mark.parametrize("option, saved", [
    (["--lr", "0.01"], "0.003"), (["--d-model", "32"], "16"), (["--batch-size", "4"], "32"),
    (["--sentences", "100"], "50"), (["--corpus", "shakespeare"], "reviews"), (["--tokenizer", "char"], "bpe"),
    (["--vocab-size", "300"], "270"), (["--seed", "1"], "0"), (["--n-layers", "2"], "1"), (["--max-len", "8"], "16"),
    (["--accumulate", "2"], "1"),
])
def test_resume_refuses_the_options_it_would_ignore(option, saved, checkpoint, tmp_path, capsys):
    assert resume(checkpoint, tmp_path / "b", *option) == 2
    error = capsys.readouterr().err
    assert (f"{' '.join(option)} cannot be given with --resume: the checkpoint's own value is used "
            f"({option[0]} {saved})") in error
    assert not (tmp_path / "b").exists()


def test_resume_names_every_option_it_would_ignore_and_accepts_the_same_values_again(checkpoint, tmp_path, capsys):
    assert resume(checkpoint, tmp_path / "b", "--lr", "0.01", "--seed", "0", "--d-model", "32") == 2
    assert ("--lr 0.01, --d-model 32 cannot be given with --resume: the checkpoint's own values are used "
            "(--lr 0.003, --d-model 16)") in capsys.readouterr().err
    # the first run's command line again, plus --resume: nothing would be ignored
    assert resume(checkpoint, tmp_path / "b", "--lr", "3e-3", "--seed", "0", "--sentences", "50", *TINY) == 0


def test_a_resumed_run_records_the_settings_it_used(tmp_path):
    assert pretrain(tmp_path / "a", "--lr", "0.01", "--batch-size", "4", "--seed", "3") == 0
    assert resume(tmp_path / "a" / "checkpoint.safetensors", tmp_path / "b") == 0
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    config = results["config"]
    assert (config["train"]["lr"], config["batch_size"], config["seed"]) == (0.01, 4, 3)
    step = int(json.loads((tmp_path / "a" / "results.json").read_text())["final"]["steps"])
    assert results["resumed_from"] == {"checkpoint": str(tmp_path / "a" / "checkpoint.safetensors"), "step": step}
    assert results["timings"]["of_steps"] == f"{step + 1}-{results['final']['steps']}"
    earlier = json.loads((tmp_path / "a" / "results.json").read_text())["history"]
    assert results["history"][:len(earlier)] == earlier and results["history"][-1]["step"] > step  # the whole run
    assert json.loads((tmp_path / "a" / "results.json").read_text())["resumed_from"] is None
    assert (config["corpus_sentences"], config["vocab_size"], config["model"]["d_model"]) == (50, 270, 16)
    from models.pretraining import resumed_settings  # what --resume compares the options given with

    settings = resumed_settings(tmp_path / "a" / "checkpoint.safetensors")
    assert (settings["lr"], settings["batch_size"], settings["seed"], settings["sentences"]) == (0.01, 4, 3, 50)


def test_a_fresh_run_never_writes_into_an_earlier_runs_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert pretrain(out) == 0
    log = (out / "log.jsonl").read_text()
    assert pretrain(out) == 2
    error = capsys.readouterr().err
    assert f"--out {out} already holds an earlier run's files" in error
    assert f"--resume {out / 'checkpoint.safetensors'}" in error  # how to continue it instead
    assert (out / "log.jsonl").read_text() == log  # untouched
    other = tmp_path / "other"
    assert pretrain(other) == 0  # resuming one run's checkpoint into another run's folder would mix them too
    assert resume(out / "checkpoint.safetensors", other) == 2
    assert f"--out {other} already holds an earlier run's files" in capsys.readouterr().err
    assert resume(out / "checkpoint.safetensors", out) == 0  # continuing in its own folder
    assert (out / "log.jsonl").read_text().startswith(log)


def test_a_folder_with_only_a_log_is_an_earlier_run_too_unless_the_log_is_empty(tmp_path, capsys):
    (tmp_path / "log.jsonl").write_text('{"step": 5, "loss": 3.2}\n')  # a run killed after an evaluation
    assert pretrain(tmp_path) == 2
    error = capsys.readouterr().err
    assert "already holds an earlier run's files (log.jsonl)" in error and "--resume" not in error
    (tmp_path / "log.jsonl").write_text("")  # one that failed before its first: nothing there to lose
    assert pretrain(tmp_path) == 0


def test_a_diverged_run_saves_no_model_and_fails(tmp_path, capsys):
    out = tmp_path / "run"
    assert pretrain(out, "--lr", "1e6", steps=6) == 1
    assert "before any evaluation with a finite loss: no model was saved; try a lower --lr" in capsys.readouterr().err
    assert not (out / "model.safetensors").exists()  # a model of NaN weights generated empty text, with exit 0
    assert json.loads((out / "results.json").read_text())["final"]["weights_step"] is None


def test_a_window_of_one_token_is_refused_before_anything_is_written(tmp_path, capsys):
    assert main(["pretrain", "--steps", "2", "--sentences", "50", *TINY[:-1], "1", "--out", str(tmp_path / "run")]) == 2
    assert "--max-len 1 leaves nothing to learn" in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("sentences", ["0", "1"])
def test_too_few_sentences_is_an_error_that_says_how_many_are_needed(sentences, tmp_path, capsys):
    try:
        status = main(["pretrain", "--steps", "5", "--sentences", sentences, *TINY, "--out", str(tmp_path / "run")])
    except SystemExit as exit:  # argparse's own check
        status = exit.code
    assert status == 2
    assert f"--sentences: expected a value >= 2, got {sentences}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_pretrain_itself_refuses_a_corpus_too_small_to_split(tmp_path):
    from models.pretraining import PretrainConfig
    from models.pretraining import pretrain as pretrain_function

    with pytest.raises(ValueError, match="corpus_sentences 1 leaves no sentence to train on: at least 2 are needed"):
        pretrain_function(PretrainConfig(corpus_sentences=1), out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [
    (["--corpus", "shakespeare", "--sentences", "100"], "--sentences 100 sets the number of generated reviews"),
    (["--corpus", "shakespeare", "--vocab-size", "300"],
     "--vocab-size 300 sets the size of a BPE vocabulary, and the char tokenizer (--corpus shakespeare's default)"),
    (["--tokenizer", "char", "--vocab-size", "300"],
     "--vocab-size 300 sets the size of a BPE vocabulary, and the char tokenizer (--tokenizer char)"),
])
def test_options_that_do_not_apply_are_named(args, message, tmp_path, capsys):
    assert main(["pretrain", *args, "--steps", "1", *TINY, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_resuming_a_char_run_names_its_tokenizer_when_given_a_vocabulary_size(tmp_path, capsys):
    out = tmp_path / "char"
    assert main(["pretrain", "--steps", "2", "--sentences", "50", "--tokenizer", "char", *TINY, "--out", str(out)]) == 0
    assert resume(out, tmp_path / "b", "--vocab-size", "600") == 2
    error = capsys.readouterr().err  # not "the checkpoint's own value is used (--vocab-size 512)": it has none
    assert "--vocab-size 600 sets the size of a BPE vocabulary, and the char tokenizer (the checkpoint's)" in error
    assert "add --tokenizer bpe" not in error


def test_after_ctrl_c_a_resumed_run_with_no_checkpoint_of_its_own_points_back_to_the_one_it_resumed(tmp_path):
    from types import SimpleNamespace

    from models.pretraining import PretrainConfig, interruption_note

    config = PretrainConfig()
    config.train.steps, config.train.eval_every = 100, 20
    stopped = SimpleNamespace(steps_done=25)
    assert interruption_note(tmp_path, config, stopped, resume="old/checkpoint.safetensors") == (
        f"no checkpoint was written in {tmp_path} yet (the first would have been at step 40, at the next evaluation: "
        "they come every 20 steps and at the last); old/checkpoint.safetensors is still the one to continue from, "
        "into another new folder (this one holds this run's results now): --resume old/checkpoint.safetensors "
        "--out NEW_FOLDER")
    assert interruption_note(tmp_path, config, stopped).startswith("no checkpoint was written yet (")


def test_resume_without_steps_continues_to_the_checkpoints_own_total(checkpoint, tmp_path, capsys):
    """Not the preset's 3000 steps: the checkpoint ended its 3-step run, so there is nothing left to do."""
    assert main(["pretrain", "--resume", str(checkpoint), "--out", str(tmp_path / "b")]) == 2
    assert "is at step 3 already: pass more --steps than that to continue" in capsys.readouterr().err


def test_ctrl_c_on_a_run_resumed_into_a_new_folder_names_the_checkpoint_it_came_from(checkpoint, tmp_path, capsys,
                                                                                   monkeypatch):
    press_ctrl_c_at_step(1, monkeypatch)  # step 4, before the resumed run's first evaluation
    out = tmp_path / "b"
    assert resume(checkpoint, out, steps=10) == 130
    printed = capsys.readouterr().out
    assert f"interrupted after 3 steps: no checkpoint was written in {out} yet" in printed
    assert f"{checkpoint} is still the one to continue from" in printed
    assert resume(checkpoint, tmp_path / "c", steps=10) == 0  # as the note says: into another new folder
    logged = [json.loads(line)["step"] for line in (tmp_path / "c" / "log.jsonl").read_text().splitlines()]
    assert logged[0] == 3 and logged[-1] == 10  # its log starts with the evaluation the checkpoint came from


@pytest.mark.parametrize("fraction", [1.0, -0.1])
def test_pretrain_refuses_a_validation_share_outside_0_to_1(fraction, tmp_path):
    from models.pretraining import PretrainConfig
    from models.pretraining import pretrain as pretrain_function

    with pytest.raises(ValueError, match=rf"valid_fraction must be in \[0, 1\) .*, got {fraction}"):
        pretrain_function(PretrainConfig(corpus_sentences=50, valid_fraction=fraction), out_dir=tmp_path / "run")


def test_a_vocabulary_smaller_than_asked_for_is_noted(tmp_path, capsys):
    assert pretrain(tmp_path / "run", "--vocab-size", "100000", steps=1) == 0  # 50 sentences cannot fill it
    vocab = json.loads((tmp_path / "run" / "results.json").read_text())["config"]["model"]["vocab_size"]
    assert f"note: the vocabulary has {vocab} tokens, not the 100000 asked for" in capsys.readouterr().out


def test_resume_takes_the_run_folder_as_well_as_its_checkpoint(checkpoint, tmp_path):
    """As compare and finetune --resume do: the folder stands for the checkpoint it holds."""
    assert resume(checkpoint.parent, tmp_path / "from-folder") == 0
    assert resume(checkpoint, tmp_path / "from-file") == 0
    by_folder, by_file = (json.loads((tmp_path / name / "results.json").read_text())
                          for name in ("from-folder", "from-file"))
    assert by_folder["final"] == by_file["final"] and by_folder["final"]["steps"] == 5
