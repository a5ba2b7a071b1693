"""Exercise 14: find the bug.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex14_find_the_bug.py.

Forward:   y = tanh(x @ W + b), a linear layer and its activation fused in one
op: x (N, Din), W (Din, Dout), b (Dout,), y (N, Dout).

This time backward is written for you -- and one line of it is wrong. Nothing
crashes: a model using it would train, slowly and worse than it should, and
nobody would know why. That is the typical backward bug, and finite
differences are how you find it.

Your job:
1. Run the grader: python lessons/exercises/grade.py ex14 --solutions
   Read its message: WHICH input has a wrong gradient (x, W or b)? The check
   goes input by input, so the ones before it are right.
   Compare analytic (backward) with numeric (finite differences): too big?
   too small? off by a constant factor, or by a factor that varies?
2. Or check it yourself, with any inputs you like:

       import minigrad as mg
       from ex14_find_the_bug import LinearTanh    # run from lessons/exercises/
       x, W, b = (mg.randn(*s, dtype=mg.float64, requires_grad=True) for s in [(4, 3), (3, 2), (2,)])
       mg.gradcheck(LinearTanh.apply, [x, W, b])

   Scale all three down (near 0, tanh is nearly the identity: 1 - y^2 ~ 1), then up,
   and watch how the error changes: a clue.
3. Derive that one gradient by hand, find the line, fix it, grade again.

Hints
- Name the intermediate z = x @ W + b, so y = tanh z. dL/dz = g (1 - y^2)
  (exercise 5); from z on it is a matmul (exercise 9) and a broadcast add
  (exercise 7).
"""
from minigrad import backend
from minigrad.function import Function


class LinearTanh(Function):
    """y = tanh(x @ W + b)"""

    @staticmethod
    def forward(ctx, x, W, b):
        y = backend.xp_of(x).tanh(x @ W + b)
        ctx.save_for_backward(x, W, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, W, y = ctx.saved_arrays
        grad_z = grad * (1 - y * y)  # through tanh: z = x @ W + b
        grad_x = grad_z @ W.T  # (N, Dout) @ (Dout, Din)
        grad_W = x.T @ grad_z  # (Din, N) @ (N, Dout)
        # THE BUG was here: grad.sum(axis=0) skips tanh. b enters through z = x @ W + b, like
        # x and W, so its gradient starts from dL/dz too (gradcheck: input 2 = b, off by 1 - y^2)
        grad_b = grad_z.sum(axis=0)  # b was added to every row: sum over the rows
        return grad_x, grad_W, grad_b
