"""Save only what fine-tuning trained, and put it back onto the base model.

A head / prompt / adapter / LoRA run changes a small fraction of the numbers; the
rest is the pretrained checkpoint that everyone already has. So a delta file
holds only the trainable parameters (named as in the prepared model's
state_dict) and, in the safetensors metadata, what is needed to rebuild the
prepared model around them: mode, options, task, num_labels.

    save_delta(tuned, "sentiment-lora.safetensors")            # kilobytes, not megabytes
    tuned = load_delta(pretrained, "sentiment-lora.safetensors")

load_delta runs prepare() again with the saved mode and options (which gives
the same structure, with new random values in the trainable parameters) and
then overwrites every trainable parameter from the file, so the predictions are
those of the saved model. The file must hold exactly the trainable parameters,
no more and no fewer; the frozen rest comes from the base. A fingerprint of the
frozen weights (a SHA-256 of their float32 values) catches a delta put on a
different base model -- even one trained a few steps further -- which would
otherwise load without complaint and predict nonsense.
"""
import hashlib
import json

import minigrad as mg
from minigrad.io import load_metadata

from models.finetune.ia3 import Rescaled
from models.finetune.lora import LoRALinear
from models.train import load_trained_state, put_weights, thaw, trained_state

FORMAT = "minigrad-finetune-delta/2"  # /2: the base fingerprint is a SHA-256 (it was a sum of |w|)


def fingerprint(model):
    """A SHA-256 over the frozen parameters' names and values (as float32 on the host, so the same
    base on the GPU fits): any change to any frozen weight changes it."""
    digest = hashlib.sha256()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            digest.update(name.encode())
            digest.update(p.detach().float().numpy().tobytes())
    return digest.hexdigest()


def save_delta(model, path, labels=None, base=None, max_len=None, training=None):
    """Write the trainable parameters of a prepared model and how to rebuild it (atomically).
    labels: the class names in the order of the head's outputs; base: the base model's name or path;
    max_len: the tokens per text it was trained on; training: how its training ended, e.g.
    {"steps_done": 40, "steps": 100, "stopped": "interrupted"} (all four only recorded, so that whoever
    loads the delta knows what its outputs mean, what it needs, how to feed it and what it is)."""
    if getattr(model, "mode_options", None) is None:
        raise ValueError("save_delta needs a model from prepare(); a whole model saves with "
                         "mg.save(model.state_dict(), path)")
    if any(m.merged for m in model.modules() if isinstance(m, LoRALinear)):
        raise ValueError("save_delta: the LoRA updates are merged into the base weights; "
                         "call unmerge_lora(model) first, so the frozen weights are the base's again")
    if any(m.merged for m in model.modules() if isinstance(m, Rescaled)):
        raise ValueError("save_delta: the (IA)^3 scales are merged into the base weights; "
                         "call unmerge_ia3(model) first, so the frozen weights are the base's again")
    if labels is not None and len(labels) != model.num_labels:
        raise ValueError(f"save_delta: {len(labels)} labels for a head with {model.num_labels} outputs")
    metadata = {
        "format": FORMAT,
        "mode": model.mode,
        "options": json.dumps(model.mode_options),
        "task": model.task,
        "num_labels": json.dumps(model.num_labels),
        "base_config": json.dumps(model.config.to_dict()),
        "base_fingerprint": fingerprint(model),
        "labels": json.dumps(None if labels is None else [str(label) for label in labels]),
        "base": str(base),
        "max_len": json.dumps(max_len),
        "training": json.dumps(training),
        "thawed_at": json.dumps(thawed_at(model)),
    }
    mg.save(trained_state(model), path, metadata=metadata)


def thawed_at(model):
    """Gradual unfreezing: the step by which the groups that train now had thawed (what the delta holds;
    load_delta thaws the same ones), or None."""
    steps = [g["trains_from"] for g in model.param_groups if "trains_from" in g and g["params"][0].requires_grad]
    return max(steps, default=None)


def read_metadata(path):
    """A delta's metadata (mode, options, task, labels, base...), checked to be a delta's, as strings."""
    metadata = load_metadata(path)
    found = metadata.get("format", "")
    if found != FORMAT and found.startswith(FORMAT.split("/")[0] + "/"):
        raise ValueError(f"{path} is a fine-tuning delta in an older format ({found!r}; this minigrad reads "
                         f"{FORMAT!r}): fine-tune again to write it anew")
    if found != FORMAT and "config" in metadata and "tokenizer" in metadata:
        raise ValueError(f"{path} is a pretrained model, not a fine-tuning delta: fine-tune it first "
                         f"(`minigrad finetune --model {path} --mode ...`), then use the delta that writes")
    if found != FORMAT:
        raise ValueError(f"{path} is not a fine-tuning delta (no {FORMAT!r} in its metadata); "
                         "a full checkpoint loads with model.load_state_dict(mg.load(path))")
    missing = [key for key in NEEDED if key not in metadata]
    if missing:
        raise ValueError(f"{path} is a fine-tuning delta without {', '.join(missing)} in its metadata: was it edited?")
    values = {}
    for key in JSON_ENTRIES.keys() & metadata.keys():
        try:
            values[key] = json.loads(metadata[key])
        except ValueError:
            raise ValueError(f"{path}: its metadata entry {key!r} is not valid JSON ({metadata[key][:60]!r}): "
                             "was it edited?") from None
        fits, expected = JSON_ENTRIES[key]
        if not fits(values[key]):
            raise ValueError(f"{path}: its metadata entry {key!r} is {metadata[key][:60]!r}, expected {expected}: "
                             "was it edited?")
    labels, num_labels = values.get("labels"), values["num_labels"]
    if labels is not None and num_labels is not None and len(labels) != num_labels:  # else a class misnamed
        raise ValueError(f"{path}: its metadata names {len(labels)} labels for a head with {num_labels} outputs: "
                         "was it edited?")
    return metadata


def whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


NEEDED = ("mode", "task", "num_labels", "options", "base_fingerprint", "base_config")  # what load_delta reads
JSON_ENTRIES = {  # what each entry must hold, so that an edited one is named here, not by a TypeError later
    "num_labels": (lambda v: v is None or whole(v), "a whole number (null for a task without classes)"),
    "options": (lambda v: isinstance(v, dict), "an object of the mode's options"),
    "base_config": (lambda v: isinstance(v, dict), "an object (the base model's config)"),
    "thawed_at": (lambda v: v is None or whole(v), "a step number or null"),
    "labels": (lambda v: v is None or isinstance(v, list) and all(isinstance(x, str) for x in v),
               "a list of class names or null"),
    "max_len": (lambda v: v is None or whole(v) and v >= 1, "a whole number >= 1 or null"),
    "training": (lambda v: v is None or isinstance(v, dict), "an object or null"),
}


def load_delta(base_model, path):
    """The prepared model of the delta at path, rebuilt on base_model (which is not changed), in eval
    mode, with .labels (the class names), .max_len (tokens per text in training) and .how_trained (how
    its training ended), each None where the delta did not record it."""
    from models.finetune import prepare  # here, not at the top: models.finetune imports this file

    metadata = read_metadata(path)
    try:
        tuned = prepare(base_model, metadata["mode"], num_labels=json.loads(metadata["num_labels"]),
                        task=metadata["task"], **json.loads(metadata["options"]))
    except (ValueError, TypeError) as error:  # prepare names the setting, not the file it came from
        raise ValueError(f"load_delta: {path}: its metadata (mode {metadata['mode']!r}, task {metadata['task']!r}, "
                         f"options {metadata['options']}) does not rebuild a fine-tuned model on this base: {error}; "
                         f"was it edited, or is this base not its own ({metadata.get('base', '?')!r})?") from None
    step = json.loads(metadata.get("thawed_at", "null"))
    if step is not None:  # the layers that had thawed trained; the rest stayed the base's, as they are here
        thaw(tuned.param_groups, step)
    here = fingerprint(tuned)
    if metadata["base_fingerprint"] != here:
        raise ValueError(
            f"load_delta: {path} was trained on a different base model (its frozen weights are not this "
            f"model's: SHA-256 {metadata['base_fingerprint'][:12]}... when saved, {here[:12]}... "
            f"here; its base was {metadata.get('base', '?')!r} with config {metadata['base_config']})")
    delta = mg.load(path, device=next(tuned.parameters()).device)
    # the frozen rest: the base's
    put_weights(path, delta, lambda weights: load_trained_state(tuned, weights, f"load_delta: {path} "
                                                                               f"(mode {metadata['mode']!r})"))
    tuned.labels = json.loads(metadata.get("labels", "null"))  # class names of the head's outputs, if saved
    tuned.max_len = json.loads(metadata.get("max_len", "null"))
    tuned.how_trained = json.loads(metadata.get("training", "null"))  # not .training: that is train or eval mode
    return tuned.eval()  # ready to predict, as pretrained.load's models are; .train() to train it further
