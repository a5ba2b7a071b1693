"""Parameter: a Tensor that a Module registers as one of its learnable weights."""
from minigrad import backend
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad by default and is registered when set on a Module.

    Assigning `self.weight = Parameter(...)` inside a Module is what makes the
    weight show up in `parameters()`, `state_dict()` and the optimizer.
    """

    def __init__(self, data, requires_grad=True):
        array = data.data if isinstance(data, Tensor) else data
        device = backend.device_of(array) if backend.is_array(array) else "cpu"
        super().__init__(array, requires_grad=requires_grad, device=device)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
