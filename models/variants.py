"""A row of `minigrad compare` is a mode, or a variant of one: the mode with settings of its own.

    minigrad compare --modes lora:r=1,lora:r=8,lora:r=32              LoRA's rank, side by side
    minigrad compare --modes layerwise-lr,layerwise-lr:unfreeze_every=25   ULMFiT's gradual unfreezing
    minigrad compare --modes params,params:patterns=*norm*            BitFit beside LayerNorms only
    minigrad compare --modes full,full:lr=1e-3                        a learning rate of its own

A row is MODE[:NAME=VALUE]...: MODE as everywhere else (lora, lora+head), each NAME one of its
options (see models/finetune/ or `minigrad finetune --help`) or lr, the row's learning rate. A
list is joined with + (lora:targets=query+key+value), since commas part the rows. The row is
named as it was written, with its modes in the order they are applied, so the table, the plots
and results.json tell the variants apart. Its files (log-, checkpoint-, delta-) take that name
with every character a file name should not hold (: * ? / and the like) as _.

A mode's option that every row should share needs no variant: a plain row takes the mode's defaults.
"""
import math
import re

from models.finetune import option_value, parse_mode

NOT_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9_.+=,-]")
LONGEST_STEM = 200  # characters: "checkpoint-<stem>-seed<N>.safetensors" must stay under file systems' 255


def row_name(spec):
    """" head+lora : r=4 " -> "lora+head:r=4": the mode as parse_mode orders it, then the settings as
    written. Errors name the row and what it should look like; options are checked against the
    mode later (check_before_training), with the task known."""
    item = spec.strip()
    mode, *settings = [part.strip() for part in item.split(":")]
    written = {}
    for setting in settings:
        name, equals, value = (part.strip() for part in setting.partition("="))
        if not (name and equals and value):
            raise ValueError(f"--modes item {item!r}: {setting!r} is not NAME=VALUE; "
                             "expected e.g. lora:r=4 or full:lr=1e-3")
        if name in written:
            raise ValueError(f"--modes item {item!r} sets {name} twice")
        lr = option_value(value)
        if name == "lr" and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"--modes item {item!r}: lr must be a finite number > 0, got {value!r}")
        written[name] = "+".join(part.strip() for part in value.split("+"))  # "query + value" as "query+value"
    try:
        row = ":".join(["+".join(parse_mode(mode))] + [f"{name}={value}" for name, value in written.items()])
    except ValueError as error:  # an unknown mode: say which item, where the item says more than the mode
        raise ValueError(f"--modes item {item!r}: {error}" if settings else str(error)) from None
    if len(file_stem(row)) > LONGEST_STEM:
        raise ValueError(f"--modes item {item[:40]!r}...: {len(row)} characters, too long to name its files "
                         f"(at most {LONGEST_STEM})")
    return row


def split_row(name):
    """"lora:r=4:lr=1e-3" -> ("lora", {"r": 4}, 0.001): the mode, its own options and its learning
    rate (None: the mode's usual one). A plain mode (or "scratch") -> (name, {}, None)."""
    mode, *settings = name.split(":")
    options = {key: option_value(value, joined_by="+") for key, _, value in (s.partition("=") for s in settings)}
    return mode, options, options.pop("lr", None)


def file_stem(run):
    """The name a row's files take: "params:patterns=*norm*" -> "params_patterns=_norm_"."""
    return NOT_IN_FILE_NAMES.sub("_", run)
