"""The freezing modes: which of the pretrained parameters train. They add nothing new.

    full          every parameter                              global fine-tuning
    head          only the new task head; the body is frozen   "replace the last layer"
    layers        the top k blocks (or chosen ones) + head     layer-wise / hierarchical fine-tuning
    params        parameters whose names match globs + head    "*bias" = BitFit, "*ln*" = LayerNorms
    layerwise-lr  every parameter, with the learning rate      ULMFiT's discriminative rates,
                  decayed by a factor per layer going down     BERT's layer-wise lr decay (LLRD);
                  (unfreeze_every=N: one layer more every N    with ULMFiT's gradual unfreezing
                  steps, the head first)

Each function gets the model prepare() built, with every parameter frozen but the
new head, and switches on (requires_grad_(True)) what its mode trains; its
keyword arguments are the mode's options. Only layerwise-lr returns optimizer
parameter groups; for the others prepare() makes one group of what trains.

Why freezing makes a step cheaper: a frozen parameter (requires_grad False) gets
no graph node, so backward() computes no gradient for it and the optimizer
never touches it. In "head" mode no body parameter requires grad and the input
ids are integers, so the body's forward builds no graph at all: backward runs
through the head only.
"""
from fnmatch import fnmatch


def layer_units(transformer):
    """The body from the bottom up, as lists of parameters:

        [embeddings (token, position, token type, embedding norm), block 0, ..., block L-1]

    The final LayerNorm of a pre-LN body normalises the top block's output, so it
    goes with the top block. Whatever sits inside a block (an adapter, a LoRA
    update) belongs to that block.
    """
    blocks = [list(block.parameters()) for block in transformer.blocks]
    final = list(transformer.final_norm.parameters()) if transformer.final_norm is not None else []
    blocks[-1] += final
    in_blocks = {id(p) for unit in blocks for p in unit}
    embeddings = [p for p in transformer.parameters() if id(p) not in in_blocks]
    return [embeddings] + blocks


def train_all(model):
    """full: every parameter trains (the best results, and a full-size copy per task)."""
    model.requires_grad_(True)


def train_head(model):
    """head: nothing more than the new head (prepare() always trains it)."""


def is_index(value):
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int to Python, not to us


def train_layers(model, *, top_k=2, layers=None):
    """layers: the top_k blocks, or the blocks listed in `layers` (indices, -1 = the top;
    top_k is then ignored), + head. The top block carries the final LayerNorm with it.

    The lower blocks hold general features (syntax, word meaning) worth keeping;
    the upper ones are the most task-specific, so they are the ones to adapt.
    """
    units = layer_units(model.transformer)[1:]  # the blocks, bottom up
    n = len(units)
    if layers is None:
        if not 0 <= top_k <= n:
            raise ValueError(f"layers: top_k must be between 0 and {n} (the number of blocks), got {top_k}")
        chosen = list(range(n - top_k, n))
    else:
        layers = [layers] if is_index(layers) else layers
        if not (isinstance(layers, (list, tuple)) and all(is_index(i) for i in layers)):
            raise TypeError(f"layers: expected block indices (an int or a list of ints), got {layers!r}")
        wrong = [i for i in layers if not -n <= i < n]
        if wrong:
            raise ValueError(f"layers: block indices {wrong} are out of range for {n} blocks "
                             f"(0..{n - 1}, or -1 for the top)")
        chosen = [i % n for i in layers]
        twice = next((i for k, i in enumerate(chosen) if i in chosen[:k]), None)
        if twice is not None:  # layers=0,0 or 3,-1 on 4 blocks: a typo for another block, most likely
            raise ValueError(f"layers: block {twice} is listed twice in {list(layers)}")
    for i in chosen:
        for p in units[i]:
            p.requires_grad_(True)


def train_params(model, *, patterns=("*bias",)):
    """params: every parameter whose dotted name matches one of the fnmatch globs, + head.

    "*bias" is BitFit (Ben Zaken et al. 2021: biases are ~0.1 % of BERT, and
    enough on small data); "*ln*" and "*norm*" pick the LayerNorms. A string is
    split on commas, so "*bias,*norm*" is two patterns. Every pattern must match some
    name: a typo is an error, not a mode that quietly trains less.
    """
    patterns = [s.strip() for s in patterns.split(",")] if isinstance(patterns, str) else list(patterns)
    named = list(model.named_parameters())
    matches = {pattern: [p for name, p in named if fnmatch(name, pattern)] for pattern in patterns}
    unmatched = [pattern for pattern, params in matches.items() if not params]
    if unmatched:  # most likely a typo: training silently without those parameters would mislead
        examples = ", ".join(name for name, _ in named[:4])
        raise ValueError(f"params: no parameter name matches {unmatched}; names look like {examples}, ...")
    for params in matches.values():
        for p in params:
            p.requires_grad_(True)


def train_layerwise_lr(model, *, decay=0.8, unfreeze_every=0):
    """layerwise-lr: everything trains; the head gets the training lr, and each layer below
    gets decay times the rate of the layer above it:

        lr(depth) = lr * decay ** depth,   depth 0 = head, 1 = top block (+ final norm), ...,
                                           L = block 0, L + 1 = embeddings (the deepest)

    Lower layers hold more general knowledge, so they should move less. ULMFiT
    divides by 2.6 per layer (decay ~0.38); BERT fine-tuning uses 0.65-0.95.
    Each group carries its factor as "lr_scale"; the training loop multiplies it by
    TrainConfig.lr (and the schedule then moves all groups together).
    A tied LM head lives in the token embedding, so it gets the deepest rate.

    unfreeze_every=N > 0 adds ULMFiT's gradual unfreezing: at first only the top
    group trains, and every N steps the next one down joins it ("trains_from": the
    step it starts at; the training loop thaws it then, models/train.py: thaw). The
    new head settles before the gradients it sends down can disturb the layers
    below, and the lowest, most general layers move least and last. Until a group
    thaws, its parameters cost no gradient, as in any frozen mode.
    """
    if not 0 < decay <= 1:
        raise ValueError(f"layerwise-lr: decay must be in (0, 1], got {decay}")
    if unfreeze_every < 0:
        raise ValueError(f"layerwise-lr: unfreeze_every must be >= 0 (0: every layer trains from the start), "
                         f"got {unfreeze_every}")
    model.requires_grad_(True)
    top_down = [list(model.head.parameters())] + layer_units(model.transformer)[::-1]
    groups = [{"params": params, "lr_scale": decay**depth} for depth, params in enumerate(top_down)]
    groups = [g for g in groups if g["params"]]  # a tied LM head has no parameters of its own
    if unfreeze_every:
        for order, group in enumerate(groups):
            group["trains_from"] = 1 + order * unfreeze_every
            for parameter in group["params"]:
                parameter.requires_grad_(order == 0)
    return groups
