"""PyTorch code ported as written: positional arguments in PyTorch's order, dtypes kept where
PyTorch keeps them, and the names PyTorch programs call (a porting review found each of these
different). Expected values are worked out by hand; where torch is installed, they are also
compared with it."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn import functional as F


def test_a_causal_mask_built_from_bool_stays_bool_and_masks():
    keep = mg.tril(mg.ones(3, 3, dtype=mg.bool))
    assert keep.dtype == mg.bool and mg.triu(keep).dtype == mg.bool and mg.diag(mg.tensor([True, False])).dtype == mg.bool
    scores = mg.zeros(3, 3).masked_fill(~keep, float("-inf"))
    assert scores.dtype == mg.float32 and np.isneginf(scores.numpy()[0, 1]) and scores.numpy()[1, 0] == 0
    # masked_fill keeps the tensor's dtype: a number value is converted to it, as in PyTorch
    filled = mg.tensor([[1, 2], [3, 4]]).masked_fill(mg.tensor([[True, False], [False, False]]), 0.7)
    assert filled.dtype == mg.int64 and filled.tolist() == [[0, 2], [3, 4]]
    assert mg.ones(2, dtype=mg.bool).masked_fill(mg.tensor([True, False]), 0).tolist() == [False, True]


def test_any_and_all_are_bool_tensors_with_dims():
    x = mg.tensor([[True, False], [False, False]])
    assert x.any().item() is True and x.all().item() is False
    assert x.any(dim=1).tolist() == [True, False] and mg.all(x, 0, keepdim=True).tolist() == [[False, False]]
    assert (x == x).all().item() and bool(x.any())
    assert mg.any(mg.tensor([0.0, 2.0])).item()


def test_backward_takes_pytorchs_gradient_keyword():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(gradient=mg.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [3.0, 30.0]


def test_sgd_takes_weight_decay_before_nesterov_as_pytorch():
    """SGD(params, lr, momentum, dampening, weight_decay, nesterov): one step on w^2 from w = 1 with
    lr 0.1, weight decay 0.5: g = 2 + 0.5 = 2.5, w = 1 - 0.25."""
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], 0.1, 0.0, 0.0, 0.5)
    (w * w).sum().backward()
    opt.step()
    assert w.item() == pytest.approx(0.75)


def test_scaled_dot_product_attention_takes_dropout_before_is_causal():
    q = k = v = mg.randn(1, 3, 4)
    mg.manual_seed(0)
    positional = F.scaled_dot_product_attention(q, k, v, None, 0.0, True)
    assert np.allclose(positional.numpy(), F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy())
    assert positional.numpy()[0, 0].tolist() == pytest.approx(v.numpy()[0, 0].tolist())  # the first query sees itself


def test_module_apply_visits_children_before_their_parent():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    seen = []
    model.apply(lambda module: seen.append(type(module).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]


def test_schedulers_stepped_one_after_another_warn_and_chained_ones_multiply():
    """Each schedule is a function of its step: stepped back to back on one optimizer, the second
    would overwrite the first, so it warns; ChainedScheduler multiplies them (0.9^t, and 0.1 from t = 2)."""
    w = mg.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    first, second = optim.lr_scheduler.ExponentialLR(opt, 0.9), optim.lr_scheduler.MultiStepLR(opt, [2], 0.1)
    with pytest.warns(UserWarning, match="ChainedScheduler"):
        first.step()
        second.step()
        first.step()
    opt = optim.SGD([w], lr=1.0)
    chained = optim.lr_scheduler.ChainedScheduler([optim.lr_scheduler.ExponentialLR(opt, 0.9),
                                                   optim.lr_scheduler.MultiStepLR(opt, [2], 0.1)])
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.step()
            chained.step()
            lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.9, 0.081, 0.0729])


def test_against_pytorch():
    """The same calls, in PyTorch's positional order, give PyTorch's numbers."""
    torch = pytest.importorskip("torch")
    values = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 9.0]])
    ours, theirs = mg.tensor(values, dtype=mg.float64), torch.tensor(values)
    for args in [(1,), (1, False), (1, True, True), (0, False, True)]:
        np.testing.assert_allclose(ours.std(*args).numpy(), theirs.std(*args).numpy())
        np.testing.assert_allclose(ours.var(*args).numpy(), theirs.var(*args).numpy())
    np.testing.assert_allclose(ours.var(1, correction=0).numpy(), theirs.var(1, correction=0).numpy())
    assert mg.tril(mg.ones(3, 3, dtype=mg.bool)).tolist() == torch.tril(torch.ones(3, 3, dtype=torch.bool)).tolist()
    ours_w, theirs_w = mg.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0], requires_grad=True)
    ours_opt, theirs_opt = optim.SGD([ours_w], 0.1, 0.9, 0, 0.01), torch.optim.SGD([theirs_w], 0.1, 0.9, 0, 0.01)
    for _ in range(3):
        for w, opt in ((ours_w, ours_opt), (theirs_w, theirs_opt)):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
    np.testing.assert_allclose(ours_w.detach().numpy(), theirs_w.detach().numpy(), rtol=1e-6)
