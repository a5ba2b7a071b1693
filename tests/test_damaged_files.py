"""Files the project reads back, damaged or mismatched: each is a clear error naming the file, what is
wrong and what was expected, never a raw KeyError / TypeError / traceback; a refused write changes nothing."""
import json
import pickle

import numpy as np
import pytest

import minigrad as mg
from models import pretrained, resume
from models.finetune import prepare
from models.finetune.delta import load_delta, save_delta
from models.heads import LanguageModel
from models.transformer import TransformerConfig


@pytest.fixture
def base():
    return LanguageModel(TransformerConfig(vocab_size=20, n_layers=2, d_model=8, n_heads=2, d_ff=16, max_len=16,
                                           dropout=0.0))


def resaved(source, target, tensors=None, **metadata):
    """A copy of the safetensors file at source, with its tensors replaced and metadata entries changed."""
    mg.save(tensors if tensors is not None else mg.load(source), target,
            metadata={**mg.io.load_metadata(source), **metadata})
    return target


# ---- minigrad/io.py ------------------------------------------------------------------------------------

@pytest.mark.parametrize("start", [b"text,label\nhello,positive\n", b"\x89PNG\r\n\x1a\n" + bytes(100),
                                   pickle.dumps({"w": [1.0, 2.0]}, protocol=4)], ids=["csv", "png", "pickle-4"])
def test_a_file_of_another_kind_is_named_by_its_first_bytes(tmp_path, start):
    path = tmp_path / "model.safetensors"
    path.write_bytes(start)
    for read in (mg.load, mg.io.load_metadata):  # not safetensors' "header too large"
        with pytest.raises(ValueError, match=r"model.safetensors .* it starts with b'.*a file of another kind"):
            read(path)


def test_saving_into_a_file_as_if_it_were_a_folder_names_it_as_a_file(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"results is a file, expected a folder there"):
        mg.save({"w": mg.zeros(2)}, tmp_path / "results" / "model.safetensors")


def test_a_write_the_system_refuses_names_the_file_asked_for_and_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    mg.save({"w": mg.ones(3)}, path)

    def refuse(name, *args, **kwargs):  # as open() does in a folder without write permission
        raise PermissionError(13, "Permission denied", str(name))

    monkeypatch.setattr("builtins.open", refuse)
    with pytest.raises(PermissionError) as error:
        mg.save({"w": mg.zeros(3)}, path)
    monkeypatch.undo()
    assert f"cannot write {path}: Permission denied" in str(error.value)
    assert ".tmp" not in str(error.value)  # the temporary's name means nothing to the user
    assert mg.load(path)["w"].numpy().tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


# ---- models/pretrained.py ------------------------------------------------------------------------------

def test_a_checkpoint_whose_tensors_do_not_fit_its_config_names_the_file(tmp_path):
    shipped = pretrained.SHIPPED["tiny"]
    weights = mg.load(shipped)
    weights["body.blocks.0.attn.query.weight"] = mg.zeros(1, 64)
    path = resaved(shipped, tmp_path / "edited.safetensors", weights)
    with pytest.raises(ValueError, match=r"(?s)edited.safetensors: its tensors do not fit the model its metadata "
                                         r"describes .*query.weight: checkpoint shape \(1, 64\)"):
        pretrained.load(path)


def test_a_checkpoint_with_nan_weights_is_refused_naming_the_file_and_tensor(tmp_path):
    shipped = pretrained.SHIPPED["tiny"]
    weights = mg.load(shipped)
    weights["body.blocks.0.attn.query.weight"] = mg.tensor(np.full((64, 64), np.nan, dtype=np.float32))
    path = resaved(shipped, tmp_path / "diverged.safetensors", weights)
    with pytest.raises(ValueError, match=r"diverged.safetensors holds NaN or infinite values in "
                                         r"body.blocks.0.attn.query.weight"):
        pretrained.load(path)


# ---- models/finetune/delta.py --------------------------------------------------------------------------

@pytest.fixture
def delta(base, tmp_path):
    path = tmp_path / "delta.safetensors"
    save_delta(prepare(base, "lora", num_labels=2, r=2), path, labels=["negative", "positive"], max_len=16)
    return path


@pytest.mark.parametrize("entry, value, message", [
    ("labels", '["a", "b", "c"]', "names 3 labels for a head with 2 outputs"),  # else a class is misnamed
    ("labels", '"positive"', "'labels' is '\"positive\"', expected a list of class names"),  # else one per letter
    ("max_len", '"48"', "'max_len' is '\"48\"', expected a whole number >= 1"),
    ("options", "[2]", "'options' is '\\[2\\]', expected an object of the mode's options"),
    ("thawed_at", '"x"', "'thawed_at' is '\"x\"', expected a step number or null"),
    ("num_labels", '"2"', "'num_labels' is '\"2\"', expected a whole number"),
])
def test_a_delta_entry_of_the_wrong_kind_is_named(base, delta, tmp_path, entry, value, message):
    path = resaved(delta, tmp_path / "edited.safetensors", **{entry: value})
    with pytest.raises(ValueError, match=f"edited.safetensors: its metadata .*{message}"):
        load_delta(base, path)


@pytest.mark.parametrize("entry, value, message", [
    ("mode", "bogus", "unknown fine-tuning mode 'bogus'"),
    ("task", "bogus", "unknown option 'pooling' for mode 'lora' and task 'bogus'"),
    ("options", '{"zzz": 1}', "unknown option 'zzz'"),
])
def test_a_delta_whose_metadata_builds_no_model_names_the_file(base, delta, tmp_path, entry, value, message):
    path = resaved(delta, tmp_path / "edited.safetensors", **{entry: value})
    with pytest.raises(ValueError, match=f"edited.safetensors: its metadata .* does not rebuild a fine-tuned "
                                         f"model on this base: {message}"):
        load_delta(base, path)


def test_a_delta_whose_tensors_do_not_fit_its_options_names_the_file(base, delta, tmp_path):
    options = {**json.loads(mg.io.load_metadata(delta)["options"]), "r": 3}  # saved with r=2
    path = resaved(delta, tmp_path / "edited.safetensors", options=json.dumps(options))
    with pytest.raises(ValueError, match=r"(?s)edited.safetensors: its tensors do not fit .*lora_A: checkpoint "
                                         r"shape \(2, 8\), model shape \(3, 8\)"):
        load_delta(base, path)


def test_a_delta_with_nan_weights_is_refused(base, delta, tmp_path):
    tensors = mg.load(delta)
    name = next(name for name in tensors if name.endswith("lora_A"))
    tensors[name] = tensors[name] * float("nan")
    path = resaved(delta, tmp_path / "diverged.safetensors", tensors)
    with pytest.raises(ValueError, match=f"diverged.safetensors holds NaN or infinite values in {name}"):
        load_delta(base, path)


# ---- models/resume.py ----------------------------------------------------------------------------------

def record(**changes):
    return {"command": "finetune", "state": "running", "mode": "lora", "grid": [], "rows": [],
            "settings": {"model": "tiny", "seed": 0, "augment_keep": []}, **changes}


@pytest.mark.parametrize("written, message", [
    ([1, 2], "holds a JSON list, expected the object a `minigrad finetune` run writes"),
    ({k: v for k, v in record().items() if k != "rows"}, "expected the entries settings, rows, mode, grid"),
    ({k: v for k, v in record().items() if k != "mode"}, "expected the entries settings, rows, mode, grid"),
    (record(rows={}), "the rows a list of objects"),
    (record(settings={"model": "tiny"}), "the settings an object with the seed"),
])
def test_a_run_record_of_the_wrong_shape_is_named(tmp_path, written, message):
    (tmp_path / "results.json").write_text(json.dumps(written))
    with pytest.raises(ValueError, match=f"--resume {tmp_path}: .*results.json .*{message}"):
        resume.read_run(tmp_path, "finetune")


def test_a_run_record_without_the_optional_augment_keep_resumes_with_its_default(tmp_path):
    settings = {"model": "tiny", "seed": 3}  # settings an older minigrad did not record take their defaults
    (tmp_path / "results.json").write_text(json.dumps(record(settings=settings)))
    config = resume.config_from(resume.read_run(tmp_path, "finetune"))
    assert (config.seed, config.augment_keep) == (3, ())


# ---- models/train.py: a training checkpoint to resume from --------------------------------------------

def checkpoint_and_fresh_state(base, tmp_path):
    """A LoRA model's training checkpoint after 3 steps, and a model, optimizer and schedule to put it into."""
    from models.train import TrainConfig, make_optimizer, make_schedule, save_checkpoint
    model = prepare(base, "lora", num_labels=2, r=2)
    optimizer = make_optimizer(model.param_groups, TrainConfig())
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, model, optimizer, make_schedule(optimizer, TrainConfig()), step=3)
    optimizer = make_optimizer(model.param_groups, TrainConfig())
    return path, model, optimizer, make_schedule(optimizer, TrainConfig())


@pytest.mark.parametrize("entry, value", [("step", None), ("optimizer", "{bad"), ("schedule", "[1]"),
                                          ("cpu_random_state", "7")])
def test_a_training_checkpoint_with_an_entry_edited_names_the_file(base, tmp_path, entry, value):
    from models.train import load_checkpoint
    path, model, optimizer, schedule = checkpoint_and_fresh_state(base, tmp_path)
    metadata = mg.io.load_metadata(path)
    if value is None:
        del metadata[entry]
    else:
        metadata[entry] = value
    mg.save(mg.load(path), tmp_path / "edited.safetensors", metadata=metadata)
    with pytest.raises(ValueError, match=r"edited.safetensors: its training state does not read .*was it edited\?"):
        load_checkpoint(tmp_path / "edited.safetensors", model, optimizer, schedule)


def test_a_training_checkpoint_whose_tensor_has_another_shape_names_the_file(base, tmp_path):
    from models.train import load_checkpoint
    path, model, optimizer, schedule = checkpoint_and_fresh_state(base, tmp_path)
    tensors = mg.load(path)
    name = next(name for name in tensors if name.endswith("lora_A"))
    tensors[name] = mg.zeros(tensors[name].shape[0] + 1, tensors[name].shape[1])
    resaved(path, tmp_path / "edited.safetensors", tensors)
    with pytest.raises(ValueError, match=rf"(?s)edited.safetensors: its tensors do not fit .*{name}: checkpoint shape"):
        load_checkpoint(tmp_path / "edited.safetensors", model, optimizer, schedule)


def test_resuming_past_the_runs_last_step_is_refused(base, tmp_path):
    from models.train import TrainConfig, make_optimizer, make_schedule, save_checkpoint, train
    model = prepare(base, "head", num_labels=2)
    optimizer = make_optimizer(model.param_groups, TrainConfig())
    save_checkpoint(tmp_path / "checkpoint.safetensors", model, optimizer, make_schedule(optimizer, TrainConfig()), step=4)
    with pytest.raises(ValueError, match=r"written after step 4, past the 2 steps of this run; resume with at least 4"):
        train(model, lambda model, batch: None, iter([]), TrainConfig(steps=2, progress=False),
              resume=tmp_path / "checkpoint.safetensors")
