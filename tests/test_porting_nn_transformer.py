"""PyTorch's transformer building blocks, so that tutorials building a transformer from torch.nn port by
renaming: nn.MultiheadAttention, nn.TransformerEncoderLayer, nn.TransformerEncoder and
nn.Transformer.generate_square_subsequent_mask, and inplace= on ReLU, LeakyReLU, ELU, Hardtanh, Dropout,
F.relu and F.dropout. Where torch is installed, torch's weights are loaded into ours and outputs,
attention weights and every gradient are compared in float64; without it, gradchecks, shapes, names
and errors are checked."""
import copy
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

E, H = 8, 2  # embed_dim, num_heads: each head works in 4 dims


def leaf(rng, shape):
    return mg.tensor(rng.uniform(-2, 2, shape), dtype=mg.float64, requires_grad=True)


def make_mask(rng, kind, shape):
    """A random mask of shape that never hides key 0 (a query that sees no key has no softmax):
    bool True = may NOT attend, as PyTorch's modules; float added to the scores, some -inf."""
    hidden = rng.random(shape) < 0.4
    hidden[..., 0] = False
    if kind == "bool":
        return hidden
    return np.where(hidden & (rng.random(shape) < 0.5), -np.inf, rng.uniform(-1, 1, shape))


# ---- MultiheadAttention against PyTorch ------------------------------------------------------------
# (name, constructor options, forward options, query length L, key length S); masks are named by kind
MHA_CASES = [
    ("seq-first", {}, {}, 4, 5),
    ("batch-first", {"batch_first": True}, {}, 4, 5),
    ("unbatched", {}, {"unbatched": True}, 3, 4),
    ("key-padding-bool", {}, {"key_padding_mask": "bool"}, 4, 5),
    ("key-padding-float", {"batch_first": True}, {"key_padding_mask": "float"}, 4, 5),
    ("attn-mask-bool-2d", {}, {"attn_mask": ("bool", 2)}, 4, 5),
    ("attn-mask-float-3d", {"batch_first": True}, {"attn_mask": ("float", 3)}, 4, 5),
    ("both-masks", {}, {"attn_mask": ("bool", 3), "key_padding_mask": "bool"}, 4, 5),
    ("unbatched-masks", {}, {"unbatched": True, "attn_mask": ("float", 3), "key_padding_mask": "float"}, 3, 4),
    ("is-causal", {}, {"attn_mask": ("causal", 2), "is_causal": True}, 4, 4),
    ("kdim-vdim", {"kdim": 3, "vdim": 5}, {"key_padding_mask": "bool"}, 4, 6),
    ("no-bias", {"bias": False, "batch_first": True}, {}, 4, 5),
    ("per-head-weights", {}, {"average_attn_weights": False, "key_padding_mask": "float"}, 4, 5),
    ("fused-no-weights", {}, {"need_weights": False, "attn_mask": ("bool", 2), "key_padding_mask": "bool"}, 4, 5),
    ("fused-causal", {"batch_first": True},
     {"need_weights": False, "attn_mask": ("causal", 2), "is_causal": True}, 5, 5),
    ("fused-kdim-unbatched", {"kdim": 3, "vdim": 5}, {"need_weights": False, "unbatched": True}, 3, 4),
]


def mha_inputs(rng, options, forward, L, S, N=2):
    """(query, key, value, forward kwargs) as float64 leaves and NumPy masks, in the layout asked for."""
    unbatched = forward.get("unbatched", False)
    first = options.get("batch_first", False)

    def shaped(length, dims):
        return (length, dims) if unbatched else ((N, length, dims) if first else (length, N, dims))

    query = leaf(rng, shaped(L, E))
    key = leaf(rng, shaped(S, options.get("kdim", E)))
    value = leaf(rng, shaped(S, options.get("vdim", E)))
    kwargs = {name: forward[name] for name in ("need_weights", "average_attn_weights", "is_causal") if name in forward}
    if "key_padding_mask" in forward:
        kwargs["key_padding_mask"] = make_mask(rng, forward["key_padding_mask"], (S,) if unbatched else (N, S))
    if "attn_mask" in forward:
        kind, ndim = forward["attn_mask"]
        shape = (L, S) if ndim == 2 else ((1 if unbatched else N) * H, L, S)
        kwargs["attn_mask"] = (np.triu(np.full((L, S), -np.inf), 1) if kind == "causal"
                               else make_mask(rng, kind, shape))
    return query, key, value, kwargs


def as_torch(torch, value):
    """A minigrad leaf as a torch leaf, a NumPy mask as a torch tensor, anything else as it is."""
    if isinstance(value, mg.Tensor):
        return torch.tensor(value.numpy(), requires_grad=value.requires_grad)
    return torch.tensor(value) if isinstance(value, np.ndarray) else value


def load_torchs_weights(torch, ours, theirs):
    """ours takes theirs' state_dict (converted to arrays); both in float64."""
    theirs.double()
    ours.double().load_state_dict({name: t.detach().numpy() for name, t in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())


def assert_same_results(torch, ours, theirs, inputs, kwargs, rtol=1e-10, atol=1e-12):
    """Same outputs (each of a tuple) and, for a random weighted sum of them, the same gradients of every
    input and every parameter (by name)."""
    mine = ours(*inputs, **{k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    copies = [as_torch(torch, x) for x in inputs]
    reference = theirs(*copies, **{k: as_torch(torch, v) for k, v in kwargs.items()})
    mine, reference = (mine, reference) if isinstance(mine, tuple) else ((mine,), (reference,))
    rng, my_total, their_total = np.random.default_rng(1), 0, 0
    for a, b in zip(mine, reference):
        assert (a is None) == (b is None)
        if a is None:
            continue
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
        weights = rng.uniform(-1, 1, a.shape)
        my_total = my_total + (a * mg.tensor(weights)).sum()
        their_total = their_total + (b * torch.tensor(weights)).sum()
    my_total.backward()
    their_total.backward()
    for x, copy_ in zip(inputs, copies):
        np.testing.assert_allclose(x.grad.numpy(), copy_.grad.numpy(), rtol=rtol, atol=atol)
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


@pytest.mark.parametrize("name, options, forward, L, S", MHA_CASES, ids=[case[0] for case in MHA_CASES])
def test_multihead_attention_matches_torch(name, options, forward, L, S):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.MultiheadAttention(E, H, **options), torch.nn.MultiheadAttention(E, H, **options)
    load_torchs_weights(torch, ours, theirs)
    query, key, value, kwargs = mha_inputs(np.random.default_rng(0), options, forward, L, S)
    assert_same_results(torch, ours, theirs, [query, key, value], kwargs)


def test_multihead_self_attention_with_dropout_in_eval_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.MultiheadAttention(E, H, dropout=0.3), torch.nn.MultiheadAttention(E, H, dropout=0.3)
    load_torchs_weights(torch, ours.eval(), theirs.eval())  # dropout > 0, off in eval
    x = leaf(np.random.default_rng(0), (5, 2, E))  # one tensor as query, key and value
    mask = make_mask(np.random.default_rng(1), "bool", (2, 5))
    assert_same_results(torch, SelfAttention(ours), SelfAttention(theirs), [x], {"key_padding_mask": mask})


class SelfAttention:
    """mha(x, x, x) as a callable with mha's named_parameters, for assert_same_results."""

    def __init__(self, mha):
        self.mha = mha

    def __call__(self, x, **kwargs):
        return self.mha(x, x, x, **kwargs)

    def named_parameters(self):
        return self.mha.named_parameters()


def test_torchs_initialisation_statistics():
    """Xavier-uniform in_proj (bound sqrt(6 / (E + 3E)) for the packed (3E, E) matrix), zero biases."""
    torch = pytest.importorskip("torch")
    ours, theirs = nn.MultiheadAttention(64, 4), torch.nn.MultiheadAttention(64, 4)
    bound = math.sqrt(6 / (64 + 3 * 64))
    for mha in (ours, theirs):
        weight = mha.in_proj_weight.detach().numpy()
        assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
        assert abs(weight.std() - bound / math.sqrt(3)) < 0.05 * bound
        assert not mha.in_proj_bias.detach().numpy().any() and not mha.out_proj.bias.detach().numpy().any()
        assert np.abs(mha.out_proj.weight.detach().numpy()).max() <= 1 / math.sqrt(64)


# ---- the encoder against PyTorch -------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq-first", "batch-first"])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first):
    torch = pytest.importorskip("torch")
    options = dict(dim_feedforward=16, dropout=0.2, activation=activation, batch_first=batch_first,
                   norm_first=norm_first)
    ours, theirs = nn.TransformerEncoderLayer(E, H, **options), torch.nn.TransformerEncoderLayer(E, H, **options)
    load_torchs_weights(torch, ours.eval(), theirs.eval())  # dropout > 0, off in eval
    rng = np.random.default_rng(0)
    src = leaf(rng, (2, 5, E) if batch_first else (5, 2, E))
    masks = {"src_mask": make_mask(rng, "bool", (5, 5)), "src_key_padding_mask": make_mask(rng, "bool", (2, 5))}
    assert_same_results(torch, ours, theirs, [src], masks)


def test_encoder_layer_on_one_unbatched_causal_sequence_with_a_callable_activation_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.TransformerEncoderLayer(E, H, 16, 0.0, nn.GELU("tanh"), bias=False, norm_first=True)
    theirs = torch.nn.TransformerEncoderLayer(E, H, 16, 0.0, torch.nn.GELU("tanh"), bias=False, norm_first=True)
    load_torchs_weights(torch, ours, theirs)
    src = leaf(np.random.default_rng(0), (5, E))
    causal = nn.Transformer.generate_square_subsequent_mask(5, dtype=mg.float64).numpy()
    assert_same_results(torch, ours, theirs, [src], {"src_mask": causal, "is_causal": True})


def test_two_layer_encoder_with_a_final_norm_matches_torch():
    torch = pytest.importorskip("torch")
    options = dict(dim_feedforward=16, dropout=0.1, batch_first=True)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, **options), 2, norm=nn.LayerNorm(E))
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, **options), 2,
                                         norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
    with torch.no_grad():  # set the two layers apart (the clones start equal)
        for param in theirs.parameters():
            param.add_(torch.rand(param.shape) - 0.5)
    load_torchs_weights(torch, ours.eval(), theirs.eval())
    rng = np.random.default_rng(0)
    src = leaf(rng, (3, 6, E))
    masks = {"mask": nn.Transformer.generate_square_subsequent_mask(6, dtype=mg.float64).numpy(),
             "src_key_padding_mask": make_mask(rng, "float", (3, 6))}
    assert_same_results(torch, ours, theirs, [src], masks)


def test_square_subsequent_mask_is_torchs():
    torch = pytest.importorskip("torch")
    ours = nn.Transformer.generate_square_subsequent_mask(4)
    assert ours.dtype == mg.float32
    np.testing.assert_array_equal(ours.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())


def test_inplace_layers_match_torch_in_values_gradients_and_reprs():
    torch = pytest.importorskip("torch")
    pairs = [(nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
             (nn.LeakyReLU(0.1, True), torch.nn.LeakyReLU(0.1, True)),
             (nn.ELU(0.5, inplace=True), torch.nn.ELU(0.5, inplace=True)),
             (nn.Hardtanh(-2.0, 2.0, True), torch.nn.Hardtanh(-2.0, 2.0, True))]
    x = leaf(np.random.default_rng(0), (3, 4))
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        copy_ = torch.tensor(x.numpy(), requires_grad=True)
        mine, reference = ours(x), theirs(copy_ * 1)  # torch overwrites its input: not a leaf, then
        np.testing.assert_allclose(mine.numpy(), reference.detach().numpy())
        mine.sum().backward()
        reference.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), copy_.grad.numpy())
        x.grad = None
    assert repr(nn.Dropout(0.1, inplace=True)) == repr(torch.nn.Dropout(0.1, inplace=True))


# ---- without torch: gradients, shapes, names, errors ----------------------------------------------
def gradcheck_attention(mha, inputs, **kwargs):
    """gradcheck of the output and (when returned) the weights, with respect to the inputs and the
    input projection weights (the module in float64)."""
    mha.double()
    weights = [p for name, p in mha.named_parameters() if name != "out_proj.weight"]

    def both(*tensors):
        out, attention = mha(*tensors[:3], **kwargs)
        return out if attention is None else mg.cat([out.reshape(-1), attention.reshape(-1)])

    mg.gradcheck(both, list(inputs) + weights)


@pytest.mark.parametrize("need_weights", [True, False], ids=["with-weights", "fused"])
def test_multihead_attention_gradchecks_with_masks(need_weights):
    rng = np.random.default_rng(0)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    inputs = [leaf(rng, (2, 3, 4)), leaf(rng, (2, 4, 4)), leaf(rng, (2, 4, 4))]
    gradcheck_attention(mha, inputs, need_weights=need_weights, average_attn_weights=False,
                        key_padding_mask=mg.tensor(make_mask(rng, "bool", (2, 4))),
                        attn_mask=mg.tensor(make_mask(rng, "float", (3, 4))))


def test_multihead_attention_gradchecks_unbatched_causal_with_kdim_and_vdim():
    rng = np.random.default_rng(0)
    mha = nn.MultiheadAttention(4, 2, kdim=3, vdim=2)
    gradcheck_attention(mha, [leaf(rng, (3, 4)), leaf(rng, (3, 3)), leaf(rng, (3, 2))], is_causal=True)


def test_encoder_layer_gradchecks():
    rng = np.random.default_rng(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu").double()
    mg.gradcheck(lambda x, w: layer(x, src_key_padding_mask=mg.tensor([[False, False, True]] * 2)),
                 [leaf(rng, (3, 2, 4)), layer.self_attn.in_proj_weight])


@pytest.mark.parametrize("batch_first, unbatched", [(False, False), (True, False), (False, True), (True, True)])
def test_multihead_attention_shapes(batch_first, unbatched):
    L, S, N = 3, 5, 2
    mha = nn.MultiheadAttention(E, H, kdim=6, batch_first=batch_first)

    def shaped(length, dims):
        return (length, dims) if unbatched else ((N, length, dims) if batch_first else (length, N, dims))

    query, key, value = mg.randn(*shaped(L, E)), mg.randn(*shaped(S, 6)), mg.randn(*shaped(S, E))
    out, weights = mha(query, key, value)
    assert out.shape == query.shape
    assert weights.shape == ((L, S) if unbatched else (N, L, S))
    np.testing.assert_allclose(weights.numpy().sum(-1), 1, rtol=1e-5)  # each query's weights sum to 1
    _, per_head = mha(query, key, value, average_attn_weights=False)
    assert per_head.shape == ((H, L, S) if unbatched else (N, H, L, S))
    out_fused, none = mha(query, key, value, need_weights=False)
    assert none is None and out_fused.shape == query.shape


def test_the_weights_path_and_the_fused_path_agree_and_masks_hide_keys():
    rng = np.random.default_rng(0)
    mha = nn.MultiheadAttention(E, H, batch_first=True).double()
    x = leaf(rng, (2, 5, E))
    padding = mg.tensor([[False, False, False, True, True], [False] * 5])
    attn = mg.tensor(make_mask(rng, "bool", (5, 5)))
    out, weights = mha(x, x, x, key_padding_mask=padding, attn_mask=attn, is_causal=True)
    fused, _ = mha(x, x, x, key_padding_mask=padding, attn_mask=attn, is_causal=True, need_weights=False)
    np.testing.assert_allclose(out.numpy(), fused.numpy(), rtol=1e-12, atol=1e-14)
    hidden = padding.numpy()[:, None, :] | attn.numpy() | np.triu(np.ones((5, 5), bool), 1)
    assert (weights.numpy()[hidden] == 0).all() and (weights.numpy()[~hidden] > 0).all()
    # a float mask of 0 / -inf is the boolean mask's equal
    as_float = mg.tensor(np.where(attn.numpy(), -np.inf, 0.0))
    np.testing.assert_allclose(mha(x, x, x, attn_mask=as_float)[0].numpy(), mha(x, x, x, attn_mask=attn)[0].numpy())


def test_is_causal_alone_is_the_square_subsequent_mask():
    mha = nn.MultiheadAttention(E, H).double()
    x = leaf(np.random.default_rng(0), (4, 2, E))
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=mg.float64)
    np.testing.assert_allclose(mha(x, x, x, is_causal=True)[0].numpy(), mha(x, x, x, attn_mask=mask)[0].numpy())
    assert mask.tolist() == [[0, -math.inf, -math.inf, -math.inf], [0, 0, -math.inf, -math.inf],
                             [0, 0, 0, -math.inf], [0, 0, 0, 0]]


def test_attention_dropout_drops_the_same_weights_on_both_paths_while_training():
    mha = nn.MultiheadAttention(E, H, dropout=0.5).double()
    x = leaf(np.random.default_rng(0), (4, 2, E))
    mg.manual_seed(3)
    out, weights = mha(x, x, x, average_attn_weights=False)
    mg.manual_seed(3)
    fused, _ = mha(x, x, x, need_weights=False)
    np.testing.assert_allclose(out.numpy(), fused.numpy(), rtol=1e-12)
    assert (weights.numpy() == 0).any()  # some were dropped
    mha.eval()
    np.testing.assert_allclose(mha(x, x, x)[1].numpy().sum(-1), 1)  # none in eval


def test_state_dict_names_and_shapes_are_torchs():
    packed = nn.MultiheadAttention(E, H)
    assert {k: v.shape for k, v in packed.state_dict().items()} == {
        "in_proj_weight": (3 * E, E), "in_proj_bias": (3 * E,), "out_proj.weight": (E, E), "out_proj.bias": (E,)}
    assert packed.q_proj_weight is None and packed.head_dim == 4
    separate = nn.MultiheadAttention(E, H, bias=False, kdim=3, vdim=5)
    assert {k: v.shape for k, v in separate.state_dict().items()} == {
        "q_proj_weight": (E, E), "k_proj_weight": (E, 3), "v_proj_weight": (E, 5), "out_proj.weight": (E, E)}
    assert separate.in_proj_weight is None and separate.in_proj_bias is None
    layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=16)
    assert list(layer.state_dict()) == [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]


def test_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=16)
    encoder = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(E))
    assert len(encoder.layers) == 3 and encoder.num_layers == 3
    assert list(encoder.state_dict())[-2:] == ["norm.weight", "norm.bias"]
    copies = [block.linear1.weight for block in encoder.layers]
    assert len({id(w) for w in copies + [layer.linear1.weight]}) == 4  # four distinct parameters ...
    for w in copies:  # ... with equal values, as PyTorch's clones
        np.testing.assert_array_equal(w.numpy(), layer.linear1.weight.numpy())
    with mg.no_grad():
        encoder.layers[0].linear1.weight.add_(1)
    np.testing.assert_array_equal(encoder.layers[1].linear1.weight.numpy(), layer.linear1.weight.numpy())
    out = encoder(mg.randn(5, 2, E), mask=nn.Transformer.generate_square_subsequent_mask(5))
    assert out.shape == (5, 2, E)
    out.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters())


@pytest.mark.parametrize("make, message", [
    (lambda: nn.MultiheadAttention(10, 3), r"embed_dim \(10\) must be divisible by num_heads \(3\)"),
    (lambda: nn.MultiheadAttention(8, 2, add_bias_kv=True), "add_bias_kv and add_zero_attn .* not supported"),
    (lambda: nn.MultiheadAttention(8, 2, dropout=1.0), r"dropout must be in \[0, 1\), got 1.0"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), "activation must be 'relu', 'gelu' or a callable"),
    (lambda: nn.TransformerEncoder("layer", 2), "encoder_layer must be a Module"),
    (lambda: nn.Transformer(8, 2), "nn.Transformer .* is not built in minigrad"),
])
def test_bad_construction_is_a_clear_error(make, message):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=message):
        make()


@pytest.mark.parametrize("call, message", [
    (lambda m, x: m(x, x, mg.randn(5, 2, 8)[:, :1]), r"key \(5, 2, 8\) and value \(5, 1, 8\) must have the same"),
    (lambda m, x: m(mg.randn(5, 2, 6), x, x), r"query of shape \(5, 2, 6\) must end in 8 dims \(embed_dim\)"),
    (lambda m, x: m(x, x, mg.randn(5, 2, 3)), r"value of shape \(5, 2, 3\) must end in 8 dims \(vdim\)"),
    (lambda m, x: m(x, mg.randn(5, 8), mg.randn(5, 8)), "must all be batched, query \\(L, N, E\\), or all unbatched"),
    (lambda m, x: m(x, mg.randn(5, 3, 8), mg.randn(5, 3, 8)),
     r"different batch sizes \(dim 1 with batch_first=False\)"),
    (lambda m, x: m(x, x, x, attn_mask=mg.zeros(5, 4)), r"attn_mask of shape \(5, 4\) does not fit; expected "
                                                        r"\(L, S\) = \(5, 5\) or \(N\*H, L, S\) = \(4, 5, 5\)"),
    (lambda m, x: m(x, x, x, attn_mask=mg.zeros(2, 5, 5)), r"attn_mask of shape \(2, 5, 5\) does not fit"),
    (lambda m, x: m(x, x, x, key_padding_mask=mg.zeros(5, 2)), r"key_padding_mask of shape \(5, 2\) does not fit; "
                                                               r"expected \(N, S\) = \(2, 5\)"),
    (lambda m, x: m(x, x, x, attn_mask=mg.zeros(5, 5, dtype=mg.int64)),
     "attn_mask must be a boolean tensor .* got int64"),
    (lambda m, x: m(x[:, 0], x[:, 0], x[:, 0], key_padding_mask=mg.zeros(1, 5)), r"expected \(S,\) = \(5,\)"),
])
def test_bad_inputs_are_clear_errors(call, message):
    mha = nn.MultiheadAttention(8, 2)
    with pytest.raises((ValueError, TypeError), match=message):
        call(mha, mg.randn(5, 2, 8))


def test_inplace_is_accepted_and_computed_out_of_place():
    x = mg.tensor([-1.0, 0.5, 2.0])
    for layer in (nn.ReLU(inplace=True), nn.LeakyReLU(inplace=True), nn.ELU(inplace=True),
                  nn.Hardtanh(inplace=True), nn.Dropout(0.5, inplace=True).eval()):
        assert layer(x).shape == (3,) and layer.inplace
    assert F.relu(x, inplace=True).tolist() == [0.0, 0.5, 2.0] and x.tolist() == [-1.0, 0.5, 2.0]  # x unchanged
    assert F.dropout(x, 0.5, training=False, inplace=True) is x
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Dropout(0.1, inplace=True)) == "Dropout(p=0.1, inplace=True)"
    assert repr(nn.LeakyReLU(0.2, True)) == "LeakyReLU(negative_slope=0.2, inplace=True)"
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Dropout(0.2, inplace=True), nn.Linear(4, 1))
    model(mg.randn(2, 3)).sum().backward()  # a classic tutorial's model trains as it is
    assert model[0].weight.grad is not None


def test_modules_are_deep_copyable_with_their_own_parameters():
    mha = nn.MultiheadAttention(E, H)
    twin = copy.deepcopy(mha)
    assert twin.in_proj_weight is not mha.in_proj_weight
    np.testing.assert_array_equal(twin.in_proj_weight.numpy(), mha.in_proj_weight.numpy())


# ---- every device ----------------------------------------------------------------------------------
def test_encoder_gives_the_same_on_every_device(device):
    rng = np.random.default_rng(0)
    src = rng.uniform(-2, 2, (2, 5, E)).astype(np.float32)
    padding = np.array([[False, False, False, True, True], [False] * 5])
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, batch_first=True), 2)
    results = []
    for where in ("cpu", device):
        x = mg.tensor(src, device=where, requires_grad=True)
        encoder.to(where)
        mask = nn.Transformer.generate_square_subsequent_mask(5, device=where)
        out = encoder(x, mask=mask, src_key_padding_mask=mg.tensor(padding, device=where))
        weights = encoder.layers[0].self_attn(x, x, x, key_padding_mask=mg.tensor(padding, device=where))[1]
        (out.sum() + (weights * weights).sum()).backward()
        results.append((out.numpy(), weights.numpy(), x.grad.numpy()))
        encoder.zero_grad()
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
