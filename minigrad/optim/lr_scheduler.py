"""Learning-rate schedules: lr at step t = the group's initial lr * factor(t)
(CosineAnnealingLR's floor eta_min is an lr itself, the same for every group).

Call scheduler.step() once after each optimizer.step(). Building a scheduler
already sets the lr for step 0. Each group keeps its own initial lr (saved as
group["initial_lr"]), so layer-wise learning rates keep their ratios while the
schedule moves them all together.
"""
import math


class LRScheduler:
    """The base class: subclasses define factor(step)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1  # PyTorch's name; it counts steps
        self.step()

    def factor(self, step):
        raise NotImplementedError

    def lr(self, base_lr, step):
        return base_lr * self.factor(step)

    def step(self):
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr(base_lr, self.last_epoch)

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict):
        """Resume: the next step() continues the schedule from the saved step."""
        self.base_lrs = list(state_dict["base_lrs"])
        self.last_epoch = state_dict["last_epoch"] - 1
        self.step()


class LambdaLR(LRScheduler):
    """factor = lr_lambda(step), for any function of the step number."""

    def __init__(self, optimizer, lr_lambda):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def factor(self, step):
        return self.lr_lambda(step)


class StepLR(LRScheduler):
    """factor = gamma ** (step // step_size): multiply the lr by gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma ** (step // self.step_size)


class MultiStepLR(LRScheduler):
    """factor = gamma ** (how many milestones step has reached): drop the lr at chosen steps."""

    def __init__(self, optimizer, milestones, gamma=0.1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma ** sum(1 for milestone in self.milestones if step >= milestone)


class ExponentialLR(LRScheduler):
    """factor = gamma ** step: multiply the lr by gamma every step."""

    def __init__(self, optimizer, gamma):
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


class CosineAnnealingLR(LRScheduler):
    """PyTorch's cosine from each group's lr down to eta_min over T_max steps:

        lr = eta_min + (initial lr - eta_min) (1 + cos(pi step / T_max)) / 2

    Past T_max the cosine goes on, back up to the initial lr at 2 T_max, as in PyTorch; to stay at
    the floor (and to warm up first), use WarmupCosineLR.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr(self, base_lr, step):
        return self.eta_min + (base_lr - self.eta_min) * 0.5 * (1 + math.cos(math.pi * step / self.T_max))


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
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


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
        groups = optimizer.param_groups
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        if len(self.min_lrs) != len(groups):  # zip would leave the groups past the list never cut
            raise ValueError(f"ReduceLROnPlateau: min_lr lists {len(self.min_lrs)} rates for {len(groups)} "
                             "parameter groups; give one per group, or one number for all")
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
