"""Checkpoints: mg.save / mg.load round trips, metadata, every error, and atomic writes."""
import os
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy

import minigrad as mg
from minigrad import nn


def model():
    return nn.Sequential(nn.Embedding(6, 4), nn.LayerNorm(4), nn.Linear(4, 3))


def test_round_trip_of_every_dtype(tmp_path):
    path = tmp_path / "tensors.safetensors"
    state = {
        "float32": mg.randn(3, 4),
        "float64": mg.tensor([1.5, -2.25], dtype=mg.float64),
        "int64": mg.tensor([[1, 2], [3, 4]]),
        "bool": mg.tensor([True, False]),
        "scalar": mg.tensor(7.0),
        "transposed": mg.randn(4, 3).T,  # not contiguous: must still be written in the right order
    }
    mg.save(state, path)
    loaded = mg.load(path)
    assert set(loaded) == set(state)
    for name, tensor in state.items():
        assert isinstance(loaded[name], mg.Tensor) and not loaded[name].requires_grad
        assert loaded[name].dtype == tensor.dtype and loaded[name].shape == tensor.shape
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.numpy())


def test_a_model_round_trips_through_a_file(tmp_path, device):
    path = tmp_path / "model.safetensors"
    source = model().to(device)
    mg.save(source.state_dict(), path)
    target = model().to(device)
    target.load_state_dict(mg.load(path, device=device))
    ids = mg.tensor([[0, 5, 2]], device=device)
    np.testing.assert_array_equal(target(ids).numpy(), source(ids).numpy())
    assert all(p.device == device for p in target.parameters())


def test_metadata_round_trips(tmp_path):
    path = tmp_path / "with_metadata.safetensors"
    mg.save({"w": mg.zeros(2)}, path, metadata={"step": "100", "mode": "lora"})
    assert mg.io.load_metadata(path) == {"step": "100", "mode": "lora"}
    mg.save({"w": mg.zeros(2)}, path)
    assert mg.io.load_metadata(path) == {}


def test_pytorch_reads_our_files(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "for_torch.safetensors"
    source = model()
    mg.save(source.state_dict(), path)
    loaded = safetensors_torch.load_file(str(path))
    assert isinstance(loaded["2.weight"], torch.Tensor)
    np.testing.assert_array_equal(loaded["2.weight"].numpy(), source[2].weight.numpy())


def test_a_nested_checkpoint_as_pytorch_code_saves_it_round_trips(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    source = model()
    opt = mg.optim.AdamW(source.parameters(), lr=3e-4, betas=(0.9, 0.95))
    source(mg.tensor([[1, 2]])).sum().backward()
    opt.step()
    mg.save({"model": source.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
             "config": {"dims": (6, 4), "name": None, "best": 0.25}}, path)
    loaded = mg.load(path)
    assert loaded["epoch"] == 3 and loaded["config"] == {"dims": [6, 4], "name": None, "best": 0.25}  # tuples: lists
    copy = model()
    copy.load_state_dict(loaded["model"])
    restored = mg.optim.AdamW(copy.parameters(), lr=1.0)
    restored.load_state_dict(loaded["optimizer"])  # int keys (parameter indices) come back as ints
    assert restored.param_groups[0]["lr"] == 3e-4 and restored.state[copy[2].weight]["step"] == 1
    np.testing.assert_array_equal(restored.state[copy[2].weight]["exp_avg"], opt.state[source[2].weight]["exp_avg"])
    # still a plain safetensors file: its tensors are stored under their paths
    assert "optimizer.state.4.exp_avg_sq" in safetensors.numpy.load_file(path) and "model.2.weight" in mg.io.load_metadata(path)["minigrad.tree"]


def test_a_tuple_of_tensors_round_trips_as_a_list_of_those_tensors(tmp_path):
    """A tuple nests like a list (each tensor stored under its path), and comes back as a list, as the
    module's docstring says: its tensors can't be a plain JSON value."""
    path = tmp_path / "pair.safetensors"
    mg.save({"pair": (mg.ones(2), mg.tensor([[1.5, -2.0, 0.25]]))}, path)
    loaded = mg.load(path)["pair"]
    assert isinstance(loaded, list) and len(loaded) == 2
    np.testing.assert_array_equal(loaded[0].numpy(), np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(loaded[1].numpy(), np.array([[1.5, -2.0, 0.25]], dtype=np.float32))
    assert set(safetensors.numpy.load_file(path)) == {"pair.0", "pair.1"}


# ---- bad input ---------------------------------------------------------------------------------
def test_save_rejects_what_it_cannot_write(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=r"save: w is a ndarray; a checkpoint holds tensors, numbers"):
        mg.save({"w": np.zeros(2)}, path)
    with pytest.raises(TypeError, match=r"keys must be str or int, got \(1, 2\) \(tuple\) in optimizer"):
        mg.save({"optimizer": {(1, 2): mg.zeros(1)}}, path)
    with pytest.raises(ValueError, match="two tensors would be stored as 'a.b'"):
        mg.save({"a.b": mg.zeros(1), "a": {"b": mg.ones(1)}}, path)
    with pytest.raises(TypeError, match="such as model.state_dict"):
        mg.save(model(), path)
    with pytest.raises(TypeError, match="metadata must map str to str"):
        mg.save({"w": mg.zeros(2)}, path, metadata={"step": 100})
    with pytest.raises(TypeError, match="other than 'minigrad.tree'"):  # the key a nested checkpoint's layout uses
        mg.save({"w": mg.zeros(2)}, path, metadata={"minigrad.tree": "x"})
    with pytest.raises(TypeError, match="other than 'minigrad.tree'"):
        mg.save({"w": {"v": mg.zeros(2)}}, path, metadata={"minigrad.tree": "x"})
    assert not path.exists()


@pytest.mark.parametrize("damage", ["truncated", "header only", "garbage", "empty"])
def test_a_damaged_file_is_a_clear_error_naming_the_path(tmp_path, damage):
    path = tmp_path / "damaged.safetensors"
    mg.save(model().state_dict(), path)
    data = path.read_bytes()
    damaged = {"truncated": data[: len(data) - 10], "header only": data[:40],
               "garbage": os.urandom(200), "empty": b""}[damage]
    path.write_bytes(damaged)
    with pytest.raises(ValueError, match="damaged.safetensors is not a readable safetensors checkpoint"):
        mg.load(path)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        mg.io.load_metadata(path)


def test_map_location_is_pytorchs_name_for_device(tmp_path):
    path = tmp_path / "ckpt.pt"  # PyTorch code's file name: the contents are safetensors all the same
    weights = model().state_dict()
    mg.save({"model": weights, "epoch": 3}, path)
    loaded = mg.load(path, map_location="cpu", weights_only=False)
    assert loaded["epoch"] == 3 and loaded["model"]["2.weight"].device == "cpu"
    np.testing.assert_array_equal(loaded["model"]["2.weight"].numpy(), weights["2.weight"].numpy())
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mg.load(path, map_location="tpu")
    with pytest.raises(TypeError, match="map_location must name a device .* got dict"):
        mg.load(path, map_location={"cuda:1": "cuda:0"})


def zip_archive(path):
    import zipfile
    with zipfile.ZipFile(path, "w") as archive:  # what torch.save writes since PyTorch 1.6
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")


@pytest.mark.parametrize("write", [zip_archive, lambda path: path.write_bytes(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")],
                         ids=["zip", "legacy pickle"])
def test_a_pytorch_pickle_is_named_as_one_and_never_unpickled(tmp_path, write):
    path = tmp_path / "model.pt"
    write(path)
    for read in (mg.load, mg.io.load_metadata):
        with pytest.raises(ValueError, match="model.pt is a zip archive or a pickle .a PyTorch torch.save checkpoint.*safetensors.torch.save_file"):
            read(path)


def test_a_file_torch_save_wrote_is_named_as_a_pickle(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="is a zip archive or a pickle .a PyTorch torch.save checkpoint"):
        mg.load(path)


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        mg.load(tmp_path / "nowhere.safetensors")


def test_a_directory_is_a_clear_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory, expected a safetensors checkpoint file"):
        mg.load(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        mg.io.load_metadata(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        mg.save({"w": mg.ones(2)}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_of_another_model_is_rejected_whole(tmp_path):
    path = tmp_path / "other.safetensors"
    other = nn.Sequential(nn.Embedding(6, 4), nn.LayerNorm(4), nn.Linear(4, 5), nn.Linear(5, 2))
    mg.save(other.state_dict(), path)
    target = model()
    before = [p.numpy().copy() for p in target.parameters()]
    with pytest.raises(RuntimeError) as error:
        target.load_state_dict(mg.load(path))
    assert "unexpected keys" in str(error.value) and "3.weight" in str(error.value)
    assert "2.weight: checkpoint shape (5, 4), model shape (3, 4)" in str(error.value)
    for p, old in zip(target.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), old)


# ---- a crash during save never breaks the old checkpoint ----------------------------------------
def fail_with(exception):
    def fail(*args, **kwargs):
        raise exception

    return fail


@pytest.mark.parametrize("where, exception", [
    ("fsync", KeyboardInterrupt()),       # killed after the bytes were written, before the rename
    ("replace", OSError("disk full")),    # the rename itself fails
])
def test_a_crash_during_save_leaves_the_old_file_intact(tmp_path, monkeypatch, where, exception):
    path = tmp_path / "model.safetensors"
    old = model()
    mg.save(old.state_dict(), path)
    monkeypatch.setattr(mg.io.os, where, fail_with(exception))
    with pytest.raises(type(exception)):
        mg.save(model().state_dict(), path)
    monkeypatch.undo()
    restored = mg.load(path)
    for name, tensor in old.state_dict().items():
        np.testing.assert_array_equal(restored[name].numpy(), tensor.numpy())
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temporary file left


def test_a_crash_while_writing_the_bytes_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    mg.save({"w": mg.ones(1000)}, path)
    real_open = open

    class HalfWritten:  # writes half of the bytes, then dies
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(data[: len(data) // 2])
            raise KeyboardInterrupt

    monkeypatch.setattr("builtins.open", lambda *a, **k: HalfWritten(real_open(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        mg.save({"w": mg.zeros(1000)}, path)
    monkeypatch.undo()
    assert mg.load(path)["w"].numpy().sum() == 1000
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_save_overwrites_and_keeps_no_temporary_files(tmp_path):
    path = tmp_path / "model.safetensors"
    mg.save({"w": mg.ones(2)}, path)
    mg.save({"w": mg.zeros(2)}, str(path))  # str paths work too
    assert mg.load(str(path))["w"].tolist() == [0.0, 0.0]
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


@pytest.mark.skipif(os.name != "posix", reason="whether a pid is alive is asked the POSIX way")
def test_a_save_deletes_the_temporaries_of_killed_writers_only(tmp_path):
    path = tmp_path / "model[1].safetensors"  # glob's [ ] must match themselves
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process now
    killed = tmp_path / f".{path.name}.{dead.pid}.tmp"
    live = tmp_path / f".{path.name}.{os.getppid()}.tmp"  # a write still in progress elsewhere
    other = tmp_path / f".other.safetensors.{dead.pid}.tmp"  # another file's
    for leftover in (killed, live, other):
        leftover.write_bytes(b"half a checkpoint")
    folder = tmp_path / f".{path.name}.{2**22 + 7}.tmp"  # past the largest pid Linux gives; a folder: the save goes on
    folder.mkdir()
    mg.save({"w": mg.ones(2)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, live.name, other.name, folder.name])
    assert mg.load(path)["w"].tolist() == [1.0, 1.0]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and permission bits are POSIX")
def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "step_100.safetensors"
    mg.save({"w": mg.ones(2)}, target)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(target)
    mg.save({"w": mg.zeros(2)}, link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert mg.load(target)["w"].tolist() == [0.0, 0.0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["latest.safetensors", "runs", "step_100.safetensors"]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and permission bits are POSIX")
def test_overwriting_keeps_the_permission_bits(tmp_path):
    path = tmp_path / "private.safetensors"
    mg.save({"w": mg.ones(2)}, path)
    os.chmod(path, 0o600)
    mg.save({"w": mg.zeros(2)}, path)
    assert path.stat().st_mode & 0o777 == 0o600 and mg.load(path)["w"].tolist() == [0.0, 0.0]


def test_a_nested_checkpoint_whose_structure_was_edited_is_named(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    mg.save({"model": {"w": mg.ones(2)}, "epoch": 3}, path)
    metadata = mg.io.load_metadata(path)
    tree_key = next(key for key in metadata if "tree" in key)
    metadata[tree_key] = metadata[tree_key][:-5]  # cut short
    arrays = safetensors.numpy.load_file(path)
    safetensors.numpy.save_file(arrays, tmp_path / "edited.safetensors", metadata=metadata)
    with pytest.raises(ValueError, match="not a readable safetensors checkpoint .*which says how the tensors nest"):
        mg.load(tmp_path / "edited.safetensors")
