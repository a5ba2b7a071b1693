"""Prefix tuning (Li & Liang 2021; for classification, P-tuning v2): freeze the whole model and
learn, in every block, the keys and values of n extra positions that every token may attend to.

    block l:  K_l = [P_l^K; x W_K],  V_l = [P_l^V; x W_V]   P_l^K, P_l^V (1, H, n, d/H) train
              queries: x's own T positions alone

Where prompt tuning learns n input vectors and lets the frozen body turn them into each block's
keys and values, prefix tuning learns those keys and values directly. Two things follow:
- More freedom: 2 * n_layers * n * d numbers instead of n * d (6 layers: 12x more). Li & Liang
  found it as good as full fine-tuning for generation with 0.1 % of the parameters.
- A cheaper step: no pass of the prompt through the body, and no extra query rows. Queries are
  x's T positions; only the keys grow, from T to n + T. That holds for an encoder too, where
  prompt tuning must run n + T positions through every block.

Choices made here:
- Start: the keys and values that prompt tuning's starting vectors (n random rows of the token
  embedding) get from the frozen body, caught on their way through it (Li & Liang: starting
  from real words' activations trains better than random numbers, most of all with little
  data). From the same random draw, a causal body then starts where prompt tuning starts.
- No reparametrisation: Li & Liang train P = MLP(P') for stability and keep only P; P-tuning v2
  found that task-dependent. Here P trains directly, like every other parameter.
- The prefix has no position: the real tokens keep positions 0..T-1, as with prompts.
- Backward reaches block l's prefix through the blocks above it and that block's attention, so
  it still runs down to the bottom block's attention, as for LoRA; but there is no prompt pass to
  run back through, and no weight gradient is computed.

The prefix rides in the body's KV cache (models/transformer.py), the place that holds keys and
values of positions that come first: a fixed one (the prefix stays a prefix) for training and
scoring, in encoders too, and a growing one for generation.
"""
import minigrad as mg
from minigrad import nn
from models.finetune.prompt import starting_vectors
from models.transformer import LayerCache


class PrefixTuned(nn.Module):
    """A frozen body whose every block also attends to n learned key/value pairs; called like the body."""

    def __init__(self, body, n_prefix=8):
        super().__init__()
        if n_prefix < 1:
            raise ValueError(f"prefix: n_prefix must be at least 1, got {n_prefix}")
        self.body = body.requires_grad_(False)
        self.config = body.config
        self.n_prefix = n_prefix
        keys, values = starting_keys_and_values(body, n_prefix)
        self.prefix_keys = nn.ParameterList(nn.Parameter(k) for k in keys)  # one (1, H, n, d/H) per block
        self.prefix_values = nn.ParameterList(nn.Parameter(v) for v in values)

    def new_cache(self):
        return self.body.new_cache()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, cache=None):
        """ids (B, T) -> hidden (B, T, d). cache (causal bodies; generation): the prefix goes in
        first, then the ids continue the positions seen so far (the prefix has none of its own)."""
        if cache is None:  # a fixed cache: the batch attends to the prefix, which stays as it is
            cache = [LayerCache(k, v, fixed=True) for k, v in zip(self.prefix_keys, self.prefix_values)]
        elif not len(cache[0]):
            for layer, k, v in zip(cache, self.prefix_keys, self.prefix_values):
                layer.extend(k, v)  # an empty cache keeps them: (1, H, n, d/H) per block
        x = self.body.embed(input_ids, token_type_ids, start=len(cache[0]) - self.n_prefix)  # (B, T, d)
        return self.body.encode(x, attention_mask, cache=cache)

    def extra_repr(self):
        return f"n_prefix={self.n_prefix}"


def starting_keys_and_values(body, n):
    """Each block's keys and values, (1, H, n, d/H), for prompt tuning's starting vectors (n random
    rows of the token embedding) run through the frozen body: forward hooks on every attention's key
    and value projections catch them on the way."""
    caught = {"key": [], "value": []}
    handles = [getattr(block.attn, name).register_forward_hook(
                   lambda module, args, output, name=name: caught[name].append(output))
               for block in body.blocks for name in caught]
    training, start = body.training, starting_vectors(body, n).unsqueeze(0)  # (1, n, d), no positions, as a prompt
    with mg.no_grad():
        body.eval().encode(start)  # without dropout: the values the body gives them
    body.train(training)
    for handle in handles:
        handle.remove()
    attention = body.blocks[0].attn
    return ([attention.split_heads(k).detach() for k in caught["key"]],
            [attention.split_heads(v).detach() for v in caught["value"]])


def add_prefix(model, *, n_prefix=8):
    """prefix: wrap the body so that every block attends to n_prefix learned keys and values."""
    model.body = PrefixTuned(model.body, n_prefix)
