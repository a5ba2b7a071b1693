"""Generation with a KV cache: each step feeds only the newest token, yet gives what rerunning the
whole context gives; past the context length the window slides and every step recomputes."""
import numpy as np
import pytest

import minigrad as mg
from models.finetune import prepare
from models.generate import generate_ids, next_token
from models.heads import LanguageModel
from models.transformer import TransformerConfig

V, MAX_LEN = 13, 10


def language_model(seed=0):
    mg.manual_seed(seed)
    config = TransformerConfig(vocab_size=V, n_layers=2, d_model=16, n_heads=2, d_ff=32, max_len=MAX_LEN, dropout=0.0)
    model = LanguageModel(config).to("float64")
    for p in model.parameters():  # bigger weights than the init's: distinct, confident predictions
        p.data *= 20
    return model


def test_a_prompt_given_as_a_tensor_continues_as_a_list_of_ints():
    model = language_model()
    assert generate_ids(model, mg.tensor([1, 2]), 3, temperature=0) == generate_ids(model, [1, 2], 3, temperature=0)
    assert all(type(i) is int for i in generate_ids(model, mg.tensor([1, 2]), 3, temperature=0))


def generate_without_cache(model, ids, steps):
    """The reference: every step reruns the last max_len tokens from scratch."""
    ids = list(ids)
    with mg.no_grad():
        for _ in range(steps):
            logits = model(mg.tensor([ids[-MAX_LEN:]]))[0, -1]
            ids.append(next_token(logits, temperature=0))
    return ids


@pytest.mark.parametrize("mode", [None, "lora", "adapter", "prompt", "prefix", "ia3"])
def test_cached_greedy_generation_matches_rerunning_the_context(mode):
    base = language_model()
    model = base if mode is None else prepare(base, mode, task="lm")
    if mode is not None:  # trained modes start as the identity (prompt aside): move them off it
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.data += np.random.default_rng(1).standard_normal(p.shape)
    model.eval()
    start = [1, 5, 2]
    cached = generate_ids(model, start, max_new_tokens=12, temperature=0)  # crosses max_len = 10
    assert len(cached) == 15
    assert cached == generate_without_cache(model, start, 12)
    assert len(set(cached[3:])) > 1  # not one token repeated: the comparison means something


def test_a_step_with_the_cache_equals_the_same_position_of_the_whole_sequence():
    model = language_model().eval()
    ids = mg.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    with mg.no_grad():
        whole = model(ids).numpy()
        cache = model.new_cache()
        first = model(ids[:, :5], cache=cache).numpy()
        rest = [model(ids[:, t:t + 1], cache=cache).numpy() for t in range(5, 8)]
    np.testing.assert_allclose(first, whole[:, :5], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.concatenate(rest, axis=1), whole[:, 5:], rtol=1e-10, atol=1e-10)
    assert [len(layer) for layer in cache] == [8, 8]
    with pytest.raises(ValueError, match="longer than max_len 10"):  # positions 8..10 don't exist
        model(mg.tensor([[1, 2, 3]]), cache=cache)


def test_an_encoder_refuses_a_cache():
    config = TransformerConfig(vocab_size=V, n_layers=1, d_model=8, n_heads=2, d_ff=16, max_len=MAX_LEN,
                               causal=False, norm_first=False)
    model = LanguageModel(config)
    with pytest.raises(ValueError, match="needs a causal body"):
        model(mg.tensor([[1, 2]]), cache=model.new_cache())


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no NumPy warning either
@pytest.mark.parametrize("temperature", [1e-38, 1e-50, 1e-320])
def test_a_tiny_temperature_is_greedy_not_an_overflow(temperature):
    # logits / 1e-38 would be inf - inf = NaN; 1e-50 is 0 in float32, and 0 / 0 is NaN ([PAD] was picked)
    logits = mg.tensor([0.0, 1.0, 5.0, -1.0])
    assert next_token(logits, temperature=temperature) == 2
    assert next_token(logits, temperature=temperature, top_k=2) == 2


def test_scores_that_are_not_finite_are_an_error_not_token_0():
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="next-token scores are not finite"):
            next_token(mg.tensor([0.0, bad, 1.0]), temperature=1.0)


def test_an_empty_prompt_is_refused():
    with pytest.raises(ValueError, match="at least one id"):
        generate_ids(language_model(), [], 3, temperature=0)


def test_top_k_samples_only_among_the_k_best():
    mg.manual_seed(0)
    logits = mg.tensor([0.0, 3.0, 2.9, 2.8, -5.0, 2.7])  # the two best: ids 1 and 2
    drawn = {next_token(logits, temperature=1.0, top_k=2) for _ in range(200)}
    assert drawn == {1, 2}
    assert {next_token(logits, temperature=1.0, top_k=1) for _ in range(20)} == {1}
    assert len({next_token(logits, temperature=1.0, top_k=6) for _ in range(300)}) >= 4  # k = vocab: all allowed


def test_a_top_k_below_one_is_refused():
    with pytest.raises(ValueError, match="top_k must be >= 1, got 0"):
        generate_ids(language_model(), [1], 3, top_k=0)


def test_generation_stops_before_the_stop_token():
    model = language_model().eval()
    start = [1, 5, 2]
    free = generate_ids(model, start, max_new_tokens=6, temperature=0)
    stop = free[5]  # the third generated token
    first = free.index(stop, 3)  # where it is generated first
    assert generate_ids(model, start, max_new_tokens=6, temperature=0, stop_id=stop) == free[:first]


def test_generation_puts_the_model_back_in_its_mode():
    model = language_model()
    model.train()
    generate_ids(model, [1, 2], 2, temperature=0)
    assert model.training
    model.eval()
    generate_ids(model, [1, 2], 2, temperature=0)
    assert not model.training


def test_generate_text_starts_from_bos_and_stops_at_eos():
    from models import pretrained
    from models.generate import generate_text

    tiny = pretrained.load("tiny")
    tok = tiny.tokenizer
    start = [tok.bos_id] + tok.encode("the battery is")
    endless = generate_ids(tiny, start, 30, temperature=0)
    assert tok.eos_id in endless[len(start):]  # greedy reaches [EOS] well within 30 tokens
    expected = tok.decode(endless[:endless.index(tok.eos_id, len(start))])
    assert generate_text(tiny, "the battery is", 30, temperature=0) == expected
