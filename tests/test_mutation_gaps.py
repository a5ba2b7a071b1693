"""Behaviour the rest of the suite let through under mutation testing: each test below fails on a
one-line bug that every other test passed (an option lost on the way into a delta, a bias not put
back by unmerge, an out-of-range block index read modulo n...; a resumed run that forgets its best loss
is tested in test_train.py)."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from models.finetune import count_parameters, load_delta, prepare, save_delta
from models.finetune.adapter import Adapter
from models.finetune.ia3 import Rescaled
from models.heads import LanguageModel
from models.metrics import answer_scores

from test_finetune import BIASES, BLOCK, C, D, FINAL_NORM, HEAD, L, config, example_batch, fit, logits


@pytest.fixture
def base():
    return LanguageModel(config())


# ---- prepare() and the freezing modes ------------------------------------------------------------
def test_a_delta_keeps_the_pooling_it_was_trained_with(base, tmp_path):
    ids, mask, _ = example_batch()
    tuned = prepare(base, "head", num_labels=C, pooling="mean")  # not the decoder's default ("last")
    fit(tuned, steps=2)
    save_delta(tuned, tmp_path / "delta.safetensors")
    loaded = load_delta(base, tmp_path / "delta.safetensors")
    assert loaded.head.pooling == "mean"
    np.testing.assert_array_equal(logits(loaded, ids, mask), logits(tuned, ids, mask))


def test_whole_number_options_given_as_floats_become_ints(base):
    tuned = prepare(base, "lora+layers", num_labels=C, r=2.0, top_k=1.0)  # as a JSON or a sweep may give them
    assert type(tuned.mode_options["r"]) is int and type(tuned.mode_options["top_k"]) is int
    assert count_parameters(tuned)[0] == L * 2 * 2 * (D + D) + BLOCK + FINAL_NORM + HEAD


def test_top_k_and_chosen_layers_together_are_refused(base):
    with pytest.raises(ValueError, match="give top_k .* or layers .*, not both"):
        prepare(base, "layers", num_labels=C, top_k=1, layers=[0])


@pytest.mark.parametrize("index", [L, -L - 1])
def test_a_block_index_just_past_either_end_is_refused_not_wrapped(base, index):
    with pytest.raises(ValueError, match=rf"block indices \[{index}\] are out of range"):
        prepare(base, "layers", num_labels=C, layers=[index])


def test_layerwise_decay_zero_is_refused(base):
    with pytest.raises(ValueError, match=r"decay must be in \(0, 1\], got 0"):
        prepare(base, "layerwise-lr", num_labels=C, decay=0.0)


def test_params_patterns_are_globs_with_wildcards_anywhere(base):
    tuned = prepare(base, "params", num_labels=C, patterns="body.blocks.0.*.bias")
    trainable = {name for name, p in tuned.named_parameters() if p.requires_grad}
    expected = {name for name, _ in tuned.named_parameters()
                if name.startswith("head.") or (name.startswith("body.blocks.0.") and name.endswith(".bias"))}
    assert trainable == expected and len(expected) > 3
    assert count_parameters(tuned)[0] == (BIASES - FINAL_NORM // 2) // L + HEAD  # one block's biases


def test_adapters_use_the_models_own_gelu():
    """A model with GPT-2's tanh GELU gets tanh GELUs in its adapters (the shipped model's kind)."""
    base = LanguageModel(config(gelu_approximate="tanh"))
    tuned = prepare(base, "adapter", num_labels=C)
    x = mg.tensor(np.linspace(-4, 4, 33, dtype=np.float32))
    own = tuned.transformer.blocks[0].mlp.base.act(x).numpy()
    adapters = [m for m in tuned.modules() if isinstance(m, Adapter)]
    assert len(adapters) == 2 * L
    for adapter in adapters:
        np.testing.assert_array_equal(adapter.act(x).numpy(), own)


def test_a_single_prompt_vector_is_a_prompt(base):
    ids, mask, _ = example_batch()
    tuned = prepare(base, "prompt", num_labels=C, n_prompt=1)
    assert count_parameters(tuned)[0] == D + HEAD
    assert tuned(ids, mask).shape == (4, C)


# ---- (IA)^3 merge and unmerge ----------------------------------------------------------------
def test_unmerging_an_output_scale_gives_back_a_nonzero_bias_bit_for_bit():
    linear = nn.Linear(5, 4)  # the transformer's biases start at 0, where a bias left scaled hides
    with mg.no_grad():
        linear.bias.copy_(mg.randn(4))
    weight, bias = linear.weight.numpy().copy(), linear.bias.numpy().copy()
    scaled = Rescaled(linear, 4, where="output")
    with mg.no_grad():
        scaled.ia3_scale.copy_(mg.tensor([0.5, 2.0, -1.0, 3.0]))
    scaled.merge()
    scaled.unmerge()
    np.testing.assert_array_equal(linear.weight.numpy(), weight)
    np.testing.assert_array_equal(linear.bias.numpy(), bias)


# ---- metrics, sweeps, resumed runs ---------------------------------------------------------------
def test_answer_f1_counts_a_repeated_word_as_often_as_both_have_it():
    assert answer_scores(["good good"], ["good good"])["f1"] == 1.0
    assert answer_scores(["good good bad"], ["good good"])["f1"] == pytest.approx(2 * 2 / (3 + 2))


def test_a_run_that_diverged_loses_to_one_that_finished():
    from models.sweep import better

    finished = {"val_accuracy": 0.6, "val_loss": 0.9, "stopped": "finished"}
    diverged = {"val_accuracy": 0.8, "val_loss": 0.5, "stopped": "non-finite loss"}
    assert better(finished, diverged) and not better(diverged, finished)


def test_a_resumed_run_reads_null_scores_back_as_nan():
    from models.resume import finished_rows, recorded_rows

    record = {"rows": [{"mode": "lora", "stopped": "non-finite loss", "val_loss": None, "val_accuracy": None,
                        "test_accuracy": None, "forgetting": None, "runs": [{"seed": 0, "val_loss": None}]}]}
    for row in recorded_rows(record) + finished_rows(record):
        assert math.isnan(row["val_loss"]) and math.isnan(row["val_accuracy"]) and math.isnan(row["test_accuracy"])
        assert row["forgetting"] is None  # not a score: None stays None
        assert math.isnan(row["runs"][0]["val_loss"])
