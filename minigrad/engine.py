"""The engine: backward's walk over the graph, the chain rule applied once per node.

A Tensor made by an op remembers the op's Context (`_ctx`): which op, which
inputs, which arrays it saved. Together these form a directed acyclic graph
from the leaves (parameters, data) to the result. backpropagate walks that
graph from the result back to the leaves:

    dL/d(input) = dL/d(output) * d(output)/d(input)

in reverse topological order, so a node's gradient is complete (summed over
every path) before it is passed further back. Each op's backward gives the
gradient of each input at the shape the op saw; where the op broadcast an
input, unbroadcast sums the gradient back to the input's own shape.
"""
from minigrad import backend
from minigrad.tensor import Tensor


def unbroadcast(grad, shape):
    """Sum a gradient back to `shape`, undoing NumPy broadcasting.

    If x of shape (3, 1) was broadcast to (2, 3, 4), each x element was used
    2 * 4 times, so its gradient is the sum over the added leading axis and over
    the axis that was 1. Every op relies on this one helper (via backward).
    """
    if grad.shape == shape:
        return grad
    added = grad.ndim - len(shape)
    grad = backend.sum_dims(grad, tuple(range(added))).reshape(grad.shape[added:]) if added else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return backend.sum_dims(grad, stretched) if stretched else grad


def one_gradient_per_input(ctx, input_grads):
    """input_grads, whose count differs from the op's inputs, cut to one gradient per input (each
    positional argument of apply, None for one that needs no gradient). Extra trailing Nones are
    dropped, as PyTorch does; too few, or an extra gradient that is not None, is an error in that
    op's backward."""
    name, expected, got = ctx.op.__name__, len(ctx.inputs), len(input_grads)
    if got > expected and all(g is None for g in input_grads[expected:]):
        return input_grads[:expected]
    raise RuntimeError(
        f"{name}.backward returned {got} gradient(s), but {name} has {expected} input(s) (the "
        f"positional arguments of {name}.apply): return one gradient per input, in order, "
        "None for one that needs no gradient"
    )


def sum_to_input(ctx, position, grad, shape):
    """unbroadcast a gradient to its input's shape, or say which op's backward got it wrong."""
    try:
        summed = unbroadcast(grad, shape)
    except (ValueError, IndexError):  # e.g. the input has more dims than the gradient: no broadcast did that
        summed = None
    if summed is None or summed.shape != shape:
        raise RuntimeError(
            f"{ctx.op.__name__}.backward returned a gradient of shape {tuple(grad.shape)} for input "
            f"{position}, which has shape {shape}: return one gradient per input, each of its input's shape"
        )
    return summed


def in_dtype_of(tensor, grad):
    """grad in the tensor's own dtype, as PyTorch casts every gradient: a float32 parameter gets a
    float32 gradient even where an op's backward (or backward(gradient=...)) computed in float64, so
    one such op cannot turn the whole rest of the backward pass, and .grad, into float64."""
    return grad if grad.dtype == tensor.dtype else grad.astype(tensor.dtype)


def backpropagate(output, grad, retain_graph, deliver):
    """The chain rule, backwards over the graph: deliver(node, gradient) gets each tensor's whole
    gradient, once every op that used it has passed its share back (backward puts it in .grad;
    mg.autograd.grad keeps only the inputs asked for)."""
    if not output.requires_grad:
        raise RuntimeError(
            "backward() called on a tensor that does not require grad: no input of the "
            "computation had requires_grad=True (or it ran inside no_grad())"
        )
    xp = backend.xp_of(output.data)
    if grad is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"backward() on a non-scalar tensor of shape {output.shape} needs gradient=, a tensor "
                "of the same shape; call it on a scalar loss (e.g. .sum() or .mean()) instead"
            )
        grad = xp.ones_like(output.data)
    else:
        grad = grad.data if isinstance(grad, Tensor) else backend.as_array(grad, output.dtype, output.device)
        if tuple(grad.shape) != output.shape:
            raise ValueError(f"backward(): grad has shape {tuple(grad.shape)}, expected {output.shape}")
        grad = in_dtype_of(output, grad)

    grads = {id(output): grad}
    for node in reversed(topological_order(output)):
        node_grad = grads.pop(id(node), None)
        if node_grad is None:  # every op that uses it returned None for it: nothing flows here
            continue
        if node._hooks:
            node_grad = node._run_hooks(node_grad)
        deliver(node, node_grad)
        ctx = node._ctx
        if ctx is None:
            continue
        if ctx.freed:  # an op that saved nothing (add, sum) would otherwise run again, on no inputs
            raise ctx.freed_error()
        input_grads = ctx.op.backward(ctx, node_grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(ctx.inputs):
            input_grads = one_gradient_per_input(ctx, input_grads)
        for position, (parent, parent_grad, needed) in enumerate(
                zip(ctx.inputs, input_grads, ctx.needs_input_grad)):
            if needed and parent_grad is not None:
                if parent_grad.shape != parent.shape:  # broadcast in forward, or a wrong backward
                    parent_grad = sum_to_input(ctx, position, parent_grad, parent.shape)
                parent_grad = in_dtype_of(parent, parent_grad)
                key = id(parent)
                grads[key] = grads[key] + parent_grad if key in grads else parent_grad
        if not retain_graph:
            ctx.free()


def topological_order(output):
    """Every tensor output depends on (that requires grad), itself last: inputs before outputs.

    An explicit stack instead of recursion, so a 100,000-op chain works.
    """
    order, visited = [], set()
    stack = [(output, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for parent in node._ctx.inputs:
                if isinstance(parent, Tensor) and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order
