"""minigrad.optim: each optimizer's first steps against the update formulas written out in NumPy
(and against PyTorch when it is installed), param groups, frozen parameters, schedules, clipping."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.optim import lr_scheduler

P0 = np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.3]])
GRADS = [np.array([[0.1, -0.2, 0.3], [0.4, 0.0, -0.6]]),
         np.array([[-0.5, 0.2, 0.1], [0.3, -0.1, 0.2]]),
         np.array([[0.2, 0.2, -0.4], [-0.1, 0.5, 0.0]])]


def param(device="cpu"):
    # a copy: mg.tensor of a NumPy array shares its memory, and the steps would change P0
    return nn.Parameter(mg.tensor(P0.copy(), dtype=mg.float64, device=device))


def run(make_optimizer, steps=2, device="cpu", grads=GRADS):
    """The parameter's values after each of the first `steps` steps on the fixed gradients."""
    p = param(device)
    opt = make_optimizer([p])
    values = []
    for g in grads[:steps]:
        p.grad = mg.tensor(g, dtype=mg.float64, device=device)
        opt.step()
        values.append(p.numpy().copy())
    return values


# ---- the update formulas, written out by hand ---------------------------------------------------
def sgd_by_hand(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, steps=2):
    p, buf, out = P0.copy(), None, []
    for g in GRADS[:steps]:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return out


def adam_by_hand(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False, steps=2):
    (b1, b2), p, m, v, out = betas, P0.copy(), 0.0, 0.0, []
    for t, g in enumerate(GRADS[:steps], start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out.append(p)
    return out


def rmsprop_by_hand(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, steps=2):
    p, v, buf, out = P0.copy(), 0.0, 0.0, []
    for g in GRADS[:steps]:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        step = g / (np.sqrt(v) + eps)
        if momentum:
            buf = momentum * buf + step
            step = buf
        p = p - lr * step
        out.append(p)
    return out


CASES = {
    "sgd": (dict(lr=0.1), optim.SGD, sgd_by_hand),
    "sgd-momentum": (dict(lr=0.1, momentum=0.9), optim.SGD, sgd_by_hand),
    "sgd-dampening": (dict(lr=0.1, momentum=0.9, dampening=0.5), optim.SGD, sgd_by_hand),
    "sgd-nesterov-wd": (dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), optim.SGD, sgd_by_hand),
    "adam": (dict(lr=0.01), optim.Adam, adam_by_hand),
    "adam-l2": (dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), optim.Adam, adam_by_hand),
    "adamw": (dict(lr=0.01, weight_decay=0.1), optim.AdamW,
              lambda **kw: adam_by_hand(decoupled=True, **kw)),
    "rmsprop": (dict(lr=0.01), optim.RMSprop, rmsprop_by_hand),
    "rmsprop-momentum-wd": (dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1), optim.RMSprop, rmsprop_by_hand),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_two_steps_match_the_formulas(name):
    options, cls, by_hand = CASES[name]
    for got, expected in zip(run(lambda ps: cls(ps, **options)), by_hand(**options)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_adam_first_step_moves_each_weight_by_about_lr():
    # at t = 1, m_hat = g and v_hat = g^2, so the step is lr * g / |g| = lr * sign(g)
    (after,) = run(lambda ps: optim.Adam(ps, lr=0.01), steps=1)
    np.testing.assert_allclose(P0 - after, 0.01 * np.sign(GRADS[0]), atol=1e-8)


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_adam_still_steps_by_lr_for_a_huge_float32_gradient(cls):
    # v / (1 - beta2^t) would overflow float32 here (v ~ 1e37, 1 - beta2 = 1e-3): the step would be m / inf = 0
    p = nn.Parameter(mg.zeros(2))
    optimizer = cls([p], lr=0.1, weight_decay=0.0)
    p.grad = mg.tensor([1e20, -1e20])
    optimizer.step()
    np.testing.assert_allclose(p.numpy(), [-0.1, 0.1], rtol=1e-6)


def test_the_seed_example_one_step_on_a_parabola():
    # L(w) = (w - 2)^2 from w = 5: dL/dw = 6, so w <- 5 - 0.1 * 6 = 4.4
    w = nn.Parameter(mg.tensor(5.0, dtype=mg.float64))
    opt = optim.SGD([w], lr=0.1)
    ((w - 2) ** 2).backward()
    opt.step()
    assert w.item() == pytest.approx(4.4, abs=1e-15)


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_pytorch(name):
    torch = pytest.importorskip("torch")
    options, cls, _ = CASES[name]
    torch_cls = {optim.SGD: torch.optim.SGD, optim.Adam: torch.optim.Adam,
                 optim.AdamW: torch.optim.AdamW, optim.RMSprop: torch.optim.RMSprop}[cls]
    p = torch.tensor(P0, requires_grad=True)
    opt = torch_cls([p], **options)
    ours = run(lambda ps: cls(ps, **options), steps=3)
    for g, expected in zip(GRADS, ours):
        p.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(expected, p.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["sgd-nesterov-wd", "adamw", "rmsprop-momentum-wd"])
def test_on_every_device(name, device):
    options, cls, by_hand = CASES[name]
    for got, expected in zip(run(lambda ps: cls(ps, **options), device=device), by_hand(**options)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_float32_parameters_stay_float32():
    p = nn.Parameter(mg.tensor(P0, dtype=mg.float32))
    opt = optim.Adam([p], lr=0.1, weight_decay=0.1)
    p.grad = mg.tensor(GRADS[0], dtype=mg.float32)
    opt.step()
    assert p.dtype == mg.float32 and opt.state[p]["exp_avg"].dtype == mg.float32


# ---- which parameters move ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_frozen_and_gradless_parameters_stay_bit_identical(name):
    options, cls, _ = CASES[name]
    frozen, gradless, trained = param(), param(), param()
    frozen.requires_grad_(False)
    frozen.grad = mg.tensor(GRADS[0], dtype=mg.float64)  # a stale gradient must not be used either
    opt = cls([frozen, gradless, trained], **options)
    for g in GRADS:
        trained.grad = mg.tensor(g, dtype=mg.float64)
        opt.step()
    assert frozen.numpy().tobytes() == P0.tobytes() and gradless.numpy().tobytes() == P0.tobytes()
    assert not np.allclose(trained.numpy(), P0)
    assert frozen not in opt.state and gradless not in opt.state


def test_param_groups_have_their_own_hyperparameters():
    body, head = param(), param()
    opt = optim.SGD([{"params": [body], "lr": 0.01}, {"params": head, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]
    for g in GRADS[:2]:
        body.grad = mg.tensor(g, dtype=mg.float64)
        head.grad = mg.tensor(g, dtype=mg.float64)
        opt.step()
    np.testing.assert_allclose(body.numpy(), sgd_by_hand(lr=0.01)[-1], rtol=1e-12)
    np.testing.assert_allclose(head.numpy(), sgd_by_hand(lr=0.1, momentum=0.9)[-1], rtol=1e-12)


def test_param_group_errors():
    p = param()
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="unknown options"):
        optim.SGD([{"params": [p], "betas": (0.9, 0.99)}], lr=0.1)
    with pytest.raises(ValueError, match="empty list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="optimizes Tensors"):
        optim.Adam([P0])
    with pytest.raises(TypeError, match=r"SGD takes an iterable of Tensors .*got a single Parameter; pass a list "
                                        r"of it, SGD\(\[w\], lr=\.\.\.\), or model.parameters\(\)"):
        optim.SGD(p, lr=0.1)  # not its rows, one by one
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)



def test_a_used_up_parameter_generator_says_to_call_parameters_again():
    model = nn.Linear(2, 2)
    params = model.parameters()  # a generator: the first optimizer takes everything it yields
    optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match=r"^Adam got an empty list of parameters \(model.parameters\(\) is a "
                                        r"generator: if an earlier optimizer used it up, call it again\)$"):
        optim.Adam(params)
    with pytest.raises(ValueError, match=r"^Adam got an empty list of parameters$"):  # a list: no hint
        optim.Adam([])
    optim.Adam(model.parameters())  # called again: fine

def test_a_single_tensor_for_params_is_a_type_error_as_in_pytorch():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        torch.optim.SGD(torch.nn.Parameter(torch.ones(2, 3)), lr=0.1)
    with pytest.raises(TypeError, match="got a single Parameter"):
        optim.SGD(nn.Parameter(mg.ones(2, 3)), lr=0.1)


@pytest.mark.parametrize("cls, options, message", [
    (optim.SGD, dict(lr=-0.1), "SGD: lr must be >= 0, got -0.1"),
    (optim.SGD, dict(lr=0.1, momentum=-0.9), "SGD: momentum must be >= 0, got -0.9"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1e-4), "SGD: weight_decay must be >= 0, got -0.0001"),
    (optim.Adam, dict(eps=-1e-8), "Adam: eps must be >= 0, got -1e-08"),
    (optim.Adam, dict(lr=float("nan")), "Adam: lr must be >= 0, got nan"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"Adam: betas\[0\] must be in \[0, 1\), got 1.0"),
    (optim.AdamW, dict(betas=(0.9, -0.1)), r"AdamW: betas\[1\] must be in \[0, 1\), got -0.1"),
    (optim.AdamW, dict(weight_decay=-0.01), "AdamW: weight_decay must be >= 0, got -0.01"),
    (optim.RMSprop, dict(alpha=-0.5), "RMSprop: alpha must be >= 0, got -0.5"),
    (optim.RMSprop, dict(momentum=-0.5), "RMSprop: momentum must be >= 0, got -0.5"),
])
def test_hyperparameters_out_of_range_are_refused_like_pytorch(cls, options, message):
    with pytest.raises(ValueError, match=message):
        cls([param()], **options)
    with pytest.raises(ValueError, match=message):  # in a parameter group too
        cls([{"params": [param()], **options}])


def test_hyperparameters_at_the_edge_of_their_range_are_accepted():
    optim.SGD([param()], lr=0.0, momentum=0.0, weight_decay=0.0)
    optim.Adam([param()], lr=0.0, betas=(0.0, 0.0), eps=0.0)
    optim.RMSprop([param()], alpha=0.0, eps=0.0)


def test_a_gradient_of_the_wrong_shape_is_an_error_not_a_broadcast():
    p = nn.Parameter(mg.zeros(3, dtype=mg.float64))
    p.grad = mg.tensor([1.0], dtype=mg.float64)  # would broadcast over all 3 weights
    opt = optim.Adam([param(), p], lr=0.1)
    with pytest.raises(RuntimeError, match=r"parameter 1 of group 0 has shape \(3,\) but its .grad has shape \(1,\)"):
        opt.step()
    assert p.numpy().tolist() == [0.0, 0.0, 0.0]


def test_zero_grad_sets_gradients_to_none():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(mg.randn(4, 3)).sum().backward()
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_a_model_learns():
    mg.manual_seed(0)
    x = mg.randn(64, 3)
    y = x @ mg.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    model = nn.Linear(3, 1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    for _ in range(150):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3


# ---- resuming -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_resumes_exactly(name):
    options, cls, _ = CASES[name]
    straight = run(lambda ps: cls(ps, **options), steps=3)[-1]
    p = param()
    first = cls([p], **options)
    for g in GRADS[:2]:
        p.grad = mg.tensor(g, dtype=mg.float64)
        first.step()
    saved = first.state_dict()
    p.grad = mg.tensor(GRADS[0] * 100, dtype=mg.float64)
    first.step()  # later steps must not change what was saved
    resumed_p = nn.Parameter(mg.tensor(run(lambda ps: cls(ps, **options), steps=2)[-1], dtype=mg.float64))
    resumed = cls([resumed_p], lr=123.0)  # the saved hyperparameters win
    resumed.load_state_dict(saved)
    resumed_p.grad = mg.tensor(GRADS[2], dtype=mg.float64)
    resumed.step()
    np.testing.assert_array_equal(resumed_p.numpy(), straight)
    assert resumed.param_groups[0]["lr"] == options["lr"]


def test_a_loaded_state_is_a_copy_so_one_saved_state_can_resume_two_runs():
    options, cls, _ = CASES["adam"]
    straight = run(lambda ps: cls(ps, **options), steps=3)[-1]
    p0 = param()
    first = cls([p0], **options)
    p0.grad = mg.tensor(GRADS[0], dtype=mg.float64)
    first.step()
    saved = first.state_dict()
    kept = saved["state"][0]["exp_avg"].numpy().copy()
    after_one = run(lambda ps: cls(ps, **options), steps=1)[-1]
    for _ in range(2):  # two runs resumed from the same dict: neither may move the other's buffers
        p = nn.Parameter(mg.tensor(after_one, dtype=mg.float64))
        resumed = cls([p], **options)
        resumed.load_state_dict(saved)
        for g in GRADS[1:3]:
            p.grad = mg.tensor(g, dtype=mg.float64)
            resumed.step()
        np.testing.assert_allclose(p.numpy(), straight, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"].numpy(), kept)


def test_state_dict_layout_and_mismatch():
    a, b = param(), param()
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}])
    a.grad = mg.tensor(GRADS[0], dtype=mg.float64)
    opt.step()
    state = opt.state_dict()
    assert state["param_groups"][1]["params"] == [1] and state["param_groups"][1]["lr"] == 0.5
    assert set(state["state"]) == {0} and state["state"][0]["step"] == 1
    assert isinstance(state["state"][0]["exp_avg"], mg.Tensor)
    with pytest.raises(ValueError, match="groups of sizes"):
        optim.Adam([a, b]).load_state_dict(state)
    state["state"][0]["exp_avg"] = mg.zeros(5)
    with pytest.raises(ValueError, match="exp_avg"):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(state)
    assert "Parameter Group 1" in repr(opt) and "lr: 0.5" in repr(opt)


# ---- schedules -------------------------------------------------------------------------------------
def group_lrs(scheduler, steps):
    """Every group's lr used at each of the first `steps` steps."""
    out = []
    for _ in range(steps):
        out.append(scheduler.get_last_lr())
        scheduler.optimizer.step()
        scheduler.step()
    return out


def lrs(scheduler, steps):
    """The (first group's) lr used at each of the first `steps` steps."""
    return [first for first, *_ in group_lrs(scheduler, steps)]


def sgd(lr=1.0):
    return optim.SGD([param()], lr=lr)


def test_warmup_cosine_curve():
    curve = lrs(lr_scheduler.WarmupCosineLR(sgd(0.1), warmup_steps=4, total_steps=12), 14)
    expected = [0.1 * t / 4 for t in range(4)] + [0.1 * 0.5 * (1 + math.cos(math.pi * (t - 4) / 8)) for t in range(4, 13)]
    np.testing.assert_allclose(curve, expected + [0.0], atol=1e-15)
    assert curve[4] == pytest.approx(0.1) and curve[8] == pytest.approx(0.05)
    floor = lrs(lr_scheduler.WarmupCosineLR(sgd(1.0), 0, 10, min_factor=0.1), 12)
    assert floor[0] == 1.0 and floor[-1] == pytest.approx(0.1) and floor[5] == pytest.approx(0.55)
    with pytest.raises(ValueError, match="warmup_steps <= total_steps"):
        lr_scheduler.WarmupCosineLR(sgd(), 5, 3)


def test_cosine_annealing_matches_pytorch_per_group_and_past_t_max():
    torch = pytest.importorskip("torch")
    opt = optim.SGD([{"params": [param()], "lr": 0.1}, {"params": [param()], "lr": 0.02}])
    ours = lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
    theirs_opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1},
                                  {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.02}])
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(theirs_opt, T_max=5, eta_min=0.01)
    for _ in range(13):  # on down to eta_min at 5, back up at 10
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        opt.step(), theirs_opt.step()
        ours.step(), theirs.step()


def test_step_and_linear_curves():
    assert lrs(lr_scheduler.StepLR(sgd(1.0), step_size=3, gamma=0.5), 7) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    decay = lr_scheduler.LinearLR(sgd(1.0), start_factor=1.0, end_factor=0.0, total_iters=4)
    np.testing.assert_allclose(lrs(decay, 6), [1, 0.75, 0.5, 0.25, 0, 0])
    assert lrs(lr_scheduler.MultiStepLR(sgd(1.0), milestones=[4, 2], gamma=0.5), 6) == [1, 1, 0.5, 0.5, 0.25, 0.25]
    np.testing.assert_allclose(lrs(lr_scheduler.ExponentialLR(sgd(1.0), gamma=0.9), 3), [1, 0.9, 0.81])
    warmup = lr_scheduler.LinearLR(sgd(0.3), start_factor=1 / 3, end_factor=1.0, total_iters=2)
    np.testing.assert_allclose(lrs(warmup, 4), [0.1, 0.2, 0.3, 0.3])
    np.testing.assert_allclose(lrs(lr_scheduler.LambdaLR(sgd(2.0), lambda t: 1 / (t + 1)), 3), [2, 1, 2 / 3])


def test_lambda_and_multiplicative_schedules_take_one_function_or_one_per_group():
    def two_groups():
        return optim.SGD([{"params": [param()], "lr": 1.0}, {"params": [param()], "lr": 2.0}])

    per_group = lr_scheduler.LambdaLR(two_groups(), [lambda t: 0.5 ** t, lambda t: 1 / (t + 1)])
    np.testing.assert_allclose(group_lrs(per_group, 3), [[1, 2], [0.5, 1], [0.25, 2 / 3]])
    # MultiplicativeLR multiplies the lr by lr_lambda(step) at each step: 0.5 at odd steps, 0.9 at even ones
    every_other = lr_scheduler.MultiplicativeLR(sgd(1.0), lambda t: 0.5 if t % 2 else 0.9)
    np.testing.assert_allclose(lrs(every_other, 5), [1, 0.5, 0.45, 0.225, 0.2025])
    both = lr_scheduler.MultiplicativeLR(two_groups(), [lambda t: 0.5, lambda t: 1.5])
    np.testing.assert_allclose(group_lrs(both, 3), [[1, 2], [0.5, 3], [0.25, 4.5]])
    calls = []
    counted = lr_scheduler.MultiplicativeLR(sgd(1.0), lambda t: calls.append(t) or 0.99)
    lrs(counted, 100)
    assert calls == list(range(1, 101))  # one call a step, for the new step: the product so far is kept
    for schedule in (lr_scheduler.LambdaLR, lr_scheduler.MultiplicativeLR):
        with pytest.raises(ValueError, match=f"{schedule.__name__}: lr_lambda lists 3 functions for 2 parameter "
                                             "groups; give one per group, or one for all"):
            schedule(two_groups(), [lambda t: 1.0] * 3)


@pytest.mark.parametrize("name, options", [("LinearLR", {}), ("LinearLR", {"start_factor": 0.1}),
                                           ("ExponentialLR", {"gamma": 0.8}),
                                           ("MultiStepLR", {"milestones": [2, 5], "gamma": 0.3})])
def test_schedules_follow_pytorchs_with_its_defaults(name, options):
    torch = pytest.importorskip("torch")
    ours = getattr(lr_scheduler, name)(sgd(0.1), **options)  # code ported with PyTorch's defaults keeps its schedule
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **options)
    for _ in range(8):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        theirs_opt.step()
        ours.step(), theirs.step()


@pytest.mark.parametrize("options", [{}, {"mode": "max", "threshold_mode": "abs", "threshold": 0.05},
                                     {"patience": 1, "cooldown": 2, "factor": 0.5, "min_lr": [0.02, 0.0]}])
def test_reduce_on_plateau_follows_pytorchs(options):
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.9, 0.91, 0.89999, 0.92, 0.5, 0.6, 0.7, 0.8, 0.4, -0.1, -0.1, -0.1, -0.09] * 2
    if options.get("mode") == "max":
        metrics = [-m for m in metrics]
    options = {"patience": 2, **options}
    ours = lr_scheduler.ReduceLROnPlateau(optim.SGD([{"params": [param()], "lr": 0.1},
                                                     {"params": [param()], "lr": 0.04}]), **options)
    theirs_opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1},
                                  {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.04}])
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **options)
    cuts = 0
    for metric in metrics:
        before = ours.get_last_lr()
        ours.step(metric), theirs.step(metric)
        cuts += ours.get_last_lr() != before
        np.testing.assert_allclose(ours.get_last_lr(), [g["lr"] for g in theirs_opt.param_groups], rtol=1e-12)
    assert cuts >= 2  # the metrics plateau often enough to cut the lr more than once


def test_reduce_on_plateau_resumes_and_rejects_what_would_raise_the_lr():
    ours = lr_scheduler.ReduceLROnPlateau(sgd(1.0), patience=0)
    ours.step(1.0), ours.step(2.0)  # no improvement: cut at once
    saved = ours.state_dict()
    again = lr_scheduler.ReduceLROnPlateau(sgd(0.1), patience=0)
    again.load_state_dict(saved)
    again.step(1.5)  # still not better than the saved best (1.0)
    assert ours.get_last_lr() == [pytest.approx(0.1)] and again.get_last_lr() == [pytest.approx(0.01)]
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\)"):
        lr_scheduler.ReduceLROnPlateau(sgd(1.0), factor=2.0)
    with pytest.raises(ValueError, match="min_lr lists 2 rates for 1 parameter groups"):
        lr_scheduler.ReduceLROnPlateau(sgd(1.0), min_lr=[0.0, 0.1])


def test_linear_defaults_warm_up_from_a_third_over_five_steps():
    # PyTorch's defaults: start_factor 1/3, end_factor 1, total_iters 5: factor 1/3 + (2/3) t / 5
    np.testing.assert_allclose(lrs(lr_scheduler.LinearLR(sgd(0.3)), 7),
                               [0.3 * f for f in (1 / 3, 7 / 15, 3 / 5, 11 / 15, 13 / 15, 1, 1)], rtol=1e-12)


def plateau_lrs(metrics, lr=1.0, **options):
    """The lr after each call of ReduceLROnPlateau.step(metric)."""
    scheduler = lr_scheduler.ReduceLROnPlateau(sgd(lr), **options)
    out = []
    for metric in metrics:
        scheduler.step(metric)
        out.append(scheduler.get_last_lr()[0])
    return out


def test_reduce_on_plateau_max_mode_with_a_relative_threshold():
    # improved: metric > best (1 + threshold). 1.05 is not above 1 * 1.1 (a cut); 1.2 is; 1.25 is not above 1.32
    assert plateau_lrs([1.0, 1.05, 1.2, 1.25], mode="max", threshold=0.1, patience=0, factor=0.5) == [1, 0.5, 0.5, 0.25]
    assert plateau_lrs([1.0, 1.05, 1.2], mode="max", threshold=0.1, threshold_mode="abs", patience=0,
                       factor=0.5) == [1, 0.5, 0.5]


def test_reduce_on_plateau_counts_no_bad_calls_during_cooldown():
    # patience 1: the third call of a flat metric cuts; then 2 calls of cooldown count nothing,
    # so the next cut comes 4 calls later (bad, bad -> cut), not 2
    assert plateau_lrs([1.0] * 11, patience=1, cooldown=2, factor=0.5) == [1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25,
                                                                            0.25, 0.25, 0.125]


def test_reduce_on_plateau_keeps_min_lr_and_skips_cuts_below_eps():
    assert plateau_lrs([1.0] * 3, lr=0.1, factor=0.1, patience=0, min_lr=0.05) == [0.1, 0.05, 0.05]
    assert plateau_lrs([1.0] * 3, lr=1e-9, factor=0.5, patience=0, eps=1e-8) == [1e-9, 1e-9, 1e-9]
    assert plateau_lrs([1.0] * 3, lr=1e-9, factor=0.5, patience=0, eps=1e-10) == [1e-9, 5e-10, 2.5e-10]


def test_reduce_on_plateau_resumes_in_the_middle_of_a_cooldown():
    ours = lr_scheduler.ReduceLROnPlateau(sgd(1.0), patience=0, cooldown=2, factor=0.5)
    ours.step(1.0), ours.step(1.0)  # the second call cuts, and the cooldown starts
    saved = ours.state_dict()
    assert saved["cooldown_counter"] == 2 and ours.get_last_lr() == [0.5]
    again = lr_scheduler.ReduceLROnPlateau(sgd(0.5), patience=0, cooldown=2, factor=0.5)
    again.load_state_dict(saved)
    assert again.cooldown_counter == 2 and again.best == 1.0 and again.last_epoch == 2
    for _ in range(4):
        ours.step(1.0), again.step(1.0)
        assert again.get_last_lr() == ours.get_last_lr() and again.cooldown_counter == ours.cooldown_counter
    assert ours.get_last_lr() == [0.25]  # two calls of cooldown, then a cut


def test_linear_with_no_steps_starts_at_end_factor():
    # PyTorch keeps start_factor for ever here (and its closed form divides by zero); no steps
    # to get from start to end means being at the end from step 0
    np.testing.assert_allclose(lrs(lr_scheduler.LinearLR(sgd(1.0), 0.5, 0.25, total_iters=0), 3), [0.25] * 3)


def test_schedule_keeps_each_groups_ratio_and_resumes():
    a, b = param(), param()
    opt = optim.AdamW([{"params": [a], "lr": 1e-3}, {"params": [b], "lr": 1e-2}])
    schedule = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(3):
        schedule.step()
    assert schedule.get_last_lr() == pytest.approx([1e-4, 1e-3])
    again = lr_scheduler.StepLR(optim.AdamW([{"params": [param()], "lr": 1e-3}, {"params": [param()], "lr": 1e-2}]),
                                step_size=2, gamma=0.1)
    again.load_state_dict(schedule.state_dict())
    assert again.get_last_lr() == pytest.approx([1e-4, 1e-3]) and again.last_epoch == 3
    again.step()
    schedule.step()
    assert again.get_last_lr() == schedule.get_last_lr()
    assert again.get_last_lr() == pytest.approx([1e-5, 1e-4])


def test_a_second_schedule_starts_from_the_initial_lr_not_the_current_one():
    # each group keeps its initial lr: a schedule built on an optimizer that another one has already
    # moved (as PyTorch's setdefault("initial_lr")) scales the original rate, not the decayed one
    opt = sgd(1.0)
    first = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    first.step()
    assert first.get_last_lr() == [0.5]
    second = lr_scheduler.LambdaLR(opt, lambda t: 1.0)
    assert second.get_last_lr() == [1.0] and second.base_lrs == [1.0]



@pytest.mark.parametrize("name, options, step, lr", [
    ("LambdaLR", dict(lr_lambda=lambda t: -1.0), 0, "-1.0"),
    ("LambdaLR", dict(lr_lambda=lambda t: 1.0 - t), 2, "-1.0"),  # only once the lambda turns
    ("LambdaLR", dict(lr_lambda=lambda t: float("nan")), 0, "nan"),
    ("MultiplicativeLR", dict(lr_lambda=lambda t: -0.5), 1, "-0.5"),
    ("CosineAnnealingLR", dict(T_max=2, eta_min=-1.0), 2, "-1.0"),
    ("OneCycleLR", dict(max_lr=-1.0, total_steps=10), 0, "-0.04"),
])
def test_a_schedule_that_would_make_the_lr_negative_is_an_error_not_gradient_ascent(name, options, step, lr):
    # SGD(lr=-0.1) is refused; a schedule driving the lr below 0 (PyTorch's would) is refused too, at that step
    with pytest.raises(ValueError, match=fr"^{name}: the lr of parameter group 0 would become {lr}\d* at step "
                                         fr"{step}; expected an lr >= 0 .*gamma, factor, eta_min or max_lr below 0 "
                                         r".*or an lr_lambda that returns a negative number"):
        schedule = getattr(lr_scheduler, name)(sgd(1.0), **options)
        for _ in range(step):
            schedule.step()


def test_one_cycles_last_step_keeps_a_linear_anneal_at_its_end_point():
    # step() total_steps times: PyTorch's line goes one step past its end, below 0 (to -0.0143 here)
    schedule = lr_scheduler.OneCycleLR(sgd(), max_lr=0.1, total_steps=10, anneal_strategy="linear",
                                       cycle_momentum=False)
    for _ in range(10):
        schedule.step()
    assert schedule.get_last_lr() == pytest.approx([0.1 / 25 / 1e4], rel=1e-12)


@pytest.mark.parametrize("name, options", [("StepLR", dict(step_size=1)), ("MultiStepLR", dict(milestones=[1])),
                                           ("ExponentialLR", {})])
def test_a_negative_gamma_is_refused_when_the_schedule_is_built(name, options):
    # PyTorch takes gamma=-0.5 and flips the lr's sign every other step
    cls = getattr(lr_scheduler, name)
    for gamma in (-0.5, float("nan")):
        with pytest.raises(ValueError, match=fr"{name}: gamma must be >= 0 \(it multiplies the lr\), got {gamma}"):
            cls(sgd(), gamma=gamma, **options)
    assert lrs(cls(sgd(1.0), gamma=0.0, **options), 3) == [1.0, 0.0, 0.0]  # 0 is allowed, as in PyTorch


@pytest.mark.parametrize("make", [
    lambda model: lr_scheduler.StepLR(model, 1),
    lambda model: lr_scheduler.LambdaLR(model, lambda t: 1.0),  # these touch the groups before LRScheduler.__init__
    lambda model: lr_scheduler.MultiplicativeLR(model, lambda t: 1.0),
    lambda model: lr_scheduler.OneCycleLR(model, max_lr=0.1, total_steps=10),
    lambda model: lr_scheduler.ReduceLROnPlateau(model),
])
def test_a_schedule_given_a_model_instead_of_its_optimizer_says_so(make):
    with pytest.raises(TypeError, match=r"^\w+: expected an optimizer \(e.g. mg.optim.SGD\(model.parameters\(\), "
                                        r"lr=\.\.\.\)\), got a Linear$"):
        make(nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"^StepLR: expected an optimizer"):
        lr_scheduler.StepLR(nn.Linear(2, 2), 1)
    prepared = nn.Linear(2, 2)
    prepared.param_groups = [{"params": list(prepared.parameters())}]  # as a fine-tuned model carries them
    with pytest.raises(TypeError, match=r"^StepLR: expected an optimizer .* got a Linear$"):
        lr_scheduler.StepLR(prepared, 1)


def test_cosine_annealing_needs_a_positive_t_max():
    # PyTorch takes T_max=0 and divides by it at the first step(); here it is refused when built
    for t_max in (0, -3, float("nan")):
        with pytest.raises(ValueError, match=r"CosineAnnealingLR: T_max must be a positive number of steps"):
            lr_scheduler.CosineAnnealingLR(sgd(), t_max)
    torch = pytest.importorskip("torch")
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(theirs_opt, 0)
    theirs_opt.step()
    with pytest.raises(ZeroDivisionError):
        theirs.step()

# ---- gradient clipping --------------------------------------------------------------------------
def test_clip_grad_norm_scales_to_max_norm_and_returns_the_norm_before():
    a, b, none = param(), param(), param()
    a.grad = mg.tensor([[3.0, 0, 0], [0, 0, 0]], dtype=mg.float64)
    b.grad = mg.tensor([[0, 4.0, 0], [0, 0, 0]], dtype=mg.float64)
    total = optim.clip_grad_norm_([a, b, none], max_norm=1.0)
    assert isinstance(total, mg.Tensor) and total.ndim == 0 and total.item() == pytest.approx(5.0)  # as PyTorch
    assert a.grad.numpy()[0, 0] == pytest.approx(0.6) and b.grad.numpy()[0, 1] == pytest.approx(0.8)
    assert none.grad is None
    assert optim.clip_grad_norm_([a, b], max_norm=1.0).item() == pytest.approx(1.0, abs=1e-5)


def test_clip_grad_norm_leaves_small_gradients_untouched():
    p = param()
    p.grad = mg.tensor(GRADS[0], dtype=mg.float64)
    before = p.grad.numpy().tobytes()
    total = optim.clip_grad_norm_(p, max_norm=10.0)
    assert total.item() == pytest.approx(np.linalg.norm(GRADS[0]))
    assert p.grad.numpy().tobytes() == before
    assert optim.clip_grad_norm_([param()], 1.0).item() == 0.0  # no gradients at all


def test_clip_grad_norm_against_pytorch():
    torch = pytest.importorskip("torch")
    ours = [param(), param()]
    theirs = [torch.tensor(P0, requires_grad=True) for _ in range(2)]
    for p, q, g in zip(ours, theirs, GRADS):
        p.grad, q.grad = mg.tensor(g * 3, dtype=mg.float64), torch.tensor(g * 3)
    total = optim.clip_grad_norm_(ours, 0.5)
    assert total.item() == pytest.approx(float(torch.nn.utils.clip_grad_norm_(theirs, 0.5)), rel=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_of_other_norms_by_hand():
    for norm_type, expected in [(1, 7.0), (3.0, 91 ** (1 / 3)), (2, 5.0), (math.inf, 4.0)]:
        p = mg.tensor([0.0, 0.0], dtype=mg.float64, requires_grad=True)
        p.grad = mg.tensor([3.0, -4.0], dtype=mg.float64)
        assert optim.clip_grad_norm_(p, 100.0, norm_type=norm_type).item() == pytest.approx(expected, rel=1e-12)
        assert p.grad.tolist() == [3.0, -4.0]  # within the limit: untouched
    p.grad = mg.tensor([3.0, -4.0], dtype=mg.float64)
    assert optim.clip_grad_norm_(p, 3.5, norm_type=1).item() == 7.0
    np.testing.assert_allclose(p.grad.numpy(), [1.5, -2.0], rtol=1e-6)  # scaled by 3.5 / (7 + 1e-6)


def test_clip_grad_norm_inf_spreads_a_nan_to_every_gradient():
    for nan_first in (True, False):  # max() over the maxima would skip a NaN that comes after a number
        a, b = param(), param()
        a.grad = mg.tensor([[math.nan, 0.1, 0], [0, 0, 0]], dtype=mg.float64)
        b.grad = mg.tensor([[0.5, 0, 0], [0, 0, 0]], dtype=mg.float64)
        params = [a, b] if nan_first else [b, a]
        assert math.isnan(optim.clip_grad_norm_(params, max_norm=1.0, norm_type=math.inf).item())
        assert np.isnan(a.grad.numpy()).all() and np.isnan(b.grad.numpy()).all()


def test_clip_grad_value_clamps_both_sides():
    p = mg.tensor([0.0, 0.0, 0.0, 0.0], dtype=mg.float64, requires_grad=True)
    p.grad = mg.tensor([-3.0, 0.5, 3.0, -1.0], dtype=mg.float64)
    optim.clip_grad_value_(p, 1.0)
    assert p.grad.tolist() == [-1.0, 0.5, 1.0, -1.0]



def test_a_negative_clip_is_refused_and_touches_nothing():
    # PyTorch takes them: max_norm=-1 flips every gradient, clip_value=-1 sets every one to -1
    p = mg.tensor([3.0, -4.0], dtype=mg.float64, requires_grad=True)
    p.grad = mg.tensor([3.0, -4.0], dtype=mg.float64)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match=fr"clip_grad_norm_: max_norm must be >= 0 .*got {bad}"):
            optim.clip_grad_norm_([p], bad)
        with pytest.raises(ValueError, match=fr"clip_grad_value_: clip_value must be >= 0 .*got {bad}"):
            optim.clip_grad_value_([p], bad)
    assert p.grad.tolist() == [3.0, -4.0]
    assert optim.clip_grad_norm_([p], 0.0).item() == 5.0 and p.grad.tolist() == [0.0, 0.0]  # 0 zeroes, as PyTorch
    p.grad = mg.tensor([3.0, -4.0], dtype=mg.float64)
    optim.clip_grad_value_([p], 0.0)
    assert p.grad.tolist() == [0.0, 0.0]

@pytest.mark.parametrize("norm_type", [1, 3.0, math.inf])
def test_clip_grad_norm_of_other_norms_and_clip_grad_value_against_pytorch(norm_type):
    torch = pytest.importorskip("torch")
    ours, theirs = [param(), param()], [torch.tensor(P0, requires_grad=True) for _ in range(2)]
    for p, q, g in zip(ours, theirs, GRADS):
        p.grad, q.grad = mg.tensor(g * 3, dtype=mg.float64), torch.tensor(g * 3)
    total = optim.clip_grad_norm_(ours, 0.5, norm_type=norm_type)
    assert total.item() == pytest.approx(float(torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)), rel=1e-12)
    mg.nn.utils.clip_grad_value_(ours, 0.01)  # where PyTorch code calls it from
    torch.nn.utils.clip_grad_value_(theirs, 0.01)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="norm_type must be positive"):
        optim.clip_grad_norm_(ours, 0.5, norm_type=0)


def test_clip_grad_norm_spreads_a_nan_to_every_gradient():
    # the training loop's NaN guard may look at any one parameter: a NaN anywhere must show everywhere
    a, b, none = param(), param(), param()
    a.grad = mg.tensor([[math.nan, 1.0, 0], [0, 0, 0]], dtype=mg.float64)
    b.grad = mg.tensor(GRADS[0], dtype=mg.float64)
    assert math.isnan(optim.clip_grad_norm_([a, b, none], max_norm=1.0).item())
    assert np.isnan(a.grad.numpy()).all() and np.isnan(b.grad.numpy()).all()
    assert none.grad is None


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf * 0, as in PyTorch
def test_clip_grad_norm_of_non_finite_gradients_against_pytorch(bad):
    torch = pytest.importorskip("torch")
    grads = [np.array([[bad, 1.0, 0], [0, 0, 0]]), GRADS[1]]
    ours = [param(), param()]
    theirs = [torch.tensor(P0, requires_grad=True) for _ in range(2)]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = mg.tensor(g, dtype=mg.float64), torch.tensor(g)
    total = optim.clip_grad_norm_(ours, 1.0).item()
    expected = float(torch.nn.utils.clip_grad_norm_(theirs, 1.0))
    assert total == expected or math.isnan(total) and math.isnan(expected)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())  # NaN == NaN here


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_grad_norm_error_if_nonfinite_raises_and_touches_nothing_as_pytorch(bad, norm_type):
    bad_grad = np.array([[bad, 1.0, 0], [0, 0, 0]])
    a, b = param(), param()  # a single tensor, as well as a list; foreach is accepted
    a.grad, b.grad = mg.tensor(bad_grad), mg.tensor(GRADS[1].copy())  # a copy: a bug scaling it would not leak
    for parameters in (a, [b, a]):
        with pytest.raises(RuntimeError, match="non-finite"):
            optim.clip_grad_norm_(parameters, 1.0, norm_type, error_if_nonfinite=True, foreach=True)
    assert a.grad.numpy()[0, 1] == 1.0 and np.array_equal(b.grad.numpy(), GRADS[1])  # not scaled
    b.grad = mg.tensor(GRADS[1] * 10)  # finite: clipped as without the flag
    total = optim.clip_grad_norm_(b, 1.0, norm_type, error_if_nonfinite=True, foreach=False)
    mg.nn.utils.clip_grad_value_([b], 0.05, foreach=None)
    torch = pytest.importorskip("torch")
    p = torch.tensor(P0, requires_grad=True)
    p.grad = torch.tensor(bad_grad)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(p, 1.0, norm_type, error_if_nonfinite=True, foreach=True)
    p.grad = torch.tensor(GRADS[1] * 10)
    assert total.item() == pytest.approx(float(torch.nn.utils.clip_grad_norm_(p, 1.0, norm_type, True, False)))
    torch.nn.utils.clip_grad_value_([p], 0.05, foreach=None)
    np.testing.assert_allclose(b.grad.numpy(), p.grad.numpy(), rtol=1e-12)


def test_zero_grad_sets_gradients_to_none_or_to_zeros():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    (w * mg.tensor([float("nan"), 3.0])).sum().backward()
    optimizer.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]  # zeros, even where the gradient was NaN
    optimizer.zero_grad()
    assert w.grad is None  # PyTorch 2's default
    layer = nn.Linear(2, 1)
    layer(mg.ones(1, 2)).sum().backward()
    layer.zero_grad(set_to_none=False)
    assert [p.grad.tolist() for p in layer.parameters()] == [[[0.0, 0.0]], [0.0]]
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())
