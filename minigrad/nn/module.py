"""Module: the base class of every layer and model.

A Module is a tree. Setting an attribute to a Parameter or to another Module
registers it (see __setattr__), so the tree knows every weight by a dotted name
such as "blocks.0.attn.weight" without any bookkeeping in the subclass:

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 16)   # a submodule, named "hidden"
            self.out = nn.Linear(16, 1)      # its weight is "out.weight"

        def forward(self, x):
            return self.out(self.hidden(x).relu())

Those names are what state_dict() saves, what load_state_dict() checks and
what fine-tuning uses to choose which parameters train. A buffer
(register_buffer) is a tensor the module keeps but does not train, such as a
causal mask: it is saved and moved with the parameters, and never optimized.

Hooks let code outside a module watch or change what goes through it without
editing its forward (record activations, check shapes, patch an input):

    handle = model.hidden.register_forward_hook(lambda module, args, output: print(output.shape))
    model(x)          # prints the hidden layer's output shape
    handle.remove()
"""
import warnings
from collections import namedtuple
from pathlib import PurePath

from minigrad import backend
from minigrad.grad_mode import no_grad
from minigrad.hooks import add_hook
from minigrad.nn.parameter import Parameter
from minigrad.nn.summary import count_parameters
from minigrad.tensor import Tensor, cuda_device, device_and_dtype

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def check_attribute_name(caller, what, name):
    """A name given at run time becomes an attribute and a part of dotted state_dict names: it must be a
    non-empty string without '.' (which would read as a submodule's name)."""
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{caller}: {what} name {name!r} must be a non-empty string without '.'")


def trainable(value):
    """Whether value holds weights an optimizer should see: a module, or a leaf tensor that requires grad (a
    computed one, such as an activation kept for a plot, is not a weight)."""
    return isinstance(value, Module) or (isinstance(value, Tensor) and value.requires_grad and value.is_leaf)


def warn_if_unregistered(module, name, value):
    """Warn where self.<name> = value keeps weights without registering them, the classic silent bug: a
    Python list of layers, or a plain tensor that requires grad, is never in parameters() (so the optimizer
    never updates it), state_dict() or .to(). PyTorch says nothing; a teaching framework names the fix.
    Called only for lists, tuples, dicts and tensors, so other attributes cost one isinstance."""
    where = f"{type(module).__name__}.{name}"
    if isinstance(value, Tensor):
        if trainable(value):
            warnings.warn(f"{where} is set to a plain Tensor that requires grad, which is not registered: it will "
                          "not be in parameters() (the optimizer never updates it) nor in state_dict(); wrap it, "
                          f"self.{name} = nn.Parameter(tensor)", UserWarning, stacklevel=3)
        return
    held = next((item for item in (value.values() if isinstance(value, dict) else value) if trainable(item)), None)
    if held is not None:
        kind = "Module" if isinstance(held, Module) else "Parameter"
        container = f"nn.{kind}{'Dict' if isinstance(value, dict) else 'List'}"
        warnings.warn(f"{where} is set to a Python {type(value).__name__} holding {kind.lower()}s, which registers "
                      "none of them, so their weights will not be in parameters() (the optimizer never updates "
                      f"them), state_dict() or .to(); use self.{name} = {container}(...) instead", UserWarning,
                      stacklevel=3)


class Module:
    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these registries to exist already
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_forward_pre_hooks", {})  # {handle: hook}, called in the order registered
        object.__setattr__(self, "_forward_hooks", {})
        self.training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)  # no hooks, the usual case: the check above is all they cost

    # ---- hooks: functions called around forward, from outside the module ---------------------
    def register_forward_pre_hook(self, hook):
        """Call hook(module, args) before each forward; if it returns something, that replaces the
        positional args (a value that is not a tuple counts as a 1-tuple), as PyTorch."""
        return add_hook(self._forward_pre_hooks, hook, "register_forward_pre_hook")

    def register_forward_hook(self, hook):
        """Call hook(module, args, output) after each forward; if it returns something, that
        replaces the output, as PyTorch."""
        return add_hook(self._forward_hooks, hook, "register_forward_hook")

    def _call_with_hooks(self, args, kwargs):
        # list(...): a hook may remove itself (or another) while the hooks are being called
        for hook in list(self._forward_pre_hooks.values()):
            new_args = hook(self, args)
            if new_args is not None:
                args = new_args if isinstance(new_args, tuple) else (new_args,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            new_output = hook(self, args, output)
            if new_output is not None:
                output = new_output
        return output

    # ---- registration: attributes that are Parameters or Modules join the tree -----
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot set {name!r} before Module.__init__() ran: call super().__init__() first "
                f"in {type(self).__name__}.__init__"
            )
        registry = self._registry_for(name, value)
        for other in (self._parameters, self._modules, self._buffers, self.__dict__):
            if other is not registry:
                other.pop(name, None)  # a name lives in one place only
        if registry is None:
            if isinstance(value, (list, tuple, dict, Tensor)):  # the only values that can hide weights
                warn_if_unregistered(self, name, value)
            object.__setattr__(self, name, value)
        else:
            registry[name] = value  # an existing name keeps its place in the order

    def _registry_for(self, name, value):
        """Where self.<name> = value goes, as in PyTorch: a Parameter or a Module joins its registry; a
        name already registered stays there, holding None (an empty place: a Linear without bias, a
        cache not filled yet) or a value of its kind, anything else being an error; the rest are plain
        attributes (None here)."""
        if isinstance(value, Parameter):
            return self._parameters
        if name in self._parameters:
            if isinstance(value, Tensor):
                raise TypeError(f"cannot assign a plain Tensor to parameter {name!r}: wrap it in nn.Parameter(...), "
                                f"or change the values in place with `with mg.no_grad(): self.{name}.copy_(...)`")
            kind = "nn.Parameter"
        elif isinstance(value, Module):
            return self._modules
        elif name in self._modules:
            kind = "nn.Module"
        elif name in self._buffers:
            if isinstance(value, Tensor):
                return self._buffers
            kind = "Tensor"
        else:
            return None
        if value is not None:
            raise TypeError(f"cannot assign a {type(value).__name__} to {name!r}, which holds a {kind}: "
                            f"expected a {kind} or None (del self.{name} first, to make it something else)")
        return next(r for r in (self._parameters, self._modules, self._buffers) if name in r)

    def __getattr__(self, name):  # only called when normal lookup fails
        for registry in ("_parameters", "_modules", "_buffers"):
            if name in self.__dict__.get(registry, {}):
                return self.__dict__[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for registry in (self._parameters, self._modules, self._buffers):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def add_module(self, name, module):
        """self.<name> = module, for a name made at run time (as PyTorch's add_module); None keeps the
        place in the order, empty, for a module set there later."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module (or None), got {type(module).__name__}")
        self._register("add_module", "module", self._modules, name, module)

    register_module = add_module

    def register_parameter(self, name, param):
        """self.<name> = param, a Parameter (or None: no parameter there, as a Linear without bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter (or None), got {type(param).__name__}")
        self._register("register_parameter", "parameter", self._parameters, name, param)

    def _register(self, caller, what, registry, name, value):
        """registry[name] = value, for add_module, register_parameter and register_buffer: value None keeps
        an empty place in the order, for one set later. As in PyTorch, a name that is already something
        else (an attribute such as training or forward, or a parameter where a module goes) is refused."""
        check_attribute_name(caller, what, name)
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"{caller}: attribute {name!r} already exists")
        registry[name] = value

    def get_submodule(self, target):
        """The module at a dotted path below this one ("blocks.0.attn"; "" is this module itself)."""
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"get_submodule: {type(module).__name__} has no submodule {part!r} "
                                     f"(looking for {target!r})")
            if module._modules[part] is None:
                raise AttributeError(f"get_submodule: {part!r} of {type(module).__name__} is an empty place (None), "
                                     f"not a module (looking for {target!r})")
            module = module._modules[part]
        return module

    def get_parameter(self, target):
        """The Parameter at a dotted path below this module ("blocks.0.attn.weight"), as PyTorch's."""
        module, name = self._owner_of("get_parameter", target)
        if not isinstance(module._parameters.get(name), Parameter):  # an empty place (None) is not one either
            raise AttributeError(f"get_parameter: {name!r} of {type(module).__name__} is not an nn.Parameter "
                                 f"(looking for {target!r})")
        return module._parameters[name]

    def get_buffer(self, target):
        """The buffer at a dotted path below this module ("blocks.0.attn.mask"), as PyTorch's (None for
        a place registered empty)."""
        module, name = self._owner_of("get_buffer", target)
        if name not in module._buffers:
            raise AttributeError(f"get_buffer: {name!r} of {type(module).__name__} is not a buffer "
                                 f"(looking for {target!r})")
        return module._buffers[name]

    def _owner_of(self, caller, target):
        """(module, name) for the dotted path to an attribute: "blocks.0.attn.weight" -> (that attn, "weight")."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{caller}: {type(module).__name__} has no attribute {name!r} "
                                 f"(looking for {target!r})")
        return module, name

    def register_buffer(self, name, tensor, persistent=True):
        """Keep tensor as self.<name>: saved in state_dict() (unless persistent=False) and moved by
        to(), but not a parameter, so no optimizer changes it (a causal mask, running statistics).
        None keeps the place for a tensor set later (self.<name> = tensor is then a buffer)."""
        if tensor is not None and (not isinstance(tensor, Tensor) or isinstance(tensor, Parameter)):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor (not a Parameter) or None, "
                            f"got {type(tensor).__name__}")
        self._register("register_buffer", "buffer", self._buffers, name, tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    # ---- walking the tree ------------------------------------------------------------
    def named_modules(self, prefix="", remove_duplicate=True):
        """(dotted name, module) for this module ("") and every module below it, each once (a module
        held under two names, under its first), or under each of its names if remove_duplicate=False."""
        seen, stack = set(), [(prefix, self)]
        while stack:  # depth-first, children in the order they were set
            name, module = stack.pop()
            if remove_duplicate and id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_children(self):
        """(name, module) of each direct child, in the order they were set (empty places skipped)."""
        return ((name, module) for name, module in self._modules.items() if module is not None)

    def children(self):
        return (module for _, module in self.named_children())

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) for every parameter in the tree, or only this module's own if
        recurse=False; prefix starts every name ("model" -> "model.out.weight").

        A parameter shared by two modules (tied weights) is listed once, under
        its first name, unless remove_duplicate=False.
        """
        return self._named_tensors("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every parameter of the tree, each once; recurse=False: only this module's own."""
        return (param for _, param in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Tensor) for every buffer, with the same arguments as named_parameters."""
        return self._named_tensors("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (buffer for _, buffer in self.named_buffers(recurse=recurse))

    def _named_tensors(self, registry, prefix, recurse, remove_duplicate):
        """named_parameters and named_buffers: the tensors of each module's registry ("_parameters" or
        "_buffers") in the tree, or in this module only if not recurse, empty places skipped."""
        modules = self.named_modules(prefix, remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in modules:
            for name, tensor in getattr(module, registry).items():
                if tensor is None or (remove_duplicate and id(tensor) in seen):
                    continue
                seen.add(id(tensor))
                yield (f"{module_name}.{name}" if module_name else name), tensor

    def apply(self, fn):
        """Call fn(module) on every module of the tree (e.g. a custom initialisation), children before
        their parent, as PyTorch does: a parent's fn sees its children already done."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ---------------------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout active); train(False) is eval(). Each child's own train(mode) sets its
        subtree, as in PyTorch, so a module that overrides train (to keep a frozen part in eval) is obeyed."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze (True) every parameter of the tree."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (backward() adds into .grad); set_to_none=False keeps zeros."""
        for param in self.parameters():
            param._forget_grad(set_to_none)

    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """Move every parameter and buffer to a device ("cpu", "cuda", "cuda:0" or an mg.device) and/or
        cast the floating ones to a float dtype, in place, as PyTorch: model.to("cuda"),
        model.to(mg.float64), model.to("cuda", mg.float64), model.to(device=..., dtype=...), or
        model.to(tensor) (its device and dtype). non_blocking is accepted and ignored."""
        device, dtype = device_and_dtype("nn.Module.to", args, device, dtype)
        if dtype is not None and not backend.is_floating(dtype):  # integer weights would be truncated and untrainable
            raise TypeError(f"nn.Module.to only accepts floating point dtypes (or a device), got {dtype.name}")

        def convert(array):
            if device is not None:
                array = backend.as_array(array, device=device)
            if dtype is not None and backend.is_floating(array.dtype) and array.dtype != dtype:
                array = array.astype(dtype)  # masks and integer buffers stay as they are
            return array

        for param in self.parameters():
            param.data = convert(param.data)  # a parameter is a leaf: replacing its array is safe
            if param.grad is not None:
                param.grad = Tensor._from_array(convert(param.grad.data))
        for buffer in self.buffers():
            buffer.data = convert(buffer.data)
        return self

    def float(self):
        """Floating parameters and buffers as float32, in place."""
        return self.to(dtype=backend.float32)

    def double(self):
        """Floating parameters and buffers as float64, in place (for gradcheck, say)."""
        return self.to(dtype=backend.float64)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        """Onto the GPU; device may be None, 0, "cuda", "cuda:0" or mg.device("cuda"): minigrad's one GPU."""
        return self.to(cuda_device(device))

    # ---- checkpoints -----------------------------------------------------------------
    def _checkpoint_tensors(self):
        """{dotted name: Tensor} of what a checkpoint holds: every parameter and persistent buffer,
        tied ones (or a whole module held twice) under each of their names, in PyTorch's order: each
        module's own parameters, then its own buffers, then its children's (depth first, in the order
        they were set)."""
        tensors = {}
        for module_name, module in self.named_modules(remove_duplicate=False):
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    tensors[prefix + name] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    tensors[prefix + name] = buffer
        return tensors

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """{dotted name: Tensor} for every parameter (tied ones under each of their names) and
        persistent buffer, in PyTorch's order (see _checkpoint_tensors).

        The tensors share memory with the parameters: copy them to keep a snapshot. As in PyTorch,
        prefix is put before every name as it is ("model." -> "model.out.bias": give it its dot),
        destination is a dict to add them to (and return) instead of a new one, and keep_vars=True
        gives the Parameters and buffers themselves (requires_grad and all) instead of detached views.
        """
        destination = {} if destination is None else destination
        for name, tensor in self._checkpoint_tensors().items():
            destination[prefix + name] = tensor if keep_vars else tensor.detach()
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy the values of state_dict into the parameters, checking everything first.

        Missing keys (strict only), unexpected keys (strict only), wrong shapes and
        values of another kind (integers for floats, floats for an integer buffer) are all
        reported together in one error, and then nothing is loaded. Floats of another
        precision (float64 weights into a float32 model) are converted, as PyTorch does.
        Returns (missing_keys, unexpected_keys), as PyTorch does.
        """
        if not isinstance(state_dict, dict):
            path = isinstance(state_dict, (str, PurePath))
            hint = "; a path: load it first, model.load_state_dict(mg.load(path))" if path else ""
            raise TypeError(f"load_state_dict: expected a dict of tensors, such as model.state_dict() or mg.load(path), "
                            f"got {type(state_dict).__name__}{hint}")
        own = self._checkpoint_tensors()
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys (in the model, not in the checkpoint): {', '.join(missing)}")
        if strict and unexpected:
            nested = [name for name in unexpected if isinstance(state_dict[name], dict)]
            whole = f" (a whole checkpoint? pass its model's part, e.g. checkpoint[{nested[0]!r}])" if nested else ""
            problems.append(f"unexpected keys (in the checkpoint, not in the model): {', '.join(unexpected)}{whole}")
        for name, value in state_dict.items():
            if name not in own:
                continue
            value = value.data if isinstance(value, Tensor) else value
            if not backend.is_array(value):
                kind = type(value)  # named with its module where it has one: torch.Tensor, not Tensor
                where = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
                problems.append(f"{name}: expected a tensor, got {where}{kind.__name__}")
            elif tuple(value.shape) != own[name].shape:
                problems.append(f"{name}: checkpoint shape {tuple(value.shape)}, model shape {own[name].shape}")
            elif value.dtype != own[name].dtype and not (backend.is_floating(value.dtype)
                                                         and backend.is_floating(own[name].dtype)):
                problems.append(f"{name}: checkpoint dtype {value.dtype.name}, model dtype {own[name].dtype.name}")
        if problems:
            raise RuntimeError(
                f"load_state_dict: the checkpoint does not fit {type(self).__name__}; nothing was loaded.\n  "
                + "\n  ".join(problems)
            )
        with no_grad():
            for name, value in state_dict.items():
                if name in own:
                    value = value.data if isinstance(value, Tensor) else value
                    own[name].copy_(backend.as_array(value, device=own[name].device).astype(own[name].dtype, copy=False))
        return IncompatibleKeys(missing, unexpected)

    # ---- printing --------------------------------------------------------------------
    def extra_repr(self):
        """The constructor arguments shown between the parentheses, e.g. "in_features=2"."""
        return ""

    def __repr__(self):
        """The tree, one module a line, each with its parameter count:

        MLP(  # 65 params
          (hidden): Linear(in_features=2, out_features=16, bias=True)  # 48 params
          ...
        """
        count = parameter_count_comment(self)
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()}){count}"
        lines = [f"{type(self).__name__}({self.extra_repr()}{count}"]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return "\n".join(lines) + "\n)"


def parameter_count_comment(module):
    trainable, total = count_parameters(module)
    if total == 0:
        return ""
    frozen = "" if trainable == total else f" ({trainable:,} trainable)"
    return f"  # {total:,} params{frozen}"
