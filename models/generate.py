"""Text generation from a causal language model, one token at a time.

At each step the model scores every possible next token (logits); we turn
the scores into a choice:
    greedy       temperature 0: always the most likely token
    temperature  sample from softmax(logits / T): T < 1 sharpens, T > 1 flattens
    top-k        sample only among the k most likely tokens

A KV cache makes each step cheap: in a causal model the keys and values of the
tokens already read never change, so the cache keeps them (per block) and each
step runs only the newest token through the body, attending to the cached ones:
one position per step instead of the whole context. Once the text is longer than
the model's context (max_len), the window slides, every token's position changes,
and each step reruns the last max_len tokens from scratch.
"""
import minigrad as mg
from minigrad import backend
from minigrad.nn import functional as F


def next_token(logits, temperature=1.0, top_k=None):
    """Pick one token id from a (vocab,) row of logits."""
    if temperature == 0:
        return int(logits.argmax().item())
    if not bool(logits.isfinite().all()):  # a diverged model: no distribution to sample (it would pick id 0)
        raise ValueError("generate: the model's next-token scores are not finite (inf or NaN): its weights "
                         "have diverged")
    # float64: float32 rounds a temperature below ~1.4e-45 to 0, and 0 / 0 is NaN. The best score is 0, the
    # others below it; a tiny temperature sends them to -inf (probability 0), as greedy decoding would
    with backend.ignore_overflow():
        scores = (logits - logits.max()).double() / temperature
    if top_k is not None:
        kth_best = sorted(scores.tolist(), reverse=True)[min(top_k, scores.shape[0]) - 1]
        scores = mg.where(scores >= kth_best, scores, -float("inf"))
    probs = F.softmax(scores, dim=-1).tolist()
    u, cumulative = mg.rand(1, device=logits.device).item(), 0.0  # inverse-CDF sampling
    for token, p in enumerate(probs):
        cumulative += p
        if u < cumulative:
            return token
    return max(range(len(probs)), key=probs.__getitem__)  # u rounded past the total


def generate_ids(model, ids, max_new_tokens=50, temperature=1.0, top_k=None, stop_id=None):
    """Extend the list `ids` by up to max_new_tokens tokens (stopping early at stop_id)."""
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if not len(ids):
        raise ValueError("generate: the prompt needs at least one id to continue from (e.g. [BOS])")
    device = next(iter(model.parameters())).device
    ids, max_len = [int(i) for i in ids], model.config.max_len  # a tensor of ids, too, as plain ints
    cache, cached = model.new_cache(), 0  # how many of ids the cache holds
    was_training = model.training
    model.eval()
    with mg.no_grad():
        for _ in range(max_new_tokens):
            if len(ids) <= max_len:  # feed what the cache has not seen (the start, then one token)
                logits = model(mg.tensor([ids[cached:]], device=device), cache=cache)[0, -1]  # (vocab,)
                cached = len(ids)
            else:  # the model sees at most max_len tokens: slide the window, recompute
                logits = model(mg.tensor([ids[-max_len:]], device=device))[0, -1]
            token = next_token(logits, temperature, top_k)
            if token == stop_id:
                break
            ids.append(token)
    model.train(was_training)
    return ids


def generate_text(model, prompt="", max_new_tokens=50, temperature=1.0, top_k=None):
    """Continue `prompt` with the model's tokenizer: [BOS] prompt ... until [EOS] or max_new_tokens."""
    tokenizer = model.tokenizer
    start = [tokenizer.bos_id] + tokenizer.encode(prompt)
    ids = generate_ids(model, start, max_new_tokens, temperature, top_k, stop_id=tokenizer.eos_id)
    return tokenizer.decode(ids)
