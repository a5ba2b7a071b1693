"""(IA)^3 (Liu et al. 2022, "Infused Adapter by Inhibiting and Amplifying Inner Activations"):
freeze the model and learn three vectors per block that rescale what it computes inside.

    keys     k = l_k * (x W_K^T + b_K)        l_k  (d,)
    values   v = l_v * (x W_V^T + b_V)        l_v  (d,)
    MLP      down(l_ff * gelu(up(x)))         l_ff (d_ff,)

Every l starts at 1, so training starts exactly at the pretrained model. The fewest numbers of
any mode here, (2 d + d_ff) per block (tiny: 1,536 in all; MiniLM: 13,824), yet Liu et al. found
it ahead of LoRA and the other methods they compared for few-shot learning with T0, while training
fewer parameters than any of them. It changes no weight, only
how strongly each feature speaks: where LoRA adds a low-rank matrix, (IA)^3 multiplies by a
diagonal one, so it too folds into the weights for inference (W_K' = diag(l_k) W_K, and
W_down' = W_down diag(l_ff)); it is not folded here.
"""
import minigrad as mg
from minigrad import nn


class Rescaled(nn.Module):
    """A layer whose output (or input) is multiplied, feature by feature, by a learned vector that
    starts at 1. base trains or not as it did (prepare() froze the body; a LoRA inside it trains)."""

    def __init__(self, base, size, where="output"):
        super().__init__()
        self.base, self.where = base, where
        device = next(base.parameters()).device
        self.ia3_scale = nn.Parameter(mg.ones(size, device=device))

    def forward(self, x):
        if self.where == "input":
            return self.base(x * self.ia3_scale)
        return self.base(x) * self.ia3_scale

    def extra_repr(self):
        return f"{self.where} * ia3_scale ({self.ia3_scale.shape[0]},)"


def add_ia3(model):
    """ia3: rescale every block's keys, values and MLP activations by learned vectors (from 1)."""
    body = model.transformer
    d, d_ff = body.config.d_model, body.config.d_ff
    for block in body.blocks:
        block.attn.key = Rescaled(block.attn.key, d)
        block.attn.value = Rescaled(block.attn.value, d)
        block.mlp.down = Rescaled(block.mlp.down, d_ff, where="input")  # the GELU's output, before down
