"""The "cuda" code paths, run on the simulated CUDA device of tests/simulated_cuda.py.

These run in every test session (no GPU, no --simulated-cuda needed): the `fake_cuda` fixture
installs the fake cupy for one test. First the fake itself is checked to be as strict as CuPy
(else a passing run would prove nothing), then training, the `minigrad` command and checkpoints
run end to end on "cuda". `pytest --simulated-cuda` runs every other cuda test on it as well.
"""
import json

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from models import pretrained
from models.cli import main
from tests import simulated_cuda
from tests.simulated_cuda import cupy, cupyx
from tests.test_parity import check_same_run


@pytest.fixture
def fake_cuda(monkeypatch):
    simulated_cuda.install(monkeypatch)
    mg.manual_seed(0)  # seeds the fake device's generator too, now that cuda is available


# ---- the simulation is as strict as CuPy ------------------------------------------------------------
def test_device_arrays_never_mix_with_host_arrays(fake_cuda):
    x = cupy.asarray(np.arange(3.0))
    assert not isinstance(x, np.ndarray) and backend.device_of(x) == "cuda" and mg.cuda_is_available()
    host = np.ones(3)
    tensor = mg.ones(3, device="cuda")  # has an __array_ufunc__ of its own, so CuPy's operators don't defer to it
    mixes = [lambda: x + host, lambda: host * x, lambda: x * tensor, lambda: cupy.maximum(x, host), lambda: cupy.exp(host),
             lambda: cupy.where(x > 0, host, 0.0), lambda: cupy.concatenate([x, host]), lambda: x.dot(host),
             lambda: cupyx.scipy.special.erf(host)]
    for mix in mixes:
        with pytest.raises(TypeError, match="Unsupported type"):
            mix()
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(x)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray"):  # CuPy's fill error
        x[...] = host


def test_what_cupy_allows_works(fake_cuda):
    x = cupy.asarray([1.0, 2.0, 3.0])
    assert isinstance(x + 1, cupy.ndarray) and isinstance(x * np.float32(2), cupy.ndarray)  # scalars are fine
    y = x
    y += 1  # in place: the same array
    assert y is x and x.tolist() == [2.0, 3.0, 4.0]
    assert isinstance(x[np.array([0, 2])], cupy.ndarray)  # CuPy copies host index arrays itself
    x[np.array([0])] = np.array([5.0])  # ... and values in advanced-index assignment
    total = x.sum()  # a 0-d device array, not a NumPy scalar
    assert isinstance(total, cupy.ndarray) and total.ndim == 0 and float(total) == 12.0
    with pytest.raises(TypeError):
        json.dumps(total)  # so a result written without .item() fails here as on a GPU
    assert isinstance(cupy.asnumpy(x), np.ndarray) and isinstance(x.get(), np.ndarray)
    assert [type(row) for row in cupy.ones((2, 2))] == [cupy.ndarray] * 2  # iteration gives device rows




def test_only_the_functions_cupy_has_exist(fake_cuda):
    assert cupy.tril(cupy.ones((2, 2))).tolist() == [[1, 0], [1, 1]]  # NumPy's, on device arrays
    with pytest.raises(AttributeError, match="module 'cupy' has no attribute 'busday_count'"):
        cupy.busday_count  # NumPy has it, CuPy does not

def test_out_of_range_indices_wrap_around_as_in_cupy(fake_cuda):
    x = cupy.asarray([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    assert x[np.array([5])].tolist() == [[8, 9, 10, 11]]  # row 5 % 3 = 2, no error
    assert x[:, cupy.asarray([-5, 4])].tolist() == [[3, 0], [7, 4], [11, 8]]
    assert x[..., np.array([6])].ravel().tolist() == [2, 6, 10]
    x[np.array([3])] = 0  # and written: row 0
    assert x[0].tolist() == [0, 0, 0, 0]

def test_views_report_the_array_that_owns_their_memory(fake_cuda):
    x = cupy.zeros((2, 3))
    view = x.reshape(3, 2)[1:].T
    assert backend.memory_owner(view) is x and x.base is None and not view.flags.owndata
    assert cupy.ascontiguousarray(x) is x and backend.memory_owner(x.copy()) is not x
    assert not hasattr(x.flags, "writeable")  # CuPy's flags have no writeable


def test_scatter_add_takes_only_atomic_add_dtypes(fake_cuda):
    target = cupy.zeros(3, dtype=np.float32)
    cupyx.scatter_add(target, cupy.asarray([0, 0, 2]), cupy.ones(3, dtype=np.float32))
    assert target.tolist() == [2.0, 0.0, 1.0]
    with pytest.raises(TypeError, match="scatter_add only supports"):
        cupyx.scatter_add(cupy.zeros(3, dtype=np.int64), cupy.asarray([0, 1]), cupy.ones(2, dtype=np.int64))


def test_the_device_generator_is_its_own(fake_cuda):
    draws = mg.randn(4, device="cuda")
    assert draws.device == "cuda"
    assert not np.allclose(draws.numpy(), mg.randn(4).numpy())  # another stream than the CPU's, as on a GPU


# ---- the cuda code paths ---------------------------------------------------------------------------
def test_lora_training_on_cuda_matches_the_cpu(fake_cuda):
    check_same_run("cuda", "lora")


def test_compare_on_cuda_end_to_end(fake_cuda, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", "--device", "cuda", "--steps", "2", "--out", str(out)]) == 0, capsys.readouterr().err
    assert "on cuda" in capsys.readouterr().out
    rows = {row["mode"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    assert rows["head"]["forgetting"] == pytest.approx(0.0, abs=1e-9) and rows["lora"]["trainable"] > 0


def test_compare_over_seeds_on_cuda(fake_cuda, tmp_path, capsys):
    """The means and deviations are host numbers (results.json and the table need them), each seed its own run."""
    out = tmp_path / "run"
    assert main(["compare", "--device", "cuda", "--steps", "2", "--modes", "head,prompt", "--seeds", "2",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    rows = {row["mode"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    assert [run["seed"] for run in rows["prompt"]["runs"]] == [0, 1]
    assert rows["prompt"]["runs"][0]["val_loss"] != rows["prompt"]["runs"][1]["val_loss"]
    assert rows["head"]["val_accuracy_std"] >= 0 and "±" in capsys.readouterr().out


def test_finetune_on_cuda_saves_a_delta_that_loads_back_on_cuda(fake_cuda, tmp_path, capsys):
    from models.finetune import load_delta
    out = tmp_path / "tune"
    assert main(["finetune", "--mode", "lora", "--steps", "2", "--device", "cuda", "--out", str(out)]) == 0, \
        capsys.readouterr().err
    tuned = load_delta(pretrained.load("tiny", device="cuda"), out / "delta.safetensors").eval()
    assert {p.device for p in tuned.parameters()} == {"cuda"}
    on_cpu = load_delta(pretrained.load("tiny"), out / "delta.safetensors").eval()  # the file is device-free
    ids = mg.tensor([[1, 5, 7, 2]])
    np.testing.assert_allclose(tuned(ids.to("cuda")).numpy(), on_cpu(ids).numpy(), rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    printed = []
    for device in ("cuda", "cpu"):  # and `minigrad predict` uses it on either device, to the same effect
        assert main(["predict", str(out / "delta.safetensors"), "not bad at all .", "--device", device]) == 0, \
            capsys.readouterr().err
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1] and printed[0].endswith("  not bad at all .\n")


def test_a_sweep_stopped_on_cuda_resumes_there_from_its_device_checkpoint(fake_cuda, tmp_path, monkeypatch, capsys):
    """The setting that finished is kept as it was; the stopped one continues from its checkpoint (of
    device arrays) to its last step, and ends as the uninterrupted run did: the device's generator, whose
    state a checkpoint cannot hold, restarts at each checkpoint's step in both (models/train.py)."""
    from tests.test_resume import comparable, logged_steps, results, stop_at_step
    sweep = ["finetune", "--mode", "prefix", "--sweep", "lr=1e-1,3e-2", "--steps", "4", "--eval-every", "2",
             "--device", "cuda"]
    assert main(sweep + ["--out", str(tmp_path / "whole")]) == 0, capsys.readouterr().err
    stop_at_step(4 + 3, monkeypatch)  # the second setting's third step: its step-2 checkpoint holds device arrays
    assert main(sweep + ["--out", str(tmp_path / "stopped")]) == 130
    monkeypatch.undo()
    simulated_cuda.install(monkeypatch)  # undo took the fake device away too
    assert main(["finetune", "--resume", str(tmp_path / "stopped")]) == 0, capsys.readouterr().err
    resumed, whole = results(tmp_path / "stopped")["rows"], results(tmp_path / "whole")["rows"]
    assert comparable(resumed) == comparable(whole)  # prefix's body has dropout: the masks are the same
    assert resumed[1]["steps_done"] == 4 and resumed[1]["stopped"] == "finished"
    assert logged_steps(tmp_path / "stopped" / "log-2.jsonl") == [2, 4]


def test_pretrain_resume_and_generate_on_cuda(fake_cuda, tmp_path, capsys):
    out = tmp_path / "pre"
    args = ["pretrain", "--steps", "2", "--sentences", "100", "--vocab-size", "300", "--n-layers", "1",
            "--d-model", "16", "--n-heads", "2", "--d-ff", "32", "--device", "cuda", "--out"]
    assert main([*args, str(out)]) == 0, capsys.readouterr().err
    assert main([*args, str(tmp_path / "resumed"), "--steps", "3", "--resume",
                 str(out / "checkpoint.safetensors")]) == 0, capsys.readouterr().err
    for model, temperature in ((str(out / "model.safetensors"), "0"), ("tiny", "0.8")):
        assert main(["generate", "--model", model, "--samples", "1", "--max-new-tokens", "4",
                     "--temperature", temperature, "--top-k", "5", "--device", "cuda"]) == 0, capsys.readouterr().err


def test_gradcheck_command_on_cuda(fake_cuda, capsys):
    assert main(["gradcheck", "--device", "cuda"]) == 0, capsys.readouterr().err
    assert "ops pass gradcheck on cuda" in capsys.readouterr().out


def test_checkpoints_of_cuda_tensors_load_on_either_device(fake_cuda, tmp_path):
    weights = {"w": mg.randn(2, 3, device="cuda"), "ids": mg.arange(4, device="cuda")}
    mg.save(weights, tmp_path / "w.safetensors")
    for device in ("cpu", "cuda"):
        loaded = mg.load(tmp_path / "w.safetensors", device=device)
        assert {t.device for t in loaded.values()} == {device}
        np.testing.assert_array_equal(loaded["w"].numpy(), weights["w"].numpy())



def test_indices_out_of_range_are_refused_on_cuda_too(fake_cuda):
    """CuPy would quietly read row 5 % 3 = 2; minigrad checks, as NumPy does on the CPU."""
    x = mg.zeros(3, 4, device="cuda", requires_grad=True)
    with pytest.raises(IndexError, match="indexing: index 5 is out of range for dim 0 of size 3"):
        x[mg.tensor([0, 5], device="cuda")]
    with pytest.raises(IndexError, match="gather: index 4 is out of range for dim 1 of size 4"):
        x.gather(1, mg.tensor([[0], [4], [1]], device="cuda"))
    with mg.no_grad(), pytest.raises(IndexError, match="assignment: index 3 is out of range for dim 0"):
        x[mg.tensor([3], device="cuda")] = 1.0
    x[mg.tensor([0, -3], device="cuda")].sum().backward()  # -3 is row 0 from the end: fine
    assert x.grad.numpy()[0].tolist() == [2.0] * 4

def test_in_place_writes_into_an_expanded_view_are_refused_on_cuda(fake_cuda):
    expanded = mg.ones(3, device="cuda").expand(2, 3)
    with mg.no_grad(), pytest.raises(RuntimeError, match="expanded view"):
        expanded.add_(1)


def test_a_training_step_on_cuda_waits_for_the_device_only_a_few_times(fake_cuda):
    """A GPU runs ahead of Python only while nothing reads a value back: one read per op would
    stop the queue every time. A step may read its loss, the clipping norm, and check that ids,
    targets and the pooled positions are in range (embedding, cross-entropy, the classifier's
    "last token" index); nothing per layer."""
    from models import data, tasks
    from models.finetune import prepare
    from models.train import TrainConfig, make_optimizer, training_step
    tiny = pretrained.load("tiny", device="cuda")
    batch = next(data.batches(data.load_task("sentiment").train, tiny.tokenizer, 8, 48, seed=0, device="cuda"))
    for mode in ("full", "lora"):
        model = prepare(tiny, mode, num_labels=2)
        optimizer = make_optimizer(model.param_groups, TrainConfig(lr=1e-4))
        trainable = [p for group in optimizer.param_groups for p in group["params"]]
        simulated_cuda.host_reads.clear()
        training_step(model, tasks.loss, [batch], optimizer, trainable, 1.0, 1)
        reads = sum(simulated_cuda.host_reads.values())
        assert 0 < reads <= 5, f"{mode}: {reads} reads from the device in one step: {dict(simulated_cuda.host_reads)}"


def test_the_shipped_model_loads_onto_the_device_asked_for(fake_cuda):
    model = pretrained.load("tiny", device="cuda")
    assert {p.device for p in model.parameters()} == {"cuda"}


def test_fills_from_0d_tensors_and_empty_softmax_work_on_cuda(fake_cuda):
    x = mg.zeros(3, device="cuda")
    assert x.fill_(mg.tensor(2.0, device="cuda")).tolist() == [2.0] * 3 and x.fill_(mg.tensor(1.0)).tolist() == [1.0] * 3
    assert mg.full_like(x, mg.tensor(3.0, device="cuda")).tolist() == [3.0] * 3
    with pytest.raises(RuntimeError, match=r"fill_: the value must be a number or a 0-d tensor, got shape \(3,\)"):
        x.fill_(mg.ones(3, device="cuda"))
    # the max of no elements (-inf) without NumPy's initial=, which CuPy's max lacks
    assert mg.softmax(mg.zeros(2, 0, device="cuda"), -1).shape == (2, 0)
    assert mg.zeros(2, 0, device="cuda").logsumexp(-1).tolist() == [-np.inf, -np.inf]
