"""The PyTorch twin of models/transformer.py's causal LM, for benchmarks that run both.

Same structure and the same parameter names (minus the "body." prefix), so minigrad's
weights load into it unchanged: both frameworks then do exactly the same work.
"""
import torch
import torch.nn.functional as F


class TorchAttention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads = c.n_heads
        self.query, self.key, self.value, self.out = (torch.nn.Linear(c.d_model, c.d_model, bias=c.bias)
                                                      for _ in range(4))

    def forward(self, x):
        B, T, d = x.shape
        q, k, v = (f(x).view(B, T, self.n_heads, -1).transpose(1, 2) for f in (self.query, self.key, self.value))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d/H)
        return self.out(y.transpose(1, 2).reshape(B, T, d))


class TorchFeedForward(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.up = torch.nn.Linear(c.d_model, c.d_ff, bias=c.bias)
        self.down = torch.nn.Linear(c.d_ff, c.d_model, bias=c.bias)
        self.approximate = c.gelu_approximate

    def forward(self, x):
        return self.down(F.gelu(self.up(x), approximate=self.approximate))


class TorchBlock(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attn, self.mlp = TorchAttention(c), TorchFeedForward(c)
        self.ln1, self.ln2 = torch.nn.LayerNorm(c.d_model), torch.nn.LayerNorm(c.d_model)

    def forward(self, x):  # pre-LN, as the project's own models
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TorchLM(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = torch.nn.Embedding(c.vocab_size, c.d_model)
        self.position_embedding = torch.nn.Embedding(c.max_len, c.d_model)
        self.blocks = torch.nn.ModuleList(TorchBlock(c) for _ in range(c.n_layers))
        self.final_norm = torch.nn.LayerNorm(c.d_model)

    def forward(self, ids):
        x = self.token_embedding(ids) + self.position_embedding(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x) @ self.token_embedding.weight.T  # tied LM head

    def lm_loss(self, ids):
        logits = self(ids[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def twin_of(ours):
    """A TorchLM holding a copy of minigrad LanguageModel `ours`'s weights."""
    twin = TorchLM(ours.config)
    twin.load_state_dict({key.removeprefix("body."): torch.tensor(value.numpy())
                          for key, value in ours.state_dict().items()})
    return twin


# ---- the fine-tuning modes bench_modes.py times in both frameworks ----------------------------------
class TorchLoRALinear(torch.nn.Module):
    """models/finetune/lora.py's LoRALinear: base(x) + (alpha / r) (x A^T) B^T, with base frozen."""

    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base, self.scale = base, alpha / r
        self.lora_A = torch.nn.Parameter(torch.randn(r, base.in_features) / base.in_features ** 0.5)
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.lora_A) * self.scale, self.lora_B)


class TorchWithAdapter(torch.nn.Module):
    """models/finetune/adapter.py's WithAdapter(base, Adapter): h = base(x); h + up(gelu(down(h)))."""

    def __init__(self, base, d_model, bottleneck=16, approximate="none"):
        super().__init__()
        self.base, self.approximate = base, approximate
        self.down, self.up = torch.nn.Linear(d_model, bottleneck), torch.nn.Linear(bottleneck, d_model)
        torch.nn.init.zeros_(self.up.weight)
        torch.nn.init.zeros_(self.up.bias)

    def forward(self, x):
        h = self.base(x)
        return h + self.up(F.gelu(self.down(h), approximate=self.approximate))


def fine_tuning_twin(ours, mode):
    """twin_of(ours) set up as models.finetune.prepare(ours, mode, task="lm") sets up ours:
    "full" trains everything; "floor" only blocks.0.ln1.weight; "lora" and "adapter" freeze
    the body and add their modules as minigrad does (LoRA on query and value, r 8)."""
    twin = twin_of(ours)
    twin.requires_grad_(mode == "full")
    c = ours.config
    for block in twin.blocks:
        if mode == "lora":
            block.attn.query, block.attn.value = TorchLoRALinear(block.attn.query), TorchLoRALinear(block.attn.value)
        if mode == "adapter":
            block.attn = TorchWithAdapter(block.attn, c.d_model, approximate=c.gelu_approximate)
            block.mlp = TorchWithAdapter(block.mlp, c.d_model, approximate=c.gelu_approximate)
    if mode == "floor":
        twin.blocks[0].ln1.weight.requires_grad_(True)
    return twin
