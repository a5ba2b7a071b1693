"""(IA)^3 (Liu et al. 2022, "Infused Adapter by Inhibiting and Amplifying Inner Activations"):
freeze the model and learn three vectors per block that rescale what it computes inside.

    keys     k = l_k * (x W_K^T + b_K)        l_k  (d,)
    values   v = l_v * (x W_V^T + b_V)        l_v  (d,)
    MLP      down(l_ff * gelu(up(x)))         l_ff (d_ff,)

Every l starts at 1, so training starts exactly at the pretrained model. Very few numbers,
(2 d + d_ff) per block (tiny: 1,536 in all; MiniLM: 13,824): fewer than LoRA, adapters, a prefix
or BitFit, more than prompt tuning's n d. Liu et al. found
it ahead of LoRA and the other methods they compared for few-shot learning with T0, while training
fewer parameters than any of them. It changes no weight, only
how strongly each feature speaks: where LoRA adds a low-rank matrix, (IA)^3 multiplies by a
diagonal one, so it too folds into the weights for inference: W_K' = diag(l_k) W_K, b_K' = l_k b_K,
and W_down' = W_down diag(l_ff) (merge_ia3; unmerge_ia3 gives the weights back bit for bit).
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
        self.merged = False
        self.original = None  # base's (weight, bias) before merge(), given back exactly by unmerge()
        self.trained = True  # whether the scale trained before merge() switched it off

    def forward(self, x):
        if self.merged:  # the scale is inside base's weights already
            return self.base(x)
        if self.where == "input":
            return self.base(x * self.ia3_scale)
        return self.base(x) * self.ia3_scale

    def merge(self):
        """Fold the scale into base's weight: rows (and the bias) for an output scale, columns for an
        input one. forward then runs base alone, so the scale stops training until unmerge(). The
        original weight and bias are kept aside: unmerge() gives them back bit for bit."""
        check_foldable(self)
        if not self.merged:
            weight, bias = self.base.weight, self.base.bias
            self.original = (weight.detach().clone(), None if bias is None else bias.detach().clone())
            with mg.no_grad():
                if self.where == "input":
                    weight.mul_(self.ia3_scale)  # W diag(l): column j times l_j
                else:
                    weight.mul_(self.ia3_scale.unsqueeze(1))  # diag(l) W: row i times l_i
                    if bias is not None:
                        bias.mul_(self.ia3_scale)
            self.merged, self.trained = True, self.ia3_scale.requires_grad
            self.ia3_scale.requires_grad_(False)
        return self

    def unmerge(self):
        """Put back the weight and bias merge() kept aside, and let the scale train again."""
        if self.merged:
            weight, bias = self.original
            with mg.no_grad():
                self.base.weight.copy_(weight)
                if bias is not None:
                    self.base.bias.copy_(bias)
            self.merged, self.original = False, None
            self.ia3_scale.requires_grad_(self.trained)
        return self

    def extra_repr(self):
        return f"{self.where} * ia3_scale ({self.ia3_scale.shape[0]},), merged={self.merged}"


def add_ia3(model):
    """ia3: rescale every block's keys, values and MLP activations by learned vectors (from 1)."""
    body = model.transformer
    d, d_ff = body.config.d_model, body.config.d_ff
    for block in body.blocks:
        block.attn.key = Rescaled(block.attn.key, d)
        block.attn.value = Rescaled(block.attn.value, d)
        block.mlp.down = Rescaled(block.mlp.down, d_ff, where="input")  # the GELU's output, before down


def check_foldable(scale):
    """Only a plain Linear layer has a weight that holds all it computes, for a scale to fold into."""
    if not isinstance(scale.base, nn.Linear):
        raise ValueError(f"ia3: only a scale around a Linear layer folds into its weight; this one is around "
                         f"a {type(scale.base).__name__} (a LoRA layer: its update is not in the weight)")


def merge_ia3(model):
    """Fold every (IA)^3 scale of the model into the weights it scales (for inference); all or none:
    a scale that cannot fold stops it before any has."""
    scales = [module for module in model.modules() if isinstance(module, Rescaled)]
    for module in scales:
        check_foldable(module)
    for module in scales:
        module.merge()
    return model


def unmerge_ia3(model):
    """Undo merge_ia3."""
    for module in model.modules():
        if isinstance(module, Rescaled):
            module.unmerge()
    return model
