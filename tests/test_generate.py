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


def generate_without_cache(model, ids, steps):
    """The reference: every step reruns the last max_len tokens from scratch."""
    ids = list(ids)
    with mg.no_grad():
        for _ in range(steps):
            logits = model(mg.tensor([ids[-MAX_LEN:]]))[0, -1]
            ids.append(next_token(logits, temperature=0))
    return ids


@pytest.mark.parametrize("mode", [None, "lora", "adapter", "prompt"])
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


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # the worse scores go to -inf: probability 0
def test_a_tiny_temperature_is_greedy_not_an_overflow():
    logits = mg.tensor([0.0, 1.0, 5.0, -1.0])
    assert next_token(logits, temperature=1e-38) == 2  # logits / 1e-38 would be inf - inf = NaN


def test_an_empty_prompt_is_refused():
    with pytest.raises(ValueError, match="at least one id"):
        generate_ids(language_model(), [], 3, temperature=0)
