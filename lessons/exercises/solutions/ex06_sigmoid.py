"""Exercise 6: the backward pass of the sigmoid.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex06_sigmoid.py.

Forward (given):   y = sigmoid(x) = 1 / (1 + e^-x), elementwise.

Backward (yours):  given grad = dL/dy, return dL/dx.

Differentiate (1 + e^-x)^(-1) with the chain rule, then show that the result
equals an expression in y alone.

Hints
- Write e^-x / (1 + e^-x)^2 as [1 / (1 + e^-x)] * [e^-x / (1 + e^-x)], and
  notice that the second factor is 1 - y.
- Check yourself: the slope at x = 0 (y = 1/2) is 1/4.

Grade it:  python lessons/exercises/grade.py ex06 --solutions
"""
from minigrad import backend
from minigrad.function import Function


class Sigmoid(Function):
    """y = 1 / (1 + e^-x)"""

    @staticmethod
    def forward(ctx, x):
        xp = backend.xp_of(x)
        # two forms of the same value, each safe where the other would overflow e^(large)
        z = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1 / (1 + z), z / (1 + z))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        return grad * y * (1 - y)  # d sigmoid/dx = e^-x / (1 + e^-x)^2 = y (1 - y)
