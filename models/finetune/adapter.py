"""Bottleneck adapters (Houlsby et al. 2019): a small feed-forward layer after each sublayer.

    h -> h + up(gelu(down(h)))      down: d -> r,  up: r -> d,  r << d (16 here)

inserted after the attention and after the feed-forward sublayer of every
block, before the block's residual add and LayerNorm. `up` starts at zero, so
at the start the adapter is exactly the identity and the model is exactly the
pretrained one; training then grows a small correction. The body stays frozen:
per adapter only 2 d r + r + d numbers train (Houlsby: ~3.6 % of BERT per task,
within 0.4 % of full fine-tuning on GLUE). Houlsby also trained the LayerNorms:
that is the combination "adapter+params" with patterns=["*ln*", "*norm*"].

The adapter is put in by wrapping: block.attn becomes WithAdapter(attn, Adapter),
whose forward(x, *args) = adapter(attn(x, *args)), so Block.forward, which calls
self.attn(x, keep) and self.mlp(x), needs no change. Parameter names move one
level down (blocks.0.attn.query.weight -> blocks.0.attn.base.query.weight).
"""
from minigrad import nn
from minigrad.nn import functional as F


class Adapter(nn.Module):
    """(..., d) -> (..., d): h + up(gelu(down(h))), the identity at initialisation."""

    def __init__(self, d_model, bottleneck=16):
        super().__init__()
        if bottleneck < 1:
            raise ValueError(f"adapter: bottleneck must be at least 1, got {bottleneck}")
        self.down = nn.Linear(d_model, bottleneck)  # the usual random init: distinct features
        self.up = nn.Linear(bottleneck, d_model)
        nn.init.zeros_(self.up.weight)  # zero output at the start: the adapter adds nothing yet
        nn.init.zeros_(self.up.bias)

    def forward(self, h):
        return h + self.up(F.gelu(self.down(h)))


class WithAdapter(nn.Module):
    """A sublayer followed by an adapter: forward(x, *args) = adapter(base(x, *args))."""

    def __init__(self, base, adapter):
        super().__init__()
        self.base, self.adapter = base, adapter

    def forward(self, x, *args):
        return self.adapter(self.base(x, *args))


def insert_adapters(transformer, bottleneck=16):
    """Put an adapter after block.attn and after block.mlp in every block of the transformer."""
    d = transformer.config.d_model
    device = transformer.token_embedding.weight.device
    for block in transformer.blocks:
        block.attn = WithAdapter(block.attn, Adapter(d, bottleneck).to(device))
        block.mlp = WithAdapter(block.mlp, Adapter(d, bottleneck).to(device))


def add_adapters(model, *, bottleneck=16):
    """adapter: bottleneck adapters in every block (the body stays frozen)."""
    insert_adapters(model.transformer, bottleneck)
