"""The PyTorch twin of models/transformer.py's causal LM, for benchmarks that run both.

Same structure and the same parameter names (minus the "body." prefix), so minigrad's
weights load into it unchanged: both frameworks then do exactly the same work.
"""
import torch
import torch.nn.functional as F

from models.finetune.adapter import bottleneck_size


class TorchAttention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads = c.n_heads
        self.query, self.key, self.value, self.out = (torch.nn.Linear(c.d_model, c.d_model, bias=c.bias)
                                                      for _ in range(4))

    def forward(self, x, cache=None):
        B, T, d = x.shape
        q, k, v = (f(x).view(B, T, self.n_heads, -1).transpose(1, 2) for f in (self.query, self.key, self.value))
        past = 0 if cache is None else len(cache)
        if cache is not None:
            k, v = cache.extend(k, v)  # (B, H, past + T, d/H)
        if past:  # query i sits at position past + i: it sees every cached key and its own j <= i
            allowed = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d/H)
        return self.out(y.transpose(1, 2).reshape(B, T, d))


class TorchCache:
    """models/transformer.py's LayerCache: a block's keys and values of the positions run earlier;
    one filled with batch 1 serves a whole batch (expand, then cat)."""

    def __init__(self, keys=None, values=None):
        self.keys, self.values = keys, values

    def __len__(self):
        return 0 if self.keys is None else self.keys.shape[2]

    def extend(self, k, v):
        if self.keys is not None:
            k = torch.cat([self.keys.expand(k.shape[0], -1, -1, -1), k], dim=2)
            v = torch.cat([self.values.expand(v.shape[0], -1, -1, -1), v], dim=2)
        self.keys, self.values = k, v
        return k, v


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

    def forward(self, x, cache=None):  # pre-LN, as the project's own models
        x = x + self.attn(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class TorchLM(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = torch.nn.Embedding(c.vocab_size, c.d_model)
        self.position_embedding = torch.nn.Embedding(c.max_len, c.d_model)
        self.blocks = torch.nn.ModuleList(TorchBlock(c) for _ in range(c.n_layers))
        self.final_norm = torch.nn.LayerNorm(c.d_model)

    def encode(self, x, caches=None):
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.final_norm(x)

    def forward(self, ids, caches=None):  # the ids take positions 0..T-1 (a prompt has none)
        x = self.token_embedding(ids) + self.position_embedding(torch.arange(ids.shape[1], device=ids.device))
        return self.encode(x, caches) @ self.token_embedding.weight.T  # tied LM head

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

    def __init__(self, base, d_model, bottleneck, approximate="none"):
        super().__init__()
        self.base, self.approximate = base, approximate
        self.down, self.up = torch.nn.Linear(d_model, bottleneck), torch.nn.Linear(bottleneck, d_model)
        torch.nn.init.zeros_(self.up.weight)
        torch.nn.init.zeros_(self.up.bias)

    def forward(self, x, *args):
        h = self.base(x, *args)
        return h + self.up(F.gelu(self.down(h), approximate=self.approximate))


class TorchPromptTuned(torch.nn.Module):
    """models/finetune/prompt.py's causal form: the prompt (n, d) runs alone through the frozen body
    once per batch, filling a KV cache; the batch's tokens then attend to those keys first."""

    def __init__(self, lm, prompt):
        super().__init__()
        self.lm = lm
        self.prompt = torch.nn.Parameter(torch.tensor(prompt))

    def forward(self, ids):
        caches = [TorchCache() for _ in self.lm.blocks]
        self.lm.encode(self.prompt.unsqueeze(0), caches)  # (1, n, d): only its keys and values are used
        return self.lm(ids, caches)


class TorchRescaled(torch.nn.Module):
    """models/finetune/ia3.py's Rescaled: base's output (or input) times a learned vector, 1 at the start."""

    def __init__(self, base, size, where="output"):
        super().__init__()
        self.base, self.where = base, where
        self.ia3_scale = torch.nn.Parameter(torch.ones(size))

    def forward(self, x):
        return self.base(x * self.ia3_scale) if self.where == "input" else self.base(x) * self.ia3_scale


class TorchPrefixTuned(torch.nn.Module):
    """models/finetune/prefix.py: every block's cache starts with its learned keys and values
    (1, H, n, d/H); the batch's tokens attend to those first."""

    def __init__(self, lm, keys, values):
        super().__init__()
        self.lm = lm
        self.keys = torch.nn.ParameterList(torch.nn.Parameter(torch.tensor(k)) for k in keys)
        self.values = torch.nn.ParameterList(torch.nn.Parameter(torch.tensor(v)) for v in values)

    def forward(self, ids):
        return self.lm(ids, [TorchCache(k, v) for k, v in zip(self.keys, self.values)])


def fine_tuning_twin(ours, mode, prompt=None, prefix=None):
    """twin_of(ours) set up as models.finetune.prepare(ours, mode, task="lm") sets up ours:
    "full" trains everything; "floor" only blocks.0.ln1.weight; "lora" and "adapter" freeze
    the body and add their modules as minigrad does (LoRA on query and value, r 8; adapters of
    bottleneck d_model / 16, the default); "prompt"
    puts the prompt vectors given (a NumPy (n, d) array, minigrad's starting prompt) in front;
    "prefix" the keys and values given (prefix: two lists of (1, H, n, d/H) arrays, minigrad's) in
    front of every block's; "ia3" rescales every block's keys, values and MLP activations."""
    twin = twin_of(ours)
    twin.requires_grad_(mode == "full")
    c = ours.config
    for block in twin.blocks:
        if mode == "lora":
            block.attn.query, block.attn.value = TorchLoRALinear(block.attn.query), TorchLoRALinear(block.attn.value)
        if mode == "ia3":
            block.attn.key = TorchRescaled(block.attn.key, c.d_model)
            block.attn.value = TorchRescaled(block.attn.value, c.d_model)
            block.mlp.down = TorchRescaled(block.mlp.down, c.d_ff, where="input")
        if mode == "adapter":
            r = bottleneck_size(c.d_model)
            block.attn = TorchWithAdapter(block.attn, c.d_model, r, approximate=c.gelu_approximate)
            block.mlp = TorchWithAdapter(block.mlp, c.d_model, r, approximate=c.gelu_approximate)
    if mode == "floor":
        twin.blocks[0].ln1.weight.requires_grad_(True)
    if mode == "prefix":
        return TorchPrefixTuned(twin, *prefix)
    return TorchPromptTuned(twin, prompt) if mode == "prompt" else twin
