"""mg.autograd.grad: gradients as values, as torch.autograd.grad, instead of added into .grad.

    dx, = mg.autograd.grad(loss, [x])   # d loss / d x; x.grad, and every other .grad, untouched

The same backward pass as loss.backward(), over the same graph, but the gradient
of each input asked for (a leaf or not) is handed back rather than accumulated.
No create_graph: minigrad's backward computes on arrays and records no graph of
its own, so a gradient here cannot be differentiated again.
"""
from minigrad.engine import backpropagate
from minigrad.tensor import Tensor


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, create_graph=False, allow_unused=False):
    """(d outputs / d input for each input), as a tuple of tensors; outputs a tensor (or a list of
    them, their vector-Jacobian products summed), grad_outputs the g of each (1 for a scalar)."""
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): minigrad's backward records no graph of "
                                  "the gradient, so there is no second derivative to take")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        seeds = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        seeds = [grad_outputs]
    else:
        seeds = list(grad_outputs)
    if len(seeds) != len(outputs):
        raise ValueError(f"autograd.grad: {len(seeds)} grad_outputs for {len(outputs)} outputs; give one per output")
    wanted, found = {id(x) for x in inputs}, {}

    def deliver(node, node_grad):  # one pass per output: an input's gradients from the passes add up
        key = id(node)
        if key in wanted:
            found[key] = found[key] + node_grad if key in found else node_grad

    for n, (output, seed) in enumerate(zip(outputs, seeds)):
        last = n == len(outputs) - 1  # the passes before the last keep the graph the outputs share
        backpropagate(output, seed, retain_graph or not last, deliver)
    unused = [i for i, x in enumerate(inputs) if id(x) not in found]
    if unused and not allow_unused:
        raise RuntimeError(f"autograd.grad: input {unused[0]} is not used to compute the outputs (or needs no grad); "
                           "pass allow_unused=True to get None for it")
    return tuple(Tensor._from_array(found[id(x)].copy()) if id(x) in found else None for x in inputs)


def gradcheck(fn, inputs, **options):
    """mg.gradcheck (minigrad/gradcheck.py) under PyTorch's name for it, torch.autograd.gradcheck."""
    from minigrad.gradcheck import gradcheck as check  # here, not at the top: that module imports this one
    return check(fn, inputs, **options)
