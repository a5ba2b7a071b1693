"""Exercise 2: the backward pass of a / b.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex02_div.py.

Forward (given):   out = a / b, elementwise (the grader keeps b away from 0).

Backward (yours):  given grad = dL/dout, return dL/da and dL/db.

    out_i = a_i / b_i = a_i * b_i^(-1)
    d out_i / d a_i = ?          d out_i / d b_i = ?   (the power rule on b^(-1))

Hints
- Unlike Mul, the two gradients are not mirror images: d/db brings a minus sign
  and a square.
- `a, b = ctx.saved_arrays`; return `grad_a, grad_b`, each of its input's shape.

Grade it:  python lessons/exercises/grade.py ex02 --solutions
"""
from minigrad.function import Function


class Div(Function):
    """out = a / b"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        # d(a/b)/da = 1/b;  d(a b^-1)/db = -a b^-2
        return grad / b, -grad * a / (b * b)
