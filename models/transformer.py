"""One config-driven transformer, read top to bottom:
SelfAttention -> FeedForward -> LayerCache -> Block -> TransformerConfig -> Transformer.

causal=True gives a GPT-style decoder (a token sees itself and the tokens
before it); causal=False a BERT-style encoder (every real token sees every other).
norm_first=True is pre-LN (GPT-2, the project's own models: x + f(LN(x)),
stable to train); False is post-LN (BERT: LN(x + f(x)), what imported BERT
weights expect). The body returns hidden states (B, T, d_model); the heads in
models/heads.py turn them into next-token logits, class logits, tags or spans.

Who may attend to whom (causality and padding) is one additive bias, built once
per forward: 0 where a query may look at a key, -inf where not. A KV cache
(new_cache(): one LayerCache per block) holds each block's keys and values of
positions run earlier, so that in a causal body new tokens attend to them as if
they came first: generation feeds one token per step this way, and prompt
tuning runs its prompt through the body once per batch. A fixed cache holds keys
and values of no position at all (prefix tuning learns them), which an encoder's
tokens may attend to as well.
"""
import math
from dataclasses import asdict, dataclass

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


class SelfAttention(nn.Module):
    """Multi-head self-attention: each head attends in its own d_model/n_heads subspace."""

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.n_heads, self.dropout = config.n_heads, config.dropout
        self.query = nn.Linear(d, d, bias=config.bias)  # separate q/k/v: LoRA adapts q and v
        self.key = nn.Linear(d, d, bias=config.bias)
        self.value = nn.Linear(d, d, bias=config.bias)
        self.out = nn.Linear(d, d, bias=config.bias)

    def split_heads(self, x):  # (B, T, d) -> (B, H, T, d/H)
        B, T, d = x.shape
        return x.reshape(B, T, self.n_heads, d // self.n_heads).transpose(1, 2)

    def forward(self, x, bias, cache=None):
        """x (B, T, d); bias (B or 1, 1, T or 1, T_keys) from Transformer.attention_bias: 0 where a
        query may attend, -inf where not (None: every query sees every key; no default, so that a
        causal model is never run without its mask by mistake); cache: this block's LayerCache,
        whose earlier keys and values go in front of x's."""
        B, T, d = x.shape
        q, k, v = self.split_heads(self.query(x)), self.split_heads(self.key(x)), self.split_heads(self.value(x))
        if cache is not None:
            k, v = cache.extend(k, v)  # (B, H, T_past + T, d/H)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                           dropout_p=self.dropout if self.training else 0.0)  # (B, H, T, d/H)
        return self.out(y.transpose(1, 2).reshape(B, T, d))


class FeedForward(nn.Module):
    """Position-wise MLP: d_model -> d_ff -> GELU -> d_model."""

    def __init__(self, config):
        super().__init__()
        self.up = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.act = nn.GELU(config.gelu_approximate)
        self.down = nn.Linear(config.d_ff, config.d_model, bias=config.bias)

    def forward(self, x):
        return self.down(self.act(self.up(x)))


class LayerCache:
    """One block's attention keys and values (B or 1, H, T_past, d/H) of positions run earlier.
    fixed=True: they stay as given (a learned prefix), and each call's own are not added."""

    def __init__(self, keys=None, values=None, fixed=False):
        self.keys, self.values, self.fixed = keys, values, fixed

    def __len__(self):
        return 0 if self.keys is None else self.keys.shape[2]

    def extend(self, k, v):
        """Put the cached positions in front of this call's k, v (B, H, T, d/H); keep both (unless
        fixed) and return them. A cache filled with batch 1 serves every row of a bigger batch
        (expand: no copy until cat)."""
        if self.keys is not None and self.keys.shape[0] not in (1, k.shape[0]):
            raise ValueError(f"KV cache: it holds the keys of a batch of {self.keys.shape[0]}, and this call's batch is "
                             f"{k.shape[0]}; a cache serves the batch that filled it (one filled with a batch of 1 "
                             "serves any): start a new one, model.new_cache(), for another batch")
        if self.keys is not None:
            k = mg.cat([self.keys.expand(k.shape[0], *self.keys.shape[1:]), k], dim=2)
            v = mg.cat([self.values.expand(v.shape[0], *self.values.shape[1:]), v], dim=2)
        if not self.fixed:
            self.keys, self.values = k, v
        return k, v


class Block(nn.Module):
    """Attention then feed-forward, each wrapped in a residual connection and a LayerNorm."""

    def __init__(self, config):
        super().__init__()
        self.norm_first = config.norm_first
        self.attn = SelfAttention(config)
        self.ln1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = FeedForward(config)
        self.ln2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x, bias, cache=None):  # bias: see SelfAttention.forward
        if self.norm_first:  # pre-LN: x + f(LN(x))
            x = x + self.drop(self.attn(self.ln1(x), bias, cache))
            return x + self.drop(self.mlp(self.ln2(x)))
        x = self.ln1(x + self.drop(self.attn(x, bias, cache)))  # post-LN: LN(x + f(x))
        return self.ln2(x + self.drop(self.mlp(x)))


@dataclass
class TransformerConfig:
    vocab_size: int = 512
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    d_ff: int = 512
    max_len: int = 64
    dropout: float = 0.1
    causal: bool = True  # GPT-style decoder; False: BERT-style encoder
    norm_first: bool = True  # pre-LN; False: post-LN (BERT)
    n_token_types: int = 0  # BERT's segment embeddings (2 for imported BERT weights)
    layer_norm_eps: float = 1e-5
    gelu_approximate: str = "none"  # or "tanh" (GPT-2)
    bias: bool = True
    tie_weights: bool = True  # the LM head reuses the token embedding matrix

    def __post_init__(self):
        for name in ("vocab_size", "n_layers", "d_model", "n_heads", "d_ff", "max_len"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"TransformerConfig: {name} must be a whole number >= 1, got {getattr(self, name)!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"TransformerConfig: d_model {self.d_model} is not divisible by n_heads {self.n_heads}")

    def to_dict(self):
        return asdict(self)


class Transformer(nn.Module):
    """Token ids (B, T) -> hidden states (B, T, d_model)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embedding = nn.Embedding(config.max_len, config.d_model)
        if config.n_token_types:
            self.token_type_embedding = nn.Embedding(config.n_token_types, config.d_model)
        # post-LN (BERT) normalises the embeddings; pre-LN (GPT-2) normalises the last block's output
        self.embedding_norm = None if config.norm_first else nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layers)])
        self.final_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.norm_first else None
        self.init_weights()

    def init_weights(self):
        """GPT-2's scheme: N(0, 0.02^2) weights (std 0.02, embeddings too), zero biases, and the
        residual projections' std scaled by 1/sqrt(2 n_layers): each of the 2 n_layers branches adds
        to the residual stream, so its variance stays put with depth. LayerNorm weights stay 1."""
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.ndim == 2:
                residual = name.endswith(("attn.out.weight", "mlp.down.weight"))
                nn.init.normal_(p, 0.0, 0.02 / (math.sqrt(2 * self.config.n_layers) if residual else 1))

    def embed(self, input_ids, token_type_ids=None, start=0):
        """(B, T) ids -> (B, T, d): token + position (+ token type) embeddings; positions start..start+T-1."""
        if input_ids.ndim != 2:
            raise ValueError(f"Transformer: input_ids must be (batch, tokens), got shape {tuple(input_ids.shape)}"
                             + ("; for one sequence, ids.unsqueeze(0)" if input_ids.ndim == 1 else ""))
        T = input_ids.shape[1]
        if start + T > self.config.max_len:
            raise ValueError(f"Transformer: sequence of {start + T} tokens is longer than max_len {self.config.max_len}")
        # positions start..start+T-1 are consecutive rows of their table: a slice, not a lookup
        x = self.token_embedding(input_ids) + self.position_embedding.weight[start:start + T]
        if self.config.n_token_types:  # no token types given: every token is of type 0
            x = x + (self.token_type_embedding(token_type_ids) if token_type_ids is not None
                     else self.token_type_embedding.weight[0])
        elif token_type_ids is not None:  # they would change nothing: say so rather than drop them
            raise ValueError("Transformer: token_type_ids given, but this config has no token-type embeddings "
                             "(n_token_types=0, as GPT-style models); leave them out, or set n_token_types=2 (BERT)")
        return x if self.embedding_norm is None else self.embedding_norm(x)

    def new_cache(self):
        """An empty KV cache, one LayerCache per block, for forward/encode(..., cache=)."""
        return [LayerCache() for _ in self.blocks]

    def attention_bias(self, attention_mask, T, past, like):
        """(B or 1, 1, T or 1, past + T), like's dtype: 0 where a query may attend to a key, -inf
        where not; None when every query sees every key. Queries are the T new positions, keys
        the past cached ones (always visible) and the new ones."""
        bias = None
        if self.config.causal:  # query i, at position past + i, sees keys j <= past + i
            keys = mg.arange(past + T, device=like.device).reshape(1, past + T)
            queries = mg.arange(past, past + T, device=like.device).reshape(T, 1)
            bias = mg.where(keys <= queries, 0.0, -math.inf)  # (T, past + T)
        if attention_mask is not None:  # padding keys are hidden from every query
            B = attention_mask.shape[0]
            padding = mg.where(attention_mask != 0, 0.0, -math.inf)  # (B, T)
            if past:
                padding = mg.cat([mg.zeros(B, past, dtype=padding.dtype, device=like.device), padding], dim=1)
            padding = padding.reshape(B, 1, 1, past + T)
            bias = padding if bias is None else padding + bias  # -inf + -inf = -inf: no NaN
        return None if bias is None else bias.reshape(-1, 1, *bias.shape[-2:]).to(like.dtype.name)

    def encode(self, x, attention_mask=None, cache=None):
        """Run the blocks on embeddings x (B, T, d); attention_mask (B, T) is 1 on real tokens, 0 on
        padding. cache (from new_cache()): x's tokens also attend to the positions cached there, as if
        those came first, and x's own keys and values are added to it."""
        if cache is not None and not self.config.causal and not all(layer.fixed for layer in cache):
            raise ValueError("Transformer: a KV cache needs a causal body (in an encoder, earlier "
                             "positions also attend to later ones, so their keys and values would change); "
                             "only a fixed one, LayerCache(keys, values, fixed=True), fits any body")
        if attention_mask is not None and tuple(attention_mask.shape) != tuple(x.shape[:2]):
            raise ValueError(f"Transformer: attention_mask of shape {tuple(attention_mask.shape)} does not fit the "
                             f"input's (batch, tokens) {tuple(x.shape[:2])}; expected 1 on real tokens, 0 on padding")
        past = 0 if cache is None else len(cache[0])
        bias = self.attention_bias(attention_mask, x.shape[1], past, x)
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, bias, None if cache is None else cache[i])
        return x if self.final_norm is None else self.final_norm(x)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, cache=None):
        """ids (B, T) -> hidden (B, T, d). With a cache the ids continue the positions cached there
        (generation feeds one new token at a time and reuses every earlier key and value)."""
        start = 0 if cache is None else len(cache[0])
        return self.encode(self.embed(input_ids, token_type_ids, start), attention_mask, cache)

    def resize_token_embeddings(self, vocab_size):
        """Grow (or shrink) the vocabulary: old rows are kept, new rows drawn like the originals. (A
        LanguageModel's resize_token_embeddings resizes an untied output layer with it.)"""
        self.token_embedding.weight = resized_rows(self.token_embedding.weight, vocab_size)
        self.token_embedding.num_embeddings = vocab_size
        self.config.vocab_size = vocab_size


def resized_rows(weight, rows):
    """A copy of a (vocab, d) parameter with `rows` rows: the first ones kept, new ones drawn from
    N(0, 0.02^2) as at initialisation, on its device, in its dtype, training if it trained."""
    new = nn.Parameter(mg.zeros(rows, weight.shape[1], device=weight.device, dtype=weight.dtype),
                       requires_grad=weight.requires_grad)
    nn.init.normal_(new, 0.0, 0.02)
    with mg.no_grad():
        keep = min(rows, weight.shape[0])
        new[:keep] = weight[:keep]
    return new
