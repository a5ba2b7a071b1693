"""`minigrad compare`: fine-tune one pretrained model in every mode, side by side.

Each mode starts from the same pretrained weights, sees the same batches in the
same order for the same number of steps, and is scored on the same validation
and test sets. Two baselines frame the numbers: the majority class (what
accuracy means nothing below) and the same network trained from random
weights (what pretraining buys). Per mode we report:

    trainable   parameters the optimizer updates (and their share of all)
    s/step      mean time of a training step (forward, backward, update)
    peak MB     parameters + optimizer state + the largest transient memory of a step
    val acc/F1  accuracy and macro F1 on the validation set; test acc on the test set
    forgetting  pretraining-domain LM loss after minus before fine-tuning (0 = nothing forgotten)
"""
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

import minigrad as mg
from minigrad import backend
from models import data, pretrained, tasks
from models.finetune import MODES, count_parameters, prepare
from models.heads import LanguageModel
from models.metrics import classification_report
from models.pretraining import encode_lines, lm_loss_on
from models.train import TrainConfig, make_optimizer, train, training_step, write_results

# learning rates that work for each mode on the tiny model (AdamW): a frozen body needs larger steps
DEFAULT_LR = {"full": 1e-3, "head": 1e-2, "layers": 2e-3, "params": 1e-2, "layerwise-lr": 2e-3,
              "prompt": 3e-2, "adapter": 3e-3, "lora": 5e-3, "scratch": 1e-3}


@dataclass
class CompareConfig:
    model: str = "tiny"
    task: str = "sentiment"
    modes: list = field(default_factory=lambda: list(MODES))
    steps: int = 100
    batch_size: int = 32
    max_len: int = 48
    eval_every: int = 20
    seed: int = 0
    device: str = "cpu"
    baselines: bool = True
    lr: dict = field(default_factory=dict)  # mode -> learning rate, overriding DEFAULT_LR
    optimizer: str = "adamw"
    weight_decay: float = 0.0  # decoupled for AdamW, an L2 penalty for the others
    patience: int = 0  # early stopping on validation loss (evaluations without improvement); 0 = off
    augment: float = 0.0  # probability of dropping, and of swapping, each training word
    options: dict = field(default_factory=dict)  # options for prepare(), e.g. {"r": 4} for lora
    train_path: str = None  # the user's own data instead of the bundled task
    valid_path: str = None
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"


def load_data(config, base):
    """The task's splits: the user's files, or a bundled task (for qa, without the few question +
    review pairs longer than the model's context)."""
    if config.train_path:
        return data.load_user_task(config.train_path, config.valid_path, text_column=config.text_column,
                                   label_column=config.label_column, encoding=config.encoding, seed=config.seed)
    task = data.load_task(config.task, seed=config.seed)
    if task.kind == "qa":
        for split in ("train", "valid", "test"):
            setattr(task, split, tasks.fitting(getattr(task, split), base.tokenizer, base.config.max_len))
    return task


def batch_options(base, task, config):
    """How to batch the task's examples: a decoder tags a word on its last piece (by then it
    has read the whole word); question + context need the model's whole context."""
    return {"max_len": base.config.max_len if task.kind == "qa" else config.max_len, "device": config.device,
            "tag_position": "last" if base.config.causal else "first"}


def endless_batches(examples, tokenizer, config, options):
    """Epoch after epoch, each in a new seeded order (and new augmentations): every mode sees
    the same stream."""
    for epoch in itertools.count():
        seed = config.seed * 1000 + epoch
        epoch_examples = data.augment_examples(examples, config.augment, seed) if config.augment else examples
        yield from data.batches(epoch_examples, tokenizer, config.batch_size, seed=seed, **options)


def peak_step_bytes(model, batch, config):
    """Parameters + the most memory one training step allocates (activations, gradients,
    optimizer state from scratch). Run last: the step really updates the model."""
    optimizer = make_optimizer(model.param_groups, TrainConfig())
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    with backend.PeakMemory(config.device) as memory:
        training_step(model, tasks.loss, batch, optimizer, trainable, 1.0, 0)
    return sum(p.data.nbytes for p in model.parameters()) + memory.peak_bytes


def forgetting_probe(base, config):
    """LM loss on held-out pretraining-domain text: how much of the pretraining a model kept."""
    if not base.config.causal:
        raise ValueError(f"{config.model!r} is an encoder: compare and finetune measure forgetting with a causal "
                         "language model's loss, so they need 'tiny' or a checkpoint from `minigrad pretrain` "
                         "(encoders such as minilm: use models.finetune.prepare and models.train.train)")
    lines = data.pretraining_corpus(n_sentences=200, seed=config.seed + 1).splitlines()
    rows = encode_lines(base.tokenizer, lines, base.config.max_len)
    return lambda body: lm_loss_on(LanguageModel(body), rows, base.tokenizer, config.device)


def run_mode(name, base, task, config, lm_loss_of, progress=False):
    """Fine-tune one mode (or the from-scratch baseline); returns (table row with curves, model)."""
    mg.manual_seed(config.seed)
    num_labels = len(task.labels) or None  # qa has no classes
    if name == "scratch":  # the same network and steps, from random weights
        model = prepare(LanguageModel(base.config).to(config.device), "full", num_labels=num_labels, task=task.kind)
    else:
        model = prepare(base, name, num_labels=num_labels, task=task.kind, **config.options)
    lr = config.lr.get(name, DEFAULT_LR.get(name.split("+")[0], 1e-3))
    tokenizer, options = base.tokenizer, batch_options(base, task, config)
    result = train(model, tasks.loss, endless_batches(task.train, tokenizer, config, options),
                   TrainConfig(steps=config.steps, lr=lr, optimizer=config.optimizer, weight_decay=config.weight_decay,
                               warmup_steps=config.steps // 10, eval_every=config.eval_every,
                               patience=config.patience, progress=progress),
                   evaluate=lambda m: tasks.evaluate(m, task.valid, tokenizer, num_labels, options),
                   param_groups=model.param_groups)
    trainable, total = count_parameters(model)
    val = tasks.evaluate(model, task.valid, tokenizer, num_labels, options)
    test = tasks.evaluate(model, task.test, tokenizer, num_labels, options) if task.test else {}
    lm_loss_after = lm_loss_of(model.transformer)
    peak = peak_step_bytes(model, next(endless_batches(task.train, tokenizer, config, options)), config)
    row = {
        "mode": name, "lr": lr, "optimizer": config.optimizer, "trainable": trainable, "total": total, "trainable_pct": 100 * trainable / total,
        "seconds_per_step": result.seconds_per_step, "peak_mb": peak / 2**20,
        "val_accuracy": val["accuracy"], "val_macro_f1": val["macro_f1"], "val_loss": val["loss"],
        "test_accuracy": test.get("accuracy"), "test_macro_f1": test.get("macro_f1"),
        "lm_loss_after": lm_loss_after, "stopped": result.stopped,
        "curve": [{"step": h["step"], "val_accuracy": h["accuracy"], "val_loss": h["loss"]} for h in result.history],
    }
    return row, model


def warm_up(base, task, config):
    """Two untimed full steps, so the first mode's s/step doesn't pay the process's first
    allocations (the memory allocator grows its heap during the first steps)."""
    model = prepare(base, "full", num_labels=len(task.labels) or None, task=task.kind)
    optimizer = make_optimizer(model.param_groups, TrainConfig())
    batch = next(endless_batches(task.train, base.tokenizer, config, batch_options(base, task, config)))
    for _ in range(2):
        training_step(model, tasks.loss, batch, optimizer, list(model.parameters()), 1.0, 0)


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


def compare(config, out_dir=None, on_row=None):
    """Run every mode; returns (rows, results path). on_row(row) is called as each finishes."""
    start = time.perf_counter()
    base = pretrained.load(config.model, device=config.device)
    task = load_data(config, base)
    unknown = [m for m in config.modes if any(part not in MODES for part in m.split("+"))]
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; expected some of {list(MODES)}")
    lm_loss_of = forgetting_probe(base, config)
    before = lm_loss_of(base.body)
    warm_up(base, task, config)
    rows = [majority_row(task)] if config.baselines and task.kind == "classification" else []
    for name in config.modes + (["scratch"] if config.baselines else []):
        row, _ = run_mode(name, base, task, config, lm_loss_of)
        row["forgetting"] = None if name == "scratch" else row["lm_loss_after"] - before
        rows.append(row)
        if on_row:
            on_row(row)
    out_dir = Path(out_dir or Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-compare")
    path = write_results(out_dir, command="compare", config=config, lm_loss_before=before, rows=rows,
                         seconds=time.perf_counter() - start)
    return rows, path
