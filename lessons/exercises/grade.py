"""Grade the backward passes you wrote in lessons/exercises/exNN_*.py.

For every exercise, the grader calls your op on a few small float64 inputs and
runs `mg.gradcheck`: your backward against finite differences, element by
element. On the way it checks that backward returns one gradient per input,
each an array of exactly that input's shape and dtype (the engine would sum a
broadcast gradient back for you; here you do it yourself, to learn how); each case
runs once more in float32, where a gradient made in float64 would show.

    python lessons/exercises/grade.py               grade your work, every exercise
    python lessons/exercises/grade.py ex03 softmax  only these (number, name or both)
    python lessons/exercises/grade.py --solutions   grade the reference solutions
    python lessons/exercises/grade.py --list        the exercises and what each asks for

From Python: `grade(names=None, solutions=False, device="cpu", folder=None)`
returns one Result per exercise; `main(argv=None, prog=None)` prints them and
returns the exit status (0 when every selected exercise passes, else 1).
"""
import argparse
import contextlib
import ctypes
import importlib.util
import inspect
import os
import re
import sys
import textwrap
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import backend
from minigrad.function import Function

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"


# ---- what each exercise is checked on ------------------------------------------------------

def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):  # log(x) needs x > 0; kept away from 0, where log is steep
    return 0.5 + rng.random(shape)


def nonzero(rng, shape):  # a divisor: |b| >= 0.5, either sign
    return rng.choice([-1.0, 1.0], shape) * (0.5 + rng.random(shape))


@dataclass
class Case:
    label: str
    shapes: tuple  # one shape per input of the op
    options: dict = field(default_factory=dict)  # keyword options for Op.apply (not differentiated)
    make: tuple = ()  # per input: how to draw its values (default: standard normal)
    stuck: str = ""  # a hint for when the learner's backward raises a ValueError (NumPy's shape errors say little)


@dataclass
class Exercise:
    name: str  # the file's stem, e.g. "ex01_mul"
    op: str  # the Function subclass the file defines
    title: str  # the forward, in one line
    asks: str  # what backward must return and the idea it teaches, in one line (--list)
    inputs: tuple  # input names, in order, for messages: "input 1 = b"
    cases: list
    expected_unsolved: str = "todo"  # how the shipped file should grade: "todo", or "fail" (find the bug)

    @property
    def number(self):
        return self.name.split("_")[0]


def cross_entropy_targets(rows, classes, seed=7):
    return {"target": np.random.default_rng(seed).integers(0, classes, rows)}


SUMMED_DIM_GONE = ("without keepdim the summed dim is gone from grad: put it back with size 1 "
                   "(xp.expand_dims(grad, ctx.dim)) before stretching it to x's shape")

EXERCISES = [
    Exercise("ex01_mul", "Mul", "out = a * b", "dL/da, dL/db: the chain rule for the first time, elementwise",
             ("a", "b"), [
        Case("a, b of shape (5,)", ((5,), (5,))),
        Case("a, b of shape (3, 4)", ((3, 4), (3, 4))),
    ]),
    Exercise("ex02_div", "Div", "out = a / b", "dL/da, dL/db: the quotient rule, or the power rule on b^-1",
             ("a", "b"), [
        Case("a, b of shape (5,)", ((5,), (5,)), make=(normal, nonzero)),
        Case("a, b of shape (3, 4)", ((3, 4), (3, 4)), make=(normal, nonzero)),
    ]),
    Exercise("ex03_exp", "Exp", "y = e^x", "dL/dx: e^x is its own derivative, so reuse the saved output", ("x",), [
        Case("x of shape (6,)", ((6,),)),
        Case("x of shape (2, 3, 2)", ((2, 3, 2),)),
    ]),
    Exercise("ex04_log", "Log", "y = log x  (x > 0)", "dL/dx: the derivative of log", ("x",), [
        Case("x of shape (6,)", ((6,),), make=(positive,)),
        Case("x of shape (3, 4)", ((3, 4),), make=(positive,)),
    ]),
    Exercise("ex05_tanh", "Tanh", "y = tanh x", "dL/dx, written with y = tanh x alone", ("x",), [
        Case("x of shape (6,)", ((6,),)),
        Case("x of shape (3, 4)", ((3, 4),)),
    ]),
    Exercise("ex06_sigmoid", "Sigmoid", "y = 1 / (1 + e^-x)", "dL/dx, written with y alone", ("x",), [
        Case("x of shape (6,)", ((6,),)),
        Case("x of shape (3, 4)", ((3, 4),)),
    ]),
    Exercise("ex07_broadcast_add", "BroadcastAdd", "out = a + b, NumPy broadcasting",
             "dL/da, dL/db, each summed back to its input's shape: you undo the broadcasting", ("a", "b"), [
        Case("a (3, 4) + b (3, 4), no broadcasting", ((3, 4), (3, 4))),
        Case("a (3, 4) + b (4,), a bias row", ((3, 4), (4,))),
        Case("a (2, 3, 4) + b (3, 1)", ((2, 3, 4), (3, 1))),
        Case("a (3, 1) + b (1, 4), both stretched", ((3, 1), (1, 4))),
    ]),
    Exercise("ex08_sum_dim", "SumDim", "y = x.sum(dim, keepdim)",
             "dL/dx: the gradient of a sum is a copy along the summed dim", ("x",), [
        Case("x (3, 4), dim=0", ((3, 4),), {"dim": 0}, stuck=SUMMED_DIM_GONE),
        Case("x (2, 3, 4), dim=1", ((2, 3, 4),), {"dim": 1}, stuck=SUMMED_DIM_GONE),
        Case("x (2, 3, 4), dim=-1, keepdim=True", ((2, 3, 4),), {"dim": -1, "keepdim": True},
             stuck="with keepdim=True grad still has the summed dim, with size 1: stretch it to x's shape as it is"),
    ]),
    Exercise("ex09_matmul", "Matmul", "out = a @ b",
             "dL/da, dL/db as matrix products; a b shared by a batch sums over it", ("a", "b"), [
        Case("a (3, 4) @ b (4, 2)", ((3, 4), (4, 2))),
        Case("a (2, 3, 4) @ b (2, 4, 5), a batch", ((2, 3, 4), (2, 4, 5))),
        Case("a (2, 3, 4) @ b (4, 2), b shared by the batch", ((2, 3, 4), (4, 2))),
        Case("a (2, 2, 3, 4) @ b (4, 2), b shared by two batch dims", ((2, 2, 3, 4), (4, 2))),
    ]),
    Exercise("ex10_softmax", "Softmax", "y = e^x / sum(e^x) along dim",
             "dL/dx through the softmax Jacobian y_i (delta_ij - y_j), without building it", ("x",), [
        Case("x (5,), dim=-1", ((5,),), {"dim": -1}),
        Case("x (3, 4), dim=-1", ((3, 4),), {"dim": -1}),
        Case("x (2, 3, 4), dim=1", ((2, 3, 4),), {"dim": 1}),
    ]),
    Exercise("ex11_cross_entropy", "CrossEntropy", "loss = mean_i -log softmax(logits_i)[t_i]",
             "dL/dlogits of the mean loss: probabilities minus one-hot targets", ("logits",), [
        Case("logits (4, 3)", ((4, 3),), cross_entropy_targets(4, 3)),
        Case("logits (6, 5)", ((6, 5),), cross_entropy_targets(6, 5)),
    ]),
    Exercise("ex12_layer_norm", "LayerNorm", "y = (x - mean) / sqrt(var + eps) * w + b over the last dim",
             "dL/dx through the mean and the variance; dL/dw, dL/db summed over the rows", ("x", "w", "b"), [
        Case("x (3, 5), w (5,), b (5,)", ((3, 5), (5,), (5,))),
        Case("x (2, 3, 4), w (4,), b (4,)", ((2, 3, 4), (4,), (4,))),
    ]),
    Exercise("ex13_attention", "Attention", "out = softmax(q k^T / sqrt(D) [+ causal mask]) v",
             "dL/dq, dL/dk, dL/dv: matmul, softmax and matmul chained (ex 9, 10); causal too",
             ("q", "k", "v"), [
        Case("q (3, 4), k (5, 4), v (5, 2)", ((3, 4), (5, 4), (5, 2)), {"causal": False}),
        Case("q, k (4, 3), v (4, 2), causal", ((4, 3), (4, 3), (4, 2)), {"causal": True}),
        Case("a batch: q, k (2, 3, 4), v (2, 3, 2), causal", ((2, 3, 4), (2, 3, 4), (2, 3, 2)), {"causal": True}),
    ]),
    Exercise("ex14_find_the_bug", "LinearTanh", "y = tanh(x @ W + b)  (backward given, with one bug)",
             "which of dL/dx, dL/dW, dL/db is wrong? locate it with gradcheck, then fix it",
             ("x", "W", "b"), [
        Case("x (4, 3), W (3, 2), b (2,)", ((4, 3), (3, 2), (2,))),
        Case("x (5, 4), W (4, 3), b (3,)", ((5, 4), (4, 3), (3,))),
    ], expected_unsolved="fail"),
]
BY_NAME = {e.name: e for e in EXERCISES}


# ---- grading ------------------------------------------------------------------------------

@dataclass
class Result:
    name: str  # "ex01_mul"
    title: str  # "out = a * b"
    status: str  # "pass", "todo" (not implemented yet), "fail" (wrong gradient or shape), "error"
    message: str  # what went wrong and where; empty on a pass
    path: str  # the file that was graded
    cases: int = 0  # cases checked (all of them on a pass)
    max_abs_error: float = 0.0  # largest |backward - finite differences| over the passed cases

    @property
    def passed(self):
        return self.status == "pass"


class GradientShapeError(AssertionError):
    """backward returned the wrong number of gradients, or one of the wrong shape or dtype."""


def select(names=None):
    """The exercises picked by number ("ex03", "ex3", "3"), name ("exp", "cross-entropy"), full name
    ("ex03_exp") or the op's class name ("LayerNorm")."""
    if not names:
        return list(EXERCISES)
    chosen = []
    for wanted in names:
        key = wanted.lower().removesuffix(".py").replace("-", "_")
        number = re.fullmatch(r"(?:ex)?(\d+)", key)  # 3, 03, ex3, ex03
        if number:
            key = f"ex{int(number[1]):02d}"
        matches = [e for e in EXERCISES if key in (e.name, e.number, e.name.split("_", 1)[1], e.op.lower())]
        if not matches:
            raise ValueError(f"no exercise {wanted!r}; choose from: {', '.join(e.name for e in EXERCISES)}")
        chosen += matches
    return [e for e in EXERCISES if e in chosen]  # in course order, each once


SECONDS_PER_CASE = 60  # far more than any correct backward needs: longer is an endless loop


class TooSlow(Exception):
    """Raised by time_limit, as a bare class (all a timer can raise in another thread): hence the message here."""

    def __str__(self):
        return f"still running after {SECONDS_PER_CASE} s: an endless loop?"


@contextlib.contextmanager
def time_limit():
    """Raise TooSlow inside the block once it has run SECONDS_PER_CASE.

    A timer thread raises it in this thread with CPython's PyThreadState_SetAsyncExc, which works
    on every OS and in any thread (a SIGALRM alarm works only on Unix, in the main thread). It lands
    between two Python steps, so an endless `while` loop stops; one long NumPy call finishes first.
    """
    this_thread = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()  # the timer raises only while the block runs, never after it
    running = True

    def stop():
        with lock:
            if running:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(this_thread, ctypes.py_object(TooSlow))

    timer = threading.Timer(SECONDS_PER_CASE, stop)
    timer.start()
    try:
        yield
    finally:
        with lock:
            running = False
            # a TooSlow raised just as the block ended, not yet landed: dropped, so that it cannot
            # land later, outside the block, where nothing catches it
            ctypes.pythonapi.PyThreadState_SetAsyncExc(this_thread, None)
        timer.cancel()


@contextlib.contextmanager
def importable(folder):
    """The graded folder first on the import path while its files load and run, so that
    `from ex07_broadcast_add import ...` finds that folder's file, whichever folder is graded."""
    for name in [name for name in sys.modules if re.fullmatch(r"ex\d\d_\w+", name)]:
        del sys.modules[name]  # a sibling imported from another folder before
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))


def load(path):
    """Import an exercise file afresh (so your latest edits count), under a name of its own."""
    if not path.is_file():
        shipped = path.parent in (HERE, SOLUTIONS)
        raise FileNotFoundError(f"{path} is missing (" + (f"`git checkout {path.name}` in its folder brings it back)"
                                if shipped else f"copy it there from {HERE})"))
    tag = "solution" if path.parent == SOLUTIONS else "exercise"
    spec = importlib.util.spec_from_file_location(f"minigrad_{tag}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def the_op(module, exercise, path):
    """The exercise's Function subclass from the loaded file, or a clear error."""
    op = getattr(module, exercise.op, None)
    if not (isinstance(op, type) and issubclass(op, Function)):
        others = [name for name, value in vars(module).items() if isinstance(value, type)
                  and issubclass(value, Function) and value.__module__ == module.__name__]
        kind = type(op).__name__
        found = (f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}" if op is not None else
                 f"nothing, but it defines {', '.join(others)}(Function): misspelt?" if others else "nothing")
        raise TypeError(f"{path.name} should define class {exercise.op}(Function) with forward and backward; "
                        f"under that name it has {found}")
    for method in ("forward", "backward"):
        if not isinstance(inspect.getattr_static(op, method), staticmethod):
            raise TypeError(f"{exercise.op}.{method} must be a @staticmethod: put @staticmethod on the line above "
                            f"`def {method}(ctx, ...)` (ops are never instantiated, so there is no self)")
    return op


def same_forward(op, reference, tensors, options):
    """Whether the learner's forward still computes the exercise's op (gradcheck alone would accept
    any forward whose backward matches it)."""
    with mg.no_grad():
        ours, theirs = op.apply(*tensors, **options).numpy(), reference.apply(*tensors, **options).numpy()
    return ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def checked(op, names):
    """op with a backward that checks what your backward returns before the engine sees it."""
    user_backward = op.backward

    def backward(ctx, grad):
        # everything backward reads, snapshotted: it must leave all of it as it was (the engine
        # passes the same grad on to other ops, and a saved array may be the op's own output)
        arrays = [(name, x.data) for name, x in zip(names, ctx.inputs) if hasattr(x, "data")]
        arrays += [("grad", grad)] + [(f"the array it saved ({i + 1} of ctx.saved_arrays)", a)
                                      for i, a in enumerate(ctx.saved_arrays) if backend.is_array(a)]
        before = [a.copy() for _, a in arrays]
        grads = user_backward(ctx, grad)
        if grads is None:
            raise GradientShapeError(f"{op.__name__}.backward returned None: is its `return` missing?")
        for (name, array), copy in zip(arrays, before):
            if not np.array_equal(backend.to_numpy(array), backend.to_numpy(copy)):
                raise GradientShapeError(f"{op.__name__}.backward changed {name} in place (with *=, += or "
                                         f"[...] =): compute into a new array, and leave what it reads as it was")
        grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        if len(grads) > len(ctx.inputs) and all(g is None for g in grads[len(ctx.inputs):]):
            grads = grads[:len(ctx.inputs)]  # a None for each keyword option too is fine, as in the engine
        if len(grads) != len(ctx.inputs):
            raise GradientShapeError(
                f"{op.__name__}.backward returned {len(grads)} gradient(s) but the op has {len(ctx.inputs)} "
                f"input(s) ({', '.join(names)}): return one per input, in order"
            )
        for name, x, g, needed in zip(names, ctx.inputs, grads, ctx.needs_input_grad):
            if not needed:
                continue  # None (or anything) is fine for an input that needs no gradient
            if g is None:
                raise GradientShapeError(f"{op.__name__}.backward returned None for {name}, which needs a gradient")
            if not backend.is_array(g):
                hint = " (a Tensor: backward works on arrays; its .data is one)" if isinstance(g, mg.Tensor) else ""
                raise GradientShapeError(
                    f"{op.__name__}.backward returned {textwrap.shorten(repr(g), 60)} for {name}, which is not an "
                    f"array{hint}; return an array (the same kind as grad) of {name}'s shape {x.shape}"
                )
            if tuple(g.shape) != x.shape:
                hint = (f" (where {name} was broadcast, sum the gradient over the stretched dims)" if g.size > x.numel()
                        else " (the right number of entries in another shape: transposed, or summed without keepdims=True?)"
                        if g.size == x.numel() else "")
                raise GradientShapeError(
                    f"{op.__name__}.backward returned a gradient of shape {tuple(g.shape)} for {name}, "
                    f"but {name} has shape {x.shape}: d loss / d {name} has one entry per element of {name}{hint}"
                )
            if g.dtype != x.dtype:
                raise GradientShapeError(
                    f"{op.__name__}.backward returned a {g.dtype} gradient for {name}, which is {x.dtype}: "
                    f"compute with grad and the saved arrays ({x.dtype} here), give an array you make their "
                    "dtype (xp.ones(shape, dtype=grad.dtype)), and do not cast"
                )
        return grads

    return type(op.__name__, (op,), {"backward": staticmethod(backward)})


def make_inputs(case, device, seed):
    rng = np.random.default_rng(seed)
    makers = case.make or (normal,) * len(case.shapes)
    arrays = [make(rng, shape) for make, shape in zip(makers, case.shapes)]
    tensors = [mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True) for a in arrays]
    xp = backend.xp_for(device)
    options = {k: xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in case.options.items()}
    return tensors, options


def output_weights(op, tensors, options, seed):
    """A fixed random weight in +-[0.5, 2) for each element of the op's output. gradcheck checks
    the op times these, so the grad your backward receives holds such numbers, never only 1s: a
    backward that ignores grad (or squares it) fails, as it would in a real network."""
    with mg.no_grad():
        shape = op.apply(*tensors, **options).shape
    rng = np.random.default_rng(1000 + seed)
    weights = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
    return mg.tensor(weights, dtype=mg.float64, device=tensors[0].device)


def backward_in_float32(op, tensors, options):
    """One backward on float32 copies of a case's inputs, for checked() to see each gradient keep its
    input's dtype: in float64 alone, a gradient built in float64 (xp.ones(shape) without dtype=) passes."""
    singles = [t.detach().to(mg.float32).requires_grad_() for t in tensors]
    op.apply(*singles, **options).sum().backward()


def where_in(path, error, source=True):
    """' at ex01_mul.py line 42: return grad * c': the innermost frame of the graded file, if any."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == path]
    if not frames:
        return ""
    frame = frames[-1]
    return f" at {path.name} line {frame.lineno}" + (f": {frame.line}" if source and frame.line else "")


def name_inputs(message, names):
    """gradcheck says 'input 1 (shape ...)'; say 'input 1 = b (shape ...)'."""
    return re.sub(r"input (\d+) \(", lambda m: f"input {m.group(1)} = {names[int(m.group(1))]} (", message)


def grade_one(exercise, solutions=False, device="cpu", folder=None):
    folder = Path(folder).resolve() if folder is not None else SOLUTIONS if solutions else HERE
    with importable(folder):
        return grade_file(exercise, folder / f"{exercise.name}.py", solutions, device)


def grade_file(exercise, path, solutions, device):
    result = Result(exercise.name, exercise.title, "error", "", str(path))
    try:
        with time_limit():  # the file runs as it loads: it too may loop forever
            module = load(path)
    except (Exception, SystemExit) as error:  # noqa: BLE001 - a learner's file may fail in any way
        result.message = f"could not load {path.name}: {type(error).__name__}: {error}{where_in(path, error)}"
        return result
    solution = SOLUTIONS / path.name  # whose forward yours is compared with, unless the learner deleted it
    try:
        op = the_op(module, exercise, path)
        reference = the_op(load(solution), exercise, solution) if not solutions and solution.is_file() else None
    except TypeError as error:
        result.message = str(error)
        return result
    op = checked(op, exercise.inputs)
    for number, case in enumerate(exercise.cases):
        tensors, options = make_inputs(case, device, seed=number)
        about = f"case {number + 1}/{len(exercise.cases)} [{case.label}]"
        try:
            with time_limit():
                if reference is not None and not same_forward(op, reference, tensors, options):
                    result.status = "fail"
                    original = (f"`git diff {path.name}` shows what changed" if path.parent == HERE
                                else f"the original is {HERE / path.name}")  # a --folder copy may be outside git
                    result.message = (f"{about}: forward no longer computes {exercise.title!r}; the exercise is "
                                      f"the backward: put forward back as it was ({original})")
                    return result
                weights = output_weights(op, tensors, options, seed=number)
                outcome = mg.gradcheck(lambda *ts: op.apply(*ts, **options) * weights, tensors)
                backward_in_float32(op, tensors, options)
        except NotImplementedError as error:
            result.status = "todo"
            line = where_in(path, error, source=False)
            result.message = (f"not implemented yet ({error or 'NotImplementedError'}{line}): "
                              f"open {path.name}; its docstring has the math and hints")
            return result
        except GradientShapeError as error:
            result.status, result.message = "fail", f"{about}: {error}{where_in(path, error)}"
            return result
        except mg.GradcheckError as error:
            result.status = "fail"
            result.message = f"{about}: {name_inputs(str(error), exercise.inputs)}"
            return result
        except (Exception, SystemExit) as error:  # noqa: BLE001 - e.g. a shape error in the learner's backward
            what = "exit() was called" if isinstance(error, SystemExit) else f"{type(error).__name__}: {error}"
            # the hint is for a shape error in backward: not for a typo, an exit or a loop that never ends
            hint = f" (hint: {case.stuck})" if case.stuck and isinstance(error, ValueError) else ""
            result.message = f"{about}: {what}{where_in(path, error)}{hint}"
            return result
        result.cases += 1
        result.max_abs_error = max(result.max_abs_error, outcome.max_abs_error)
    result.status = "pass"
    return result


def grade(names=None, solutions=False, device="cpu", folder=None):
    """Grade the exercises picked by `names` (all by default): your files, or the reference solutions.

    names: exercise numbers, names or both ("ex03", "3", "exp", "ex03_exp"); solutions: grade
    lessons/exercises/solutions/ instead; folder: grade the exNN_*.py files found there instead.
    Returns one Result per exercise, in order; Result.passed, .status, .message say how it went.
    """
    return list(grade_each(names, solutions, device, folder))


def grade_each(names=None, solutions=False, device="cpu", folder=None):
    """grade(), one Result at a time, as each exercise is graded."""
    for exercise in select(names):
        yield grade_one(exercise, solutions, device, folder)


# ---- the command --------------------------------------------------------------------------

LABELS = {"pass": "pass", "todo": "TODO", "fail": "FAIL", "error": "ERROR"}


def describe(result):
    head = f"  {result.name:<20} {LABELS[result.status]:<6} {result.title}"
    if result.passed:
        return head + f"   ({result.cases} cases, max abs error {result.max_abs_error:.1e})"
    indent = " " * 6
    return head + "\n" + "\n".join(textwrap.wrap(result.message, 106, initial_indent=indent, subsequent_indent=indent,
                                                break_long_words=False, break_on_hyphens=False))


def summary(results, solutions):
    counts = {status: sum(r.status == status for r in results) for status in LABELS}
    parts = [f"{counts['pass']}/{len(results)} passed"]
    parts += [f"{counts[s]} {what}" for s, what in
              (("todo", "not implemented yet"), ("fail", "failing"), ("error", "erroring")) if counts[s]]
    text = ", ".join(parts)
    unsolved = [r for r in results if not r.passed]
    if unsolved and not solutions:
        nearby = os.path.relpath(unsolved[0].path)
        text += f". Next: {unsolved[0].path if nearby.startswith('..') else nearby}"
    return text


def main(argv=None, prog=None):
    """The command line: `main(["ex03", "--solutions"])`; prog names the command in --help and errors."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="exercises to grade: ex03, 3, exp or ex03_exp (default: all)")
    parser.add_argument("--solutions", action="store_true", help="grade the reference solutions instead")
    parser.add_argument("--folder", type=Path, default=None,
                        help="grade the exNN_*.py files in this folder instead (your own copy of the exercises)")
    parser.add_argument("--device", default="cpu", choices=backend.DEVICES, help="where to run (default cpu)")
    parser.add_argument("--list", action="store_true", help="list the exercises and what each asks for")
    args = parser.parse_args(argv)
    try:
        exercises = select(args.names)
    except ValueError as error:
        parser.error(str(error))
    if args.device == "cuda" and not mg.cuda_is_available():
        parser.error(backend.CUDA_HELP)
    if args.list:
        for e in exercises:
            print(f"  {e.name:<20} {e.title}\n  {'':<20} you write: {e.asks}")
        return 0
    if args.folder is not None:
        if not args.folder.is_dir():
            parser.error(f"--folder {args.folder}: no such folder (expected one holding exNN_*.py files)")
        present = [e for e in EXERCISES if (args.folder / f"{e.name}.py").is_file()]
        if not present:  # else nothing would be graded, or (no names given) all of them, each "missing"
            parser.error(f"--folder {args.folder}: no file there has the name of an exercise "
                         f"({', '.join(e.name + '.py' for e in EXERCISES)}): copy lessons/exercises there first")
        if not args.names:  # a copy of some of the exercises: grade those
            exercises = [e for e in exercises if e in present]
    unchecked = [e.name for e in exercises if not (SOLUTIONS / f"{e.name}.py").is_file()]
    if unchecked and not args.solutions:  # deleted so as not to peek, say: the backward is still graded
        which = "" if len(unchecked) == len(exercises) else f" for {', '.join(unchecked)}"
        print(f"No reference solution{which} in {SOLUTIONS}, so your forward is not compared with the reference "
              f"one (leave it as given); your backward is graded as usual.")
    which = ("reference solutions" if args.solutions else "your exercises" if args.folder is None else
             f"the {len(exercises)} exercise{'s' * (len(exercises) != 1)} in {args.folder}")
    print(f"Grading {which} with mg.gradcheck (float64, finite differences), on {args.device}:")
    results = []
    for result in grade_each([e.name for e in exercises], args.solutions, args.device, args.folder):
        results.append(result)
        print(describe(result), flush=True)  # as each is graded: a slow one does not hide the others
    print(summary(results, args.solutions))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
