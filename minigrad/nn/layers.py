"""The layers with weights (Linear, Embedding), Dropout, and the shape layers (Identity, Flatten,
Unflatten). Activations are in activation.py, normalisation layers in normalization.py.

Each layer owns its parameters and calls one function of F in forward. Default
initialisations follow PyTorch, so a model written here starts where the same
model in PyTorch would (in distribution).
"""
import math
import operator

from minigrad import backend, creation
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor


def check_size(layer, name, value, at_least=0):
    """value (a layer's size argument) as an int, after checking that it is a whole number >= at_least.
    operator.index, as LayerNorm's normalized_shape (ops.fused.shape_tuple): Python's and NumPy's ints
    and 0-d integer tensors pass, a float such as 64 / 2 does not (NumPy's own error would only say
    "'float' object cannot be interpreted as an integer", from deep inside the layer)."""
    try:
        size = operator.index(value)
    except TypeError:
        size = None
    if size is None or size < at_least:
        hint = " (use // for integer division)" if isinstance(value, float) else ""
        raise (TypeError if size is None else ValueError)(
            f"{layer}: {name} must be a whole number >= {at_least}, got {value!r}{hint}")
    return size


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = check_size("Linear", "in_features", in_features)
        self.out_features = check_size("Linear", "out_features", out_features)
        self.weight = Parameter(creation.zeros(self.out_features, self.in_features))
        self.bias = Parameter(creation.zeros(self.out_features)) if bias else None
        self.reset_parameters()
        self.to(device=device, dtype=dtype)  # PyTorch's factory arguments: drawn as on the CPU, then moved

    def reset_parameters(self):
        # PyTorch's default, kaiming_uniform_(a=sqrt(5)), works out to U(-1/sqrt(in), 1/sqrt(in))
        bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # (..., in) -> (..., out); `input`, PyTorch's name, as are the others here
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A (num_embeddings, embedding_dim) table; integer ids (...) pick rows (..., embedding_dim).

    padding_idx: that row starts at zero and gets no gradient, so it stays what it is
    (usually the vector of the padding token), as in PyTorch.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        super().__init__()
        num_embeddings = check_size("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = check_size("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} rows")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings  # -1: the last row
        self.weight = Parameter(creation.zeros(num_embeddings, embedding_dim))
        init.normal_(self.weight)  # N(0, 1), as in PyTorch
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0
        self.to(device=device, dtype=dtype)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding these (num_embeddings, embedding_dim) vectors (copied), frozen unless
        freeze=False; the padding row keeps its vector (it only gets no gradient), as in PyTorch."""
        if not isinstance(embeddings, Tensor):
            raise TypeError(f"Embedding.from_pretrained: embeddings must be a tensor, got {type(embeddings).__name__}")
        if not backend.is_floating(embeddings.dtype):  # (PyTorch takes integer vectors, which nothing can train)
            raise TypeError(f"Embedding.from_pretrained: embeddings must be floating point, got dtype "
                            f"{embeddings.dtype.name}; convert them first: embeddings.float()")
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: expected a 2-d table (num_embeddings, embedding_dim), "
                             f"got shape {tuple(embeddings.shape)}")
        table = cls(*embeddings.shape, padding_idx=padding_idx, device=embeddings.device, dtype=embeddings.dtype)
        with no_grad():
            table.weight.copy_(embeddings)
        return table.requires_grad_(not freeze)

    def forward(self, input):  # integer ids
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


class Dropout(Module):
    """Zeroes each element with probability p while training (scaling the rest by 1/(1-p)); identity in eval().
    inplace=True is accepted and computed out of place (see nn/functional.py)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return F.dropout(input, self.p, training=self.training)

    def extra_repr(self):
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")  # PyTorch's also shows inplace=False


class Identity(Module):
    """The input, unchanged: a placeholder where a layer may go (arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """The input with dims start_dim..end_dim merged into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Dim `dim` of the input split into unflattened_size, Flatten's inverse: Unflatten(1, (C, H, W)) makes
    (N, C*H*W) into (N, C, H, W). One size may be -1, inferred as in reshape."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)
        if self.unflattened_size.count(-1) > 1:
            raise ValueError(f"Unflatten: only one size can be -1 (inferred), got {self.unflattened_size}")

    def forward(self, input):
        dim = backend.positive_dim(self.dim, input.ndim)
        length, known = input.shape[dim], math.prod(n for n in self.unflattened_size if n != -1)
        inferred = -1 in self.unflattened_size  # then the -1 takes length / known, which must be whole
        if not (length == known or (inferred and known != 0 and length % known == 0)):
            raise ValueError(f"Unflatten: the sizes {self.unflattened_size} don't multiply up to the size of "
                             f"dim {self.dim} ({length}) of the input of shape {input.shape}")
        return input.reshape(input.shape[:dim] + self.unflattened_size + input.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
