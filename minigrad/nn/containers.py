"""Containers: modules that hold other modules, or parameters, registered under their index or key.

What a container holds is registered as if set as an attribute, so its names are
state_dict names: the weight of a ModuleList's first module is "0.weight", a
ParameterList's first parameter is "0", a ParameterDict's parameter is its key.
"""
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor


def check_module(container, value):
    if not isinstance(value, Module):
        raise TypeError(f"{type(container).__name__} holds Modules, got {type(value).__name__}")
    return value


def as_parameter(container, value):
    """value as a Parameter: a plain Tensor is wrapped (sharing its memory), as PyTorch does."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{type(container).__name__} holds Parameters (or Tensors, which become Parameters), "
                        f"got {type(value).__name__}")
    return value if isinstance(value, Parameter) else Parameter(value)


class Sequential(Module):
    """Calls its modules in order, each on the output of the previous one. Sequential(a, b) names
    them "0", "1"; Sequential(OrderedDict(fc=a, act=b)) by their keys, as in PyTorch."""

    def __init__(self, *modules):
        super().__init__()
        named = modules[0].items() if len(modules) == 1 and isinstance(modules[0], dict) else enumerate(modules)
        for name, module in named:
            setattr(self, str(name), check_module(self, module))

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return list(self._modules.values())[index]
        # the slice keeps the children's names ("1", "2", ...), as in PyTorch, so that its
        # state_dict keys are those of the same weights in the whole model's state_dict
        picked = Sequential()
        for name in list(self._modules)[index]:
            setattr(picked, name, self._modules[name])
        return picked

    def __setitem__(self, index, module):  # e.g. model.layers[0] = LinearWithLoRA(model.layers[0])
        name = list(self._modules)[index]  # IndexError when out of range, as for a list
        setattr(self, name, check_module(self, module))

    def append(self, module):
        setattr(self, str(len(self)), check_module(self, module))
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ListContainer(Module):
    """What ModuleList and ParameterList share: entries named "0", "1", ... used as a list.
    A subclass says where the entries live (_entries) and what it accepts (_checked)."""

    def __init__(self, values=()):  # ParameterList's keyword name in PyTorch; ModuleList's is modules
        super().__init__()
        self.extend(values)

    def append(self, value):
        setattr(self, str(len(self)), self._checked(value))
        return self

    def extend(self, values):
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index):
        picked = list(self._entries().values())[index]
        return type(self)(picked) if isinstance(index, slice) else picked  # renumbered from "0", as in PyTorch

    def __setitem__(self, index, value):
        name = list(self._entries())[index]  # IndexError when out of range, as for a list
        setattr(self, name, self._checked(value))

    def __len__(self):
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries().values())


class ModuleList(ListContainer):
    """A list of modules (e.g. the blocks of a transformer), named "0", "1", ..."""

    def __init__(self, modules=()):  # PyTorch's keyword name
        super().__init__(modules)

    def _entries(self):
        return self._modules

    def _checked(self, module):
        return check_module(self, module)


class ParameterList(ListContainer):
    """A list of parameters (e.g. one scale per layer), named "0", "1", ..."""

    def _entries(self):
        return self._parameters

    def _checked(self, value):
        return as_parameter(self, value)


class DictContainer(Module):
    """What ModuleDict and ParameterDict share: entries named by their (string) keys, used as a dict.
    A subclass says where the entries live (_entries), what it accepts (_checked) and what it
    calls them (entry, for the messages)."""

    def __init__(self, entries=None):
        super().__init__()
        self.update(entries or {})

    def update(self, entries):
        """Add (or replace) the entries of a dict, or of an iterable of (key, value) pairs."""
        for key, value in dict(entries).items():
            self[key] = value

    def __getitem__(self, key):
        return self._entries()[key]

    def __setitem__(self, key, value):
        # keys become attribute names and parts of dotted state_dict names: a key such as
        # "training" or "forward" would overwrite the module's own attribute, and "a.b" would
        # give names that load_state_dict cannot tell apart from a nested module's
        kind = type(self).__name__
        if not isinstance(key, str):
            raise TypeError(f"{kind} keys must be strings, got {type(key).__name__}")
        if key not in self._entries() and hasattr(self, key):
            raise KeyError(f"{kind} key {key!r}: attribute {key!r} already exists; pick another key")
        if "." in key:
            raise KeyError(f"{kind} key {key!r}: {self.entry} name can't contain '.'")
        if not key:
            raise KeyError(f"{kind} key '': {self.entry} name can't be empty")
        setattr(self, key, self._checked(value))

    def __contains__(self, key):
        return key in self._entries()

    def __len__(self):
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries())

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()


class ModuleDict(DictContainer):
    """A dict of modules (e.g. one head per task), named by their keys."""

    entry = "module"

    def __init__(self, modules=None):  # PyTorch's keyword name
        super().__init__(modules)

    def _entries(self):
        return self._modules

    def _checked(self, module):
        return check_module(self, module)


class ParameterDict(DictContainer):
    """A dict of parameters (e.g. one learned vector per task), named by their keys."""

    entry = "parameter"

    def __init__(self, parameters=None):  # PyTorch's keyword name
        super().__init__(parameters)

    def _entries(self):
        return self._parameters

    def _checked(self, value):
        return as_parameter(self, value)
