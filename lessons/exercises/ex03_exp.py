"""Exercise 3: the backward pass of exp.

Forward (given):   y = e^x, elementwise.

Backward (yours):  given grad = dL/dy, return dL/dx.

    d e^x / dx = ?

Hints
- The derivative of e^x is e^x itself -- which forward already computed. That
  is why forward saves its *output* y, not x: backward reuses it instead of
  calling exp again.
- `(y,) = ctx.saved_arrays` (note the comma: saved_arrays is always a tuple).
- One input, so return one array (a bare array or a 1-tuple both work).

Grade it:  python lessons/exercises/grade.py ex03
"""
from minigrad import backend
from minigrad.function import Function


class Exp(Function):
    """y = e^x"""

    @staticmethod
    def forward(ctx, x):
        y = backend.xp_of(x).exp(x)  # xp is numpy on the CPU, cupy on a GPU
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        # TODO: return dL/dx
        raise NotImplementedError("TODO: write Exp.backward")
