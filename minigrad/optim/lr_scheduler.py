"""Learning-rate schedules: lr at step t = the group's initial lr * factor(t)
(CosineAnnealingLR's floor eta_min is an lr itself, the same for every group).

Call scheduler.step() once after each optimizer.step(). Building a scheduler
already sets the lr for step 0. Each group keeps its own initial lr (saved as
group["initial_lr"]), so layer-wise learning rates keep their ratios while the
schedule moves them all together.

Every schedule here is a function of the step number (PyTorch's closed forms, which
its step-by-step updates lr <- lr * ratio follow; MultiplicativeLR's lr <- lr * lr_lambda(step)
is the product lr_lambda(1) ... lr_lambda(step)), so resuming needs nothing but the
step. SequentialLR runs schedules one after another, ChainedScheduler multiplies them.
PyTorch's step-by-step form also lets two schedulers stepped one after the other multiply;
here the second would overwrite the first, so step() warns where the lr it set last has been
changed since: combine them in a ChainedScheduler instead.
"""
import bisect
import math
import warnings

from minigrad.optim.optimizer import Optimizer


def cosine_between(start, end, fraction):
    """The point `fraction` (0 to 1) of the way from start to end along half a cosine, flat at both ends:

        end + (start - end) (1 + cos(pi fraction)) / 2

    (fraction past 1 goes on along the cosine, back toward start)."""
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


class LRScheduler:
    """The base class: subclasses define factor(step); or lr(base_lr, step, group_index), where the lr is
    not the initial lr times a factor (or the factor depends on the group); or go_to(step), where a step
    sets more than each group's lr from its own (setting the lr through set_lr, which refuses a negative one)."""

    def __init__(self, optimizer):
        check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1  # PyTorch's name; it counts steps
        self.lrs_set = None  # the lrs this schedule set last: step() checks nothing else changed them
        self.step()

    def factor(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define factor(step), lr(base_lr, step, group_index) "
                                  "or go_to(step)")

    def lr(self, base_lr, step, group_index):
        return base_lr * self.factor(step)

    def step(self):
        if self.lrs_set is not None and self.get_last_lr() != self.lrs_set:
            warnings.warn(f"{type(self).__name__}.step(): the lr was changed since this schedule set it (by another "
                          "scheduler, or by hand), and it sets the lr from the step number alone, so that change is "
                          "lost. To apply two schedules together, step one ChainedScheduler([first, second]) (or a "
                          "SequentialLR, for one after the other)", stacklevel=2)
        self.last_epoch += 1
        self.go_to(self.last_epoch)
        self.lrs_set = self.get_last_lr()

    def go_to(self, step):
        """Set each group's lr (and whatever else the schedule moves) to its value at `step`."""
        for i, base_lr in enumerate(self.base_lrs):
            self.set_lr(i, self.lr(base_lr, step, i), step)

    def set_lr(self, group_index, lr, step):
        """Set group group_index's lr: every schedule sets it here, so this one check covers them all.
        A negative lr (a negative gamma or eta_min, an lr_lambda returning -1) would not fail: the
        optimizer would climb the loss instead of descending it. The optimizers refuse one when built;
        this refuses one a schedule computes, at the step it would be set."""
        if not lr >= 0:  # `not >=` also catches NaN
            raise ValueError(f"{type(self).__name__}: the lr of parameter group {group_index} would become {lr} at "
                             f"step {step}; expected an lr >= 0 (a negative one would climb the loss). Check the "
                             "schedule's arguments: a gamma, factor, eta_min or max_lr below 0 (or NaN), or an "
                             "lr_lambda that returns a negative number (or NaN)")
        self.optimizer.param_groups[group_index]["lr"] = lr

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict):
        """Resume: the next step() continues the schedule from the saved step."""
        self.base_lrs = list(state_dict["base_lrs"])
        self.last_epoch = state_dict["last_epoch"] - 1
        self.lrs_set = None  # the optimizer's lrs are the saved run's, not what this schedule set before
        self.step()


class LambdaLR(LRScheduler):
    """factor = lr_lambda(step), for any function of the step number; lr_lambda may also be a list of
    functions, one per parameter group (as in PyTorch)."""

    def __init__(self, optimizer, lr_lambda):
        self.lr_lambdas = per_group(type(self).__name__, "lr_lambda", lr_lambda, optimizer)
        super().__init__(optimizer)

    def lr(self, base_lr, step, group_index):
        return base_lr * self.lr_lambdas[group_index](step)


class MultiplicativeLR(LambdaLR):
    """Each step multiplies the lr by lr_lambda(step), as PyTorch's: from the step number,

        factor = lr_lambda(1) * lr_lambda(2) * ... * lr_lambda(step)    (1 at step 0)

    lr_lambda may be a list of functions, one per parameter group, as for LambdaLR.
    """

    def __init__(self, optimizer, lr_lambda):
        # products[i][t]: group i's factor at step t, kept so that a step costs one call, not t
        self.products = {}
        super().__init__(optimizer, lr_lambda)

    def lr(self, base_lr, step, group_index):
        products, lr_lambda = self.products.setdefault(group_index, [1.0]), self.lr_lambdas[group_index]
        while len(products) <= step:
            products.append(products[-1] * lr_lambda(len(products)))
        return base_lr * products[step]


class StepLR(LRScheduler):
    """factor = gamma ** (step // step_size): multiply the lr by gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        check_positive_int("StepLR", "step_size", step_size)
        check_gamma("StepLR", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma ** (step // self.step_size)


class MultiStepLR(LRScheduler):
    """factor = gamma ** (how many milestones step has reached): drop the lr at chosen steps."""

    def __init__(self, optimizer, milestones, gamma=0.1):
        check_gamma("MultiStepLR", gamma)
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma ** sum(1 for milestone in self.milestones if step >= milestone)


class ExponentialLR(LRScheduler):
    """factor = gamma ** step: multiply the lr by gamma every step."""

    def __init__(self, optimizer, gamma):
        check_gamma("ExponentialLR", gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma ** step


class LinearLR(LRScheduler):
    """factor goes linearly from start_factor to end_factor over total_iters steps, then stays.

    The defaults are PyTorch's: a warmup from 1/3 of the lr to all of it over 5 steps. For a
    linear decay to 0 pass start_factor=1.0, end_factor=0.0, total_iters=steps.
    """

    def __init__(self, optimizer, start_factor=1 / 3, end_factor=1.0, total_iters=5):
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def factor(self, step):
        if self.total_iters == 0:
            # no steps to get there: end_factor from the start. (PyTorch keeps start_factor
            # for ever here, while its own closed form divides by zero: we do not copy that.)
            return self.end_factor
        progress = min(step, self.total_iters) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * progress


class ConstantLR(LRScheduler):
    """factor = the given factor for the first total_iters steps, then 1: a flat warmup.

    PyTorch's defaults: a third of the lr for 5 steps. (The number is kept as constant_factor:
    factor(step) is the method every schedule here has.)
    """

    def __init__(self, optimizer, factor=1 / 3, total_iters=5):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1] (it multiplies the lr), got {factor}")
        self.constant_factor, self.total_iters = factor, total_iters
        super().__init__(optimizer)

    def factor(self, step):
        return self.constant_factor if step < self.total_iters else 1.0


class PolynomialLR(LRScheduler):
    """factor = (1 - step / total_iters) ** power, down to 0 at total_iters, then 0.

    power 1 is a linear decay to zero; power 2 falls fast early and flattens at the end.
    """

    def __init__(self, optimizer, total_iters=5, power=1.0):
        check_positive_int("PolynomialLR", "total_iters", total_iters)
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer)

    def factor(self, step):
        return (1.0 - min(self.total_iters, step) / self.total_iters) ** self.power


class CosineAnnealingLR(LRScheduler):
    """PyTorch's cosine from each group's lr down to eta_min over T_max steps:

        lr = eta_min + (initial lr - eta_min) (1 + cos(pi step / T_max)) / 2

    Past T_max the cosine goes on, back up to the initial lr at 2 T_max, as in PyTorch; to stay at
    the floor (and to warm up first), use WarmupCosineLR.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        if isinstance(T_max, bool) or not T_max > 0:  # PyTorch takes 0 and divides by it at the first step()
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive number of steps (the steps from the "
                             f"initial lr down to eta_min), got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr(self, base_lr, step, group_index):
        return cosine_between(base_lr, self.eta_min, step / self.T_max)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): a cosine from the initial lr down to eta_min over T_0 steps,
    then a jump back up (a warm restart) and a cosine T_mult times as long, and so on:

        lr = eta_min + (initial lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2

    where T_i = T_0 T_mult^i is the length of the cycle that step is in, and T_cur how far into it.
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0):
        check_positive_int("CosineAnnealingWarmRestarts", "T_0", T_0)
        check_positive_int("CosineAnnealingWarmRestarts", "T_mult", T_mult)
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        super().__init__(optimizer)

    def lr(self, base_lr, step, group_index):
        t_cur, t_i = step, self.T_0
        while t_cur >= t_i:  # walk past the finished cycles, in integers: no rounding at a restart
            t_cur -= t_i
            t_i *= self.T_mult
        return cosine_between(base_lr, self.eta_min, t_cur / t_i)


class WarmupCosineLR(LRScheduler):
    """Linear warmup from 0 over warmup_steps, then a cosine from 1 down to min_factor at total_steps.

        factor = step / warmup_steps                                    for step < warmup_steps
        factor = min_factor + (1 - min_factor) (1 + cos(pi progress)) / 2,
                 progress = (step - warmup_steps) / (total_steps - warmup_steps), at most 1

    The schedule of nanoGPT and of Hugging Face's get_cosine_schedule_with_warmup:
    warmup keeps the first, noisy Adam steps small; the cosine anneals at the end.
    """

    def __init__(self, optimizer, warmup_steps, total_steps, min_factor=0.0):
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"WarmupCosineLR needs 0 <= warmup_steps <= total_steps, got {warmup_steps}, {total_steps}")
        self.warmup_steps, self.total_steps, self.min_factor = warmup_steps, total_steps, min_factor
        super().__init__(optimizer)

    def factor(self, step):
        if step < self.warmup_steps:
            return step / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return cosine_between(1.0, self.min_factor, progress)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017), as PyTorch's: the lr rises from max_lr / div_factor
    to max_lr over the first pct_start of total_steps, then anneals to (max_lr / div_factor) /
    final_div_factor; the momentum (beta1 for Adam-like optimizers) moves the other way, from
    max_momentum down to base_momentum at the peak and back.

        three_phase=False:  start -> peak (step pct_start total_steps - 1) -> end (step total_steps - 1)
        three_phase=True:   start -> peak -> start (step 2 pct_start total_steps - 2) -> end

    Each phase goes from one point to the next along a half cosine (anneal_strategy="cos") or a
    line ("linear"). max_lr (and the momenta) may be one number or a list, one per group; the
    optimizer's own lr is not used. step() may be called total_steps times, and no more. The last call
    (after the last optimizer step) goes one step past the end: a cosine turns back up there, as
    PyTorch's; a line stops at the end point, where PyTorch's goes on past it, to a negative lr.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):
        total_steps = one_cycle_total_steps(total_steps, epochs, steps_per_epoch)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1] (the part of the steps spent "
                             f"warming up), got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.final_div_factor = final_div_factor
        self.phases = one_cycle_phases(total_steps, pct_start, three_phase)
        self.max_lrs = per_group("OneCycleLR", "max_lr", max_lr, optimizer)
        for group, top in zip(optimizer.param_groups, self.max_lrs):
            group["initial_lr"] = top / div_factor  # replaced, not setdefault: this schedule sets its own start
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas, "
                                 f"and {type(optimizer).__name__} has neither; pass cycle_momentum=False")
            self.momenta = [{"start": top, "peak": bottom, "end": top} for top, bottom in zip(
                per_group("OneCycleLR", "max_momentum", max_momentum, optimizer),
                per_group("OneCycleLR", "base_momentum", base_momentum, optimizer))]
        super().__init__(optimizer)

    def anneal(self, start, end, fraction):
        """The point `fraction` (0 to 1) of the way from start to end: along a cosine (cosine_between)
        or a line, start + (end - start) fraction. Past 1 (step total_steps) the line stops at end: going
        on would take the lr below end, and below 0."""
        if self.anneal_strategy == "cos":
            return cosine_between(start, end, fraction)
        return (end - start) * min(fraction, 1.0) + start

    def phase_at(self, step):
        """(the point the phase of `step` starts from, the point it goes to, the fraction of it done)."""
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: step() called {step} times, but total_steps is {self.total_steps}; "
                             "build the schedule with the total number of steps of the run")
        start_step = 0.0
        for i, (end_step, start, end) in enumerate(self.phases):
            if step <= end_step or i == len(self.phases) - 1:
                # a phase of no length is over at once (PyTorch divides by zero there)
                fraction = (step - start_step) / (end_step - start_step) if end_step != start_step else 1.0
                return start, end, fraction
            start_step = end_step

    def go_to(self, step):
        start, end, fraction = self.phase_at(step)
        for i, (group, base_lr) in enumerate(zip(self.optimizer.param_groups, self.base_lrs)):
            lrs = {"start": base_lr, "peak": self.max_lrs[i], "end": base_lr / self.final_div_factor}
            self.set_lr(i, self.anneal(lrs[start], lrs[end], fraction), step)
            if self.cycle_momentum:
                momentum = self.anneal(self.momenta[i][start], self.momenta[i][end], fraction)
                if "betas" in group:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum


def one_cycle_total_steps(total_steps, epochs, steps_per_epoch):
    """OneCycleLR's total_steps as given, or else epochs * steps_per_epoch, checked."""
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError("OneCycleLR needs total_steps, or epochs and steps_per_epoch "
                             "(total_steps = epochs * steps_per_epoch); got none of them")
        check_positive_int("OneCycleLR", "epochs", epochs)
        check_positive_int("OneCycleLR", "steps_per_epoch", steps_per_epoch)
        total_steps = epochs * steps_per_epoch
    check_positive_int("OneCycleLR", "total_steps", total_steps)
    return total_steps


def one_cycle_phases(total_steps, pct_start, three_phase):
    """OneCycleLR's phases, each (the step it ends at, the point it starts from, the point it reaches)."""
    peak_step = pct_start * total_steps - 1
    if three_phase:
        return [(peak_step, "start", "peak"), (2 * pct_start * total_steps - 2, "peak", "start"),
                (total_steps - 1, "start", "end")]
    return [(peak_step, "start", "peak"), (total_steps - 1, "peak", "end")]


class CompositeLR(LRScheduler):
    """What SequentialLR and ChainedScheduler share: schedules of one optimizer, saved and loaded along."""

    def __init__(self, optimizer, schedulers):
        self.schedulers = list(schedulers)
        if not self.schedulers:
            raise ValueError(f"{type(self).__name__} needs at least one scheduler, got none")
        for i, scheduler in enumerate(self.schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise ValueError(f"{type(self).__name__}: schedulers[{i}] is a {type(scheduler).__name__}, "
                                 "not a step-driven schedule (ReduceLROnPlateau steps on a metric: step it yourself)")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{type(self).__name__}: schedulers[{i}] belongs to another optimizer; "
                                 "expected every scheduler to be built on the same one")
        super().__init__(optimizer)

    def state_dict(self):
        return {**super().state_dict(), "schedulers": [s.state_dict() for s in self.schedulers]}

    def load_state_dict(self, state_dict):
        for scheduler, saved in zip(self.schedulers, state_dict["schedulers"]):
            scheduler.load_state_dict(saved)
        super().load_state_dict(state_dict)  # last: it sets the lr these would have set


class SequentialLR(CompositeLR):
    """One schedule after another: schedulers[i] takes over at milestones[i - 1] and starts from its own
    step 0 there (a warmup, then a decay: SequentialLR(opt, [LinearLR(...), CosineAnnealingLR(...)], [5])):

        lr(step) = schedulers[i]'s lr at step - milestones[i - 1],   milestones[i - 1] <= step < milestones[i]
    """

    def __init__(self, optimizer, schedulers, milestones):
        self.milestones = list(milestones)
        if len(self.milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected one milestone fewer than schedulers, got {len(schedulers)} "
                             f"schedulers and {len(self.milestones)} milestones")
        if self.milestones != sorted(self.milestones):
            raise ValueError(f"SequentialLR: milestones must increase, got {self.milestones}")
        super().__init__(optimizer, schedulers)

    def turn_at(self, step):
        """(the schedule whose turn it is at step, step counted from where its turn began)."""
        turn = bisect.bisect_right(self.milestones, step)  # how many milestones step has reached
        turn_began = self.milestones[turn - 1] if turn else 0
        return self.schedulers[turn], step - turn_began

    def go_to(self, step):  # the schedule's own go_to: a OneCycleLR's moves the momentum too
        scheduler, own_step = self.turn_at(step)
        scheduler.go_to(own_step)

    def lr(self, base_lr, step, group_index):  # this schedule as a link of a ChainedScheduler
        scheduler, own_step = self.turn_at(step)
        return scheduler.lr(base_lr, own_step, group_index)


class ChainedScheduler(CompositeLR):
    """Several schedules at once: each one's lr rule is applied to the lr the one before it gives,

        lr = s_n.lr(... s_2.lr(s_1.lr(initial lr, step), step) ..., step)

    For schedules that multiply the lr by a factor, that is the initial lr times the product of their
    factors, as in PyTorch (ConstantLR(factor=0.1, total_iters=2) with ExponentialLR(gamma=0.9): 0.1 * 0.9^t,
    then 0.9^t). That holds for StepLR, MultiStepLR, ExponentialLR, LinearLR, ConstantLR, PolynomialLR,
    MultiplicativeLR and, with no eta_min and within T_max, CosineAnnealingLR. PyTorch computes LambdaLR and
    CosineAnnealingWarmRestarts from the initial lr, so in its chain they overwrite what came before; here
    they scale it too. A SequentialLR scales it by the schedule whose turn it is; PyTorch's restarts that
    schedule from the initial lr at each milestone, dropping the factors the others had multiplied in, so
    from there the two differ unless those factors were 1. OneCycleLR sets the lr outright (PyTorch calls it
    not chainable) and is refused, also inside a SequentialLR.
    """

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        for i, scheduler in enumerate(schedulers):
            if sets_lr_outright(scheduler):
                inside = "" if isinstance(scheduler, OneCycleLR) else " with a OneCycleLR in it"
                raise ValueError(f"ChainedScheduler: schedulers[{i}] is a {type(scheduler).__name__}{inside}, which "
                                 "sets the lr outright instead of scaling it; expected schedules that multiply the lr")
        if optimizer is None and schedulers and isinstance(schedulers[0], LRScheduler):  # else CompositeLR says why
            optimizer = schedulers[0].optimizer
        super().__init__(optimizer, schedulers)

    def lr(self, base_lr, step, group_index):
        for scheduler in self.schedulers:
            base_lr = scheduler.lr(base_lr, step, group_index)
        return base_lr


def sets_lr_outright(scheduler):
    """Whether scheduler is a OneCycleLR or runs one (in a SequentialLR): it has no rule that scales
    the lr it is given, for a ChainedScheduler to apply. (Checked when the chain is built: inside a
    SequentialLR it would fail only once its turn came, maybe hours into the run.)"""
    if isinstance(scheduler, CompositeLR):
        return any(sets_lr_outright(inner) for inner in scheduler.schedulers)
    return isinstance(scheduler, OneCycleLR)


class ReduceLROnPlateau:
    """Multiply every group's lr by factor when a watched number (the validation loss) has not
    improved for more than `patience` calls of step(metric), as PyTorch's: a schedule that follows
    the run, not the step count.

        improved:  metric < best * (1 - threshold)   (mode "min", threshold_mode "rel")
                   metric < best - threshold         (mode "min", threshold_mode "abs")
                   metric > best * (1 + threshold)   (mode "max", threshold_mode "rel")
                   metric > best + threshold         (mode "max", threshold_mode "abs")
        after a cut, `cooldown` calls pass before bad calls count again; no lr goes below min_lr,
        and a cut smaller than eps is skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max' and threshold_mode 'rel' or 'abs', "
                             f"got {mode!r}, {threshold_mode!r}")
        if not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1) (it multiplies the lr), got {factor}")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = threshold, threshold_mode, cooldown, eps
        self.min_lrs = per_group("ReduceLROnPlateau", "min_lr", min_lr, optimizer)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.last_epoch = 0

    def improved(self, metric):
        if self.mode == "min":
            bar = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return metric < bar
        bar = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return metric > bar

    def step(self, metric):
        metric = float(metric)
        self.last_epoch += 1
        if self.improved(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {key: getattr(self, key) for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")}

    def load_state_dict(self, state_dict):
        for key, value in state_dict.items():
            setattr(self, key, value)


def check_optimizer(scheduler, optimizer):
    """A schedule moves an optimizer's param_groups: refuse anything else (a model, most often) here,
    not with an AttributeError about param_groups from deep inside."""
    if not isinstance(optimizer, Optimizer):  # a prepared model has param_groups too: not the test
        raise TypeError(f"{scheduler}: expected an optimizer (e.g. mg.optim.SGD(model.parameters(), lr=...)), "
                        f"got a {type(optimizer).__name__}")


def check_gamma(scheduler, gamma):
    """gamma multiplies the lr: below 0 it would turn the lr negative, and the descent into an ascent."""
    if not gamma >= 0:  # `not >=` also catches NaN
        raise ValueError(f"{scheduler}: gamma must be >= 0 (it multiplies the lr), got {gamma}")


def check_positive_int(scheduler, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{scheduler}: {name} must be a positive integer, got {value!r}")


def per_group(scheduler, name, value, optimizer):
    """One value per parameter group: a list or tuple as given, a single value (a number, a function)
    repeated. A list of the wrong length is an error (zip would quietly leave the groups past a short
    one alone)."""
    check_optimizer(scheduler, optimizer)  # per_group runs before LRScheduler.__init__ could check it
    groups = len(optimizer.param_groups)
    if not isinstance(value, (list, tuple)):
        return [value] * groups
    if len(value) != groups:
        kind = "rates" if name.endswith("lr") else "functions" if name == "lr_lambda" else "values"
        raise ValueError(f"{scheduler}: {name} lists {len(value)} {kind} for {groups} parameter groups; "
                         "give one per group, or one for all")
    return list(value)
