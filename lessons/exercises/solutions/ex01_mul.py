"""Exercise 1: the backward pass of a * b.

REFERENCE SOLUTION: don't read on before you have tried lessons/exercises/ex01_mul.py.

Forward (given):   out = a * b, elementwise; a and b have the same shape.

Backward (yours):  the engine calls backward(ctx, grad) with grad = dL/dout, the
gradient of the final loss L with respect to this op's output (same shape as
out). Return dL/da and dL/db. Derive them one element at a time:

    out_i = a_i * b_i,   so   d out_i / d a_i = ?   and   d out_i / d b_i = ?

and by the chain rule (a_i affects L only through out_i):

    dL/da_i = dL/dout_i * d out_i / d a_i

Hints
- forward saved both inputs; `a, b = ctx.saved_arrays` gets them back.
- Return one gradient per input, in input order: `return grad_a, grad_b`.
  Each is an array of the same shape as its input.
- It is all elementwise array arithmetic: no loops.

Grade it:  python lessons/exercises/grade.py ex01 --solutions
"""
from minigrad.function import Function


class Mul(Function):
    """out = a * b"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        # out_i = a_i b_i: d out_i/d a_i = b_i and d out_i/d b_i = a_i, times the upstream grad
        return grad * b, grad * a
