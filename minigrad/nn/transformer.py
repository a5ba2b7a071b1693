"""PyTorch's transformer building blocks: MultiheadAttention, TransformerEncoderLayer, TransformerEncoder and
Transformer.generate_square_subsequent_mask, with PyTorch's arguments, parameter names and shapes, so a
tutorial that builds a transformer from torch.nn ports by renaming torch to mg, and loads torch's state_dict.
(models/transformer.py is the project's own transformer, written for fine-tuning.)

Sizes: E = embed_dim, H = num_heads, D = E / H (one head's dims), N sequences of L queries and S keys.
Inputs are sequence first, (L, N, E), unless batch_first=True, (N, L, E), as PyTorch; (L, E) is one
unbatched sequence. Inside, everything is batch first.

Masks follow PyTorch's convention for these modules, the OPPOSITE of F.scaled_dot_product_attention's:
a boolean mask is True where a query may NOT attend (a padded key, a future token). A float mask is
added to the scores (-inf hides, 0 keeps). attn_mask says which keys each query may see, (L, S) for
every sequence and head or (N*H, L, S) one per sequence and head; key_padding_mask (N, S) hides a
sequence's padded keys from all its queries.
"""
import copy
import math

from minigrad import backend, creation
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.containers import ModuleList
from minigrad.nn.layers import Dropout, Linear, check_size
from minigrad.nn.module import Module
from minigrad.nn.normalization import LayerNorm
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor


def subsequent_mask(rows, cols, dtype=None, device="cpu"):
    """(rows, cols) float mask, -inf above the diagonal and 0 on and below: query i sees keys j <= i."""
    return creation.full((rows, cols), -math.inf, dtype or backend.DEFAULT_DTYPE, device).triu(1)


def additive_mask(mask, dtype, name):
    """mask as a float term for the scores: a boolean one (True = may NOT attend) as -inf where True and 0
    elsewhere, a float one as it is (cast to the scores' dtype)."""
    if not isinstance(mask, Tensor) or not (mask.dtype == backend.bool_ or backend.is_floating(mask.dtype)):
        got = mask.dtype.name if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"MultiheadAttention: {name} must be a boolean tensor (True = may not attend) or a float "
                        f"one (added to the scores), got {got}")
    if mask.dtype == backend.bool_:
        return creation.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, -math.inf)
    return mask.to(dtype)


def attention_with_weights(q, k, v, mask, is_causal, dropout_p):
    """softmax(q k^T / sqrt(D) + mask) v, one step at a time, so that the weights can be returned too.
    q (N, H, L, D), k and v (N, H, S, D) -> out (N, H, L, D) and weights (N, H, L, S), the weights after
    dropout, as PyTorch returns them. The fused F.scaled_dot_product_attention computes the same output."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (N, H, L, S)
    if mask is not None:
        scores = scores + mask
    if is_causal:
        scores = scores + subsequent_mask(*scores.shape[-2:], scores.dtype, scores.device)
    weights = F.dropout(F.softmax(scores, dim=-1), dropout_p)
    return weights @ v, weights


class MultiheadAttention(Module):
    """H heads of scaled dot-product attention, each in its own D = E / H dims:
    out = concat_h(softmax(Q_h K_h^T / sqrt(D) + mask) V_h) W_o^T + b_o, Q = query W_q^T + b_q (K, V likewise).

    The three input projections are one packed (3E, E) in_proj_weight when keys and values have E dims too
    (kdim = vdim = E), else q_proj_weight (E, E), k_proj_weight (E, kdim) and v_proj_weight (E, vdim); one
    (3E,) in_proj_bias either way; out_proj a Linear. Names, shapes, order and init are PyTorch's.
    dropout drops attention weights while training. add_bias_kv and add_zero_attn are not supported.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False):
        super().__init__()
        embed_dim = check_size("MultiheadAttention", "embed_dim", embed_dim, at_least=1)
        num_heads = check_size("MultiheadAttention", "num_heads", num_heads, at_least=1)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads}): each head works in embed_dim / num_heads dims")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn (an extra learned or zero "
                                      "key and value for every sequence) are not supported; leave them False")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.dropout, self.batch_first = dropout, batch_first
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim  # PyTorch's name
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(creation.zeros(3 * embed_dim, embed_dim))  # W_q, W_k, W_v stacked
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(creation.zeros(embed_dim, embed_dim))
            self.k_proj_weight = Parameter(creation.zeros(embed_dim, self.kdim))
            self.v_proj_weight = Parameter(creation.zeros(embed_dim, self.vdim))
        self.in_proj_bias = Parameter(creation.zeros(3 * embed_dim)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch's: Xavier-uniform input projections (the packed one as one (3E, E) matrix), zero biases;
        # out_proj keeps Linear's own initialisation
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def projections(self):
        """((W_q, b_q), (W_k, b_k), (W_v, b_v)): the packed weight and bias cut in three, or the separate weights."""
        weights = (self.in_proj_weight.chunk(3) if self._qkv_same_embed_dim
                   else (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight))
        biases = (None, None, None) if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        return zip(weights, biases)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """(output, weights): output of query's shape; weights (N, L, S) averaged over the heads, or
        (N, H, L, S) with average_attn_weights=False ((L, S) and (H, L, S) unbatched); None when
        need_weights=False, which lets the fused F.scaled_dot_product_attention do the work (faster).

        is_causal: query i sees only keys j <= i. PyTorch takes it as a hint that attn_mask is that causal
        mask and requires attn_mask with it; here it hides the later keys itself, on top of any attn_mask."""
        batched = query.ndim == 3
        self.check_inputs(query, key, value, batched)
        if not batched:  # one sequence: a batch of 1
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = (self.split_heads(F.linear(x, w, b)) for x, (w, b) in zip((query, key, value), self.projections()))
        mask = self.scores_mask(key_padding_mask, attn_mask, N, L, S, query.dtype, batched)
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = attention_with_weights(q, k, v, mask, is_causal, dropout_p)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, dropout_p=dropout_p)
            weights = None
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, self.embed_dim))  # heads side by side again
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)  # (N, L, S)
        if not batched:
            return out.squeeze(0), None if weights is None else weights.squeeze(0)
        return (out if self.batch_first else out.transpose(0, 1)), weights

    def split_heads(self, x):  # (N, T, E) -> (N, H, T, D)
        N, T, _ = x.shape
        return x.reshape(N, T, self.num_heads, self.head_dim).transpose(1, 2)

    def scores_mask(self, key_padding_mask, attn_mask, N, L, S, dtype, batched):
        """attn_mask and key_padding_mask as one float term that broadcasts to the scores (N, H, L, S),
        or None when neither is given."""
        mask = None
        if attn_mask is not None:
            mask = additive_mask(attn_mask, dtype, "attn_mask")
            if mask.shape not in ((L, S), (N * self.num_heads, L, S)):
                heads = "N*H" if batched else "H"
                raise ValueError(f"MultiheadAttention: attn_mask of shape {mask.shape} does not fit; expected "
                                 f"(L, S) = {(L, S)} or ({heads}, L, S) = {(N * self.num_heads, L, S)}")
            if mask.ndim == 3:  # (N*H, L, S): sequence n's heads are rows n*H .. n*H + H - 1, as PyTorch
                mask = mask.reshape(N, self.num_heads, L, S)
        if key_padding_mask is not None:
            padding = additive_mask(key_padding_mask, dtype, "key_padding_mask")
            expected = (N, S) if batched else (S,)
            if padding.shape != expected:
                raise ValueError(f"MultiheadAttention: key_padding_mask of shape {padding.shape} does not "
                                 f"fit; expected {'(N, S)' if batched else '(S,)'} = {expected}")
            padding = padding.reshape(N, 1, 1, S)  # sequence n's padded keys, hidden from all its queries
            mask = padding if mask is None else mask + padding
        return mask

    def check_inputs(self, query, key, value, batched):
        """Say which input does not fit, and the shapes expected, in the layout the caller used."""
        layout = "N, L" if self.batch_first else "L, N"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"MultiheadAttention: query, key and value must all be batched, query ({layout}, E), "
                             f"or all unbatched, (L, E); got {query.shape}, {key.shape}, {value.shape}")
        sizes = (("query", query, self.embed_dim, "embed_dim"), ("key", key, self.kdim, "kdim"),
                 ("value", value, self.vdim, "vdim"))
        for name, x, dims, argument in sizes:
            if x.shape[-1] != dims:
                raise ValueError(f"MultiheadAttention: {name} of shape {x.shape} must end in {dims} dims ({argument})")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"MultiheadAttention: key {key.shape} and value {value.shape} must have the same "
                             f"sequence (and batch) sizes: one value per key")
        batch_dim = 0 if self.batch_first else 1
        if batched and query.shape[batch_dim] != key.shape[batch_dim]:
            raise ValueError(f"MultiheadAttention: query {query.shape} and key {key.shape} have different batch "
                             f"sizes (dim {batch_dim} with batch_first={self.batch_first})")

    def extra_repr(self):  # PyTorch shows only out_proj; the sizes help a reader
        kv = "" if self._qkv_same_embed_dim else f", kdim={self.kdim}, vdim={self.vdim}"
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}{kv}, batch_first={self.batch_first}"


def activation_function(activation):
    """TransformerEncoderLayer's activation: "relu", "gelu" or any callable (a function or a layer)."""
    if callable(activation):
        return activation
    if activation in ("relu", "gelu"):
        return F.relu if activation == "relu" else F.gelu
    raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, got {activation!r}")


class TransformerEncoderLayer(Module):
    """Self-attention, then a feed-forward network (linear1: d_model -> dim_feedforward, activation,
    linear2 back), each added to its input in a residual connection with a LayerNorm:
    post-LN, LN(x + f(x)) (norm_first=False, the original Transformer's and BERT's), or pre-LN,
    x + f(LN(x)) (norm_first=True: GPT-2's, steadier to train deep). PyTorch's submodule names.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation_function(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        """src (L, N, E), (N, L, E) with batch_first, or (L, E); masks as MultiheadAttention's."""
        x = src
        if self.norm_first:
            x = x + self.self_attention_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self.feed_forward_block(self.norm2(x))
        x = self.norm1(x + self.self_attention_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self.feed_forward_block(x))

    def self_attention_block(self, x, attn_mask, key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)
        return self.dropout1(out)

    def feed_forward_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer applied in turn (layers.0, layers.1, ...), then norm if given.
    The copies start with the same weights, as in PyTorch: training (or loading weights) sets them apart.
    enable_nested_tensor and mask_check are PyTorch's speed options, accepted and without effect here."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module (e.g. nn.TransformerEncoderLayer), "
                            f"got {type(encoder_layer).__name__}")
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        """src and the masks as TransformerEncoderLayer's; every layer gets the same masks. (is_causal=None,
        PyTorch's default, makes it check whether mask is the causal mask, for speed; nothing to decide here.)"""
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class Transformer:
    """Only the static method generate_square_subsequent_mask of PyTorch's nn.Transformer: the
    encoder-decoder model itself is not built here."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("nn.Transformer (PyTorch's encoder-decoder model) is not built in minigrad: "
                                  "build an encoder from nn.TransformerEncoderLayer and nn.TransformerEncoder; "
                                  "nn.Transformer.generate_square_subsequent_mask(sz) gives the causal mask")

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """(sz, sz) float mask, 0 on and below the diagonal and -inf above: position i attends to 0..i."""
        return subsequent_mask(sz, sz, dtype, device or "cpu")
