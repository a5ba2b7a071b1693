"""More of torch.optim, so training code ports by renaming torch to mg: amsgrad for Adam and AdamW,
Adagrad, NAdam, RAdam, Adamax, and the schedulers OneCycleLR, ConstantLR, PolynomialLR,
CosineAnnealingWarmRestarts, MultiplicativeLR, SequentialLR and ChainedScheduler (and LambdaLR's
one function per parameter group).

Each optimizer's first steps against its update rule written out in NumPy, and ten steps against
PyTorch's (when installed) to float64 precision; each schedule's curve by hand, and its lrs (and
momenta) against PyTorch's over 30 steps.
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.optim import lr_scheduler
from tests import test_optim
from tests.test_optim import P0, lrs, param

# ten gradients of very different sizes (scales 0.01 to 3): where the adaptive rules part ways
GRADS = [np.random.default_rng(seed).normal(size=P0.shape) * scale
         for seed, scale in enumerate([1.0, 0.5, 2.0, 0.1, 1.0, 0.01, 3.0, 0.3, 1.0, 0.05])]


def run(make_optimizer, steps, device="cpu"):
    """The parameter's values after each of the first `steps` steps on this file's gradients."""
    return test_optim.run(make_optimizer, steps, device, grads=GRADS)


def take_steps(optimizer, p, grads):
    """optimizer.step() once for each gradient of grads, put in p.grad first."""
    for g in grads:
        p.grad = mg.tensor(g, dtype=mg.float64)
        optimizer.step()


# ---- the update rules, written out by hand ---------------------------------------------------------
def decay(p, g, lr, weight_decay, decoupled):
    """(p, g) after weight decay: L2 adds weight_decay p to g, decoupled shrinks p."""
    if decoupled:
        return p * (1 - lr * weight_decay), g
    return p, g + weight_decay * p


def adam_by_hand(steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 decoupled_weight_decay=False):
    (b1, b2), p, m, v, v_max, out = betas, P0.copy(), 0.0, 0.0, 0.0, []
    for t, g in enumerate(GRADS[:steps], start=1):
        p, g = decay(p, g, lr, weight_decay, decoupled_weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = np.maximum(v_max, v)
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt((v_max if amsgrad else v) / (1 - b2**t)) + eps)
        out.append(p)
    return out


def adagrad_by_hand(steps, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    p, s, out = P0.copy(), initial_accumulator_value, []
    for t, g in enumerate(GRADS[:steps], start=1):
        g = g + weight_decay * p
        s = s + g**2
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


def nadam_by_hand(steps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                  decoupled_weight_decay=False):
    (b1, b2), p, m, v, mu_product, out = betas, P0.copy(), 0.0, 0.0, 1.0, []
    for t, g in enumerate(GRADS[:steps], start=1):
        p, g = decay(p, g, lr, weight_decay, decoupled_weight_decay)
        mu, mu_next = (b1 * (1 - 0.5 * 0.96 ** (k * momentum_decay)) for k in (t, t + 1))
        mu_product *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        d = np.sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_product) * g / d - lr * mu_next / (1 - mu_product * mu_next) * m / d
        out.append(p)
    return out


def radam_by_hand(steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False):
    (b1, b2), p, m, v, out = betas, P0.copy(), 0.0, 0.0, []
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(GRADS[:steps], start=1):
        p, g = decay(p, g, lr, weight_decay, decoupled_weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            p = p - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
        else:
            p = p - lr * m_hat
        out.append(p)
    return out


def adamax_by_hand(steps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    (b1, b2), p, m, u, out = betas, P0.copy(), 0.0, 0.0, []
    for t, g in enumerate(GRADS[:steps], start=1):
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr / (1 - b1**t) * m / u
        out.append(p)
    return out


CASES = {  # name: (options, our class, PyTorch's class name, the rule by hand)
    "adam-amsgrad": (dict(lr=0.01, amsgrad=True), optim.Adam, "Adam", adam_by_hand),
    "adam-amsgrad-l2": (dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True), optim.Adam, "Adam",
                        adam_by_hand),
    "adam-decoupled": (dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), optim.Adam, "Adam",
                       adam_by_hand),
    "adamw-amsgrad": (dict(lr=0.01, weight_decay=0.1, amsgrad=True), optim.AdamW, "AdamW",
                      lambda steps, **kw: adam_by_hand(steps, decoupled_weight_decay=True, **kw)),
    "adagrad": (dict(), optim.Adagrad, "Adagrad", adagrad_by_hand),
    "adagrad-all-options": (dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3, eps=1e-6),
                            optim.Adagrad, "Adagrad", adagrad_by_hand),
    "nadam": (dict(), optim.NAdam, "NAdam", nadam_by_hand),
    "nadam-l2": (dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, momentum_decay=0.1), optim.NAdam, "NAdam",
                 nadam_by_hand),
    "nadam-decoupled": (dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), optim.NAdam, "NAdam",
                        nadam_by_hand),
    "radam": (dict(lr=0.01), optim.RAdam, "RAdam", radam_by_hand),  # rectified from step 6 on
    "radam-l2": (dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1), optim.RAdam, "RAdam", radam_by_hand),
    "radam-decoupled": (dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), optim.RAdam, "RAdam",
                        radam_by_hand),
    "adamax": (dict(), optim.Adamax, "Adamax", adamax_by_hand),
    "adamax-l2": (dict(lr=0.01, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1), optim.Adamax, "Adamax",
                  adamax_by_hand),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_steps_match_the_rule_written_out(name):
    options, cls, _, by_hand = CASES[name]
    for got, expected in zip(run(lambda ps: cls(ps, **options), steps=10), by_hand(10, **options)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.fixture
def torch_float64():
    """PyTorch in float64 throughout: it keeps scalar state (NAdam's mu_product) in the default dtype,
    float32 unless told otherwise, which alone differs from the float64 rule at 1e-8 (minigrad keeps
    it a Python float)."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)


@pytest.mark.parametrize("name", sorted(CASES))
def test_steps_match_pytorch(name, torch_float64):
    torch = torch_float64
    options, cls, torch_name, _ = CASES[name]
    p = torch.tensor(P0, requires_grad=True)
    theirs = getattr(torch.optim, torch_name)([p], **options)
    for g, ours in zip(GRADS, run(lambda ps: cls(ps, **options), steps=10)):
        p.grad = torch.tensor(g)
        theirs.step()
        np.testing.assert_allclose(ours, p.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_radam_first_steps_are_momentum_sgd_until_rho_passes_5():
    # with beta2 = 0.999, rho_t = 1, 2, ... roughly t for small t: steps 1-5 are p -= lr m_hat, and at
    # step 1 m_hat = g, so the first step is exactly plain SGD
    (after,) = run(lambda ps: optim.RAdam(ps, lr=0.1), steps=1)
    np.testing.assert_allclose(after, P0 - 0.1 * GRADS[0], rtol=1e-15)
    b2 = 0.999
    rho = [2 / (1 - b2) - 1 - 2 * t * b2**t / (1 - b2**t) for t in range(1, 8)]
    assert [r > 5 for r in rho] == [False] * 5 + [True] * 2


def test_adagrad_and_adamax_first_step_moves_each_weight_by_about_lr():
    # Adagrad: s = g^2, so g / sqrt(s) = sign(g); Adamax: m_hat = g and u = |g| + eps
    for cls in (optim.Adagrad, optim.Adamax):
        (after,) = run(lambda ps: cls(ps, lr=0.01), steps=1)
        np.testing.assert_allclose(P0 - after, 0.01 * np.sign(GRADS[0]), rtol=1e-7)


def test_amsgrad_divides_by_the_largest_second_moment_so_far():
    p = param()
    opt = optim.Adam([p], lr=0.01, betas=(0.9, 0.9), amsgrad=True)
    v, v_max = 0.0, 0.0
    for g in GRADS:
        p.grad = mg.tensor(g, dtype=mg.float64)
        opt.step()
        v = 0.9 * v + 0.1 * g**2
        v_max = np.maximum(v_max, v)
    np.testing.assert_allclose(opt.state[p]["max_exp_avg_sq"], v_max, rtol=1e-13)
    assert (v_max > v).all()  # the small last gradients lowered v, but not v_max
    # m and v do not depend on p, so Adam's run has the same ones, and its last step is larger
    adam = run(lambda ps: optim.Adam(ps, lr=0.01, betas=(0.9, 0.9)), 10)
    ams = run(lambda ps: optim.Adam(ps, lr=0.01, betas=(0.9, 0.9), amsgrad=True), 10)
    assert (abs(ams[-1] - ams[-2]) < abs(adam[-1] - adam[-2])).all()


def test_nadam_keeps_the_product_of_its_momentum_schedule():
    p = param()
    opt = optim.NAdam([p], momentum_decay=0.1)
    take_steps(opt, p, GRADS[:3])
    mus = [0.9 * (1 - 0.5 * 0.96 ** (t * 0.1)) for t in (1, 2, 3)]
    assert opt.state[p]["mu_product"] == pytest.approx(math.prod(mus), rel=1e-15)
    assert opt.state[p]["step"] == 3


@pytest.mark.parametrize("name", ["adam-amsgrad", "adagrad-all-options", "nadam-decoupled", "radam-l2", "adamax-l2"])
def test_on_every_device(name, device):
    options, cls, _, by_hand = CASES[name]
    for got, expected in zip(run(lambda ps: cls(ps, **options), steps=3, device=device), by_hand(3, **options)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_resumes_exactly(name):
    # 7 steps, saved, then 3 more in a new optimizer = 10 straight (RAdam's rectification starts in between)
    options, cls, _, _ = CASES[name]
    straight = run(lambda ps: cls(ps, **options), steps=10)[-1]
    p = param()
    first = cls([p], **options)
    take_steps(first, p, GRADS[:7])
    saved = first.state_dict()
    if options.get("amsgrad"):
        assert isinstance(saved["state"][0]["max_exp_avg_sq"], mg.Tensor)
    resumed_p = nn.Parameter(mg.tensor(p.numpy().copy(), dtype=mg.float64))
    resumed = cls([resumed_p], lr=123.0)  # the saved hyperparameters win
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0] == {**first.param_groups[0], "params": [resumed_p]}
    take_steps(resumed, resumed_p, GRADS[7:])
    np.testing.assert_array_equal(resumed_p.numpy(), straight)


@pytest.mark.parametrize("name", ["adamw-amsgrad", "nadam-decoupled", "adagrad-all-options"])
def test_state_dict_survives_a_checkpoint_file(name, tmp_path):
    options, cls, _, _ = CASES[name]
    p = param()
    first = cls([p], **options)
    take_steps(first, p, GRADS[:4])
    mg.save({"optimizer": first.state_dict()}, tmp_path / "checkpoint.safetensors")
    resumed = cls([p])  # built with the defaults: the file brings the options back
    resumed.load_state_dict(mg.load(tmp_path / "checkpoint.safetensors")["optimizer"])
    assert all(resumed.param_groups[0][key] == value for key, value in options.items())
    for key, value in first.state[p].items():
        np.testing.assert_array_equal(resumed.state[p][key], value)


@pytest.mark.parametrize("name", ["adam-amsgrad", "adagrad", "nadam", "radam", "adamax"])
def test_frozen_and_gradless_parameters_stay_bit_identical(name):
    options, cls, _, _ = CASES[name]
    frozen, gradless, trained = param(), param(), param()
    frozen.requires_grad_(False)
    frozen.grad = mg.tensor(GRADS[0], dtype=mg.float64)
    opt = cls([frozen, gradless, trained], **options)
    take_steps(opt, trained, GRADS[:3])
    assert frozen.numpy().tobytes() == P0.tobytes() and gradless.numpy().tobytes() == P0.tobytes()
    assert frozen not in opt.state and gradless not in opt.state and not np.allclose(trained.numpy(), P0)


def test_param_groups_have_their_own_options():
    body, head = param(), param()
    opt = optim.Adam([{"params": [body]}, {"params": [head], "amsgrad": True}], lr=0.01)
    for g in GRADS:
        body.grad, head.grad = mg.tensor(g, dtype=mg.float64), mg.tensor(g, dtype=mg.float64)
        opt.step()
    np.testing.assert_allclose(body.numpy(), adam_by_hand(10, lr=0.01)[-1], rtol=1e-12)
    np.testing.assert_allclose(head.numpy(), adam_by_hand(10, lr=0.01, amsgrad=True)[-1], rtol=1e-12)
    assert "max_exp_avg_sq" not in opt.state[body]


def test_float32_parameters_stay_float32():
    for cls in (optim.Adagrad, optim.NAdam, optim.RAdam, optim.Adamax):
        p = nn.Parameter(mg.tensor(P0, dtype=mg.float32))
        opt = cls([p], weight_decay=0.1)
        p.grad = mg.tensor(GRADS[0], dtype=mg.float32)
        opt.step()
        buffers = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
        assert p.dtype == mg.float32 and buffers and all(b.dtype == np.float32 for b in buffers)


@pytest.mark.parametrize("cls, options, message", [
    (optim.Adagrad, dict(lr=-0.1), "Adagrad: lr must be >= 0, got -0.1"),
    (optim.Adagrad, dict(lr_decay=-1.0), "Adagrad: lr_decay must be >= 0, got -1.0"),
    (optim.Adagrad, dict(initial_accumulator_value=-0.5), "Adagrad: initial_accumulator_value must be >= 0"),
    (optim.Adagrad, dict(eps=-1e-10), "Adagrad: eps must be >= 0"),
    (optim.NAdam, dict(momentum_decay=-4e-3), "NAdam: momentum_decay must be >= 0"),
    (optim.NAdam, dict(betas=(0.9, 1.0)), r"NAdam: betas\[1\] must be in \[0, 1\), got 1.0"),
    (optim.RAdam, dict(betas=(-0.1, 0.999)), r"RAdam: betas\[0\] must be in \[0, 1\), got -0.1"),
    (optim.RAdam, dict(weight_decay=-0.1), "RAdam: weight_decay must be >= 0"),
    (optim.Adamax, dict(lr=float("nan")), "Adamax: lr must be >= 0, got nan"),
    (optim.Adam, dict(lr=-1e-3, amsgrad=True), "Adam: lr must be >= 0, got -0.001"),
])
def test_hyperparameters_out_of_range_are_refused_like_pytorch(cls, options, message):
    with pytest.raises(ValueError, match=message):
        cls([param()], **options)


# ---- schedules ---------------------------------------------------------------------------------------
def sgd(lr=1.0, momentum=0.0, groups=1):
    return optim.SGD([{"params": [param()], "lr": lr * (i + 1)} for i in range(groups)], momentum=momentum)


def test_constant_and_polynomial_curves():
    np.testing.assert_allclose(lrs(lr_scheduler.ConstantLR(sgd(0.3), factor=0.5, total_iters=3), 5),
                               [0.15, 0.15, 0.15, 0.3, 0.3], rtol=1e-15)
    np.testing.assert_allclose(lrs(lr_scheduler.PolynomialLR(sgd(1.0), total_iters=4, power=2.0), 6),
                               [1, 0.5625, 0.25, 0.0625, 0, 0], rtol=1e-15)


def test_warm_restarts_jump_back_up_and_lengthen():
    # T_0 = 2, T_mult = 2: cycles of 2, 4, 8 steps start at steps 0, 2, 6
    curve = lrs(lr_scheduler.CosineAnnealingWarmRestarts(sgd(1.0), T_0=2, T_mult=2, eta_min=0.1), 8)
    cosine = [0.1 + 0.9 * (1 + math.cos(math.pi * t / n)) / 2 for n in (2, 4) for t in range(n)]
    np.testing.assert_allclose(curve, cosine + [1.0, 0.1 + 0.9 * (1 + math.cos(math.pi / 8)) / 2], rtol=1e-15)
    assert curve[2] == curve[6] == 1.0 and curve[1] == pytest.approx(0.55)


def test_one_cycle_rises_to_max_lr_then_anneals_far_below_the_start():
    opt = optim.Adam([param()])
    schedule = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=11, pct_start=0.5, anneal_strategy="linear")
    curve, betas = [], []
    for _ in range(11):
        curve.append(schedule.get_last_lr()[0])
        betas.append(opt.param_groups[0]["betas"][0])
        schedule.step()
    # up from 1/25 over steps 0..4.5 (pct_start * 11 - 1), down to 1/25/1e4 at step 10, linearly
    np.testing.assert_allclose(curve[:5], [0.04 + 0.96 * t / 4.5 for t in range(5)], rtol=1e-14)
    assert curve[-1] == pytest.approx(4e-6, rel=1e-9) and max(curve) < 1.0
    np.testing.assert_allclose(betas[:5], [0.95 - 0.1 * t / 4.5 for t in range(5)], rtol=1e-14)
    assert betas[-1] == pytest.approx(0.95) and opt.param_groups[0]["betas"][1] == 0.999  # only beta1 moves
    with pytest.raises(ValueError, match="step\\(\\) called 12 times, but total_steps is 11"):
        schedule.step()


def test_one_cycle_phase_of_no_length_is_at_its_peak_at_once():
    # pct_start * total_steps = 1: the rise ends at step 0 (PyTorch divides by zero here)
    schedule = lr_scheduler.OneCycleLR(sgd(momentum=0.9), max_lr=2.0, total_steps=10, pct_start=0.1)
    assert schedule.get_last_lr() == [2.0] and schedule.optimizer.param_groups[0]["momentum"] == 0.85


def test_sequential_warmup_then_decay():
    opt = sgd(1.0)
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    np.testing.assert_allclose(lrs(lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[3]), 6),
                               [0.25, 0.5, 0.75, 1.0, 0.5, 0.25], rtol=1e-15)


def test_chained_schedules_multiply():
    opt = sgd(1.0)
    chain = lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=2),
                                           lr_scheduler.ExponentialLR(opt, gamma=0.9)])
    np.testing.assert_allclose(lrs(chain, 4), [0.1, 0.09, 0.81, 0.729], rtol=1e-15)


def torch_sgd(torch, momentum, groups):
    return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 1.0 * (i + 1)}
                            for i in range(groups)], momentum=momentum)


def ours_and_theirs(build, optimizer="sgd"):
    """build(lr_scheduler module, optimizer) on minigrad and PyTorch twins of a two-group optimizer."""
    torch = pytest.importorskip("torch")
    if optimizer == "adam":
        ours_opt = optim.Adam([{"params": [param()], "lr": 1.0}, {"params": [param()], "lr": 2.0}])
        theirs_opt = torch.optim.Adam([{"params": [torch.zeros(1, requires_grad=True)], "lr": 1.0},
                                       {"params": [torch.zeros(1, requires_grad=True)], "lr": 2.0}])
    else:
        ours_opt, theirs_opt = sgd(momentum=0.9, groups=2), torch_sgd(torch, 0.9, 2)
    return build(lr_scheduler, ours_opt), build(torch.optim.lr_scheduler, theirs_opt)


def assert_same_course(ours, theirs, steps=30):
    """The same lrs, momenta and betas in every group at each of `steps` steps."""
    for _ in range(steps):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=1e-300)
        for key in ("momentum", "betas"):
            if key in ours.optimizer.param_groups[0]:
                np.testing.assert_allclose([g[key] for g in ours.optimizer.param_groups],
                                           [g[key] for g in theirs.optimizer.param_groups], rtol=1e-12)
        ours.optimizer.step(), theirs.optimizer.step()
        ours.step(), theirs.step()


SCHEDULES = {
    "constant": lambda s, opt: s.ConstantLR(opt),
    "constant-0.5-for-7": lambda s, opt: s.ConstantLR(opt, factor=0.5, total_iters=7),
    "polynomial": lambda s, opt: s.PolynomialLR(opt),
    "polynomial-squared": lambda s, opt: s.PolynomialLR(opt, total_iters=20, power=2.0),
    "polynomial-root": lambda s, opt: s.PolynomialLR(opt, total_iters=25, power=0.5),
    "warm-restarts": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, T_0=7),
    "warm-restarts-doubling": lambda s, opt: s.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.01),
    "one-cycle": lambda s, opt: s.OneCycleLR(opt, max_lr=0.5, total_steps=30),
    "one-cycle-epochs-linear": lambda s, opt: s.OneCycleLR(opt, max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=6,
                                                           anneal_strategy="linear", pct_start=0.25),
    "one-cycle-three-phase": lambda s, opt: s.OneCycleLR(opt, max_lr=0.1, total_steps=30, three_phase=True,
                                                         div_factor=10.0, final_div_factor=100.0,
                                                         base_momentum=[0.8, 0.7], max_momentum=0.9),
    "one-cycle-no-momentum": lambda s, opt: s.OneCycleLR(opt, max_lr=0.1, total_steps=30, cycle_momentum=False),
    "sequential": lambda s, opt: s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.1, total_iters=5),
                                                      s.CosineAnnealingLR(opt, T_max=20, eta_min=0.01)],
                                                milestones=[5]),
    "sequential-three": lambda s, opt: s.SequentialLR(opt, [s.ConstantLR(opt, factor=0.5, total_iters=10),
                                                            s.ExponentialLR(opt, gamma=0.9),
                                                            s.CosineAnnealingWarmRestarts(opt, T_0=4)],
                                                      milestones=[4, 12]),
    "chained": lambda s, opt: s.ChainedScheduler([s.ConstantLR(opt, factor=0.1, total_iters=2),
                                                  s.ExponentialLR(opt, gamma=0.9)]),
    "chained-three": lambda s, opt: s.ChainedScheduler([s.LinearLR(opt, start_factor=0.2, total_iters=6),
                                                        s.StepLR(opt, step_size=4, gamma=0.5),
                                                        s.PolynomialLR(opt, total_iters=25, power=1.5)]),
    "chained-cosine": lambda s, opt: s.ChainedScheduler([s.MultiStepLR(opt, milestones=[3, 9], gamma=0.3),
                                                         s.CosineAnnealingLR(opt, T_max=30)]),
    "lambda-per-group": lambda s, opt: s.LambdaLR(opt, [lambda t: 0.9 ** t, lambda t: 1 / (t + 1)]),
    "multiplicative": lambda s, opt: s.MultiplicativeLR(opt, lambda t: 0.95),
    "multiplicative-per-group": lambda s, opt: s.MultiplicativeLR(opt, [lambda t: 0.9 if t % 3 else 0.5,
                                                                        lambda t: 1.01]),
    "chained-multiplicative": lambda s, opt: s.ChainedScheduler([s.MultiplicativeLR(opt, lambda t: 0.95),
                                                                 s.StepLR(opt, step_size=4, gamma=0.5)]),
    # StepLR's factor is still 1 at the milestone, where PyTorch's SequentialLR restarts from the initial lr
    # (see test_a_sequential_schedule_in_a_chain_is_scaled_by_the_others_after_its_milestones_too)
    "chained-sequential": lambda s, opt: s.ChainedScheduler([
        s.SequentialLR(opt, [s.ConstantLR(opt, factor=0.5, total_iters=2), s.ExponentialLR(opt, gamma=0.9)],
                       milestones=[3]),
        s.StepLR(opt, step_size=5, gamma=0.5)]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_follow_pytorchs(name):
    assert_same_course(*ours_and_theirs(SCHEDULES[name]))


@pytest.mark.parametrize("options", [{}, {"three_phase": True, "anneal_strategy": "linear"}])
def test_one_cycle_moves_adams_beta1_as_pytorchs(options):
    assert_same_course(*ours_and_theirs(lambda s, opt: s.OneCycleLR(opt, max_lr=0.01, total_steps=30, **options),
                                        optimizer="adam"))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_resume_from_their_state_dict(name):
    build = SCHEDULES[name]
    straight = lrs(build(lr_scheduler, sgd(momentum=0.9, groups=2)), 30)
    first = build(lr_scheduler, sgd(momentum=0.9, groups=2))
    head = lrs(first, 13)
    saved = first.state_dict()
    again = build(lr_scheduler, sgd(momentum=0.9, groups=2))
    again.load_state_dict(saved)
    assert again.last_epoch == 13
    np.testing.assert_array_equal(head + lrs(again, 17), straight)


def test_a_sequential_schedule_in_a_chain_is_scaled_by_the_others_after_its_milestones_too():
    ours, theirs = ours_and_theirs(lambda s, opt: s.ChainedScheduler([
        s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.25, total_iters=3), s.ExponentialLR(opt, gamma=0.5)],
                       milestones=[3]),
        s.StepLR(opt, step_size=2, gamma=0.5)]))
    warmup_then_decay = [0.25, 0.5, 0.75, 1.0, 0.5, 0.25, 0.125, 0.0625]
    halved_every_other_step = [0.5 ** (t // 2) for t in range(8)]
    ours_lrs, theirs_lrs = np.array(lrs(ours, 8)), np.array(lrs(theirs, 8))
    np.testing.assert_allclose(ours_lrs, np.multiply(warmup_then_decay, halved_every_other_step), rtol=1e-15)
    np.testing.assert_allclose(theirs_lrs[:3], ours_lrs[:3], rtol=1e-12)
    # at the milestone PyTorch restarts the decay from the initial lr, and StepLR's 0.5 of step 2 is lost
    np.testing.assert_allclose(theirs_lrs[3:], 2 * ours_lrs[3:], rtol=1e-12)


@pytest.mark.parametrize("schedule", ["LambdaLR", "MultiplicativeLR"])
def test_one_lr_lambda_per_group_and_a_list_of_the_wrong_length_is_refused_as_by_pytorch(schedule):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        getattr(torch.optim.lr_scheduler, schedule)(torch_sgd(torch, 0.0, 2), [lambda t: 1.0] * 3)
    with pytest.raises(ValueError, match=f"{schedule}: lr_lambda lists 3 functions for 2 parameter groups"):
        getattr(lr_scheduler, schedule)(sgd(groups=2), [lambda t: 1.0] * 3)


def test_schedule_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"OneCycleLR needs total_steps, or epochs and steps_per_epoch"):
        lr_scheduler.OneCycleLR(sgd(momentum=0.9), max_lr=0.1)
    with pytest.raises(ValueError, match="OneCycleLR needs total_steps"):
        lr_scheduler.OneCycleLR(sgd(momentum=0.9), max_lr=0.1, epochs=3)
    with pytest.raises(ValueError, match="OneCycleLR: total_steps must be a positive integer, got 0"):
        lr_scheduler.OneCycleLR(sgd(momentum=0.9), max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="OneCycleLR: steps_per_epoch must be a positive integer, got 2.5"):
        lr_scheduler.OneCycleLR(sgd(momentum=0.9), max_lr=0.1, epochs=3, steps_per_epoch=2.5)
    with pytest.raises(ValueError, match=r"OneCycleLR: pct_start must be in \[0, 1\]"):
        lr_scheduler.OneCycleLR(sgd(momentum=0.9), max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear', got 'cosine'"):
        lr_scheduler.OneCycleLR(sgd(momentum=0.9), max_lr=0.1, total_steps=10, anneal_strategy="cosine")
    with pytest.raises(ValueError, match="max_lr lists 3 rates for 2 parameter groups"):
        lr_scheduler.OneCycleLR(sgd(groups=2), max_lr=[0.1, 0.2, 0.3], total_steps=10)
    with pytest.raises(ValueError, match="base_momentum lists 3 values for 2 parameter groups"):
        lr_scheduler.OneCycleLR(sgd(groups=2), max_lr=0.1, total_steps=10, base_momentum=[0.8, 0.8, 0.8])
    with pytest.raises(ValueError, match="needs an optimizer with momentum or betas, and Adagrad has neither"):
        lr_scheduler.OneCycleLR(optim.Adagrad([param()]), max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(optim.Adagrad([param()]), max_lr=0.1, total_steps=10, cycle_momentum=False)
    with pytest.raises(ValueError, match=r"ConstantLR: factor must be in \[0, 1\]"):
        lr_scheduler.ConstantLR(sgd(), factor=1.5)
    with pytest.raises(ValueError, match="PolynomialLR: total_iters must be a positive integer, got 0"):
        lr_scheduler.PolynomialLR(sgd(), total_iters=0)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_0 must be a positive integer, got 0"):
        lr_scheduler.CosineAnnealingWarmRestarts(sgd(), T_0=0)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_mult must be a positive integer, got 1.5"):
        lr_scheduler.CosineAnnealingWarmRestarts(sgd(), T_0=2, T_mult=1.5)


def test_composite_schedule_errors():
    opt, other = sgd(), sgd()
    a, b = lr_scheduler.ConstantLR(opt), lr_scheduler.ExponentialLR(opt, 0.9)
    with pytest.raises(ValueError, match="expected one milestone fewer than schedulers, got 2 schedulers and 2"):
        lr_scheduler.SequentialLR(opt, [a, b], milestones=[2, 4])
    with pytest.raises(ValueError, match=r"milestones must increase, got \[4, 2\]"):
        lr_scheduler.SequentialLR(opt, [a, b, a], milestones=[4, 2])
    with pytest.raises(ValueError, match=r"schedulers\[1\] belongs to another optimizer"):
        lr_scheduler.SequentialLR(opt, [a, lr_scheduler.ExponentialLR(other, 0.9)], milestones=[2])
    with pytest.raises(ValueError, match=r"schedulers\[0\] is a ReduceLROnPlateau"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(opt), b])
    with pytest.raises(ValueError, match="at least one scheduler"):
        lr_scheduler.ChainedScheduler([], optimizer=opt)
    with pytest.raises(ValueError, match=r"schedulers\[1\] is a OneCycleLR, which sets the lr outright"):
        lr_scheduler.ChainedScheduler([a, lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5,
                                                                  cycle_momentum=False)])
    # refused when the chain is built, not once the OneCycleLR's turn comes
    later = lr_scheduler.SequentialLR(opt, [a, lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5,
                                                                       cycle_momentum=False)], milestones=[100])
    with pytest.raises(ValueError, match=r"schedulers\[0\] is a SequentialLR with a OneCycleLR in it, which sets "
                                         "the lr outright"):
        lr_scheduler.ChainedScheduler([later, b])


def test_stepping_one_cycle_past_total_steps_raises_as_pytorchs():
    ours, theirs = ours_and_theirs(lambda s, opt: s.OneCycleLR(opt, max_lr=0.1, total_steps=4))
    for _ in range(4):  # step total_steps times: allowed by both
        ours.optimizer.step(), theirs.optimizer.step()
        ours.step(), theirs.step()
    np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
    with pytest.raises(ValueError, match="total_steps is 4"):
        ours.step()
    with pytest.raises(ValueError, match="total steps is 4"):
        theirs.step()


def test_new_names_are_exported():
    assert {"Adagrad", "NAdam", "RAdam", "Adamax"} <= set(dir(optim))
    assert {"OneCycleLR", "ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "MultiplicativeLR",
            "SequentialLR", "ChainedScheduler"} <= set(dir(lr_scheduler))
