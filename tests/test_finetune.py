"""Fine-tuning modes: each trains what it says and freezes the rest bit for bit, its
parameter counts match a hand count, LoRA merges, adapters and LoRA start at the
base model, and a delta file loads back onto the base with the same predictions."""
import itertools
import json
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from models.finetune import (
    MODES, LoRALinear, PrefixTuned, PromptTuned, WithAdapter, count_parameters, describe, load_delta, merge_ia3,
    merge_lora, mode_options, prepare, save_delta, unmerge_ia3, unmerge_lora,
)
from models.heads import LanguageModel, SequenceClassificationHead, TransformerWithHead
from models.train import TrainConfig, make_optimizer, train
from models.transformer import Transformer, TransformerConfig

V, L, D, H, FF, MAX_LEN, C = 20, 2, 16, 2, 32, 16, 3  # vocab, layers, width, heads, d_ff, max_len, classes


def config(**overrides):
    return TransformerConfig(**{**dict(vocab_size=V, n_layers=L, d_model=D, n_heads=H, d_ff=FF,
                                       max_len=MAX_LEN, dropout=0.0), **overrides})


# ---- the hand count of the test model's parameters ----------------------------------
EMBEDDINGS = V * D + MAX_LEN * D  # token + position tables
BLOCK = 4 * (D * D + D) + 2 * (2 * D) + (D * FF + FF) + (FF * D + D)  # q k v out, ln1 ln2, up, down
FINAL_NORM = 2 * D
BODY = EMBEDDINGS + L * BLOCK + FINAL_NORM  # 5,056
HEAD = D * C + C  # the new classifier
BIASES = L * (4 * D + D + FF + D + D) + D  # BitFit: q k v out, ln1, up, down, ln2 biases; final norm's
NORMS = L * 2 * (2 * D) + FINAL_NORM  # every LayerNorm's weight and bias
PROMPT = 4 * D  # n_prompt=4 vectors
PREFIX = L * 2 * 4 * D  # n_prefix=4 keys and 4 values per block, (1, H, 4, D / H) each
ADAPTERS = L * 2 * ((D * 4 + 4) + (4 * D + D))  # 2 adapters per block, bottleneck D / 4 = 4: down + up
LORA = L * 2 * 2 * (D + D)  # q and v per block, r=2: A (r, in) + B (out, r)
IA3 = L * (D + D + FF)  # per block: a scale for the keys, one for the values, one for the MLP's activations

# mode, options, trainable count, parameters the mode adds
CASES = [
    ("full", {}, BODY + HEAD, 0),
    ("head", {}, HEAD, 0),
    ("layers", {"top_k": 1}, BLOCK + FINAL_NORM + HEAD, 0),
    ("layers", {"layers": [0]}, BLOCK + HEAD, 0),
    ("params", {}, BIASES + HEAD, 0),
    ("params", {"patterns": ["*ln*", "*norm*"]}, NORMS + HEAD, 0),
    ("layerwise-lr", {}, BODY + HEAD, 0),
    ("prompt", {"n_prompt": 4}, PROMPT + HEAD, PROMPT),
    ("prefix", {"n_prefix": 4}, PREFIX + HEAD, PREFIX),
    ("adapter", {"reduction_factor": 4}, ADAPTERS + HEAD, ADAPTERS),
    ("lora", {"r": 2}, LORA + HEAD, LORA),
    ("lora+params", {"r": 2}, LORA + BIASES + HEAD, LORA),
    ("adapter+params", {"reduction_factor": 4, "patterns": "*ln*,*norm*"}, ADAPTERS + NORMS + HEAD, ADAPTERS),
    ("prompt+layers", {"n_prompt": 4, "layers": [-1]}, PROMPT + BLOCK + FINAL_NORM + HEAD, PROMPT),
    ("prefix+lora", {"n_prefix": 4, "r": 2}, PREFIX + LORA + HEAD, PREFIX + LORA),
    ("ia3", {}, IA3 + HEAD, IA3),
    ("lora+ia3", {"r": 2}, LORA + IA3 + HEAD, LORA + IA3),  # IA3 rescales the LoRA-adapted values, both train
]
IDS = [case[0] + ("-" + "-".join(case[1]) if case[1] else "") for case in CASES]


@pytest.fixture
def base():
    """A small random 'pretrained' decoder with its LM head."""
    return LanguageModel(config())


def example_batch(T=6):
    rng = np.random.default_rng(1)
    mask = np.ones((4, T), dtype=np.int64)
    mask[1, 4:], mask[3, 5:] = 0, 0
    ids = rng.integers(1, V, size=(4, T)) * mask  # 0 on padding
    return mg.tensor(ids), mg.tensor(mask), mg.tensor(rng.integers(0, C, size=4))


def classification_loss(model, batch):
    ids, mask, labels = batch
    return F.cross_entropy(model(ids, mask), labels)


def fit(model, steps=5):
    return train(model, classification_loss, itertools.repeat(example_batch()),
                 TrainConfig(steps=steps, lr=1e-2, progress=False), param_groups=model.param_groups)


def values(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters()}


def logits(model, ids, mask):
    model.eval()
    with mg.no_grad():
        return model(ids, mask).numpy()


# ---- every mode: what it freezes, what it trains, what it costs ------------------------
@pytest.mark.parametrize("mode, options, trainable, added", CASES, ids=IDS)
def test_counts_match_a_hand_count(base, mode, options, trainable, added):
    tuned = prepare(base, mode, num_labels=C, **options)
    assert count_parameters(tuned) == (trainable, BODY + HEAD + added)
    assert tuned.mode == mode and set(options) <= set(tuned.mode_options)


@pytest.mark.parametrize("mode, options, trainable, added", CASES, ids=IDS)
def test_frozen_parameters_stay_bit_identical_and_trained_ones_change(base, mode, options, trainable, added):
    tuned = prepare(base, mode, num_labels=C, **options)
    before = values(tuned)
    fit(tuned)
    for name, p in tuned.named_parameters():
        if not p.requires_grad:
            assert np.array_equal(p.numpy(), before[name]), f"{mode}: frozen {name} changed"
        elif not name.endswith("key.bias"):  # softmax ignores a shift shared by all keys: zero gradient
            assert not np.array_equal(p.numpy(), before[name]), f"{mode}: trainable {name} did not change"


@pytest.mark.parametrize("mode, options, trainable, added", CASES, ids=IDS)
def test_frozen_parameters_get_no_gradient(base, mode, options, trainable, added):
    tuned = prepare(base, mode, num_labels=C, **options)
    classification_loss(tuned, example_batch()).backward()
    for name, p in tuned.named_parameters():
        assert (p.grad is not None) == p.requires_grad, f"{mode}: {name} requires_grad={p.requires_grad}"


def test_head_mode_builds_no_graph_in_the_body(base):
    ids, mask, _ = example_batch()
    tuned = prepare(base, "head", num_labels=C)
    assert not tuned.body(ids, mask).requires_grad  # backward runs through the head only


def test_prepare_leaves_the_pretrained_model_alone(base):
    before = values(base)
    fit(prepare(base, "lora+params", num_labels=C))
    fit(prepare(base, "adapter", num_labels=C))
    assert all(p.requires_grad for p in base.parameters())
    assert not any(isinstance(m, (LoRALinear, WithAdapter)) for m in base.modules())
    assert all(np.array_equal(p.numpy(), before[name]) for name, p in base.named_parameters())


def test_modes_options_and_errors_name_what_is_allowed(base):
    assert list(MODES) == ["full", "head", "layers", "params", "layerwise-lr", "prompt", "prefix", "adapter", "lora",
                           "ia3"]
    names = [option for mode in MODES for option in mode_options(mode)]
    assert len(names) == len(set(names)), "an option name shared by two modes could not be passed flat"
    with pytest.raises(ValueError, match=r"unknown fine-tuning mode 'loar'; expected one of full, head, .*lora"):
        prepare(base, "loar", num_labels=C)
    with pytest.raises(ValueError, match=r"unknown option 'rank' .*: r, alpha, lora_dropout, targets, pooling"):
        prepare(base, "lora", num_labels=C, rank=4)
    with pytest.raises(ValueError, match=r"unknown option 'r' for mode 'head'"):
        prepare(base, "head", num_labels=C, r=4)
    with pytest.raises(ValueError, match=r"'full' trains every parameter already"):
        prepare(base, "full+lora", num_labels=C)
    with pytest.raises(ValueError, match=r"modes prompt and prefix both put learned vectors in front"):
        prepare(base, "prefix+prompt", num_labels=C)
    with pytest.raises(ValueError, match=r"prefix: n_prefix must be at least 1, got 0"):
        prepare(base, "prefix", num_labels=C, n_prefix=0)
    with pytest.raises(ValueError, match=r"names a mode twice"):
        prepare(base, "lora+lora", num_labels=C)
    with pytest.raises(ValueError, match=r"top_k must be between 0 and 2"):
        prepare(base, "layers", num_labels=C, top_k=3)
    with pytest.raises(ValueError, match=r"block indices \[5\] are out of range"):
        prepare(base, "layers", num_labels=C, layers=[5])
    with pytest.raises(ValueError, match=r"layers: block 1 is listed twice in \[1, -1\]"):  # 2 blocks: -1 is 1
        prepare(base, "layers", num_labels=C, layers=[1, -1])
    with pytest.raises(ValueError, match=r"no parameter name matches \['\*gamma'\]"):
        prepare(base, "params", num_labels=C, patterns="*gamma")
    with pytest.raises(ValueError, match=r"no Linear layer named \['qkv'\]; .*'query'"):
        prepare(base, "lora", num_labels=C, targets=["qkv"])
    with pytest.raises(ValueError, match=r"needs num_labels"):
        prepare(base, "head")
    with pytest.raises(ValueError, match=r"unknown task 'translation'"):
        prepare(base, "head", num_labels=C, task="translation")
    with pytest.raises(ValueError, match=r"unknown option 'pooling' .* task 'tagging'"):
        prepare(base, "head", num_labels=C, task="tagging", pooling="mean")
    with pytest.raises(ValueError, match=r"leaves nothing to train"):
        prepare(base, "head", task="lm")  # the tied LM head has no parameters of its own
    with pytest.raises(ValueError, match=r"prepared already"):
        prepare(prepare(base, "head", num_labels=C), "lora", num_labels=C)
    with pytest.raises(TypeError, match=r"'lora\+params'"):
        prepare(base, ["lora", "params"], num_labels=C)


def test_layerwise_lr_decays_from_the_head_down_to_the_embeddings(base):
    tuned = prepare(base, "layerwise-lr", num_labels=C, decay=0.5)
    assert [g["lr_scale"] for g in tuned.param_groups] == pytest.approx([1, 0.5, 0.25, 0.125])
    sizes = [sum(p.numel() for p in g["params"]) for g in tuned.param_groups]
    assert sizes == [HEAD, BLOCK + FINAL_NORM, BLOCK, EMBEDDINGS]  # head, top block, block 0, embeddings
    default = prepare(base, "layerwise-lr", num_labels=C)
    assert [g["lr_scale"] for g in default.param_groups] == pytest.approx([1.0, 0.8, 0.64, 0.512])
    optimizer = make_optimizer(default.param_groups, TrainConfig(lr=1e-2))  # the loop turns scales into rates
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([1e-2, 8e-3, 6.4e-3, 5.12e-3])


def test_bodies_heads_and_tasks(base):
    ids, mask, _ = example_batch()
    body = Transformer(config(causal=False, norm_first=False))
    assert prepare(body, "head", num_labels=C).head.pooling == "first"  # an encoder's [CLS]
    assert prepare(base, "head", num_labels=C).head.pooling == "last"  # a decoder's last token saw everything
    assert prepare(base, "head", num_labels=C, pooling="mean").head.pooling == "mean"
    for first in ("first", "pooled"):  # a decoder's first token has seen only [BOS]: one prediction for every text
        assert prepare(body, "head", num_labels=C, pooling=first).head.pooling == first
        with pytest.raises(ValueError, match=f"pooling={first} reads the first position, .* causal .* pooling=last"):
            prepare(base, "head", num_labels=C, pooling=first)
    other = TransformerWithHead(Transformer(config()), SequenceClassificationHead(D, 5))
    assert prepare(other, "head", num_labels=C)(ids, mask).shape == (4, C)
    assert prepare(base, "lora", num_labels=C, task="tagging")(ids, mask).shape == (4, 6, C)
    assert prepare(base, "lora", task="qa")(ids, mask).shape == (4, 6, 2)
    lm = prepare(base, "lora", task="lm")
    assert lm(ids, mask).shape == (4, 6, V) and lm.lm_loss(ids, mask).ndim == 0


def test_describe_prints_peft_line(base, capsys):
    text = describe(prepare(base, "lora", num_labels=C, r=2))
    trainable, total = LORA + HEAD, BODY + HEAD + LORA
    line = f"trainable params: {trainable:,} || all params: {total:,} || trainable%: {100 * trainable / total:.4f}"
    assert line in text and line in capsys.readouterr().out
    assert text.startswith("mode: lora (r=2, alpha=16")


# ---- LoRA ------------------------------------------------------------------------------
def test_lora_linear_is_base_plus_scaled_low_rank_update():
    linear = nn.Linear(5, 4)
    W, b = linear.weight.numpy().copy(), linear.bias.numpy().copy()
    lora = LoRALinear(linear, r=2, alpha=4)
    x = mg.randn(3, 5)
    assert np.array_equal(lora(x).numpy(), linear(x).numpy())  # B = 0: exactly the base layer
    assert not linear.weight.requires_grad and lora.lora_A.requires_grad and lora.lora_B.requires_grad
    with mg.no_grad():
        lora.lora_B.copy_(mg.randn(4, 2))
    A, B = lora.lora_A.numpy(), lora.lora_B.numpy()
    expected = x.numpy() @ W.T + b + (4 / 2) * (x.numpy() @ A.T) @ B.T
    np.testing.assert_allclose(lora(x).numpy(), expected, atol=1e-5)
    lora.merge()
    np.testing.assert_allclose(linear.weight.numpy(), W + 2 * B @ A, atol=1e-6)
    np.testing.assert_allclose(lora(x).numpy(), expected, atol=1e-5)  # now through the base weight alone
    lora.unmerge()
    np.testing.assert_array_equal(linear.weight.numpy(), W)  # the original, bit for bit


@pytest.mark.parametrize("mode", ["lora", "adapter", "ia3"])
@pytest.mark.parametrize("encoder", [False, True])
def test_lora_adapters_and_ia3_start_exactly_at_the_base_model(mode, encoder):
    ids, mask, _ = example_batch()
    base = LanguageModel(config(causal=not encoder, norm_first=not encoder))
    tuned = prepare(base, mode, num_labels=C) if encoder else prepare(base, mode, task="lm")  # an encoder is no LM
    if not encoder:
        assert np.array_equal(logits(tuned, ids, mask), logits(base, ids, mask))
    assert np.array_equal(tuned.body(ids, mask).numpy(), base.body(ids, mask).numpy())


def test_merged_lora_gives_the_same_outputs_and_unmerge_restores_the_base(base):
    ids, mask, _ = example_batch()
    tuned = prepare(base, "lora", num_labels=C, targets="query,key,value,out")
    fit(tuned)
    weights = {name: p.numpy().copy() for name, p in tuned.named_parameters() if name.endswith("base.weight")}
    assert len(weights) == 4 * L
    unmerged = logits(tuned, ids, mask)
    merge_lora(tuned)
    assert all(m.merged for m in tuned.modules() if isinstance(m, LoRALinear))
    np.testing.assert_allclose(logits(tuned, ids, mask), unmerged, atol=1e-5)
    assert not np.array_equal(dict(tuned.named_parameters())["body.blocks.0.attn.query.base.weight"].numpy(),
                              weights["body.blocks.0.attn.query.base.weight"])
    unmerge_lora(tuned)
    for name, p in tuned.named_parameters():
        if name in weights:
            np.testing.assert_array_equal(p.numpy(), weights[name])  # bit for bit
    assert np.array_equal(logits(tuned, ids, mask), unmerged)


# ---- adapters and prompts ----------------------------------------------------------------
def test_ia3_rescales_the_keys_values_and_mlp_activations_feature_by_feature(base):
    """With the scales set by hand, each block computes what the formula says: the key and value
    projections' outputs times l_k and l_v, and down(l_ff * gelu(up(x)))."""
    from models.finetune.ia3 import Rescaled

    tuned = prepare(base, "ia3", num_labels=C).eval()
    block, reference = tuned.transformer.blocks[0], base.body.blocks[0]
    assert isinstance(block.attn.key, Rescaled) and isinstance(block.mlp.down, Rescaled)
    rng = np.random.default_rng(4)
    for scale in (block.attn.key.ia3_scale, block.attn.value.ia3_scale, block.mlp.down.ia3_scale):
        scale.data[...] = rng.uniform(0.5, 1.5, scale.shape)
    x = mg.tensor(rng.standard_normal((2, 5, D)).astype(np.float32))
    with mg.no_grad():
        np.testing.assert_allclose(block.attn.key(x).numpy(),
                                   reference.attn.key(x).numpy() * block.attn.key.ia3_scale.numpy(), rtol=1e-6)
        np.testing.assert_allclose(block.attn.value(x).numpy(),
                                   reference.attn.value(x).numpy() * block.attn.value.ia3_scale.numpy(), rtol=1e-6)
        hidden = reference.mlp.act(reference.mlp.up(x))
        np.testing.assert_allclose(block.mlp(x).numpy(),
                                   reference.mlp.down(hidden * block.mlp.down.ia3_scale).numpy(), rtol=1e-5, atol=1e-6)


def test_merged_ia3_gives_the_same_outputs_and_unmerge_restores_the_base(base, tmp_path):
    from models.finetune.ia3 import Rescaled

    ids, mask, _ = example_batch()
    tuned = prepare(base, "ia3", num_labels=C)
    fit(tuned)  # the scales move off 1
    weights = {name: p.numpy().copy() for name, p in tuned.named_parameters() if not p.requires_grad}
    before = logits(tuned, ids, mask)
    merge_ia3(tuned)
    assert not any(p.requires_grad for name, p in tuned.named_parameters() if name.endswith("ia3_scale"))
    np.testing.assert_allclose(logits(tuned, ids, mask), before, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unmerge_ia3"):
        save_delta(tuned, tmp_path / "delta.safetensors")
    unmerge_ia3(tuned)
    assert all(np.array_equal(p.numpy(), weights[name]) for name, p in tuned.named_parameters() if name in weights)
    assert all(p.requires_grad for name, p in tuned.named_parameters() if name.endswith("ia3_scale"))
    np.testing.assert_array_equal(logits(tuned, ids, mask), before)
    both = prepare(base, "lora+ia3", num_labels=C)  # LoRA's values: their update is not in a weight
    with pytest.raises(ValueError, match="only a scale around a Linear layer folds.*LoRALinear"):
        merge_ia3(both)
    assert not any(m.merged for m in both.modules() if isinstance(m, Rescaled))  # not the keys' either


def test_a_merged_output_scale_scales_the_bias_too():
    from models.finetune.ia3 import Rescaled

    linear = nn.Linear(5, 4)  # a bias far from 0 (the transformer's start at 0, where a missed bias hides)
    with mg.no_grad():
        linear.bias.copy_(mg.randn(4))
    bias = linear.bias.numpy().copy()
    scaled = Rescaled(linear, 4, where="output")
    with mg.no_grad():
        scaled.ia3_scale.copy_(mg.tensor([0.5, 2.0, -1.0, 3.0]))
    x = mg.randn(3, 5)
    before = scaled(x).numpy()
    scaled.merge()
    np.testing.assert_allclose(scaled(x).numpy(), before, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(linear.bias.numpy(), bias * [0.5, 2.0, -1.0, 3.0], rtol=1e-6)


def test_adapters_sit_after_attention_and_feed_forward(base):
    tuned = prepare(base, "adapter", num_labels=C)
    for block in tuned.transformer.blocks:
        assert isinstance(block.attn, WithAdapter) and isinstance(block.mlp, WithAdapter)
        assert not block.attn.base.query.weight.requires_grad and block.attn.adapter.up.weight.requires_grad


def test_prompt_shapes_mask_and_padding(base):
    ids, mask, _ = example_batch()
    tuned = prepare(base, "prompt", num_labels=C, n_prompt=4)
    wrapper = tuned.body
    assert isinstance(wrapper, PromptTuned) and not any(p.requires_grad for p in wrapper.body.parameters())
    assert tuned(ids, mask).shape == (4, C)
    extended = wrapper.extend_mask(mask).numpy()
    assert extended.shape == (4, 4 + 6) and (extended[:, :4] == 1).all()
    assert np.array_equal(extended[:, 4:], mask.numpy()) and wrapper.extend_mask(None) is None
    assert wrapper(ids, mask).shape == (4, 6, D)  # prompt positions dropped before the head
    table = wrapper.body.token_embedding.weight.numpy()
    assert all((table == row).all(axis=1).any() for row in wrapper.prompt.numpy())  # rows of the embedding
    padded = ids.numpy().copy()
    padded[mask.numpy() == 0] = 7  # different padding content: the real tokens must not notice
    np.testing.assert_allclose(logits(tuned, mg.tensor(padded), mask), logits(tuned, ids, mask), atol=1e-6)
    longest = mg.tensor(np.arange(MAX_LEN).reshape(1, -1) % V)  # max_len tokens + 4 prompts still fit
    assert tuned(longest).shape == (1, C)
    assert prepare(base, "prompt", task="lm", n_prompt=4)(ids, mask).shape == (4, 6, V)


def test_a_causal_prompt_run_once_through_a_cache_equals_the_prompt_concatenated(base):
    """The cheap path (prompt through the body once, its keys and values cached) computes what
    Lester et al.'s concatenation computes, outputs and the prompt's gradient, in float64."""
    ids, mask, _ = example_batch()
    wrapper = prepare(base, "prompt", num_labels=C, n_prompt=4).body.to("float64").eval()
    weights = mg.tensor(np.random.default_rng(2).standard_normal((4, 6, D)))

    def hidden_and_prompt_gradient(hidden_of):
        wrapper.prompt.grad = None
        hidden = hidden_of()
        (hidden * weights).sum().backward()
        return hidden.numpy(), wrapper.prompt.grad.numpy()

    cached, cached_grad = hidden_and_prompt_gradient(lambda: wrapper(ids, mask))
    reference, reference_grad = hidden_and_prompt_gradient(lambda: wrapper.concatenated(ids, mask))
    np.testing.assert_allclose(cached, reference, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cached_grad, reference_grad, rtol=1e-10, atol=1e-12)
    assert np.abs(cached_grad).sum() > 0


def test_a_causal_prefix_starts_where_prompt_tuning_starts(base):
    """From the same random draw, the prefix is the prompt's keys and values in every block: the two
    models agree at the start, though the prefix trains those directly."""
    ids, mask, _ = example_batch()
    mg.manual_seed(3)
    prompted = prepare(base, "prompt", num_labels=C, n_prompt=4)
    mg.manual_seed(3)
    prefixed = prepare(base, "prefix", num_labels=C, n_prefix=4)
    assert isinstance(prefixed.body, PrefixTuned) and not any(p.requires_grad for p in prefixed.body.body.parameters())
    np.testing.assert_allclose(logits(prefixed, ids, mask), logits(prompted, ids, mask), rtol=1e-5, atol=1e-6)
    assert prefixed.body(ids, mask).shape == (4, 6, D)  # queries: the input's own positions alone


@pytest.mark.parametrize("causal", [True, False], ids=["decoder", "encoder"])
def test_a_prefix_is_attended_to_in_every_block_of_a_decoder_or_an_encoder(causal):
    """Each block's keys are [prefix; input's], so every prefix tensor gets a gradient; padding keys
    stay hidden (other content on them changes nothing); the longest input still fits."""
    body = Transformer(config(causal=causal, norm_first=causal))
    tuned = prepare(body, "prefix", num_labels=C, n_prefix=4)
    ids, mask, labels = example_batch()
    F.cross_entropy(tuned(ids, mask), labels).backward()
    prefix = tuned.body
    assert all(np.abs(p.grad.numpy()).sum() > 0 for p in [*prefix.prefix_keys, *prefix.prefix_values])
    assert [tuple(k.shape) for k in prefix.prefix_keys] == [(1, H, 4, D // H)] * L
    padded = ids.numpy().copy()
    padded[mask.numpy() == 0] = 7
    np.testing.assert_allclose(logits(tuned, mg.tensor(padded), mask), logits(tuned, ids, mask), atol=1e-6)
    assert tuned(mg.tensor(np.arange(MAX_LEN).reshape(1, -1) % V)).shape == (1, C)


def test_an_encoder_refuses_a_growing_cache_but_takes_a_fixed_prefix():
    from models.transformer import LayerCache

    body = Transformer(config(causal=False, norm_first=False))
    x = body.embed(mg.tensor([[1, 2, 3]]))
    with pytest.raises(ValueError, match="a KV cache needs a causal body.*fixed=True"):
        body.encode(x, cache=body.new_cache())
    fixed = [LayerCache(mg.zeros(1, H, 2, D // H), mg.zeros(1, H, 2, D // H), fixed=True) for _ in range(L)]
    assert body.encode(x, cache=fixed).shape == (1, 3, D)
    assert all(len(layer) == 2 for layer in fixed)  # the call's own keys were not added


def test_a_prefix_tuned_language_model_generates_through_a_growing_cache(base):
    """Generation fills the cache with the prefix first, then one token at a time: the last position's
    logits match running the whole sequence at once."""
    tuned = prepare(base, "prefix", task="lm", n_prefix=4).eval()
    ids = mg.tensor([[1, 5, 9, 2, 7]])
    whole = tuned(ids).numpy()[0, -1]
    cache = tuned.new_cache()
    tuned(ids[:, :4], cache=cache)
    assert len(cache[0]) == 4 + 4
    np.testing.assert_allclose(tuned(ids[:, 4:], cache=cache).numpy()[0, -1], whole, rtol=1e-5, atol=1e-5)


# ---- deltas ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, options", [
    ("head", {}), ("layers", {"top_k": 1}), ("layers", {"layers": [0]}), ("params", {}), ("layerwise-lr", {}),
    ("full", {}), ("prompt", {"n_prompt": 4}), ("prefix", {"n_prefix": 4}), ("adapter", {"reduction_factor": 4}),
    ("lora", {"r": 2}), ("lora+params", {"r": 2}), ("ia3", {}),
])
def test_delta_round_trips_onto_a_fresh_base(base, tmp_path, mode, options):
    ids, mask, _ = example_batch()
    tuned = prepare(base, mode, num_labels=C, **options)
    fit(tuned, steps=3)
    save_delta(tuned, tmp_path / "delta.safetensors")
    fresh = LanguageModel(config())  # other random weights ...
    fresh.load_state_dict(base.state_dict())  # ... replaced by the base checkpoint's
    loaded = load_delta(fresh, tmp_path / "delta.safetensors")
    assert loaded.mode == tuned.mode and count_parameters(loaded) == count_parameters(tuned)
    assert json.dumps(loaded.mode_options) == json.dumps(tuned.mode_options)
    assert np.array_equal(logits(loaded, ids, mask), logits(tuned, ids, mask))
    mg.save(tuned.state_dict(), tmp_path / "full.safetensors")
    delta, full = (os.path.getsize(tmp_path / f"{name}.safetensors") for name in ("delta", "full"))
    if mode in ("head", "prompt", "prefix", "adapter", "lora", "ia3"):
        assert delta < full / 4, f"{mode}: delta {delta} bytes vs full checkpoint {full} bytes"


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.pop("base_fingerprint"), "a fine-tuning delta without base_fingerprint in its metadata"),
    (lambda m: m.update(options="{r: 2"), "its metadata entry 'options' is not valid JSON"),
])
def test_a_delta_with_edited_metadata_is_named(base, tmp_path, edit, message):
    tuned = prepare(base, "lora", num_labels=C)
    save_delta(tuned, tmp_path / "delta.safetensors")
    metadata = mg.io.load_metadata(tmp_path / "delta.safetensors")
    edit(metadata)
    mg.save(mg.load(tmp_path / "delta.safetensors"), tmp_path / "edited.safetensors", metadata=metadata)
    with pytest.raises(ValueError, match=message):
        load_delta(base, tmp_path / "edited.safetensors")


def test_delta_refuses_a_wrong_base_a_full_checkpoint_and_merged_weights(base, tmp_path):
    tuned = prepare(base, "lora", num_labels=C)
    fit(tuned, steps=2)
    save_delta(tuned, tmp_path / "delta.safetensors")
    with pytest.raises(ValueError, match="trained on a different base model"):
        load_delta(LanguageModel(config()), tmp_path / "delta.safetensors")
    mg.save(tuned.state_dict(), tmp_path / "full.safetensors")
    with pytest.raises(ValueError, match="not a fine-tuning delta"):
        load_delta(base, tmp_path / "full.safetensors")
    mg.save(mg.load(tmp_path / "delta.safetensors"), tmp_path / "old.safetensors",
            metadata={**mg.io.load_metadata(tmp_path / "delta.safetensors"), "format": "minigrad-finetune-delta/1"})
    with pytest.raises(ValueError, match="a fine-tuning delta in an older format \\('minigrad-finetune-delta/1'"):
        load_delta(base, tmp_path / "old.safetensors")
    with pytest.raises(ValueError, match="needs a model from prepare"):
        save_delta(base, tmp_path / "base.safetensors")
    merge_lora(tuned)
    with pytest.raises(ValueError, match="unmerge_lora"):
        save_delta(tuned, tmp_path / "merged.safetensors")


def test_delta_refuses_a_base_trained_even_one_step_further(base, tmp_path):
    tuned = prepare(base, "lora", num_labels=C)
    save_delta(tuned, tmp_path / "delta.safetensors", labels=["a", "b", "c"], base="test")
    further = LanguageModel(config())
    further.load_state_dict(base.state_dict())
    with mg.no_grad():  # one tiny step's worth of change in one weight
        further.body.blocks[1].mlp.up.weight[0, 0] += 1e-4
    with pytest.raises(ValueError, match="trained on a different base model"):
        load_delta(further, tmp_path / "delta.safetensors")
    assert load_delta(base, tmp_path / "delta.safetensors").labels == ["a", "b", "c"]
    with pytest.raises(ValueError, match="2 labels for a head with 3 outputs"):
        save_delta(tuned, tmp_path / "other.safetensors", labels=["a", "b"])


def test_a_frozen_bias_counts_in_the_base_fingerprint_too(base, tmp_path):
    tuned = prepare(base, "lora", num_labels=C)
    save_delta(tuned, tmp_path / "delta.safetensors")
    further = LanguageModel(config())
    further.load_state_dict(base.state_dict())
    with mg.no_grad():  # only a bias differs
        further.body.blocks[1].mlp.up.bias[0] += 1e-4
    with pytest.raises(ValueError, match="trained on a different base model"):
        load_delta(further, tmp_path / "delta.safetensors")


def test_the_base_fingerprint_covers_the_names_of_the_weights_too():
    from models.finetune.delta import fingerprint

    def frozen(*names):  # the same values, under other names
        model = nn.Module()
        for name in names:
            model.register_parameter(name, nn.Parameter(mg.ones(2), requires_grad=False))
        return model

    assert fingerprint(frozen("a", "b")) == fingerprint(frozen("a", "b"))
    assert fingerprint(frozen("a", "b")) != fingerprint(frozen("a", "c"))  # a weight in another place


def test_a_delta_missing_a_trained_parameter_is_refused(base, tmp_path):
    tuned = prepare(base, "lora", num_labels=C, r=2)
    path = tmp_path / "delta.safetensors"
    save_delta(tuned, path)
    tensors, metadata = mg.load(path), mg.io.load_metadata(path)
    dropped = "body.blocks.1.attn.value.lora_B"
    del tensors[dropped]
    mg.save(tensors, path, metadata=metadata)  # otherwise a valid delta: loading it would keep a random B
    with pytest.raises(ValueError, match=f"missing: {dropped}; unexpected: none"):
        load_delta(base, path)


def test_an_encoder_is_not_a_language_model():
    with pytest.raises(ValueError, match="task 'lm' needs a causal body"):
        prepare(LanguageModel(config(causal=False)), "lora", task="lm")


@pytest.mark.parametrize("mode, options, message", [
    ("params", {"patterns": ["*bias", "*typo*"]}, r"no parameter name matches \['\*typo\*'\]"),
    ("lora", {"targets": []}, "targets names no layer"),
    ("lora", {"alpha": 0.0}, "alpha must be > 0"),
    ("layers", {"layers": True}, "expected block indices"),
    ("layers", {"layers": "1"}, "expected block indices"),
])
def test_options_that_would_train_something_else_than_asked_are_refused(base, mode, options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        prepare(base, mode, num_labels=C, **options)


def test_merged_lora_stops_training_until_unmerged(base):
    tuned = prepare(base, "lora", num_labels=C)
    trainable = count_parameters(tuned)[0]
    merge_lora(tuned)
    assert count_parameters(tuned)[0] == HEAD  # A and B get no gradient through a merged weight
    unmerge_lora(tuned)
    assert count_parameters(tuned)[0] == trainable


@pytest.mark.parametrize("mode, merge, unmerge", [("lora", merge_lora, unmerge_lora), ("ia3", merge_ia3, unmerge_ia3)])
def test_unmerging_a_frozen_update_leaves_it_frozen(base, mode, merge, unmerge):
    tuned = prepare(base, mode, num_labels=C).requires_grad_(False)  # e.g. loaded for inference only
    merge(tuned)
    unmerge(tuned)
    assert count_parameters(tuned)[0] == 0


def test_lora_dropout_drops_the_input_of_the_update_in_training_only():
    linear = nn.Linear(5, 4)
    lora = LoRALinear(linear, r=2, alpha=4, dropout=0.5)
    with mg.no_grad():
        lora.lora_B.copy_(mg.randn(4, 2))
    x = mg.randn(3, 5)
    A, B = lora.lora_A.numpy(), lora.lora_B.numpy()
    expected = linear(x).numpy() + 2 * (x.numpy() @ A.T) @ B.T
    lora.eval()
    np.testing.assert_allclose(lora(x).numpy(), expected, atol=1e-5)
    lora.train()
    assert not np.allclose(lora(x).numpy(), expected, atol=1e-3)
    # the mask falls on x (3, 5), as in PEFT, not on x A^T (3, 2): the same seed draws the same mask
    mg.manual_seed(7)
    kept = F.dropout(mg.ones(3, 5), 0.5).numpy()
    mg.manual_seed(7)
    np.testing.assert_allclose(lora(x).numpy(), linear(x).numpy() + 2 * ((x.numpy() * kept) @ A.T) @ B.T, atol=1e-5)


def test_a_tied_lm_head_uses_the_prepared_copys_embedding(base):
    tuned = prepare(base, "full", task="lm")
    assert tuned.head.tied and tuned.head.body.token_embedding.weight is tuned.transformer.token_embedding.weight
    assert tuned.transformer.token_embedding.weight is not base.body.token_embedding.weight  # and not the original's


def test_train_uses_a_prepared_models_own_groups(base):
    tuned = prepare(base, "layerwise-lr", num_labels=C, decay=0.5)
    result_lrs = []
    config_ = TrainConfig(steps=1, lr=1.0, schedule="constant", progress=False)
    original = make_optimizer

    def spy(groups, config):
        optimizer = original(groups, config)
        result_lrs.extend(g["lr"] for g in optimizer.param_groups)
        return optimizer

    import models.train as training
    training.make_optimizer, saved = spy, training.make_optimizer
    try:
        train(tuned, classification_loss, itertools.repeat(example_batch()), config_)  # no param_groups given
    finally:
        training.make_optimizer = saved
    assert result_lrs == [0.5**depth for depth in range(L + 2)]  # head, top block ... block 0, embeddings


def test_forgetting_is_measured_without_dropout_whatever_the_models_mode():
    from models.forgetting import LMLossIncrease
    from models.tokenizers import CharTokenizer

    base = LanguageModel(config(dropout=0.3))
    base.tokenizer = CharTokenizer.train(["abcde"])
    base.train()
    probe = LMLossIncrease(base, ["abcde edcba", "cab bad"] * 4, "cpu")
    assert base.body.training  # its mode is kept
    tuned = prepare(base, "head", num_labels=C)
    tuned.train()
    assert probe(tuned.transformer) == 0.0  # head-only changes nothing in the body: 0 forgetting, dropout or not


def test_a_prompt_on_a_normalised_embedding_starts_at_the_scale_of_real_inputs():
    body = Transformer(config(causal=False, norm_first=False))
    assert body.embedding_norm is not None
    prompted = PromptTuned(body, n_prompt=4)
    real = body.embed(mg.tensor([[1, 2, 3, 4]]))[0]
    ratio = float((prompted.prompt * prompted.prompt).sum(-1).mean().item()) / float((real * real).sum(-1).mean().item())
    assert 0.5 < ratio < 2


def test_set_dropout_reaches_every_dropout_but_loras_own(base):
    from minigrad.nn import Dropout

    tuned = prepare(base, "lora", num_labels=C, lora_dropout=0.05).set_dropout(0.2)
    rates = {name: m.p for name, m in tuned.named_modules() if isinstance(m, Dropout)}
    assert {p for name, p in rates.items() if not name.endswith("lora_dropout")} == {0.2}
    assert {p for name, p in rates.items() if name.endswith("lora_dropout")} == {0.05}
    assert all(block.attn.dropout == 0.2 for block in tuned.transformer.blocks)  # on the attention weights
    with pytest.raises(ValueError, match="dropout must be in"):
        tuned.set_dropout(1.0)


def test_the_adapter_bottleneck_is_the_width_over_the_reduction_factor():
    from models.finetune.adapter import bottleneck_size
    assert bottleneck_size(64) == 4 and bottleneck_size(64, 1) == 64 and bottleneck_size(8, 16) == 1  # at least 1
    with pytest.raises(ValueError, match="reduction_factor must be at least 1, got 0"):
        bottleneck_size(64, 0)


def test_a_lora_rank_is_at_most_the_narrower_side_of_the_layer():
    assert LoRALinear(nn.Linear(8, 4), r=4).r == 4
    with pytest.raises(ValueError, match="rank r must be between 1 and 4"):
        LoRALinear(nn.Linear(8, 4), r=5)


def test_a_mode_with_nothing_to_train_is_named_once(base):
    from types import SimpleNamespace

    from models.compare import CompareConfig, check_modes_fit
    lm_task = SimpleNamespace(kind="lm", labels=[])  # a language model has no head of its own to train
    with pytest.raises(ValueError, match=r"^mode 'head' with task 'lm' leaves nothing to train$"):
        check_modes_fit(base, lm_task, CompareConfig(modes=["head"]))


def test_a_prefix_starts_from_the_body_without_dropout_and_leaves_its_mode_alone():
    body = Transformer(config(dropout=0.5)).train()
    mg.manual_seed(5)
    from_training = PrefixTuned(body, n_prefix=4)
    assert body.training  # given back as it came
    mg.manual_seed(5)
    from_eval = PrefixTuned(body.eval(), n_prefix=4)
    for ours, theirs in zip([*from_training.prefix_keys, *from_training.prefix_values],
                            [*from_eval.prefix_keys, *from_eval.prefix_values]):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
