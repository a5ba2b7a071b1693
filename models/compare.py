"""`minigrad compare`: fine-tune one pretrained model in every mode, side by side.

Each mode starts from the same pretrained weights, sees the same batches in the
same order for the same number of steps, and is scored on the same validation
and test sets. Baselines frame the numbers: the same network trained from random
weights (what pretraining buys), and the majority class (what accuracy means
nothing below). Per mode we report:

    trainable   parameters the optimizer updates (and their share of all)
    s/step      mean time of a training step (forward, backward, update)
    peak MiB    parameters + optimizer state + the largest transient memory of a step
    val acc/F1  accuracy and macro F1 on the validation set; test acc on the test set (qa: exact
                match and word F1, as SQuAD scores answers; results.json adds per-class scores
                and confusion matrices)
    forgetting  how much of its pretraining the body lost (models/forgetting.py): a decoder's
                pretraining-domain LM loss after minus before, an encoder's embedding drift

Language modelling (task kind "lm": `--task lm-rt-polarity`, or `--task lm --train FILE`)
adapts a causal model to a new domain of text. It is scored by the loss and perplexity
on the new domain's validation and test texts; its baseline is the pretrained model
before any training (the "before" of before -> after), and every row carries a greedy
sample of what the model now writes.
"""
import itertools
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import minigrad as mg
from minigrad import backend
from models import data, pretrained, resume, seeds, tasks, user_files
from models.finetune import MODES, count_parameters, parse_mode, prepare, resolve_options, save_delta
from models.forgetting import forgetting_probe
from models.generate import generate_ids
from models.heads import LanguageModel
from models.metrics import classification_report
from models.train import OPTIMIZERS, NonFiniteLoss, TrainConfig, make_optimizer, train, training_step, write_results
from models.variants import ROW_SETTINGS, file_stem, split_row

SAMPLE_TOKENS = 30  # length of each lm row's greedy sample


@dataclass(frozen=True)
class ModelDefaults:
    """Settings that work for one model out of the box; CompareConfig's unset (None) fields take them."""
    lr: dict  # mode -> learning rate (AdamW)
    steps: int
    batch_size: int
    max_len: int  # tokens per text; longer texts are cut (qa and lm use the model's whole context)
    eval_every: int
    pooling: str = None  # the classification head's pooling; None: the head's default ([CLS] / last token)


MODEL_DEFAULTS = {
    # The shipped model (and `minigrad pretrain` checkpoints): a frozen body needs larger steps. Prefix tuning:
    # 1e-1, the best of 1e-2 / 3e-2 / 1e-1 / 3e-1 on validation over three seeds (its keys and values are large);
    # (IA)^3: 1e-2, level with 3e-3 (98.4 % over three seeds) and ahead of 3e-2 and 1e-1.
    "tiny": ModelDefaults(lr={"full": 1e-3, "head": 1e-2, "layers": 2e-3, "params": 1e-2, "layerwise-lr": 2e-3,
                              "prompt": 3e-2, "prefix": 1e-1, "adapter": 3e-3, "lora": 5e-3, "ia3": 1e-2,
                              "scratch": 1e-3},
                          steps=100, batch_size=32, max_len=48, eval_every=20),
    # all-MiniLM-L6-v2: BERT's rates for training every weight (Devlin et al. 2019: 2e-5 to 5e-5; layerwise-lr
    # gives 1e-4 to the top and 0.8x less per layer down), and the larger ones the frozen-body modes' papers use
    # (BitFit, adapters, LoRA: ~1e-3; (IA)^3: 3e-3, as Liu et al. and the best of 1e-3 / 3e-3 / 1e-2 on validation);
    # prompt and prefix tuning's free vectors 3e-2 (for prefix, the best of 3e-3 / 3e-2 / 1e-1 on validation).
    # 200 steps of 32 are about two passes over rt-polarity's 3,000 training sentences; 64 WordPiece tokens hold
    # all but 5 of its 4,000 whole. Mean pooling: the pooling its sentence embeddings were trained with.
    "minilm": ModelDefaults(lr={"full": 5e-5, "head": 2e-3, "layers": 1e-4, "params": 1e-3, "layerwise-lr": 1e-4,
                                "prompt": 3e-2, "prefix": 3e-2, "adapter": 1e-3, "lora": 1e-3, "ia3": 3e-3,
                                "scratch": 1e-4},
                            steps=200, batch_size=32, max_len=64, eval_every=50, pooling="mean"),
}
# Language modelling (task kind "lm") on a new domain, with the shipped model: every token's prediction has
# to move, not one decision boundary, and its 512 BPE tokens split real English into short pieces. In 200
# steps, rates 3-10x the classification ones gave the lowest validation loss on lm-rt-polarity in every mode
# (swept by hand; (IA)^3's 30x, where 10x came 4 % behind); from random weights, 3e-3 (the rate that
# pretrained the shipped model).
LM_DEFAULTS = {
    "tiny": replace(MODEL_DEFAULTS["tiny"], steps=200, eval_every=50,
                    lr={"full": 1e-2, "layers": 2e-2, "params": 3e-2, "layerwise-lr": 2e-2, "prompt": 1e-1,
                        "prefix": 1.0, "adapter": 3e-2, "lora": 1.5e-2, "ia3": 3e-1, "scratch": 3e-3}),
}


@dataclass
class CompareConfig:
    model: str = "tiny"
    task: str = "sentiment"
    modes: list = None  # None (or "all" among them): every mode that applies to the task
    steps: int = None  # None here and below: the model's defaults (see with_defaults)
    batch_size: int = None
    accumulate: int = 1  # batches per step, their gradients averaged: a step learns from accumulate x batch_size texts
    max_len: int = None
    eval_every: int = None
    seed: int = 0
    seeds: int = 1  # train every mode with seeds seed, seed + 1, ...: its row is their mean (models/seeds.py)
    device: str = "cpu"
    baselines: bool = True
    save_deltas: bool = False  # each mode's delta (only what it trained) as delta-<mode>.safetensors
    lr: dict = field(default_factory=dict)  # mode -> learning rate, over the model's defaults
    optimizer: str = "adamw"
    weight_decay: float = 0.0  # on matrices only; decoupled for AdamW, an L2 penalty for the others
    patience: int = 0  # early stopping on validation loss (evaluations without improvement); 0 = off
    augment: float = 0.0  # probability of dropping, and of swapping, each training word
    augment_keep: tuple = ()  # words augmentation never drops or moves (those that carry the label)
    dropout: float = None  # every dropout of body and head at this rate; None: the model's own
    options: dict = field(default_factory=dict)  # options for prepare(), e.g. {"r": 4} for lora
    train_path: str = None  # the user's own data instead of the bundled task
    valid_path: str = None
    test_path: str = None
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    train_domain: str = None  # a bundled task's domain to train and validate on; the test set is the other


def with_defaults(config, kind, context=None):
    """config with every unset field filled in from the model's defaults for a task of this kind
    (LM_DEFAULTS for lm, else MODEL_DEFAULTS; a checkpoint path gets tiny's); an unset max_len is
    at most `context`, the model's (a checkpoint may have been pretrained on shorter texts), and all of
    it for qa and lm, which fill the whole context (as results.json then records)."""
    if config.max_len is not None and kind in ("qa", "lm"):
        raise ValueError(f"--max-len is for sentences and tags; a {kind} task fills the model's whole context "
                         "(qa: question + review, lm: windows of text)")
    defaults = model_defaults(config.model, kind)
    unset = {name: getattr(defaults, name) for name in ("steps", "batch_size", "max_len", "eval_every")
             if getattr(config, name) is None}
    if context and "max_len" in unset:
        unset["max_len"] = context if kind in ("qa", "lm") else min(unset["max_len"], context)
    if "eval_every" in unset:
        unset["eval_every"] = eval_every_for(config.steps or unset["steps"], defaults.eval_every)
    options = dict(config.options)
    if kind == "classification" and defaults.pooling:
        options.setdefault("pooling", defaults.pooling)
    # an LM's head is the token embedding itself (tied), so "head" alone would train nothing
    every = [mode for mode in MODES if not (kind == "lm" and mode == "head")]
    modes = [row for name in config.modes or ["all"] for row in (every if name == "all" else [name])]
    check_before_training(replace(config, **unset), modes, kind, options)
    return replace(config, **unset, modes=modes, lr={**defaults.lr, **config.lr}, options=options)


def model_defaults(model, kind):
    """The ModelDefaults of a model for a task of this kind (a checkpoint path gets tiny's)."""
    table = LM_DEFAULTS if kind == "lm" else MODEL_DEFAULTS
    return table.get(model, table["tiny"])


def eval_every_for(steps, usual):
    """The usual evaluation interval, or a quarter of the steps where they are fewer than two intervals
    (the curves would be a single point)."""
    return usual if steps >= 2 * usual else steps // 4 or steps


def check_before_training(config, modes, kind, options):
    """Every mistake found now, not after the modes before it have trained for minutes."""
    if config.augment and kind != "classification":
        raise ValueError(f"augment={config.augment} drops and swaps the words of labelled sentences (--augment, or "
                         f"a sweep's); a {kind} task's targets sit "
                         "on its words (or are the text itself), so it has no augmentation here")
    repeated = sorted({mode for mode in modes if modes.count(mode) > 1})
    if repeated:
        raise ValueError(f"mode {repeated[0]!r} is listed twice")
    stems = {}  # lower case: on a file system that ignores case, *LN* and *ln* would share files
    for name in modes:
        mode, own, settings = split_row(name)
        try:  # unknown modes and options, wrong types
            resolve_options(parse_mode(mode), kind, {**options, **own}, also=ROW_SETTINGS if own else ())
        except (ValueError, TypeError) as error:
            if not own:
                raise
            raise type(error)(f"--modes item {name!r}: {error}") from None
        if settings.get("augment") and kind != "classification":
            raise ValueError(f"--modes item {name!r}: augment drops and swaps the words of labelled sentences; "
                             f"a {kind} task has no augmentation here")
        stem = file_stem(name).lower()
        if stems.setdefault(stem, name) != name:
            raise ValueError(f"--modes items {stems[stem]!r} and {name!r} would share the files "
                             f"{file_stem(name)}.*; write one of them differently")
    for name in ("steps", "batch_size", "accumulate", "max_len", "eval_every"):
        if not (isinstance(getattr(config, name), int) and getattr(config, name) >= 1):
            raise ValueError(f"{name} must be a positive integer, got {getattr(config, name)!r}")
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; expected one of {sorted(OPTIMIZERS)}")
    if not config.weight_decay >= 0:  # `not >=`: NaN too
        raise ValueError(f"weight_decay must be >= 0, got {config.weight_decay}")
    for mode, lr in config.lr.items():
        if not lr > 0:
            raise ValueError(f"the learning rate of {mode} must be > 0, got {lr}")


def load_data(config, base):
    """The task's splits: the user's files (texts with --task lm, tagged sentences with --task tagging,
    questions with --task qa, else labelled examples), or a bundled task. For qa, without the question +
    context pairs longer than the model's context (counted in task.dropped, for a note; a split of the
    user's that loses every one is an error)."""
    if config.task == "lm":
        if not config.train_path:
            raise ValueError("task 'lm' adapts the language model to your own text: pass --train FILE (plain text, "
                             "one text per line, or .csv / .jsonl with --text-column); or, for real movie reviews, "
                             "--task lm-rt-polarity")
        task = user_files.load_user_text(config.train_path, config.valid_path, text_column=config.text_column,
                                   encoding=config.encoding, seed=config.seed)
    elif config.train_path and config.task == "tagging":
        # a JSON file's fields are "words" and "tags", unless --text-column / --label-column name others
        fields = {"words_field": config.text_column if config.text_column != "text" else user_files.TAGGING_FIELDS[0],
                  "tags_field": config.label_column if config.label_column != "label" else user_files.TAGGING_FIELDS[1]}
        task = user_files.load_user_tagging(config.train_path, config.valid_path, config.test_path, **fields,
                                      encoding=config.encoding, seed=config.seed)
    elif config.train_path and config.task == "qa":
        task = user_files.load_user_qa(config.train_path, config.valid_path, config.test_path, encoding=config.encoding,
                                 seed=config.seed)
    elif config.train_path:
        task = user_files.load_user_task(config.train_path, config.valid_path, config.test_path, text_column=config.text_column,
                                   label_column=config.label_column, encoding=config.encoding, seed=config.seed)
    elif config.train_domain:
        task = domain_shift(config.task, config.train_domain, config.seed)
    else:
        task = data.load_task(config.task, seed=config.seed)
    if task.kind == "lm" and not base.config.causal:
        raise ValueError(f"{config.model!r} is a bidirectional encoder: language modelling (task {config.task!r}) "
                         "needs a causal language model, 'tiny' or a checkpoint from `minigrad pretrain`")
    if task.kind == "qa":
        for split in ("train", "valid", "test"):
            examples = getattr(task, split)
            kept = tasks.fitting(examples, base.tokenizer, base.config.max_len)
            if len(kept) < len(examples):
                if not kept:
                    raise ValueError(f"none of the {len(examples)} {SPLIT_NAMES[split]} questions "
                                     f"({user_file(config, split)}) fits in the {base.config.max_len} tokens "
                                     f"{config.model!r} reads, as [BOS] question [SEP] context [EOS]; "
                                     + ("shorten the contexts to the passage around each answer" if config.train_path
                                        else "use a model pretrained with a longer --max-len"))
                task.dropped[split] = (len(examples) - len(kept), len(examples))
            setattr(task, split, kept)
    return task


SPLIT_NAMES = {"train": "training", "valid": "validation", "test": "test"}


def user_file(config, split):
    """Where a split of the data came from, for messages: the user's file, or the bundled task."""
    if config.train_path is None:
        return f"the bundled task {config.task!r}"
    path = {"train": config.train_path, "valid": config.valid_path, "test": config.test_path}[split]
    return path or f"held out from {config.train_path}"


def data_notes(config, base, task):
    """max_len checked against the model's context, and what the user should know before training a
    classifier: how many training texts are longer than max_len tokens (and so are cut), a validation
    set too small to tell modes apart, validation texts that are also training texts, a text given two
    labels, and labels that look like another column (nearly one class per example). Tagged sentences
    and questions get span_task_notes; lm (which fills the model's whole context) only the overlap."""
    if config.max_len > base.config.max_len:
        raise ValueError(f"max_len {config.max_len} is longer than the model's context: {config.model!r} reads "
                         f"at most {base.config.max_len} tokens")
    if task.kind in ("tagging", "qa"):
        return held_out_note(config, task) + span_task_notes(config, base, task) + validation_notes(task)
    if task.kind == "lm":
        return held_out_note(config, task) + validation_notes(task)
    room = data.text_room(config.max_len)
    if room < 1:  # a checkpoint pretrained with --max-len 1 or 2
        raise ValueError(f"max_len {config.max_len} leaves no room for text between [BOS] and [EOS]; "
                         f"{config.model!r} reads at most {base.config.max_len} tokens, and a classifier needs 3")
    notes = held_out_note(config, task)
    cut = {split: sum(len(base.tokenizer.encode(example.text)) > room for example in getattr(task, split))
           for split in ("train", "valid", "test")}
    if any(cut.values()):
        notes.append(f"{in_splits(cut, task)} texts are longer than {config.max_len} tokens and are "
                     f"cut to their first {room}{reads_more(config, base)}")
    notes += validation_notes(task)
    labels_of = {}
    for example in task.train:
        labels_of.setdefault(example.text, set()).add(example.label)
    conflicting = sum(len(labels) > 1 for labels in labels_of.values())
    if conflicting:
        notes.append(f"{conflicting} training text{' appears' if conflicting == 1 else 's appear'} with more than "
                     "one label")
    if len(task.labels) > max(2, len(task.train) // 2):
        notes.append(f"{len(task.labels)} classes for {len(task.train)} training examples: is the label column "
                     "the one with the labels?")
    return notes


EXAMPLE_NAMES = {"classification": "examples", "tagging": "sentences", "qa": "questions", "lm": "texts"}


def held_out_note(config, task):
    """[the note that validation examples were held out of the training file], where no --valid file was
    given: the user should know that the training set is smaller than the file, and which rows score it."""
    if not config.train_path or config.valid_path:
        return []
    share = "each class in proportion, " if task.kind == "classification" else ""
    return [f"no --valid file: {len(task.valid):,} of the {len(task.train) + len(task.valid):,} "
            f"{EXAMPLE_NAMES[task.kind]} of {config.train_path} are held out for validation ({share}the same "
            f"ones for the same --seed)"]


def reads_more(config, base):
    """How to read more of a text that is cut: a larger --max-len, where the model's context allows one."""
    return (f"; --max-len up to {base.config.max_len} reads more" if config.max_len < base.config.max_len
            else f", the most {config.model!r} reads")


def in_splits(counts, task):
    """{"train": 7, "valid": 3, "test": 0} -> "7 of 2000 training and 3 of 500 validation" (splits of 0 left out)."""
    parts = [f"{n} of {len(getattr(task, split))} {SPLIT_NAMES[split]}" for split, n in counts.items() if n]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def validation_notes(task):
    """A validation set too small to tell modes apart (in examples scored right or wrong: a language
    model's perplexity averages over every token instead), and validation or test examples that are also
    training examples (the same text; for qa the same question about the same context)."""
    notes = []
    if len(task.valid) < 20 and task.kind != "lm":
        notes.append(f"only {len(task.valid)} validation example{'s' * (len(task.valid) != 1)}: each one moves "
                     f"the score by {100 / len(task.valid):.0f} points, too coarse to tell modes apart")
    key = (lambda e: (e.question, e.context)) if task.kind == "qa" else (lambda e: e.text)
    seen = {key(example) for example in task.train}
    for split in ("valid", "test"):
        examples = getattr(task, split)
        leaked = sum(key(example) in seen for example in examples)
        if leaked:
            notes.append(f"{leaked} of {len(examples)} {SPLIT_NAMES[split]} examples are also training examples: "
                         f"the {SPLIT_NAMES[split]} score overstates how well the model does on new text")
    return notes


def span_task_notes(config, base, task):
    """For tagged sentences, how many are longer than max_len tokens (their last words get no tag); for
    questions, how many were left out as longer than the model's context."""
    if task.kind == "qa":
        dropped = [f"{n} of {total} {SPLIT_NAMES[split]}" for split, (n, total) in task.dropped.items()]
        return [f"left out as longer, with their context, than the {base.config.max_len} tokens {config.model!r} "
                f"reads: {', '.join(dropped)} questions"] if dropped else []
    room = data.text_room(config.max_len)
    cut = {split: sum(len(data.encode_words(base.tokenizer, example.words)[0]) > room
                      for example in getattr(task, split)) for split in ("train", "valid", "test")}
    if not any(cut.values()):
        return []
    return [f"{in_splits(cut, task)} sentences are longer than {config.max_len} tokens: their words past the first "
            f"{room} tokens get no tag, and are neither trained on nor scored{reads_more(config, base)}"]


def check_modes_fit(base, task, config):
    """Every mode prepared once on (a copy of) the model, then dropped: the mistakes that depend on the
    model (r=0, top_k past its blocks, a pattern that names no parameter) are found before anything
    trains, not when that mode's turn comes."""
    trains = {}  # what each row trains: two rows that train the same model would only repeat it
    for name in config.modes:
        mode, options, lr, row_config = row_settings(name, config)
        try:
            model = prepare(base, mode, num_labels=len(task.labels) or None, task=task.kind, **options)
        except ValueError as error:  # e.g. "Dropout: p must be in [0, 1)": say which mode and options
            given = " ".join(f"{k}={v}" for k, v in config.options.items())  # a variant's own are in its name
            if str(error).startswith(f"mode {name!r}") and not given:
                raise  # it says which mode already
            row = f"--modes item {name!r}" if ":" in name else f"mode {name!r}"
            raise ValueError(row + (f" with options {given}" if given else "") + f": {error}") from None
        training = [getattr(row_config, setting) for setting in ROW_SETTINGS if setting != "lr"]
        same, same_mode = trains.setdefault(what_trains(model, lr, training), (name, mode))
        if same != name:
            combined = [m for m in (mode, same_mode) if "+" in m]
            head = "; every mode trains the new head, so X+head is X" if "head" in "+".join(combined).split("+") else ""
            raise ValueError(f"--modes items {same!r} and {name!r} train the same model (the same options and "
                             f"training settings, defaults included{head}); list one of them")


def what_trains(model, lr, training):
    """What decides the model a row trains, as a string: its modes (head left out of a combination: every
    mode trains the new head, so lora+head is lora), the prepared model's options with every default filled
    in (the head's pooling too: head:pooling=last is head) and a list as a set (lora's targets, layers'
    blocks and params' patterns name the same parts in any order), its rate and training settings."""
    modes = [mode for mode in model.mode.split("+") if mode != "head"] or ["head"]
    options = {name: sorted(set(value), key=repr) if isinstance(value, (list, tuple)) else value
               for name, value in model.mode_options.items()}
    return repr((modes, options, lr, training))


def row_settings(name, config):
    """A row's mode, the options it is prepared with (config's, then its own: models/variants.py), its
    learning rate (its own, else the mode's usual one) and config with the row's training settings in place."""
    mode, own, settings = split_row(name)
    # A combination ("prompt+lora") without a rate of its own takes the smallest of its modes': the one
    # that moves pretrained weights least. Prompt's 3e-2, right for free vectors, wrecked a body with LoRA.
    lr = settings.pop("lr", None) or config.lr.get(name) or min(
        (config.lr[part] for part in mode.split("+") if part in config.lr), default=None)  # None: no rates yet
    return mode, {**config.options, **own}, lr, replace(config, **settings)


def start_run(config, on_start=None):
    """What compare and finetune do before training: load the model and the data, fill in the model's
    defaults, check every mode against the model, then call on_start(config, task, forgetting, notes).
    Returns (base, task, config, forgetting, notes)."""
    base = pretrained.load(config.model, device=config.device)
    task = load_data(config, base)
    config = with_defaults(config, task.kind, base.config.max_len)
    notes = data_notes(config, base, task)
    check_modes_fit(base, task, config)
    forgetting = forgetting_probe(base, config.seed, config.device)
    if on_start:
        on_start(config, task, forgetting, notes)
    return base, task, config, forgetting, notes


def domain_shift(name, train_domain, seed):
    """A bundled task trained and validated on one domain's reviews and tested on the other's: the
    test column then says how well what a mode learned carries over to reviews of another kind."""
    if name not in data.TASKS or name == "domain":
        raise ValueError(f"--train-domain needs a bundled task with both domains (sentiment, tagging, qa), "
                         f"not {name!r}")
    if train_domain not in data.DOMAINS:
        raise ValueError(f"--train-domain must be one of {data.DOMAINS}, got {train_domain!r}")
    test_domain = next(d for d in data.DOMAINS if d != train_domain)
    source, target = (data.load_task(name, seed=seed, domain=d) for d in (train_domain, test_domain))
    return data.TaskData(f"{name}, {train_domain} -> {test_domain}", source.kind, source.labels,
                         source.train, source.valid, target.test)


# What a row's score keys hold, by the task's kind (the keys are one set for every task)
SCORE_MEANINGS = {
    "classification": {"accuracy": "accuracy", "macro_f1": "macro F1 over the classes"},
    "tagging": {"accuracy": "token accuracy", "macro_f1": "macro F1 over the tags"},
    "qa": {"accuracy": "exact match of the answer's words", "macro_f1": "word F1 of the answers (SQuAD's)"},
    "lm": {"loss": "mean next-token cross-entropy", "perplexity": "exp(loss)"},
}


def task_record(task):
    """The task as results.json records it: its name, kind, labels and what its score keys hold."""
    return {"name": task.name, "kind": task.kind, "labels": task.labels, "scores": SCORE_MEANINGS[task.kind]}


def batch_options(base, task, config):
    """How to batch the task's examples: a decoder tags a word on its last piece (by then it
    has read the whole word); question + context, and an LM's windows of text, fill the model's context."""
    return {"max_len": base.config.max_len if task.kind in ("qa", "lm") else config.max_len, "device": config.device,
            "tag_position": "last" if base.config.causal else "first"}


def endless_batches(examples, tokenizer, config, options):
    """Epoch after epoch, each in a new seeded order (and new augmentations): every mode sees
    the same stream."""
    for epoch in itertools.count():
        seed = config.seed * 1000 + epoch
        epoch_examples = (data.augment_examples(examples, config.augment, seed, config.augment_keep)
                          if config.augment else examples)
        yield from data.batches(epoch_examples, tokenizer, config.batch_size, seed=seed, **options)


def peak_step_bytes(model, batch, config):
    """Parameters + the most memory one training step allocates (activations, gradients,
    optimizer state from scratch); None where the model's loss is no longer finite. The step's
    update is undone afterwards: the model stays the one that was evaluated (and gets saved)."""
    optimizer = make_optimizer(model.param_groups, TrainConfig())
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    evaluated = [p.data.copy() for p in trainable]  # taken before the measurement starts
    try:
        with backend.PeakMemory(config.device) as memory:
            training_step(model, tasks.loss, [batch], optimizer, trainable, 1.0, 0)
    except NonFiniteLoss:
        return None
    finally:
        with mg.no_grad():
            for parameter, values in zip(trainable, evaluated):
                parameter.copy_(values)
    return sum(p.data.nbytes for p in model.parameters()) + memory.peak_bytes


def greedy_sample(model, tokenizer):
    """What a language model now writes from [BOS]: always its most likely next token (deterministic)."""
    ids = generate_ids(model, [tokenizer.bos_id], SAMPLE_TOKENS, temperature=0, stop_id=tokenizer.eos_id)
    return tokenizer.decode(ids)


def scores(prefix, metrics):
    """{"loss": .., "accuracy": ..} -> {"val_loss": .., "val_accuracy": ..}."""
    return {f"{prefix}_{name}": value for name, value in metrics.items()}


def head_options(config):
    """The options of config that shape the head rather than a mode (the classification pooling)."""
    return {"pooling": config.options["pooling"]} if "pooling" in config.options else {}


def run_mode(name, base, task, config, forgetting, progress=False, log_path=None, checkpoint_path=None, resume=None):
    """Fine-tune one mode (or the from-scratch baseline); returns (table row with curves, model).
    config has its defaults filled in (with_defaults); forgetting is a models.forgetting measure;
    progress: show a progress bar; log_path: a JSONL file that gets every evaluation; checkpoint_path:
    where training keeps its checkpoint; resume: a checkpoint of this mode's training to continue from."""
    mg.manual_seed(config.seed)
    num_labels = len(task.labels) or None  # qa and lm have no classes
    mode, mode_options, lr, config = row_settings(name, config)  # config: with the row's own settings in place
    if name == "scratch":  # the same network, head and steps, from random weights
        model = prepare(LanguageModel(base.config).to(config.device), "full", num_labels=num_labels, task=task.kind,
                        **head_options(config))
    else:
        model = prepare(base, mode, num_labels=num_labels, task=task.kind, **mode_options)
    if config.dropout is not None:
        model.set_dropout(config.dropout)
    tokenizer, options = base.tokenizer, batch_options(base, task, config)
    bar_label = seeds.run_name(name, config.seed, config.seeds)  # which row the progress bar is of
    result = train(model, tasks.loss, endless_batches(task.train, tokenizer, config, options),
                   TrainConfig(steps=config.steps, lr=lr, optimizer=config.optimizer, weight_decay=config.weight_decay,
                               warmup_steps=config.steps // 10, eval_every=config.eval_every,
                               accumulate=config.accumulate, patience=config.patience, progress=progress and bar_label),
                   evaluate=lambda m: tasks.evaluate(m, task.valid, tokenizer, num_labels, options),
                   param_groups=model.param_groups, log_path=log_path, checkpoint_path=checkpoint_path,
                   checkpoint_metadata={"mode": name}, resume=resume, loss_items=tasks.loss_items)
    trainable, total = count_parameters(model)
    # weights that diverged before any evaluation are no model: NaN logits would all "predict" class 0
    # and score as the majority class. Their row says NaN instead.
    scored = result.weights_step is not None
    with backend.silent_float_errors():  # weights on their way to inf score NaN, and the table shows it
        val = (tasks.evaluate(model, task.valid, tokenizer, num_labels, options, details=True) if scored
               else unscored(task))
        test = (tasks.evaluate(model, task.test, tokenizer, num_labels, options, details=True) if scored
                else unscored(task)) if task.test else {}
        forgotten = None if name == "scratch" else forgetting(model.transformer)  # scratch had nothing to forget
        sample = {"sample": greedy_sample(model, tokenizer) if scored else ""} if task.kind == "lm" else {}
        peak = peak_step_bytes(model, next(endless_batches(task.train, tokenizer, config, options)), config)
    row = {
        "mode": name, "seed": config.seed, "options": model.mode_options, "lr": lr, "optimizer": config.optimizer,
        "weight_decay": config.weight_decay, "dropout": config.dropout, "patience": config.patience,
        "augment": config.augment,
        "steps": config.steps, "batch_size": config.batch_size, "accumulate": config.accumulate,
        "trainable": trainable, "total": total,
        "trainable_pct": 100 * trainable / total, "seconds_per_step": result.seconds_per_step,
        "peak_mib": None if peak is None else peak / 2**20,
        **scores("val", val), **scores("test", test), "forgetting": forgotten, **sample, "stopped": result.stopped,
        "steps_done": result.steps_done, "weights_step": result.weights_step,
        "log": None if log_path is None else Path(log_path).name,
        "curve": [curve_point(evaluation) for evaluation in result.history],
    }
    return row, model


def curve_point(evaluation):
    """One evaluation of the history as a point of the row's curve: {"step", "val_loss", ...}. Weights
    whose loss is not finite have no scores (their NaN outputs would count as votes for class 0)."""
    metrics = {k: v for k, v in evaluation.items() if k not in ("step", "train_loss")}
    if not math.isfinite(metrics["loss"]):
        metrics = dict.fromkeys(metrics, math.nan)
    return {"step": evaluation["step"], **scores("val", metrics)}


def unscored(task):
    """The scores of weights that diverged: NaN, whatever the task's kind."""
    names = ("loss", "perplexity") if task.kind == "lm" else ("loss", "accuracy", "macro_f1")
    return dict.fromkeys(names, math.nan)


def save_run_delta(model, path, row, base, task, config):
    """A fine-tuned mode's delta, with what `minigrad predict` needs to use it: the class names, the base
    (named from anywhere), the tokens per text it was trained on, and how its training (row) ended."""
    save_delta(model, path, labels=task.labels or None, base=pretrained.reference(config.model),
               max_len=batch_options(base, task, config)["max_len"],
               training={name: row[name] for name in ("steps_done", "steps", "stopped", "weights_step")})


def warm_up(base, task, config):
    """Two untimed full steps, so the first mode's s/step doesn't pay the process's first
    allocations (the memory allocator grows its heap during the first steps)."""
    model = prepare(base, "full", num_labels=len(task.labels) or None, task=task.kind, **head_options(config))
    optimizer = make_optimizer(model.param_groups, TrainConfig())
    batch = next(endless_batches(task.train, base.tokenizer, config, batch_options(base, task, config)))
    for _ in range(2):
        training_step(model, tasks.loss, [batch], optimizer, list(model.parameters()), 1.0, 0)


def majority_row(task):
    """Always predict the most frequent class (for classification tasks)."""
    counts = [sum(1 for e in task.train if e.label == c) for c in range(len(task.labels))]
    majority = counts.index(max(counts))
    row = {"mode": "majority class", "trainable": 0, "trainable_pct": 0.0}
    for split in ("valid", "test"):
        examples = getattr(task, split)
        if examples:
            report = classification_report([e.label for e in examples], [majority] * len(examples), len(task.labels))
            key = "val" if split == "valid" else "test"
            row[f"{key}_accuracy"], row[f"{key}_macro_f1"] = report["accuracy"], report["macro_f1"]
    return row


def pretrained_row(base, task, config):
    """The pretrained language model before any training (for lm tasks): where every mode starts."""
    options = batch_options(base, task, config)
    row = {"mode": "pretrained", "seed": config.seed, "trainable": 0, "trainable_pct": 0.0,
           **scores("val", tasks.evaluate(base, task.valid, base.tokenizer, None, options))}
    if task.test:
        row.update(scores("test", tasks.evaluate(base, task.test, base.tokenizer, None, options)))
    return {**row, "sample": greedy_sample(base, base.tokenizer)}


def compare(config, out_dir, on_start=None, on_row=None, progress=False, resumed=None):
    """Run every mode; returns (rows, results path, the run Ctrl-C stopped or None): Ctrl-C keeps
    the rows that finished and runs nothing more. on_start(config, task, forgetting, notes) is called
    once the model and data are loaded (config with the model's defaults filled in; notes: lines worth
    telling the user first, such as how many texts are cut); on_row(row) as each
    row is ready, in the table's order: the pretrained model (lm), the modes, scratch, majority class.
    With config.seeds > 1 a mode's row is the mean of its runs (models/seeds.py).
    out_dir gets results.json (after every run: models/resume.py) and each run's evaluations as
    log-<mode>.jsonl (log-<mode>-seed<seed>.jsonl); progress: a progress bar. resumed: the results.json
    of an unfinished run in out_dir, to continue (config must be its config)."""
    start, settings = time.perf_counter(), config  # settings: as given, what a resumed run starts from again
    inputs = resume.input_fingerprints(settings)
    base, task, config, forgetting, notes = start_run(config, on_start)
    warm_up(base, task, config)
    rows, done = [], resume.finished_runs(resumed) if resumed else {}
    earlier_seconds = resumed["seconds"] if resumed else 0.0
    interrupted = None  # the run Ctrl-C stopped
    out_dir = Path(out_dir)
    run_seeds = range(config.seed, config.seed + config.seeds)

    def record(state, unfinished=()):
        return write_results(out_dir, command="compare", state=state, settings=settings, inputs=inputs,
                             config=config, notes=notes,
                             forgetting_measure=forgetting.measure, task=task_record(task),
                             rows=rows + list(unfinished), interrupted=interrupted,
                             seconds=earlier_seconds + time.perf_counter() - start)

    def add(row):
        rows.append(row)
        if on_row:
            on_row(row)
        record("running")  # the rows so far are safe on disk: --resume continues after them

    if config.baselines and task.kind == "lm":
        add(done.get(("pretrained", config.seed)) or pretrained_row(base, task, config))
    record("running")  # from now on the folder holds a run that --resume can continue
    for name in config.modes + (["scratch"] if config.baselines else []):
        runs = []
        for seed in run_seeds:
            if (name, seed) in done:
                runs.append(done[name, seed])
                continue
            run = seeds.run_name(name, seed, config.seeds)
            stem = file_stem(run)  # the name of its files
            try:
                row, model = run_mode(name, base, task, replace(config, seed=seed), forgetting, progress,
                                      out_dir / f"log-{stem}.jsonl", resume.checkpoint_path(out_dir, stem),
                                      resume.checkpoint_to_resume(out_dir, stem) if resumed else None)
            except KeyboardInterrupt:  # outside its training (while it was prepared or scored): it has no row
                interrupted = run
                break
            # scratch is not a change to the base, and diverged weights are no model: nothing to put back
            if config.save_deltas and name != "scratch" and row["weights_step"] is not None:
                row["delta"] = f"delta-{stem}.safetensors"
                save_run_delta(model, out_dir / row["delta"], row, base, task, config)
            runs.append(row)
            if row["stopped"] == "interrupted":  # Ctrl-C while it trained: its row shows it as it was then
                interrupted = run
                break
            if len(runs) < config.seeds:  # the mode's row is not ready, but its runs so far are safe on disk
                record("running", unfinished=[seeds.row_of(runs, config.seeds)])
                resume.forget_checkpoint(out_dir, stem)
        if runs:  # Ctrl-C between runs: the row of those that finished (so resume finds them)
            add(seeds.row_of(runs, config.seeds))
        if interrupted:
            break
        resume.forget_checkpoint(out_dir, file_stem(seeds.run_name(name, run_seeds[-1], config.seeds)))
    if config.baselines and task.kind == "classification" and interrupted is None:
        add(majority_row(task))
    path = record("interrupted" if interrupted else "finished")
    return rows, path, interrupted
