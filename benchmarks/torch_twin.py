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
