"""Containers: modules that hold other modules, or parameters, registered under their index or key.

What a container holds is registered as if set as an attribute, so its names are
state_dict names: the weight of a ModuleList's first module is "0.weight", a
ParameterList's first parameter is "0", a ParameterDict's parameter is its key.
Deleting or inserting in a list renames the entries after it by their new positions,
as PyTorch does: after `del model.layers[0]`, the old "layers.1.weight" is "layers.0.weight".
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


class Container(Module):
    """What every container here shares. HoldsModules or HoldsParameters says where its entries live
    (_entries: the registry, self._modules or self._parameters, that makes them part of the tree) and
    what it accepts (_checked)."""

    def __len__(self):
        return len(self._entries())

    def pop(self, key):
        """Remove the entry at key (a list's index, or a dict's key) and return it."""
        value = self[key]
        del self[key]
        return value


class ListContainer(Container):
    """What Sequential, ModuleList and ParameterList share: entries named "0", "1", ... used as a list."""

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

    __iadd__ = extend  # layers += [block, block]

    def __add__(self, other):
        """A new container of this one's entries, then other's, numbered from "0"."""
        return type(self)().extend(self).extend(other)

    def insert(self, index, value):
        """Put value at position index (negative counts from the end; len(self) appends)."""
        if not -len(self) <= index <= len(self):  # list.insert would quietly append, or put it first
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range for {len(self)} entries")
        values = list(self)
        values.insert(index, self._checked(value))
        self._renumber(values)

    def __delitem__(self, index):  # an index or a slice
        values = list(self)
        del values[index]  # IndexError when out of range, as for a list
        self._renumber(values)

    def _renumber(self, values):
        """Hold exactly values, named "0", "1", ... in order: the names stay the positions."""
        for name in list(self._entries()):
            delattr(self, name)
        self.extend(values)

    def __getitem__(self, index):
        picked = list(self._entries().values())[index]
        return type(self)(picked) if isinstance(index, slice) else picked  # renumbered from "0", as in PyTorch

    def __setitem__(self, index, value):
        name = list(self._entries())[index]  # IndexError when out of range, as for a list
        setattr(self, name, self._checked(value))

    def __iter__(self):
        return iter(self._entries().values())


class HoldsModules:
    """A container of modules: its entries are its submodules, and it takes only Modules."""

    def _entries(self):
        return self._modules

    def _checked(self, module):
        return check_module(self, module)


class HoldsParameters:
    """A container of parameters: its entries are its parameters, and a tensor given becomes one."""

    def _entries(self):
        return self._parameters

    def _checked(self, value):
        return as_parameter(self, value)


class ModuleList(HoldsModules, ListContainer):
    """A list of modules (e.g. the blocks of a transformer), named "0", "1", ..."""

    def __init__(self, modules=()):  # PyTorch's keyword name
        super().__init__(modules)


class ParameterList(HoldsParameters, ListContainer):
    """A list of parameters (e.g. one scale per layer), named "0", "1", ..."""


class Sequential(HoldsModules, ListContainer):
    """Calls its modules in order, each on the output of the previous one. Sequential(a, b) names
    them "0", "1"; Sequential(OrderedDict(fc=a, act=b)) by their keys, until a delete or an insert
    renames them all "0", "1", ... (all as in PyTorch)."""

    def __init__(self, *modules):
        super().__init__()
        named = modules[0].items() if len(modules) == 1 and isinstance(modules[0], dict) else enumerate(modules)
        for name, module in named:
            setattr(self, str(name), check_module(self, module))

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return super().__getitem__(index)
        # the slice keeps the children's names ("1", "2", ...), as in PyTorch, so that its
        # state_dict keys are those of the same weights in the whole model's state_dict
        picked = Sequential()
        for name in list(self._modules)[index]:
            setattr(picked, name, self._modules[name])
        return picked


class DictContainer(Container):
    """What ModuleDict and ParameterDict share: entries named by their (string) keys, used as a dict.
    A subclass also says what it calls them (entry, for the messages)."""

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

    def __delitem__(self, key):
        if key not in self._entries():  # else delattr would remove an attribute such as "training"
            raise KeyError(key)
        delattr(self, key)

    def clear(self):
        for key in list(self):
            del self[key]

    def __contains__(self, key):
        return key in self._entries()

    def __iter__(self):
        return iter(self._entries())

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()


class ModuleDict(HoldsModules, DictContainer):
    """A dict of modules (e.g. one head per task), named by their keys."""

    entry = "module"

    def __init__(self, modules=None):  # PyTorch's keyword name
        super().__init__(modules)


class ParameterDict(HoldsParameters, DictContainer):
    """A dict of parameters (e.g. one learned vector per task), named by their keys."""

    entry = "parameter"

    def __init__(self, parameters=None):  # PyTorch's keyword name
        super().__init__(parameters)
