"""Containers: modules that hold other modules, registered under their index or key."""
from minigrad.nn.module import Module


def check_module(container, value):
    if not isinstance(value, Module):
        raise TypeError(f"{type(container).__name__} holds Modules, got {type(value).__name__}")
    return value


class Sequential(Module):
    """Calls its modules in order, each on the output of the previous one."""

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            setattr(self, str(i), check_module(self, module))

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

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules (e.g. the blocks of a transformer), named "0", "1", ..."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def append(self, module):
        setattr(self, str(len(self)), check_module(self, module))
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        picked = list(self._modules.values())[index]
        return ModuleList(picked) if isinstance(index, slice) else picked  # renumbered from "0", as in PyTorch

    def __setitem__(self, index, module):
        name = list(self._modules)[index]  # IndexError when out of range, as for a list
        setattr(self, name, check_module(self, module))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules (e.g. one head per task), named by their keys."""

    def __init__(self, modules=None):
        super().__init__()
        for key, module in (modules or {}).items():
            self[key] = module

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        # keys become attribute names and parts of dotted state_dict names: a key such as
        # "training" or "forward" would overwrite the module's own attribute, and "a.b" would
        # give names that load_state_dict cannot tell apart from a nested module's
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings, got {type(key).__name__}")
        if key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict key {key!r}: attribute {key!r} already exists; pick another key")
        if "." in key:
            raise KeyError(f"ModuleDict key {key!r}: module name can't contain '.'")
        if not key:
            raise KeyError("ModuleDict key '': module name can't be empty")
        setattr(self, key, check_module(self, module))

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
