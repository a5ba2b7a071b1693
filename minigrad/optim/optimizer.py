"""Optimizer: the loop every optimizer shares; subclasses write one update.

Parameters come in groups, each a dict with its own hyperparameters:

    optim.AdamW([
        {"params": body.parameters(), "lr": 1e-4},
        {"params": head.parameters()},            # uses the default lr below
    ], lr=1e-3, weight_decay=0.01)

step() visits every parameter that requires grad and has a gradient, and calls
the subclass's update(param, grad, state, group) under no_grad, where `grad` is
the gradient array and `state` the parameter's own dict (momentum buffers and
the like). A parameter that is frozen or got no gradient is not touched at all.

Hyperparameters are checked when a group is added, as PyTorch checks them:
a negative lr or a beta of 1 would not fail, it would quietly train wrong.
"""
from minigrad import backend
from minigrad.grad_mode import no_grad
from minigrad.tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = defaults
        self.param_groups = []
        self.state = {}  # param -> its dict of buffers (keys compare by identity)
        name = type(self).__name__
        if isinstance(params, Tensor):  # iterating over it would give its rows, and an error about those
            raise TypeError(f"{name} takes an iterable of Tensors (or of param-group dicts), got a single "
                            f"{type(params).__name__}; pass a list of it, {name}([w], lr=...), or model.parameters()")
        if hasattr(params, "parameters"):  # a Module, not its parameters
            raise TypeError(f"{name} got a {type(params).__name__}; pass its parameters: "
                            f"{name}(model.parameters(), lr=...)")
        groups = list(params)
        if not groups:
            # a generator (model.parameters() is one) runs once: a second optimizer given it gets nothing
            used_up = "" if iter(params) is not params else (  # an iterator is its own iter()
                " (model.parameters() is a generator: if an earlier optimizer used it up, call it again)")
            raise ValueError(f"{name} got an empty list of parameters{used_up}")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a group of parameters; hyperparameters it leaves out take the defaults."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        name = type(self).__name__
        in_other_groups = {id(q) for g in self.param_groups for q in g["params"]}
        in_this_group = set()  # ids: one pass over the parameters, not one per pair of them
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} optimizes Tensors, got {type(p).__name__}")
            if not p.is_leaf:  # its .grad stays None: step() would never change it
                raise ValueError(f"{name} can't optimize a tensor an op made ({p.grad_fn.name()}): its gradient "
                                 "flows on to its inputs; make it a leaf, e.g. (mg.randn(2, 2) * 0.1).requires_grad_(), "
                                 "or mg.nn.Parameter(...)")
            if id(p) in in_this_group:  # step() would update it twice
                raise ValueError(f"{name}: parameter {i} of a group is listed twice in it")
            if id(p) in in_other_groups:
                raise ValueError("a parameter appears in more than one parameter group")
            in_this_group.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown options {sorted(unknown)} in a parameter group")
        group = {**self.defaults, **group, "params": params}
        check_hyperparameters(type(self).__name__, group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: backward() adds into .grad. set_to_none=False keeps each as zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                p._forget_grad(set_to_none)

    def step(self):
        with no_grad():
            for g, group in enumerate(self.param_groups):
                for i, p in enumerate(group["params"]):
                    if p.requires_grad and p.grad is not None:
                        if p.grad.data.shape != p.data.shape:  # the update would broadcast it silently
                            raise RuntimeError(f"{type(self).__name__}.step: parameter {i} of group {g} has shape "
                                               f"{p.shape} but its .grad has shape {p.grad.shape}; "
                                               "expected a gradient of the parameter's shape")
                        self.update(p, p.grad.data, self.state.setdefault(p, {}), group)

    def update(self, param, grad, state, group):
        raise NotImplementedError

    # ---- resuming ------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {name: Tensor or number}}, "param_groups": [...]}, as in PyTorch.

        Parameters are referred to by their position across the groups, so the
        dict can be loaded into a new optimizer built over the same model.
        Buffers are copied, so later steps don't change a saved state.
        """
        index = {id(p): i for i, p in enumerate(self.all_params())}
        state = {
            index[id(p)]: {k: Tensor._from_array(v.copy()) if backend.is_array(v) else v for k, v in s.items()}
            for p, s in self.state.items()
        }
        groups = [{**g, "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and buffers saved by state_dict(), after checking they fit."""
        groups = state_dict["param_groups"]
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(
                "load_state_dict: the saved optimizer has groups of sizes "
                f"{[len(g['params']) for g in groups]}, this one {[len(g['params']) for g in self.param_groups]}"
            )
        params = self.all_params()
        for i, buffers in state_dict["state"].items():
            for name, value in buffers.items():
                if isinstance(value, Tensor) and value.shape != params[i].shape:
                    raise ValueError(f"load_state_dict: buffer {name!r} of parameter {i} has shape "
                                     f"{value.shape}, the parameter {params[i].shape}")
        for own, saved in zip(self.param_groups, groups):
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {
            params[i]: {k: backend.as_array(v.data, params[i].dtype, params[i].device).copy()
                        if isinstance(v, Tensor) else v for k, v in buffers.items()}
            for i, buffers in state_dict["state"].items()
        }

    def all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in group.items() if k != "params"]
        return "\n".join(lines) + "\n)"


NON_NEGATIVE = ("lr", "eps", "momentum", "weight_decay", "alpha", "lr_decay", "initial_accumulator_value",
                "momentum_decay")


def check_hyperparameters(optimizer, group):
    """Raise a ValueError naming the first option of group outside the range PyTorch accepts."""
    for name in NON_NEGATIVE:
        if name in group and not group[name] >= 0:  # `not >=` also catches NaN
            raise ValueError(f"{optimizer}: {name} must be >= 0, got {group[name]}")
    if "betas" in group and len(group["betas"]) != 2:
        raise ValueError(f"{optimizer}: betas must be a pair (beta1, beta2), got {group['betas']!r}")
    for i, beta in enumerate(group.get("betas", ())):
        if not 0 <= beta < 1:  # beta = 1: the running average never moves and the bias correction divides by 0
            raise ValueError(f"{optimizer}: betas[{i}] must be in [0, 1), got {beta}")


# ---- pieces of update rules that several optimizers share ------------------------------------------
def weight_decayed(p, g, group, decoupled=False):
    """The gradient to step with after weight decay (none if group["weight_decay"] is 0):

        L2 (decoupled=False):  g + weight_decay p   (the gradient of the penalty weight_decay |p|^2 / 2)
        decoupled (AdamW's):   p <- p (1 - lr weight_decay) now, and g as it is
    """
    decay = group["weight_decay"]
    if not decay:
        return g
    if decoupled:
        p.mul_(1 - group["lr"] * decay)
        return g
    return g + decay * p.data


def running_average_(average, value, beta, squared=False):
    """average <- beta average + (1 - beta) value (value^2 if squared), in place: an exponential moving
    average whose memory is about 1 / (1 - beta) steps. The square is rounded as ((1 - beta) value) value,
    the order of PyTorch's addcmul_ (and of minigrad's results so far: the same numbers run after run)."""
    average *= beta
    step = (1 - beta) * value
    average += step * value if squared else step
