"""Exercise 2: the backward pass of a / b.

Forward (given):   out = a / b, elementwise (the grader keeps b away from 0).

Backward (yours):  given grad = dL/dout, return dL/da and dL/db.

    out_i = a_i / b_i = a_i * b_i^(-1)
    d out_i / d a_i = ?          d out_i / d b_i = ?   (the power rule on b^(-1))

Hints
- Unlike Mul, the two gradients are not mirror images: d/db brings a minus sign
  and a square.
- `a, b = ctx.saved_arrays`; return `grad_a, grad_b`, each of its input's shape.

Grade it:  python lessons/exercises/grade.py ex02
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
        # TODO: return dL/da, dL/db
        raise NotImplementedError("TODO: write Div.backward")
