"""Fine-tuning: put a new task head on a pretrained model and choose what trains.

    from models.finetune import prepare, describe, save_delta, load_delta
    tuned = prepare(pretrained, "lora", num_labels=2, r=8)    # pretrained itself is not changed
    describe(tuned)    # mode: lora (...)  /  trainable params: X || all params: Y || trainable%: Z
    train(tuned, loss_fn, batches, TrainConfig(...), param_groups=tuned.param_groups)
    save_delta(tuned, "sentiment-lora.safetensors")          # only what trained

| mode           | what trains                                          | file        |
|----------------|------------------------------------------------------|-------------|
| `full`         | everything + the new head                            | freeze.py   |
| `head`         | the new head only                                    | freeze.py   |
| `layers`       | the top k blocks (or chosen ones) + head             | freeze.py   |
| `params`       | parameters matching name globs ("*bias" = BitFit)    | freeze.py   |
| `layerwise-lr` | everything, lr decayed per layer from the top down   | freeze.py   |
|                | (unfreeze_every=N: the head first, a layer more      |             |
|                | every N steps: ULMFiT's gradual unfreezing)          |             |
| `prompt`       | n prompt vectors in front of the input + head        | prompt.py   |
| `prefix`       | n keys and values in front of every block's + head   | prefix.py   |
| `adapter`      | bottleneck adapters after every sublayer + head      | adapter.py  |
| `lora`         | low-rank updates of the attention's q and v + head   | lora.py     |
| `ia3`          | scales of keys, values and MLP activations + head    | ia3.py      |

The new head always trains (for task "lm" the head is the model's own LM head,
which, tied to the token embedding, has no parameters of its own; an untied one,
a vocab x d output layer, trains in every mode too: no model the command line
makes or ships is untied).

Options are the keyword arguments of each mode's function in MODES (e.g. lora's
r, alpha, lora_dropout, targets; layers' top_k, layers). No two modes share an
option name, so all options are passed flat to prepare(), plus `pooling` for
the classification head. An option that none of the chosen modes takes is a
ValueError naming the ones they do take.

Combining modes: join their names with "+", e.g. "lora+params" (LoRA plus
BitFit's biases) or "adapter+params" with patterns=["*ln*", "*norm*"]
(Houlsby's adapters plus LayerNorms). What trains is the union of what each
mode trains. The modes that add modules (prompt or prefix, lora, ia3, adapter) run
first, then the ones that unfreeze (head, layers, params), whatever the order
written; "full" and "layerwise-lr" already train everything, so they stand
alone, and "prompt" and "prefix" both put something in front of the input, so
they do not combine with each other.
"""
import inspect
import math
import re
from copy import deepcopy

from minigrad.nn import count_parameters, print_trainable_parameters
from models.heads import (
    LanguageModel, LMHead, SequenceClassificationHead, SpanHead, TokenTaggingHead, TransformerWithHead,
)
from models.transformer import Transformer

from models.finetune import adapter, freeze, ia3, lora, prefix, prompt
from models.finetune.adapter import Adapter, WithAdapter
from models.finetune.delta import load_delta, save_delta
from models.finetune.ia3 import merge_ia3, unmerge_ia3
from models.finetune.lora import LoRALinear, merge_lora, unmerge_lora
from models.finetune.prefix import PrefixTuned
from models.finetune.prompt import PromptTuned

MODES = {
    "full": freeze.train_all,
    "head": freeze.train_head,
    "layers": freeze.train_layers,
    "params": freeze.train_params,
    "layerwise-lr": freeze.train_layerwise_lr,
    "prompt": prompt.add_prompt,
    "prefix": prefix.add_prefix,
    "adapter": adapter.add_adapters,
    "lora": lora.add_lora,
    "ia3": ia3.add_ia3,
}
APPLY_ORDER = ("prompt", "prefix", "lora", "ia3", "adapter", "head", "layers", "params", "full", "layerwise-lr")
STANDALONE = ("full", "layerwise-lr")
IN_FRONT = ("prompt", "prefix")  # each wraps the body to put vectors in front: one of them at a time
TASKS = ("classification", "tagging", "qa", "lm")

__all__ = [
    "MODES", "TASKS", "prepare", "FineTunedModel", "count_parameters", "describe", "mode_options",
    "save_delta", "load_delta", "merge_lora", "unmerge_lora", "merge_ia3", "unmerge_ia3", "LoRALinear", "Adapter", "WithAdapter",
    "PromptTuned", "PrefixTuned",
]


class FineTunedModel(TransformerWithHead):
    """body + new head, called like any TransformerWithHead: ids (B, T) -> the head's logits.

    Also carries what prepare() decided: mode ("lora+params"), mode_options
    (every option with its value), task, num_labels, and param_groups for the
    optimizer (one group per layer for layerwise-lr, else one group).
    """

    @property
    def transformer(self):
        """The pretrained Transformer inside (the body, or inside the prompt or prefix wrapper)."""
        return next(m for m in self.modules() if isinstance(m, Transformer))

    def lm_loss(self, input_ids, attention_mask=None):
        """Next-token loss, for task "lm" (domain adaptation)."""
        if self.task != "lm":
            raise ValueError(f"lm_loss needs a model prepared with task='lm', this one has task={self.task!r}")
        return LanguageModel.lm_loss(self, input_ids, attention_mask)


def mode_options(mode):
    """{option: default} of one mode: its function's keyword-only arguments (required ones: inspect's empty)."""
    parameters = inspect.signature(MODES[mode]).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}


def parse_mode(mode):
    """"lora+params" -> ["lora", "params"] in the order they are applied; errors name what is allowed."""
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a string such as 'lora' or 'lora+params', got {mode!r}")
    names = [name.strip() for name in mode.split("+")]
    for name in names:
        if name not in MODES:
            raise ValueError(f"unknown fine-tuning mode {name!r}; expected one of {', '.join(MODES)}, "
                             "or several joined with '+' (e.g. 'lora+params')")
    if len(set(names)) < len(names):
        raise ValueError(f"mode {mode!r} names a mode twice")
    alone = [name for name in names if name in STANDALONE]
    if alone and len(names) > 1:
        raise ValueError(f"mode {alone[0]!r} trains every parameter already, so it does not combine "
                         f"with others (got {mode!r}); the modes that combine are "
                         f"{', '.join(m for m in MODES if m not in STANDALONE)}")
    in_front = [name for name in IN_FRONT if name in names]
    if len(in_front) > 1:
        raise ValueError(f"modes {' and '.join(in_front)} both put learned vectors in front of the input (prompt: "
                         f"before the first block; prefix: in every block's keys and values); choose one of them")
    return sorted(names, key=APPLY_ORDER.index)


def resolve_options(modes, task, options, also=()):
    """The options each chosen mode gets, defaults filled in; unknown or missing ones are errors.
    also: settings the caller takes itself (compare's lr), named among the allowed ones in the error."""
    per_mode = {name: mode_options(name) for name in modes}
    allowed = [option for defaults in per_mode.values() for option in defaults]
    allowed += (["pooling"] if task == "classification" else []) + list(also)
    for option in options:
        if option not in allowed:
            raise ValueError(f"unknown option {option!r} for mode {'+'.join(modes)!r} and task {task!r}; "
                             f"its options are: {', '.join(allowed) or 'none'}")
    if "top_k" in options and options.get("layers") is not None:  # train_layers would drop top_k unseen
        raise ValueError("layers: give top_k (that many blocks from the top) or layers (these blocks), not both")
    resolved = {}
    for name, defaults in per_mode.items():
        resolved[name] = {option: options.get(option, default) for option, default in defaults.items()}
        missing = [option for option, value in resolved[name].items() if value is inspect.Parameter.empty]
        if missing:
            raise ValueError(f"mode {name!r} needs the option {missing[0]}= (see {MODES[name].__name__})")
        resolved[name] = {option: checked_option(name, option, value, defaults[option])
                          for option, value in resolved[name].items()}
    if resolved.get("layers", {}).get("layers") is not None:  # chosen blocks: top_k does not apply, and a delta
        del resolved["layers"]["top_k"]                        # that recorded it could not be prepared again
    return resolved


def checked_option(mode, option, value, default):
    """value, if it is the kind of value the option's default is: a whole number (4.0 becomes 4),
    a finite number, or names; else a TypeError that says which kind."""
    if isinstance(default, bool) or default is None or default is inspect.Parameter.empty:
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    names = isinstance(value, str) or (isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value))
    if isinstance(default, int) and not (number and float(value).is_integer()):
        expected = "a whole number"
    elif isinstance(default, float) and not (number and math.isfinite(value)):
        expected = "a finite number"
    elif isinstance(default, (tuple, list)) and not names:
        expected = "a name or a list of names"
    else:
        return int(value) if isinstance(default, int) else value
    raise TypeError(f"option {option}= of mode {mode!r} must be {expected} (default {default!r}), got {value!r}")


def option_value(text, joined_by=","):
    """A mode option's value written as text -> a number where it parses as one, a list where
    joined_by joins several. "+" joins them where commas part something else (a sweep's values,
    compare's rows), though not the + of an exponent: alpha=1e+1 is one number."""
    parts = re.split(r"(?<![0-9][eE])\+" if joined_by == "+" else re.escape(joined_by), text)
    if len(parts) > 1:
        return [option_value(part.strip()) for part in parts]
    if text == "None":  # as --help shows a default of None (layers=None: the top_k blocks)
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def split_model(model):
    """(body, head or None) of a LanguageModel, a TransformerWithHead or a bare Transformer."""
    if isinstance(model, FineTunedModel):
        raise ValueError("prepare() takes a pretrained model; this one is prepared already "
                         f"(mode {model.mode!r}); start again from the base model")
    if isinstance(model, TransformerWithHead):
        return model.body, model.head
    if isinstance(model, Transformer):
        return model, None
    raise TypeError(f"prepare() needs a Transformer, LanguageModel or TransformerWithHead, got {type(model).__name__}")


def make_head(task, body, num_labels, pooling, old_head):
    """The new task head: class logits, tag logits, span logits, or the model's own LM head."""
    d = body.config.d_model
    if task in ("classification", "tagging") and not (isinstance(num_labels, int) and num_labels >= 2):
        raise ValueError(f"task {task!r} needs num_labels (an int >= 2), got {num_labels!r}")
    if task == "classification":
        # an encoder's first token ([CLS]) sees the whole input; in a decoder only the last one does
        if body.config.causal and pooling in ("first", "pooled"):
            raise ValueError(f"pooling={pooling} reads the first position, which in this causal (decoder) model has "
                             "seen only itself, the same [BOS] for every text, so every text would get the same "
                             "prediction; use pooling=last or pooling=mean")
        return SequenceClassificationHead(d, num_labels, pooling or ("last" if body.config.causal else "first"))
    if task == "tagging":
        return TokenTaggingHead(d, num_labels)
    if task == "qa":
        return SpanHead(d)
    if task == "lm":
        if not body.config.causal:  # every position would see the token it is asked to predict
            raise ValueError("task 'lm' needs a causal body; this one is a bidirectional encoder, where each "
                             "position sees the next token, so next-token prediction would be copying")
        if isinstance(old_head, LMHead):
            return old_head
        if body.config.tie_weights:
            return LMHead(body)
        raise ValueError("task 'lm' needs the model's LM head: pass the LanguageModel, not its body")
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def prepare(model, mode, num_labels=None, task="classification", copy=True, **options):
    """A fine-tunable model: model's body + a new head for task, with mode applied.

    model: a LanguageModel, a TransformerWithHead or a Transformer (its body is used).
    mode: a name in MODES, or several joined with "+". options: see the module docstring.
    copy: work on a deep copy (the default), so one pretrained model serves many runs;
    copy=False changes model itself (and saves the memory of a second copy).
    """
    modes = parse_mode(mode)
    resolved = resolve_options(modes, task, options)
    body, old_head = split_model(model)
    old_head = old_head if task == "lm" else None  # other tasks get a new head
    if copy:
        body, old_head = deepcopy((body, old_head))  # together, so a tied LM head keeps pointing at the copy
    head = make_head(task, body, num_labels, options.get("pooling"), old_head)
    tuned = FineTunedModel(body, head)
    tuned.requires_grad_(False)  # every mode starts from "nothing trains" and switches on its part
    head.requires_grad_(True)
    groups = None
    for name in modes:
        groups = MODES[name](tuned, **resolved[name]) or groups
    reference = next(tuned.transformer.parameters())  # new parameters go where the body is
    if any(p.device != reference.device or p.dtype != reference.dtype for p in tuned.parameters()):
        tuned.to(reference.dtype.name).to(reference.device)
    trainable = [p for p in tuned.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"mode {mode!r} with task {task!r} leaves nothing to train")
    tuned.param_groups = groups or [{"params": trainable}]
    grouped = [p for group in tuned.param_groups for p in group["params"]]
    waiting = [p for group in tuned.param_groups if group.get("trains_from", 1) > 1 for p in group["params"]]
    assert {id(p) for p in grouped} == {id(p) for p in trainable + waiting}  # each once, trainable now or later
    assert len(grouped) == len(trainable) + len(waiting)
    tuned.mode = "+".join(modes)
    tuned.mode_options = {option: value for chosen in resolved.values() for option, value in chosen.items()}
    if task == "classification":
        tuned.mode_options["pooling"] = head.pooling
    tuned.task, tuned.num_labels = task, num_labels if task in ("classification", "tagging") else None
    return tuned


def describe(model):
    """Print and return the mode with its options and HF PEFT's line
    "trainable params: X || all params: Y || trainable%: Z"."""
    options = ", ".join(f"{k}={v!r}" for k, v in getattr(model, "mode_options", {}).items())
    first = f"mode: {getattr(model, 'mode', 'none')}" + (f" ({options})" if options else "")
    print(first)
    return first + "\n" + print_trainable_parameters(model)
