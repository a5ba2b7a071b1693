"""A row of `minigrad compare` is a mode, or a variant of one: the mode with settings of its own.

    minigrad compare --modes lora:r=1,lora:r=8,lora:r=32              LoRA's rank, side by side
    minigrad compare --modes layerwise-lr,layerwise-lr:unfreeze_every=25   ULMFiT's gradual unfreezing
    minigrad compare --modes params,params:patterns=*norm*            BitFit beside LayerNorms only
    minigrad compare --modes full,full:lr=1e-3,full:weight_decay=0.1:dropout=0.3   rates, regularisation

A row is MODE[:NAME=VALUE]...: MODE as everywhere else (lora, lora+ia3), each NAME one of its
options (`minigrad compare --help` lists them) or a training setting of the row's own
(ROW_SETTINGS: lr, optimizer, weight_decay, dropout, patience, augment), which overrides compare's
--optimizer, --dropout, ... for that row. A list is joined with + (lora:targets=query+key+value),
since commas part the rows; `all` stands for every mode (--modes all,lora:r=1).

The row is named as it was written, with its modes in the order they are applied, so the table,
the plots and results.json tell the variants apart. Its files (log-, checkpoint-, delta-) take
that name with every character a file name should not hold (: * ? / and the like) as _.
"""
import math
import re

from models.finetune import option_value, parse_mode
from models.train import OPTIMIZERS

# a sweep's settings (and the mode's own options)
TRAINING_SETTINGS = {"lr": float, "optimizer": str, "weight_decay": float, "steps": int, "batch_size": int,
                     "accumulate": int, "dropout": float, "patience": int, "augment": float}
ALLOWED = {  # checked as a sweep's grid or compare's rows are read, before any model loads: (test, what is expected)
    "lr": (lambda v: math.isfinite(v) and v > 0, "expected a finite number > 0"),
    "optimizer": (lambda v: v in OPTIMIZERS, f"expected one of {', '.join(sorted(OPTIMIZERS))}"),
    "weight_decay": (lambda v: math.isfinite(v) and v >= 0, "expected a finite number >= 0"),
    "steps": (lambda v: v >= 1, "expected >= 1"),
    "batch_size": (lambda v: v >= 1, "expected >= 1"),
    "accumulate": (lambda v: v >= 1, "expected >= 1 (batches per step)"),
    "dropout": (lambda v: 0 <= v < 1, "expected a probability in [0, 1)"),
    "patience": (lambda v: v >= 0, "expected >= 0 (0: no early stopping)"),
    "augment": (lambda v: 0 <= v < 1, "expected a probability in [0, 1)"),
}
# What a row may set besides its mode's options: not steps, batch_size or accumulate, since every row of the
# table trains as many steps on the same batches (what makes it a fair comparison).
ROW_SETTINGS = ("lr", "optimizer", "weight_decay", "dropout", "patience", "augment")
NOT_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9_.+=,-]")
LONGEST_STEM = 200  # characters: "checkpoint-<stem>-seed<N>.safetensors" must stay under file systems' 255


def row_name(spec):
    """" ia3+lora : r=4 " -> "lora+ia3:r=4": the mode as parse_mode orders it, then the settings as
    written. Errors name the row and what it should look like; options are checked against the
    mode later (check_before_training), with the task known."""
    item = spec.strip()
    if item == "all":  # every mode that applies to the task, as without --modes (compare's with_defaults)
        return item
    mode, *settings = [part.strip() for part in item.split(":")]
    if mode == "all":
        raise ValueError(f"--modes item {item!r}: 'all' stands for every mode and takes no settings; give them to a "
                         "mode (e.g. --modes all,lora:lr=1e-3), or give compare's own --optimizer, --dropout, ...")
    written = {}
    for setting in settings:
        name, equals, value = (part.strip() for part in setting.partition("="))
        if not (name and equals and value):
            raise ValueError(f"--modes item {item!r}: {setting!r} is not NAME=VALUE; "
                             "expected e.g. lora:r=4 or full:lr=1e-3")
        if name in written:
            raise ValueError(f"--modes item {item!r} sets {name} twice")
        if name in TRAINING_SETTINGS and name not in ROW_SETTINGS:
            raise ValueError(f"--modes item {item!r}: every row trains the same --steps on the same batches "
                             f"(--batch-size, --accumulate), so {name} is set for the whole table")
        if name in ROW_SETTINGS:
            setting_value(name, value, item)  # checked now; read again by split_row
        written[name] = "+".join(part.strip() for part in value.split("+"))  # "query + value" as "query+value"
    try:
        row = ":".join(["+".join(parse_mode(mode))] + [f"{name}={value}" for name, value in written.items()])
    except ValueError as error:  # an unknown mode: say which item, where the item says more than the mode
        raise ValueError(f"--modes item {item!r}: {error}" if settings else str(error)) from None
    if len(file_stem(row)) > LONGEST_STEM:
        raise ValueError(f"--modes item {item[:40]!r}...: {len(row)} characters, too long to name its files "
                         f"(at most {LONGEST_STEM})")
    return row


def setting_value(name, text, item):
    """A training setting of a row, read and checked: "1e-3" -> 0.001 for lr; errors name the row."""
    kind = TRAINING_SETTINGS[name]
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"--modes item {item!r}: {name}={text}, expected "
                         f"{'an integer' if kind is int else 'a number'}") from None
    allowed, expected = ALLOWED[name]
    if not allowed(value):
        raise ValueError(f"--modes item {item!r}: {name}={text}, {expected}")
    return value


def split_row(name):
    """"lora:r=4:lr=1e-3:dropout=0.2" -> ("lora", {"r": 4}, {"lr": 0.001, "dropout": 0.2}): the mode, its own
    options and its own training settings. A plain mode (or "scratch") -> (name, {}, {})."""
    mode, *written = name.split(":")
    options, settings = {}, {}
    for key, _, value in (setting.partition("=") for setting in written):
        if key in ROW_SETTINGS:
            settings[key] = setting_value(key, value, name)
        else:
            options[key] = option_value(value, joined_by="+")
    return mode, options, settings


def file_stem(run):
    """The name a row's files take: "params:patterns=*norm*" -> "params_patterns=_norm_"."""
    return NOT_IN_FILE_NAMES.sub("_", run)
