"""Hooks: functions that code outside a tensor or a module registers to be called at a fixed point
(a tensor's gradient arriving, a module's forward), as PyTorch's. Both keep them in a dict, called in
the order registered, and hand back the same kind of handle to take one off again."""


class RemovableHandle:
    """What registering a hook returns, as PyTorch's: remove() takes the hook off again (a second
    remove() does nothing), as does leaving a `with x.register_hook(fn):` block."""

    def __init__(self, hooks):
        self.hooks = hooks  # the dict the hook is in, keyed by its handle

    def remove(self):
        self.hooks.pop(self, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def add_hook(hooks, hook, name):
    """hooks[handle] = hook, after checking that hook can be called; returns the handle."""
    if not callable(hook):
        raise TypeError(f"{name}: the hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle] = hook
    return handle
