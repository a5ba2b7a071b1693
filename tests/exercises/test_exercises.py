"""The gradient exercises of lessons/exercises/, graded by lessons/exercises/grade.py.

Default (CI): every reference solution passes its grader, and every shipped exercise
fails it with a helpful message -- "not implemented yet" for a TODO, the wrong input and
element for the find-the-bug exercise -- so the suite is green while the TODOs are open.

`pytest tests/exercises --student`: grades the learner's own files instead, one test per
exercise, failing with the grader's message until that exercise is solved.
"""
import importlib.util
import inspect
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import minigrad as mg

ROOT = Path(__file__).resolve().parents[2]
EXERCISES_DIR = ROOT / "lessons" / "exercises"


def load_grader():
    spec = importlib.util.spec_from_file_location("minigrad_exercises_grade", EXERCISES_DIR / "grade.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


grade = load_grader()
NAMES = [e.name for e in grade.EXERCISES]


def pytest_generate_tests(metafunc):
    """CI tests take `exercise`, the learner's take `my_exercise`; each mode runs only its own."""
    student = metafunc.config.getoption("--student", default=False)
    for fixture, active, reason in (
        ("exercise", not student, "--student grades your own exercises instead of checking the shipped ones"),
        ("my_exercise", student, "run `pytest tests/exercises --student` to grade your own exercises"),
    ):
        if fixture in metafunc.fixturenames:
            params = NAMES if active else [pytest.param(None, marks=pytest.mark.skip(reason=reason))]
            metafunc.parametrize(fixture, params, ids=NAMES if active else ["skipped"])


# ---- the learner's mode -------------------------------------------------------------------

def test_my_exercise(my_exercise):
    (result,) = grade.grade([my_exercise])
    if not result.passed:
        pytest.fail(f"{result.name} ({result.title}): {grade.LABELS[result.status]}\n{result.message}",
                    pytrace=False)


# ---- CI: the shipped files ----------------------------------------------------------------

def test_reference_solution_passes(exercise):
    (result,) = grade.grade([exercise], solutions=True)
    assert result.passed, f"{result.path}: {result.status}: {result.message}"
    assert result.cases == len(grade.BY_NAME[exercise].cases) >= 2


def test_shipped_exercise_fails_with_a_helpful_message(exercise):
    spec = grade.BY_NAME[exercise]
    (result,) = grade.grade([exercise])
    if result.passed:
        pytest.fail(
            f"{exercise}: the shipped exercise passes its grader. If you solved it: well done -- this check "
            f"is for the unsolved file as shipped; grade your work with `pytest tests/exercises --student` "
            f"(`git checkout {Path(result.path).relative_to(ROOT)}` restores the original).", pytrace=False)
    assert result.status == spec.expected_unsolved, f"{exercise}: {result.status}: {result.message}"
    if spec.expected_unsolved == "todo":
        assert result.message.startswith("not implemented yet (TODO: write ")
        assert f"{exercise}.py line " in result.message and "docstring has the math and hints" in result.message
    else:  # the find-the-bug exercise: gradcheck names the input, the element, and by how much
        assert "gradient mismatch at input 2 = b (shape (2,)), element (" in result.message, result.message
        assert "analytic (backward)" in result.message and "numeric (finite differences)" in result.message


def test_shipped_exercise_and_solution_share_the_forward(exercise):
    """Only backward differs: the learner's op computes exactly what the reference does."""
    spec = grade.BY_NAME[exercise]
    todo, solution = (getattr(grade.load(folder / f"{exercise}.py"), spec.op)
                      for folder in (EXERCISES_DIR, grade.SOLUTIONS))
    assert inspect.getsource(todo.forward) == inspect.getsource(solution.forward)
    assert todo.__doc__ == solution.__doc__


def test_every_exercise_file_is_graded():
    shipped = {p.stem for p in EXERCISES_DIR.glob("ex[0-9][0-9]_*.py")}
    solved = {p.stem for p in grade.SOLUTIONS.glob("ex[0-9][0-9]_*.py")}
    assert shipped == solved == set(NAMES)
    assert len(NAMES) >= 12 and NAMES == sorted(NAMES)
    readme = (EXERCISES_DIR / "README.md").read_text()
    assert all(f"{name}.py" in readme for name in NAMES)


# ---- CI: the grader's own messages --------------------------------------------------------

def broken_copy(tmp_path, name, old, new):
    """The reference solution of `name`, copied to tmp_path with `old` replaced by `new`."""
    source = (grade.SOLUTIONS / f"{name}.py").read_text()
    assert old in source
    (tmp_path / f"{name}.py").write_text(source.replace(old, new))


def test_grader_makes_you_sum_a_broadcast_gradient_yourself(tmp_path):
    broken_copy(tmp_path, "ex07_broadcast_add", "return sum_to(grad, ctx.a_shape), sum_to(grad, ctx.b_shape)",
                "return grad, grad  # the engine would fix this up; the grader does not")
    (result,) = grade.grade(["ex07"], folder=tmp_path)
    assert result.status == "fail"
    assert "a gradient of shape (3, 4) for b, but b has shape (4,)" in result.message
    assert "sum the gradient over the stretched dims" in result.message


def test_grader_names_the_wrong_input_and_element(tmp_path):
    broken_copy(tmp_path, "ex13_attention", "@ q * ctx.scale", "@ q")  # dk forgets the 1/sqrt(D)
    (result,) = grade.grade(["attention"], folder=tmp_path)
    assert result.status == "fail"
    assert "gradient mismatch at input 1 = k (shape (5, 4)), element (" in result.message
    assert "analytic (backward)" in result.message and "abs error" in result.message


@pytest.mark.parametrize("old, new, expected", [
    ("return grad * b, grad * a", "return grad * b", "returned 1 gradient(s) but the op has 2 input(s) (a, b)"),
    ("return grad * b, grad * a", "return grad * b, (grad * a).astype('float32')",
     "returned a float32 gradient for b, which is float64"),
    ("return grad * b, grad * a", "return grad * b[:2], grad * a", "ValueError: operands could not be broadcast"),
    ("return grad * b, grad * a", "return (grad * b).sum(), grad * a", "which is not an array"),
    ("return grad * b, grad * a", "return grad * b, grad *", "could not load ex01_mul.py: SyntaxError"),
], ids=["one gradient for two inputs", "float32", "exception", "a scalar", "syntax error"])
def test_grader_explains_other_mistakes(tmp_path, old, new, expected):
    broken_copy(tmp_path, "ex01_mul", old, new)
    (result,) = grade.grade(["ex01"], folder=tmp_path)
    assert not result.passed and expected in result.message, result.message
    if "ValueError" in expected:
        assert result.status == "error" and "at ex01_mul.py line " in result.message


@pytest.mark.parametrize("old, new, expected", [
    ("return grad * b, grad * a", "import sys; sys.exit(0)", "exit() was called"),
    ("return grad * b, grad * a", "grad * b, grad * a", "returned None: is its `return` missing?"),
    ("return grad * b, grad * a", "b *= grad\n        return b, grad * a", "changed b in place"),
    ("return grad * b, grad * a", "from minigrad import tensor\n        return tensor(grad * b), grad * a", "its .data is one"),
    ("return a * b", "return a + b", "forward no longer computes"),
    ("class Mul(Function):", "Mul = 3\nclass Other(Function):", "should define class Mul(Function)"),
], ids=["exit", "no return", "in place", "a Tensor", "forward changed", "not a class"])
def test_grader_survives_what_a_learner_might_write(tmp_path, old, new, expected):
    broken_copy(tmp_path, "ex01_mul", old, new)
    shutil.copy(grade.SOLUTIONS / "ex03_exp.py", tmp_path)
    first, second = grade.grade(["ex01", "ex03"], folder=tmp_path)
    assert not first.passed and expected in first.message, first.message
    assert second.passed  # one broken exercise does not stop the others


def test_a_shape_error_in_a_backward_gets_the_exercises_hint_and_a_changed_forward_names_the_original(tmp_path):
    broken_copy(tmp_path, "ex08_sum_dim", "            grad = xp.expand_dims(grad, ctx.dim)", "            pass")
    (result,) = grade.grade(["ex08"], folder=tmp_path)
    assert result.status == "error" and "ValueError" in result.message  # NumPy's words, then what they mean here
    assert "(hint: without keepdim the summed dim is gone from grad: put it back" in result.message
    broken_copy(tmp_path, "ex01_mul", "return a * b", "return a + b")
    (result,) = grade.grade(["ex01"], folder=tmp_path)
    assert f"the original is {grade.HERE / 'ex01_mul.py'}" in result.message  # a copy outside the repo has no git diff


def test_the_shape_hint_fits_the_case_and_is_kept_for_shape_errors(tmp_path):
    broken_copy(tmp_path, "ex08_sum_dim", "        if not ctx.keepdim:\n", "        if True:\n")  # expands always
    (result,) = grade.grade(["ex08"], folder=tmp_path)
    assert "case 3/3" in result.message and "(hint: with keepdim=True grad still has the summed dim" in result.message
    broken_copy(tmp_path, "ex08_sum_dim", "return xp.broadcast_to(grad, ctx.x_shape)",
                "return xp.broadcast_to(grad, ctx.xshape)")
    (result,) = grade.grade(["ex08"], folder=tmp_path)
    assert "AttributeError" in result.message and "hint" not in result.message  # a typo: the hint would mislead


def test_a_gradient_made_in_float64_fails_in_the_float32_run(tmp_path):
    broken_copy(tmp_path, "ex08_sum_dim", "return xp.broadcast_to(grad, ctx.x_shape)",
                "return grad * xp.ones(ctx.x_shape)")  # right in float64; in float32 the ones make it float64
    (result,) = grade.grade(["ex08"], folder=tmp_path)
    assert result.status == "fail" and "a float64 gradient for x, which is float32" in result.message, result.message
    assert "dtype=grad.dtype" in result.message


def test_a_none_for_a_keyword_option_is_accepted_as_the_engine_accepts_it(tmp_path):
    broken_copy(tmp_path, "ex11_cross_entropy", "return grad * p / n", "return grad * p / n, None")
    (result,) = grade.grade(["ex11"], folder=tmp_path)
    assert result.passed, result.message
    broken_copy(tmp_path, "ex11_cross_entropy", "return grad * p / n", "return grad * p / n, p")
    (result,) = grade.grade(["ex11"], folder=tmp_path)
    assert "returned 2 gradient(s) but the op has 1 input(s) (logits)" in result.message


@pytest.mark.parametrize("name, old, new, expected", [
    ("ex11_cross_entropy", "return grad * p / n", "return p / n", "gradient mismatch at input 0 = logits"),
    ("ex05_tanh", "return grad * (1 - y * y)", "return grad ** 2 * (1 - y * y)", "gradient mismatch at input 0 = x"),
    ("ex03_exp", "return grad * y", "y *= grad\n        return y",
     "changed the array it saved (1 of ctx.saved_arrays) in place"),
    ("ex02_div", "return grad / b, -grad * a / (b * b)", "grad_a = grad / b\n        grad *= -a / (b * b)\n"
     "        return grad_a, grad", "changed grad in place"),
], ids=["ignores grad", "squares grad", "overwrites its saved output", "overwrites grad"])
def test_a_backward_that_misuses_grad_fails(tmp_path, name, old, new, expected):
    """gradcheck alone sends backward a grad of 0s and a single 1, which these would pass."""
    broken_copy(tmp_path, name, old, new)
    (result,) = grade.grade([name], folder=tmp_path)
    assert result.status == "fail" and expected in result.message, result.message


@pytest.mark.parametrize("old, new, expected", [
    ("class Mul(Function):", "class Mull(Function):", "under that name it has nothing, but it defines "
                                                       "Mull(Function): misspelt?"),
    ("    @staticmethod\n    def backward(ctx, grad):", "    def backward(ctx, grad):",
     "Mul.backward must be a @staticmethod"),
    ("    @staticmethod\n    def forward(ctx, a, b):", "    def forward(ctx, a, b):",
     "Mul.forward must be a @staticmethod"),  # called on the class it would still run: the grader must say so
    ("class Mul(Function):", "Mul = 'Mul'\n\n\nclass Other(Function):", "under that name it has a str"),
], ids=["misspelt", "no staticmethod", "no staticmethod on forward", "not a class"])
def test_a_misnamed_op_and_a_missing_staticmethod_are_named(tmp_path, old, new, expected):
    broken_copy(tmp_path, "ex01_mul", old, new)
    (result,) = grade.grade(["ex01"], folder=tmp_path)
    assert result.status == "error" and expected in result.message, result.message
    assert "could not load" not in result.message  # it loaded: it is the op that is wrong


def test_a_file_that_loops_forever_as_it_loads_is_stopped(tmp_path, monkeypatch):
    broken_copy(tmp_path, "ex01_mul", "class Mul(Function):", "while True:\n    pass\n\n\nclass Mul(Function):")
    shutil.copy(grade.SOLUTIONS / "ex03_exp.py", tmp_path)
    monkeypatch.setattr(grade, "SECONDS_PER_CASE", 1)
    first, second = grade.grade(["ex01", "ex03"], folder=tmp_path)
    assert first.status == "error" and "could not load ex01_mul.py: TooSlow" in first.message, first.message
    assert second.passed


def test_a_copy_of_some_exercises_grades_those(tmp_path, capsys):
    for name in ("ex01_mul", "ex03_exp"):
        shutil.copy(grade.SOLUTIONS / f"{name}.py", tmp_path)
    assert grade.main(["--folder", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"Grading the 2 exercises in {tmp_path}" in out and out.rstrip().endswith("2/2 passed")
    assert grade.main(["--folder", str(tmp_path), "ex02"]) == 1  # asked for by name: missing is an error
    out = " ".join(capsys.readouterr().out.split())  # the message is wrapped
    assert f"Grading the 1 exercise in {tmp_path}" in out
    assert f"ex02_div.py is missing (copy it there from {grade.HERE})" in out


def test_an_endless_backward_is_stopped_without_the_exercises_hint(tmp_path, monkeypatch):
    broken_copy(tmp_path, "ex08_sum_dim", "return xp.broadcast_to(grad, ctx.x_shape)", "while True:\n            pass")
    monkeypatch.setattr(grade, "SECONDS_PER_CASE", 1)
    (result,) = grade.grade(["ex08"], folder=tmp_path)
    assert result.status == "error" and "TooSlow: still running after 1 s: an endless loop?" in result.message
    assert "at ex08_sum_dim.py line " in result.message  # where it looped
    assert "hint" not in result.message  # ex08's hint is about keepdim, nothing to do with a loop


def test_an_endless_loop_is_stopped_off_the_main_thread_too(tmp_path, monkeypatch):
    """Where no SIGALRM alarm could stop it: a thread (a notebook's, a GUI's) or Windows."""
    broken_copy(tmp_path, "ex01_mul", "return grad * b, grad * a", "while True:\n            pass")
    shutil.copy(grade.SOLUTIONS / "ex03_exp.py", tmp_path)
    monkeypatch.setattr(grade, "SECONDS_PER_CASE", 0.5)
    results = []
    worker = threading.Thread(target=lambda: results.extend(grade.grade(["ex01", "ex03"], folder=tmp_path)),
                              daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the endless loop was not stopped off the main thread"
    first, second = results
    assert first.status == "error" and "TooSlow: still running after 0.5 s" in first.message, first.message
    assert second.passed


def test_time_limit_stops_only_the_block_it_guards(monkeypatch):
    monkeypatch.setattr(grade, "SECONDS_PER_CASE", 0.2)
    with pytest.raises(grade.TooSlow):
        with grade.time_limit():
            give_up = time.monotonic() + 30  # endless enough; a broken time_limit must not hang the tests
            while time.monotonic() < give_up:
                pass
    with grade.time_limit():
        pass
    past = time.monotonic() + 0.6  # well past that block's limit: nothing may be raised out here
    while time.monotonic() < past:
        pass


def test_an_exercise_imports_its_siblings_from_its_own_folder(tmp_path):
    shutil.copy(grade.SOLUTIONS / "ex07_broadcast_add.py", tmp_path)
    broken_copy(tmp_path, "ex01_mul", "return grad * b, grad * a",
                "from ex07_broadcast_add import sum_to\n        return sum_to(grad * b, a.shape), grad * a")
    (result,) = grade.grade(["ex01"], folder=tmp_path)
    assert result.passed, result.message


def test_each_folder_graded_in_one_process_imports_its_own_siblings(tmp_path):
    """Folder `good` is graded first and its ex07 is imported; folder `bad` must get its own, broken, ex07."""
    for folder, sum_to_body in (("good", None), ("bad", "return grad * 0  # a broken helper")):
        (tmp_path / folder).mkdir()
        if sum_to_body is None:
            shutil.copy(grade.SOLUTIONS / "ex07_broadcast_add.py", tmp_path / folder)
        else:
            broken_copy(tmp_path / folder, "ex07_broadcast_add", "return grad.sum(axis=stretched, keepdims=True)",
                        sum_to_body)
        broken_copy(tmp_path / folder, "ex01_mul", "return grad * b, grad * a",
                    "from ex07_broadcast_add import sum_to\n        return sum_to(grad * b, a.shape), grad * a")
    (good,) = grade.grade(["ex01"], folder=tmp_path / "good")
    (bad,) = grade.grade(["ex01"], folder=tmp_path / "bad")
    assert good.passed, good.message
    assert bad.status == "fail", bad.message


def test_main_prints_and_returns_the_status(tmp_path, monkeypatch, capsys):
    assert grade.main(["ex01", "--solutions"]) == 0
    assert "ex01_mul             pass   out = a * b   (2 cases, max abs error" in capsys.readouterr().out
    # "your" exercises, whatever the learner has done to lessons/exercises: one solved, one not
    shutil.copy(grade.SOLUTIONS / "ex03_exp.py", tmp_path)
    broken_copy(tmp_path, "ex05_tanh", "return grad * (1 - y * y)", "raise NotImplementedError('TODO: tanh')")
    monkeypatch.setattr(grade, "HERE", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert grade.main(["5", "exp"]) == 1
    out = capsys.readouterr().out
    assert "ex03_exp             pass" in out
    assert "ex05_tanh            TODO   y = tanh x\n      not implemented yet (TODO: tanh at ex05_tanh.py line" in out
    assert out.rstrip().endswith("1/2 passed, 1 not implemented yet. Next: ex05_tanh.py")
    assert grade.main(["--list"]) == 0 and "ex13_attention" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        grade.main(["ex99"])


def test_the_grader_runs_as_a_script(tmp_path):
    result = subprocess.run([sys.executable, str(EXERCISES_DIR / "grade.py"), "--solutions", "ex10", "ex11"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2/2 passed" in result.stdout


@pytest.mark.skipif(not mg.cuda_is_available(), reason="needs CuPy and an NVIDIA GPU")
def test_reference_solutions_pass_on_cuda():
    results = grade.grade(solutions=True, device="cuda")
    assert all(r.passed for r in results), [(r.name, r.message) for r in results if not r.passed]


def test_a_transposed_gradient_is_a_shape_error_without_the_broadcast_hint(tmp_path):
    broken_copy(tmp_path, "ex01_mul", "return grad * b, grad * a", "return (grad * b).T, grad * a")
    (result,) = grade.grade(["ex01"], folder=tmp_path)  # case 1 is 1-D, where .T changes nothing
    assert result.status == "fail" and result.message.startswith("case 2/2")
    assert "a gradient of shape (4, 3) for a, but a has shape (3, 4)" in result.message
    assert "stretched" not in result.message  # nothing was broadcast: same size, other shape
    assert "transposed, or summed without keepdims=True?" in result.message


def test_an_error_is_located_in_the_innermost_line_of_the_learners_file(tmp_path):
    broken_copy(tmp_path, "ex01_mul", "return grad * b, grad * a", "return times(grad, b), grad * a")
    with open(tmp_path / "ex01_mul.py", "a") as file:
        file.write("\n\ndef times(g, x):\n    return g * x[:2]\n")
    (result,) = grade.grade(["ex01"], folder=tmp_path)
    assert result.status == "error" and result.message.endswith(": return g * x[:2]"), result.message


def test_exercises_are_picked_in_course_order_each_once():
    assert [e.name for e in grade.select(["exp", "ex01", "1", "3"])] == ["ex01_mul", "ex03_exp"]
    assert [e.name for e in grade.select(["ex3", "cross-entropy", "LayerNorm", "03"])] == [
        "ex03_exp", "ex11_cross_entropy", "ex12_layer_norm"]
    assert [e.name for e in grade.select(["ex03_exp.py", "EX01"])] == ["ex01_mul", "ex03_exp"]  # a file name too


def test_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        grade.main(["--folder", str(tmp_path / "nope")])
    assert "no such folder" in capsys.readouterr().err
    expected = ", ".join(f"{name}.py" for name in NAMES)
    for extra in (None, "notes.py", "ex01_mult.py"):  # empty; no exercise in it; a misnamed exercise
        if extra:
            (tmp_path / extra).write_text("# not an exercise\n")
        for names in ([], ["ex01"]):  # all of them would be graded "missing"; the one named too
            with pytest.raises(SystemExit) as exited:
                grade.main(["--folder", str(tmp_path), *names])
            captured = capsys.readouterr()
            assert exited.value.code == 2 and "Grading" not in captured.out
            assert (f"--folder {tmp_path}: no file there has the name of an exercise ({expected}): "
                    f"copy lessons/exercises there first") in captured.err


def test_output_weights_are_fixed_random_numbers_of_either_sign_away_from_0_and_1():
    """The grad a backward receives: one that ignores grad, squares it or drops its sign must not pass by luck."""
    import numpy as np

    class Identity:
        apply = staticmethod(lambda x: x)

    x = mg.tensor(np.zeros((20, 30)), dtype=mg.float64)
    weights = grade.output_weights(Identity, [x], {}, seed=0).numpy()
    assert weights.shape == (20, 30) and weights.dtype == np.float64
    assert 0.5 <= abs(weights).min() and abs(weights).max() < 2
    assert (weights < 0).any() and (weights > 0).any()
    np.testing.assert_array_equal(weights, grade.output_weights(Identity, [x], {}, seed=0).numpy())  # the same each run
    assert not np.array_equal(weights, grade.output_weights(Identity, [x], {}, seed=1).numpy())  # each case its own


def test_without_the_solutions_folder_the_backward_is_still_graded(tmp_path, monkeypatch, capsys):
    """A learner may delete solutions/ so as not to peek: only the check of the forward needs it."""
    shutil.copy(grade.SOLUTIONS / "ex01_mul.py", tmp_path)
    broken_copy(tmp_path, "ex05_tanh", "return grad * (1 - y * y)", "return grad * (1 - y)")
    monkeypatch.setattr(grade, "SOLUTIONS", tmp_path / "solutions")  # not there
    assert grade.main(["--folder", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count("No reference solution") == 1, out  # said once, not once per exercise
    assert (f"No reference solution in {tmp_path / 'solutions'}, so your forward is not compared with the "
            f"reference one (leave it as given); your backward is graded as usual.") in out
    assert "ex01_mul             pass" in out
    assert "ex05_tanh            FAIL" in out and "gradient mismatch at input 0 = x" in " ".join(out.split())
    (tmp_path / "solutions").mkdir()  # one of them deleted: that one is named
    shutil.copy(EXERCISES_DIR / "solutions" / "ex01_mul.py", tmp_path / "solutions")
    assert grade.main(["--folder", str(tmp_path)]) == 1
    assert f"No reference solution for ex05_tanh in {tmp_path / 'solutions'}, so" in capsys.readouterr().out


def test_a_shared_matrix_sums_over_every_batch_dim(tmp_path):
    """b shared by a batch of two dims: summing over the first alone leaves b's gradient a dim too many."""
    broken_copy(tmp_path, "ex09_matmul", "return sum_leading(grad_a, a.ndim), sum_leading(grad_b, b.ndim)",
                "return sum_leading(grad_a, a.ndim), grad_b.sum(axis=0) if grad_b.ndim > b.ndim else grad_b")
    (result,) = grade.grade(["ex09"], folder=tmp_path)
    assert result.status == "fail" and result.cases == 3, result.message  # one batch dim: passes
    assert result.message.startswith("case 4/4 [a (2, 2, 3, 4) @ b (4, 2), b shared by two batch dims]: "
                                     "Matmul.backward returned a gradient of shape (2, 4, 2) for b, but b has "
                                     "shape (4, 2)"), result.message
    assert "sum the gradient over the stretched dims" in result.message
