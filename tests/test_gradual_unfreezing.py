"""ULMFiT's gradual unfreezing (layerwise-lr's unfreeze_every): the head trains first, and every N
steps the next layer down thaws; a layer still waiting is bit-identical to the base, costs no
gradient, and is put back as it was when early stopping goes back to an evaluation before it thawed."""
import itertools

import pytest

import minigrad as mg
from models.finetune import count_parameters, load_delta, prepare, save_delta
from models.train import TrainConfig, train

from test_finetune import C, classification_loss, config, example_batch, logits, values
from test_resume import comparable, results, stop_at_step
from models.cli import main
from models.heads import LanguageModel


@pytest.fixture
def base():
    return LanguageModel(config())  # 2 blocks: head, block 1 (+ final norm), block 0, embeddings


def layer_of(name):
    """Which of the four groups a parameter of the test model is in, top down."""
    if name.startswith("head."):
        return "head"
    if ".blocks.1." in name or "final_norm" in name:
        return "block 1"
    return "block 0" if ".blocks.0." in name else "embeddings"


def test_the_head_trains_first_and_each_layer_below_thaws_n_steps_later(base):
    tuned = prepare(base, "layerwise-lr", num_labels=C, unfreeze_every=2)
    assert [group["trains_from"] for group in tuned.param_groups] == [1, 3, 5, 7]
    assert {layer_of(n) for n, p in tuned.named_parameters() if p.requires_grad} == {"head"}
    before = values(tuned)
    fit = train(tuned, classification_loss, itertools.repeat(example_batch()),
                TrainConfig(steps=5, lr=1e-2, progress=False), param_groups=tuned.param_groups)
    assert fit.steps_done == 5
    after = values(tuned)
    changed = {layer_of(name) for name in before if (before[name] != after[name]).any()}
    assert changed == {"head", "block 1", "block 0"}  # block 0 thawed at step 5; the embeddings wait for 7
    thawed = {layer_of(n) for n, p in tuned.named_parameters() if p.requires_grad}
    assert thawed == {"head", "block 1", "block 0"}
    assert count_parameters(tuned)[0] == sum(p.numel() for n, p in tuned.named_parameters() if layer_of(n) != "embeddings")


def test_the_delta_holds_what_thawed_and_reproduces_the_model(base, tmp_path):
    tuned = prepare(base, "layerwise-lr", num_labels=C, unfreeze_every=3)
    train(tuned, classification_loss, itertools.repeat(example_batch()), TrainConfig(steps=4, lr=1e-2, progress=False),
          param_groups=tuned.param_groups)
    save_delta(tuned, tmp_path / "delta.safetensors")
    assert {layer_of(name) for name in mg.load(tmp_path / "delta.safetensors")} == {"head", "block 1"}
    ids, mask, _ = example_batch()
    assert (logits(load_delta(base, tmp_path / "delta.safetensors"), ids, mask) == logits(tuned, ids, mask)).all()


def test_early_stopping_puts_back_a_layer_that_thawed_after_the_best_evaluation(base):
    tuned = prepare(base, "layerwise-lr", num_labels=C, unfreeze_every=1)
    start = values(tuned)
    losses = iter([1.0, 0.5, 0.9])  # the best at step 2; block 0 thaws at step 3, then patience runs out
    fit = train(tuned, classification_loss, itertools.repeat(example_batch()),
                TrainConfig(steps=10, lr=1e-2, eval_every=1, patience=1, progress=False),
                evaluate=lambda model: {"loss": next(losses)}, param_groups=tuned.param_groups)
    assert (fit.stopped, fit.steps_done, fit.weights_step) == ("early stopping", 3, 2)
    now = values(tuned)
    for name in start:
        back_to_start = (now[name] == start[name]).all()
        assert back_to_start == (layer_of(name) in ("block 0", "embeddings")), name
    assert {layer_of(n) for n, p in tuned.named_parameters() if p.requires_grad} == {"head", "block 1"}


def test_a_language_model_starts_with_its_top_block(base):
    """A tied LM head has no parameters of its own: the top block is the first to train, from step 1."""
    tuned = prepare(base, "layerwise-lr", task="lm", unfreeze_every=4)
    assert [group["trains_from"] for group in tuned.param_groups] == [1, 5, 9]
    assert {layer_of(n) for n, p in tuned.named_parameters() if p.requires_grad} == {"block 1"}


def test_unfreeze_every_must_not_be_negative(base):
    with pytest.raises(ValueError, match="unfreeze_every must be >= 0"):
        prepare(base, "layerwise-lr", num_labels=C, unfreeze_every=-1)


def test_a_resumed_run_thaws_as_the_whole_run_did(tmp_path, monkeypatch, capsys):
    run = ["finetune", "--mode", "layerwise-lr", "--option", "unfreeze_every=2", "--steps", "6", "--eval-every", "2"]
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    assert main(run + ["--out", str(whole)]) == 0
    stop_at_step(5, monkeypatch)  # after the step-4 checkpoint, which holds the head and the top two groups
    assert main(run + ["--out", str(stopped)]) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["finetune", "--resume", str(stopped)]) == 0
    assert comparable(results(stopped)["rows"]) == comparable(results(whole)["rows"])
    ours, theirs = mg.load(stopped / "delta.safetensors"), mg.load(whole / "delta.safetensors")
    assert ours.keys() == theirs.keys() and all((ours[n].numpy() == theirs[n].numpy()).all() for n in ours)
