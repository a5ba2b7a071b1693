"""The transformer: masks do what they promise, gradients are exact, checkpoints fit."""
import itertools

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from models.heads import (
    LanguageModel, SequenceClassificationHead, SpanHead, TokenTaggingHead, TransformerWithHead,
)
from models.transformer import Transformer, TransformerConfig


def tiny_config(**overrides):
    options = dict(vocab_size=11, n_layers=2, d_model=8, n_heads=2, d_ff=16, max_len=12, dropout=0.0)
    return TransformerConfig(**{**options, **overrides})


def ids(*rows):
    return mg.tensor(list(rows), dtype=mg.int64)


def test_config_checks_heads_divide_width():
    with pytest.raises(ValueError, match="d_model 10 is not divisible by n_heads 4"):
        TransformerConfig(d_model=10, n_heads=4)


def test_shapes():
    body = Transformer(tiny_config())
    x = ids([1, 2, 3, 4], [5, 6, 7, 8], [1, 1, 1, 1])
    assert body(x).shape == (3, 4, 8)
    assert LanguageModel(body)(x).shape == (3, 4, 11)
    with pytest.raises(ValueError, match="longer than max_len 12"):
        body(mg.zeros(1, 13, dtype=mg.int64))


def test_a_future_token_never_influences_a_causal_position():
    body = Transformer(tiny_config(causal=True))
    a = body(ids([1, 2, 3, 4, 5])).numpy()
    b = body(ids([1, 2, 3, 9, 10])).numpy()  # positions 3 and 4 changed
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-6)
    assert not np.allclose(a[:, 3:], b[:, 3:])


def test_an_encoder_sees_both_directions():
    body = Transformer(tiny_config(causal=False, norm_first=False))
    a = body(ids([1, 2, 3, 4, 5])).numpy()
    b = body(ids([1, 2, 3, 4, 9])).numpy()
    assert not np.allclose(a[:, 0], b[:, 0])


@pytest.mark.parametrize("causal", [True, False])
def test_padding_never_influences_real_tokens(causal):
    body = Transformer(tiny_config(causal=causal, norm_first=causal))
    mask = ids([1, 1, 1, 0, 0])
    a = body(ids([4, 5, 6, 0, 0]), attention_mask=mask).numpy()
    b = body(ids([4, 5, 6, 9, 3]), attention_mask=mask).numpy()
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-6)
    alone = body(ids([4, 5, 6])).numpy()
    np.testing.assert_allclose(a[:, :3], alone, atol=1e-6)


def test_attention_bias_is_zero_where_a_query_may_look_and_minus_inf_where_not():
    body = Transformer(tiny_config(causal=True))
    x = mg.zeros(2, 3, 8)
    bias = body.attention_bias(ids([1, 1, 0], [1, 1, 1]), 3, 2, x).numpy()  # 2 cached positions, 3 new
    assert bias.shape == (2, 1, 3, 5) and bias.dtype == np.float32
    allowed = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)  # query i sees j <= 2 + i
    np.testing.assert_array_equal(bias[1, 0] == 0, allowed)
    np.testing.assert_array_equal(bias[0, 0] == 0, allowed & [1, 1, 1, 1, 0])  # its last key is padding
    assert set(np.unique(bias)) == {0.0, -np.inf}
    encoder = Transformer(tiny_config(causal=False, norm_first=False))
    assert encoder.attention_bias(None, 3, 0, x) is None  # everyone sees everyone: nothing to add
    assert encoder.attention_bias(ids([1, 0, 1]), 3, 0, x).shape == (1, 1, 1, 3)  # broadcast over queries


@pytest.mark.parametrize("split", [1, 3])
def test_a_cache_of_earlier_positions_gives_what_the_whole_sequence_gives(split):
    """encode(first part) filling a cache, then encode(rest, cache) = encode(everything)[rest]:
    in a causal body earlier positions never depend on later ones."""
    body = Transformer(tiny_config(causal=True)).eval()
    x = body.embed(ids([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 1, 2]))  # (2, 6, 8)
    mask = ids([1] * 6, [1, 1, 1, 1, 1, 0])  # the second row's last token is padding
    whole = body.encode(x, mask).numpy()
    cache = body.new_cache()
    body.encode(x[:, :split], cache=cache)
    assert [len(layer) for layer in cache] == [split] * 2
    rest = body.encode(x[:, split:], mask[:, split:], cache=cache).numpy()
    np.testing.assert_allclose(rest, whole[:, split:], atol=1e-5)
    assert len(cache[0]) == 6  # the new positions were added


def test_token_types_are_used_when_configured():
    body = Transformer(tiny_config(n_token_types=2, causal=False, norm_first=False))
    x = ids([1, 2, 3])
    assert not np.allclose(body(x).numpy(), body(x, token_type_ids=ids([1, 1, 1])).numpy())


@pytest.mark.parametrize("norm_first", [True, False])
def test_the_whole_model_gradchecks_in_float64(norm_first):
    mg.manual_seed(1)
    model = LanguageModel(tiny_config(n_layers=1, d_model=4, d_ff=8, max_len=5, vocab_size=7,
                                      norm_first=norm_first, causal=norm_first)).to(mg.float64)
    x, mask = ids([1, 2, 3, 4], [5, 6, 0, 0]), ids([1, 1, 1, 1], [1, 1, 0, 0])
    params = list(model.parameters())

    def loss(*values):
        for p, v in zip(params, values):
            p.data = v.data  # gradcheck nudges v; the model reads it through p
        return model.lm_loss(x, mask)

    mg.gradcheck(loss, params, fast=True, directions=2)


def test_lm_loss_ignores_padding():
    model = LanguageModel(tiny_config())
    full = model.lm_loss(ids([1, 2, 3])).item()
    padded = model.lm_loss(ids([1, 2, 3, 0, 0]), attention_mask=ids([1, 1, 1, 0, 0])).item()
    assert padded == pytest.approx(full, rel=1e-5)


@pytest.mark.parametrize("pooling", ["first", "last", "mean", "pooled"])
def test_classification_head_pools_real_tokens_only(pooling):
    body = Transformer(tiny_config(causal=pooling in ("last", "mean"), dropout=0.0))
    model = TransformerWithHead(body, SequenceClassificationHead(8, 3, pooling=pooling, dropout=0.0))
    mask = ids([1, 1, 0], [1, 1, 1])
    a = model(ids([1, 2, 0], [1, 2, 3]), attention_mask=mask).numpy()
    b = model(ids([1, 2, 9], [1, 2, 3]), attention_mask=mask).numpy()
    assert a.shape == (2, 3)
    np.testing.assert_allclose(a, b, atol=1e-6)
    alone = model(ids([1, 2])).numpy()
    np.testing.assert_allclose(a[0], alone[0], atol=1e-6)


def test_pooled_pooling_reads_the_first_token_through_the_tanh_pooler_then_the_classifier():
    """BERT's pooler: only h_first matters (the other tokens reach it through attention, not the head),
    and it passes tanh(W h + b) before the classifier."""
    head = SequenceClassificationHead(4, 3, pooling="pooled", dropout=0.0)
    hidden = mg.tensor(np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32))
    mask = ids([1, 1, 1, 1, 1], [1, 1, 1, 0, 0])
    other = hidden.numpy().copy()
    other[:, 1:] += 3.0  # every token but the first changed
    logits = head(hidden, mask).numpy()
    np.testing.assert_allclose(head(mg.tensor(other), mask).numpy(), logits, atol=1e-6)
    expected = head.classifier(head.pooler(hidden[:, 0]).tanh()).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-6)


def test_last_pooling_finds_the_last_real_token_however_the_batch_is_padded():
    from models.heads import pool
    hidden = mg.tensor(np.arange(2 * 4 * 1, dtype=np.float32).reshape(2, 4, 1))
    right, left = ids([1, 1, 0, 0], [1, 1, 1, 1]), ids([0, 0, 1, 1], [1, 1, 1, 1])
    assert pool(hidden, right, "last").numpy().ravel().tolist() == [1.0, 7.0]
    assert pool(hidden, left, "last").numpy().ravel().tolist() == [3.0, 7.0]  # position 3, not mask.sum() - 1 = 1


def test_ids_and_masks_of_the_wrong_shape_are_named():
    body = Transformer(tiny_config())
    with pytest.raises(ValueError, match=r"input_ids must be \(batch, tokens\), got shape \(3,\); for one sequence"):
        body(mg.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"attention_mask of shape \(1, 2\) does not fit the input's .* \(1, 3\)"):
        body(ids([1, 2, 3]), attention_mask=ids([1, 1]))
    with pytest.raises(ValueError, match=r"lm_loss: .* at least 2 tokens .* got shape \(1, 1\)"):
        LanguageModel(body).lm_loss(ids([4]))


def test_tagging_and_span_heads():
    body = Transformer(tiny_config(causal=False, norm_first=False))
    tags = TransformerWithHead(body, TokenTaggingHead(8, 4, dropout=0.0))
    assert tags(ids([1, 2, 3])).shape == (1, 3, 4)
    spans = TransformerWithHead(body, SpanHead(8))(ids([1, 2, 3]), attention_mask=ids([1, 1, 0]))
    assert spans.shape == (1, 3, 2) and (spans.numpy()[0, 2] < -1e8).all()
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        SequenceClassificationHead(8, 2, pooling="max")


def test_weights_are_tied():
    model = LanguageModel(tiny_config())
    names = [name for name, _ in model.named_parameters()]
    assert not any("head" in name for name in names)  # the LM head owns no parameters
    untied = LanguageModel(tiny_config(tie_weights=False))
    assert "head.proj.weight" in [name for name, _ in untied.named_parameters()]


def test_resize_token_embeddings_keeps_old_rows():
    body = Transformer(tiny_config())
    before = body.token_embedding.weight.numpy().copy()
    body.resize_token_embeddings(14)
    after = body.token_embedding.weight.numpy()
    assert after.shape == (14, 8) and body.config.vocab_size == 14
    np.testing.assert_array_equal(after[:11], before)
    assert body(ids([13, 12])).shape == (1, 2, 8)


def test_resizing_a_language_models_vocabulary_resizes_an_untied_output_layer_and_keeps_dtype_and_freezing():
    for tied in (True, False):
        model = LanguageModel(tiny_config(tie_weights=tied)).to(mg.float64)
        model.body.token_embedding.weight.requires_grad_(False)
        before = model(ids([3, 4])).numpy()
        model.resize_token_embeddings(14)
        logits = model(ids([3, 4, 13]))  # the new token is read, and predicted
        assert logits.shape == (1, 3, 14) and logits.dtype == mg.float64
        np.testing.assert_allclose(logits.numpy()[0, :2, :11], before[0])  # the old tokens' logits stay
        assert not model.body.token_embedding.weight.requires_grad
        loaded = LanguageModel(tiny_config(tie_weights=tied, vocab_size=14)).to(mg.float64)
        loaded.load_state_dict(model.state_dict())  # a resized model saves and loads as one of its size


def test_loading_a_checkpoint_of_another_config_names_the_mismatched_keys(tmp_path):
    small = LanguageModel(tiny_config())
    mg.save(small.state_dict(), tmp_path / "small.safetensors")
    bigger = LanguageModel(tiny_config(n_layers=3, d_ff=32))
    with pytest.raises(RuntimeError, match=r"(?s)missing keys.*body\.blocks\.2\..*body\.blocks\.0\.mlp\.up\.weight: "
                                           r"checkpoint shape \(16, 8\), model shape \(32, 8\)"):
        bigger.load_state_dict(mg.load(tmp_path / "small.safetensors"))


def test_a_few_steps_of_pretraining_lower_the_loss():
    from models.train import TrainConfig, train

    mg.manual_seed(0)
    model = LanguageModel(tiny_config(d_model=16, n_heads=2, d_ff=32))
    data = ids([1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9])
    before = model.lm_loss(data).item()
    result = train(model, lambda m, batch: m.lm_loss(batch), itertools.repeat(data),
                   TrainConfig(steps=30, lr=1e-2, progress=False))
    assert result.steps_done == 30 and model.lm_loss(data).item() < 0.5 * before


def test_nn_modules_are_found_through_the_tree():
    model = LanguageModel(tiny_config())
    assert isinstance(model.body.blocks[1].attn.query, nn.Linear)
    total = sum(p.numel() for p in model.parameters())
    d, f, v, t = 8, 16, 11, 12
    per_block = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d
    assert total == v * d + t * d + 2 * per_block + 2 * d


# ---- pretraining's data (models/pretraining.py) --------------------------------------------------
def test_pretraining_lines_are_wrapped_in_bos_eos_and_cut_to_max_len():
    from models.pretraining import encode_lines
    from models.tokenizers import CharTokenizer

    tok = CharTokenizer.train(["abcdef"])
    a, b, c, d = (tok.token_to_id(ch) for ch in "abcd")
    assert encode_lines(tok, ["ab", "abcdef"], 5) == [[tok.bos_id, a, b, tok.eos_id], [tok.bos_id, a, b, c, d]]


def test_random_windows_reach_the_very_end_of_the_stream():
    import random

    from models.pretraining import random_windows

    assert random_windows(list(range(5)), 5, 3, random.Random(0)) == [[0, 1, 2, 3, 4]] * 3  # one place only
    starts = {w[0] for w in random_windows(list(range(6)), 5, 50, random.Random(0))}
    assert starts == {0, 1}


def test_the_pretraining_loss_is_the_mean_over_predicted_tokens_whatever_the_batch_size():
    from models.pretraining import batch_of, lm_loss_on
    from models.tokenizers import CharTokenizer

    mg.manual_seed(0)
    tok = CharTokenizer.train(["abcdefgh"])
    model = LanguageModel(tiny_config(vocab_size=tok.vocab_size, d_model=16, n_heads=2, d_ff=32)).eval()
    rows = [[2, 7, 8, 3], [2, 9, 10, 11, 12, 13, 14, 3], [2, 8, 3]]  # 3 + 7 + 2 predicted tokens
    with mg.no_grad():
        whole = model.lm_loss(*batch_of(rows, tok, "cpu")).item()
    assert lm_loss_on(model, rows, tok, "cpu", batch_size=1) == pytest.approx(whole, rel=1e-5)
    assert lm_loss_on(model, rows, tok, "cpu", batch_size=2) == pytest.approx(whole, rel=1e-5)


def test_the_corpus_split_holds_out_the_first_reviews_or_the_end_of_the_play(monkeypatch):
    from models import data, pretraining
    from models.pretraining import PretrainConfig, split_corpus

    lines = data.pretraining_corpus(n_sentences=100, seed=3).splitlines()
    train, valid = split_corpus(PretrainConfig(corpus_sentences=100, valid_fraction=0.1, seed=3))
    assert (train, valid) == (lines[10:], lines[:10])
    play = "".join(chr(c) for c in range(27, 127))  # 100 characters
    monkeypatch.setattr(pretraining, "read_cached", lambda name: play.encode("ascii"))
    train, valid = split_corpus(PretrainConfig(corpus="shakespeare", valid_fraction=0.1))
    assert (train, valid) == ([play[:90]], [play[90:]])  # the first 90 % trains


@pytest.mark.parametrize("sizes", [{"n_layers": 0}, {"d_model": 64.0}, {"vocab_size": 0}, {"n_heads": -1}])
def test_a_config_needs_whole_positive_sizes(sizes):
    with pytest.raises(ValueError, match=f"TransformerConfig: {next(iter(sizes))} must be a whole number >= 1"):
        TransformerConfig(**sizes)


def test_pretraining_weighs_accumulated_batches_by_the_tokens_their_loss_is_the_mean_of():
    from models.heads import LanguageModel
    from models.pretraining import batch_of, predicted_tokens
    from models.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.train(["abcd"])
    rows = [[1, 2, 3, 4, 5], [1, 2]]  # 4 and 1 next tokens to predict
    ids, mask = batch_of(rows, tokenizer, "cpu")
    assert predicted_tokens((ids, mask)) == 5 and predicted_tokens((mg.zeros(3, 9, dtype=mg.int64), None)) == 24
    mg.manual_seed(0)
    model = LanguageModel(TransformerConfig(vocab_size=tokenizer.vocab_size, n_layers=1, d_model=8, n_heads=2,
                                            d_ff=16, max_len=8, dropout=0.0))
    apart = [batch_of([row], tokenizer, "cpu") for row in rows]  # the mean over both rows' 5 tokens, from each's
    weighed = sum(model.lm_loss(*batch) * predicted_tokens(batch) for batch in apart) / 5
    assert weighed.item() == pytest.approx(model.lm_loss(ids, mask).item(), rel=1e-6)


def test_token_types_for_a_model_without_them_are_refused_not_dropped():
    model = Transformer(tiny_config())  # GPT-style: n_token_types=0
    with pytest.raises(ValueError, match=r"no token-type embeddings \(n_token_types=0"):
        model(mg.tensor([[1, 2]]), token_type_ids=mg.tensor([[0, 1]]))


def test_a_kv_cache_serves_the_batch_that_filled_it():
    model = Transformer(tiny_config())
    cache = model.new_cache()
    model(mg.tensor([[1, 2], [3, 4]]), cache=cache)
    with pytest.raises(ValueError, match="KV cache: it holds the keys of a batch of 2, and this call's batch is 3"):
        model(mg.tensor([[5], [6], [7]]), cache=cache)
    one = model.new_cache()
    model(mg.tensor([[1, 2]]), cache=one)  # filled with a batch of 1: it serves any batch
    assert model(mg.tensor([[5], [6], [7]]), cache=one).shape[0] == 3
