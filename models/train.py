"""The one training loop, used by pretraining and by every fine-tuning mode.

    result = train(model, loss_fn, batches, TrainConfig(steps=200), evaluate=evaluate)

`loss_fn(model, batch) -> scalar loss`; `batches` yields a batch for every step (an
endless generator, such as models.compare.endless_batches: models.data.batches is one
epoch), or `accumulate` batches per step, whose gradients the step averages, each weighed
by its share of the step's loss terms (gradient accumulation: see training_step);
`evaluate(model) -> {"loss": ..., other metrics}` runs every `eval_every` steps on
validation data. The loop owns what every run needs:
optimizer and schedule, gradient clipping, early stopping that restores the
best weights, a NaN/inf guard, a progress bar, a JSONL log and atomic
checkpoints; Ctrl-C stops cleanly after the current step.

A loss that turns inf or NaN stops the run, and the model goes back to the
weights of its last evaluation (the best one, with early stopping): the weights
that diverged are no model to score or save. Before any evaluation there is
nothing to go back to, and result.weights_step says so (None).

A checkpoint (written at every evaluation, so it is the latest state) holds the
weights that train (all of them in pretraining; a fine-tuning mode's own, as the
frozen rest is the base model's: see trained_state), the optimizer's buffers,
the schedule's position, the CPU's random state (dropout masks; a GPU's generator,
whose state cannot be saved, restarts from the seed and the step instead: see
restart_device_generator), the batches each step took (accumulate) and where early
stopping stands (the best validation loss, its step and, where they are not the latest,
its weights);
`train(..., resume=path)` restores them all and skips the batches the first steps
used, so an interrupted run continues exactly as if it had never stopped (given the
same batches: the same data and seed). Its JSONL log is appended to, and holds
every evaluation once.
"""
import itertools
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

import minigrad as mg
from minigrad import backend, optim
from minigrad.io import load_metadata

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}
SCHEDULES = ("cosine", "constant")


@dataclass
class TrainConfig:
    steps: int = 200
    lr: float = 1e-3
    optimizer: str = "adamw"
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0  # matrices only; decoupled for AdamW, an L2 term in the gradient for the others
    warmup_steps: int = 0
    schedule: str = "cosine"  # linear warmup, then cosine decay to 0; or "constant"
    clip_grad_norm: float = 1.0  # 0 turns clipping off
    accumulate: int = 1  # batches whose gradients one step averages: a batch N times larger, in one batch's memory
    eval_every: int = 50
    patience: int = 0  # early stopping: evaluations without improvement before stopping; 0 = never
    progress: bool | str = True  # a tqdm progress bar (on stderr); a string labels it ("lora:r=4", in compare)

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; expected one of {sorted(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; expected one of {SCHEDULES}")
        if self.steps < 1 or not 0 < self.lr < math.inf:
            raise ValueError(f"steps must be >= 1 and lr a finite number > 0, got steps={self.steps}, lr={self.lr}")
        for name, low in (("steps", 1), ("eval_every", 1), ("warmup_steps", 0), ("patience", 0), ("accumulate", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"TrainConfig: {name} must be a whole number >= {low}, got {value!r}")
        for name in ("clip_grad_norm", "weight_decay"):  # a negative clip would turn descent into ascent
            if not 0 <= getattr(self, name) < math.inf:
                raise ValueError(f"TrainConfig: {name} must be a finite number >= 0 (0: off), got {getattr(self, name)!r}")


@dataclass
class TrainResult:
    history: list = field(default_factory=list)  # one dict per evaluation (a resumed run's earlier ones first)
    train_losses: list = field(default_factory=list)  # one float per step
    steps_done: int = 0  # counted from the start of training, resumed steps included
    first_step: int = 1  # the first step this call ran (> 1 when it resumed a checkpoint)
    best_step: int = 0
    best_eval: dict = field(default_factory=dict)
    stopped: str = "finished"  # or "early stopping", "interrupted", "non-finite loss"
    seconds: float = 0.0  # time spent in this call's training steps (evaluations excluded)
    resumed_seconds_per_step: float = None  # the checkpoint's, for a resumed run that had no step left to time
    # the step whose weights the model holds at the end: steps_done, or the best evaluation's (early
    # stopping), or the last evaluation's before a non-finite loss; None: diverged with none to go back to
    weights_step: int = None

    @property
    def seconds_per_step(self):
        """This call's time per step; where it ran none, the resumed checkpoint's; None where no step
        completed (a loss that was inf at the first): there is no time to average."""
        steps = self.steps_done - self.first_step + 1
        return self.seconds / steps if steps > 0 else self.resumed_seconds_per_step


class NonFiniteLoss(RuntimeError):
    pass


def make_optimizer(param_groups, config):
    """param_groups: parameters, or dicts whose "lr_scale" multiplies config.lr (layer-wise rates);
    frozen parameters are left out, but for those of a group that thaws later ("trains_from": see
    thaw). Weight decay applies to matrices only: biases and LayerNorm
    gains (the 1-d parameters) get none, as in nanoGPT and Hugging Face -- pulling a gain towards 0
    switches its feature off, and a bias is no measure of a model's complexity."""
    param_groups = list(param_groups)
    groups = param_groups if param_groups and isinstance(param_groups[0], dict) else [{"params": param_groups}]
    groups = [{key: value for key, value in g.items() if key not in ("lr_scale", "trains_from")}
              | {"params": [p for p in g["params"] if p.requires_grad or "trains_from" in g]}
              | ({"lr": config.lr * g["lr_scale"]} if "lr_scale" in g else {}) for g in groups]
    if config.weight_decay:
        groups = [part for group in groups for part in split_by_decay(group)]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise ValueError("nothing to train: every parameter is frozen")
    options = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer == "sgd":
        options["momentum"] = config.momentum
    return OPTIMIZERS[config.optimizer](groups, **options)


def make_schedule(optimizer, config):
    if config.schedule == "constant":
        return optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / max(config.warmup_steps, 1)))
    return optim.lr_scheduler.WarmupCosineLR(optimizer, config.warmup_steps, config.steps)


def split_by_decay(group):
    """A group's matrices (decayed) and its 1-d parameters (weight_decay 0), as two groups."""
    matrices = [p for p in group["params"] if p.ndim >= 2]
    others = [p for p in group["params"] if p.ndim < 2]
    return [group | {"params": matrices}, group | {"params": others, "weight_decay": 0.0}]


OPTIMIZER_PREFIX = "optimizer."  # a checkpoint's optimizer buffers
BEST_PREFIX = "best."  # the weights of the best evaluation so far, where they are not the latest
CHECKPOINT_EXTRAS = (OPTIMIZER_PREFIX, BEST_PREFIX)  # every other tensor of a checkpoint is a weight


def weights_of(tensors):
    """A checkpoint's tensors -> the model's weights alone."""
    return {k: v for k, v in tensors.items() if not k.startswith(CHECKPOINT_EXTRAS)}


def trained_state(model):
    """{state_dict name: Tensor} of what training changes: the parameters that train, and buffers
    (running statistics) if the model has any. Frozen weights stay as loaded, so snapshots and
    checkpoints leave them out: for LoRA on MiniLM that is 0.3 % of the model's numbers."""
    frozen = {name for name, p in model.named_parameters(remove_duplicate=False) if not p.requires_grad}
    return {name: value for name, value in model.state_dict().items() if name not in frozen}


def load_trained_state(model, weights, source):
    """Put trained_state(model)'s values back from weights, which must hold exactly those names."""
    expected = trained_state(model)
    missing = [name for name in expected if name not in weights]
    unexpected = [name for name in weights if name not in expected]
    if missing or unexpected:
        def listed(names):  # the first few: a mode's are dozens, with one pattern
            return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "") or "none"
        raise ValueError(f"{source} does not fit this model: it was written by training other weights "
                         f"(another mode or model?); missing: {listed(missing)}; unexpected: {listed(unexpected)}")
    model.load_state_dict(weights, strict=False)  # not strict: the frozen rest stays as it is


def put_weights(path, weights, load):
    """load(weights) -- a model's load_state_dict, or load_trained_state for a fine-tuned one -- where weights
    came from the file at path and the model was built from that file's metadata: a tensor that does not fit
    it, or one that is not finite (which makes every output NaN), is an error naming the file."""
    broken = [name for name, value in weights.items() if not value.isfinite().all().item()]
    if broken:
        raise ValueError(f"{path} holds NaN or infinite values in {', '.join(broken[:3])}"
                         f"{f' and {len(broken) - 3} more' if len(broken) > 3 else ''}: the weights of a training "
                         "that diverged, or a damaged file? Expected finite weights; use an earlier checkpoint")
    try:
        load(weights)
    except RuntimeError as error:  # load_state_dict's list of what does not fit, which does not know the file
        raise ValueError(f"{path}: its tensors do not fit the model its metadata describes (was it edited, or "
                         f"written by another version of minigrad?): {error}") from None


def save_checkpoint(path, model, optimizer, schedule, step, metadata=None, best_weights=None):
    """The trained weights, the optimizer's buffers (Adam's moments, momentum) and the schedule's
    position after `step` steps, in one file written atomically: all that resuming needs. best_weights:
    the best evaluation's weights, for early stopping to come back to, where they are not these."""
    state = optimizer.state_dict()  # {"state": {param index: {name: Tensor or number}}, "param_groups"}
    tensors, numbers = trained_state(model), {}
    tensors.update({f"{BEST_PREFIX}{name}": value for name, value in (best_weights or {}).items()})
    for index, buffers in state["state"].items():
        for name, value in buffers.items():
            if isinstance(value, mg.Tensor):
                tensors[f"{OPTIMIZER_PREFIX}{index}.{name}"] = value
            else:
                numbers[f"{index}.{name}"] = value  # e.g. Adam's step count
    mg.save(tensors, path, metadata={
        **(metadata or {}), "step": str(step), "schedule": json.dumps(schedule.state_dict()),
        "cpu_random_state": json.dumps(backend.cpu_generator_state()),
        "optimizer": json.dumps({"numbers": numbers, "param_groups": state["param_groups"]})})
    restart_device_generator(model, step)


def restart_device_generator(model, step):
    """On a GPU, whose generator's state a checkpoint cannot hold, restart it at every checkpoint's step
    (backend.restart_generator): a run resumed there draws the dropout masks the whole run drew. The
    CPU's state is saved as it is (cpu_random_state), so CPU runs draw as if never checkpointed."""
    device = next(iter(model.parameters())).device
    if device != "cpu":
        backend.restart_generator(device, step)


def load_checkpoint(path, model, optimizer, schedule, param_groups=()):
    """Put what save_checkpoint wrote back into model, optimizer and schedule; returns its metadata
    (with "step", and what else the run recorded) and the best weights it holds (None: the latest are).
    param_groups: those gradual unfreezing thaws (what had thawed by the step is what the file holds)."""
    metadata = load_metadata(path)
    if "optimizer" not in metadata:
        raise ValueError(f"{path} holds weights but no optimizer state, so training cannot continue exactly "
                         "from it: resume from the checkpoint.safetensors a training run wrote")
    tensors = mg.load(path, device=next(iter(model.parameters())).device)
    try:  # entries this file's writer always sets: one missing or unreadable was edited or damaged
        step = int(metadata["step"])
        thaw(param_groups, step)
        put_weights(path, weights_of(tensors), lambda weights: load_trained_state(model, weights, path))
        saved, state = json.loads(metadata["optimizer"]), {}
        buffers = {k[len(OPTIMIZER_PREFIX):]: v for k, v in tensors.items() if k.startswith(OPTIMIZER_PREFIX)}
        for key, value in {**buffers, **saved["numbers"]}.items():
            index, name = key.split(".", 1)
            state.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
        schedule.load_state_dict(json.loads(metadata["schedule"]))
        backend.set_cpu_generator_state(json.loads(metadata["cpu_random_state"]))
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as error:
        if isinstance(error, ValueError) and str(path) in str(error):  # put_weights' own message names the file
            raise
        cause = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        raise ValueError(f"{path}: its training state does not read ({cause}); was it edited? Resume from "
                         "another checkpoint, or start the run again") from None
    restart_device_generator(model, step)
    best = {k[len(BEST_PREFIX):]: v for k, v in tensors.items() if k.startswith(BEST_PREFIX)}
    return metadata, best or None


def snapshot(model, trainable=()):
    """A copy of what training changes (for restoring the best weights), and of the parameters in
    `trainable` that have yet to thaw (gradual unfreezing): going back puts them back as they were."""
    waiting = {id(p) for p in trainable}
    kept = {**trained_state(model), **{name: p for name, p in model.named_parameters() if id(p) in waiting}}
    return {name: value.detach().clone() for name, value in kept.items()}


def thaw(param_groups, step):
    """Gradual unfreezing: a group with "trains_from": N (layerwise-lr's unfreeze_every) is frozen before
    step N and trains from it on; other groups are left as they are. Set for a step before it runs, and
    for a checkpoint's or an evaluation's step when their weights are put back."""
    for group in param_groups:
        if isinstance(group, dict) and "trains_from" in group:
            for parameter in group["params"]:
                parameter.requires_grad_(step >= group["trains_from"])


def training_step(model, loss_fn, batches, optimizer, trainable, clip_norm, step, loss_items=None):
    """One step on a list of batches: forward and backward on each, clip, update. Returns the step's loss.

    Gradient accumulation: backward adds into .grad, so the backward passes of each batch's loss times
    its share of the step leave there the gradient of one batch as large as all of them. Each loss is a
    mean over its batch's terms (texts, or tokens), so a batch's share is its number of terms over the
    step's, loss_items(batch) of them (Hugging Face's Trainer learned in 2024 that the usual 1 / k
    weighs a token of a short batch above one of a long batch); without loss_items, 1 / k, exact where
    the batches have as many terms each. Only one batch's activations are alive at a time: the memory
    of a small batch, the update of a large one."""
    if not (isinstance(batches, (list, tuple)) and batches):
        got = f"an empty {type(batches).__name__}" if isinstance(batches, (list, tuple)) else type(batches).__name__
        raise TypeError(f"training_step: batches must be a non-empty list of the step's batches ([batch] for one), "
                        f"got {got}")
    model.train()
    total = 0.0
    try:
        for batch, share in zip(batches, shares(batches, loss_items)):
            loss = loss_fn(model, batch)
            # backward before the loss is read back: a GPU has it queued meanwhile. A step of one batch
            # takes its loss as it is (share 1), with no node to scale it
            (loss if share == 1 else loss * share).backward()
            value = loss.item()
            del loss  # the last reference to this batch's graph: its activations go before the next forward
            if not math.isfinite(value):  # the gradients it left are forgotten below: no step takes them
                raise NonFiniteLoss(f"step {step}: the loss is {value}; stopping (try a lower lr)")
            total += value * share
    except BaseException:  # a NaN, Ctrl-C: no step is taken, and no gradient stays for another step to add to
        optimizer.zero_grad()
        raise
    if clip_norm:
        optim.clip_grad_norm_(trainable, clip_norm)
    optimizer.step()
    optimizer.zero_grad()
    return total


def shares(batches, loss_items):
    """Each batch's weight in its step's loss: its number of loss terms over the step's (1 / k without
    loss_items, or where no batch has any)."""
    counts = [loss_items(batch) for batch in batches] if loss_items and len(batches) > 1 else [1] * len(batches)
    total = sum(counts)
    return [count / total for count in counts] if total else [1 / len(batches)] * len(batches)


def train(model, loss_fn, batches, config, evaluate=None, param_groups=None, log_path=None,
          checkpoint_path=None, checkpoint_metadata=None, resume=None, loss_items=None):
    """Train model in place; returns a TrainResult. See the module docstring. param_groups: what the
    optimizer updates (default: a prepared model's own groups, else every parameter); resume: a
    checkpoint this function wrote, to continue from; loss_items(batch): how many terms its loss is
    the mean of, to weigh the batches a step accumulates (see training_step)."""
    if param_groups is None:  # a prepared model's own groups (layerwise-lr's rates), else every parameter
        param_groups = getattr(model, "param_groups", None) or model.parameters()
    param_groups = list(param_groups)
    optimizer = make_optimizer(param_groups, config)
    schedule = make_schedule(optimizer, config)
    resumed, resumed_best = load_checkpoint(resume, model, optimizer, schedule, param_groups) if resume else ({}, None)
    start = int(resumed.get("step", 0))
    if start > config.steps:
        raise ValueError(f"train: {resume} was written after step {start}, past the {config.steps} steps of this "
                         f"run; resume with at least {start} steps")
    saved_accumulate = int(resumed.get("accumulate", 1))  # (checkpoints from before accumulate: 1)
    if resume and saved_accumulate != config.accumulate:  # the batches to skip are start x accumulate: the saved run's
        raise ValueError(f"train: {resume} was written by a run that took {saved_accumulate} batches a step "
                         f"(accumulate), and this one takes {config.accumulate}; resume with the same")
    best_loss = float(resumed.get("best_valid_loss", resumed.get("valid_loss", math.inf)))
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    result, best_weights = TrainResult(steps_done=start, first_step=start + 1), None
    waited = int(resumed.get("waited", 0))  # evaluations since the best, towards early stopping's patience
    if resume:  # early stopping picks up where it was: the best so far, and its weights to come back to
        result.best_step = int(resumed.get("best_step", start))
        result.history = json.loads(resumed.get("history", "[]"))  # the evaluations before the checkpoint
        result.best_eval = next((h for h in result.history if h["step"] == result.best_step), {})
        result.resumed_seconds_per_step = json.loads(resumed.get("seconds_per_step", "null"))
        best_weights = (resumed_best or snapshot(model, trainable)) if config.patience else None
    good_weights, good_step = None, None  # without early stopping: the last evaluation's, should the loss diverge
    diverged = None  # the NonFiniteLoss that stopped the run
    log = open(log_path, "a") if log_path else None
    if log and resume and log.tell() == 0:  # resumed into a new folder: its log starts with the evaluations before
        log.writelines(json.dumps(strict_json(metrics)) + "\n" for metrics in result.history)
    batch_iter = itertools.islice(iter(batches), start * config.accumulate, None)  # those of the steps done
    bar = tqdm(total=config.steps, initial=start, disable=not config.progress, leave=False,
               desc=config.progress if isinstance(config.progress, str) else "training")
    try:
        for step in range(start + 1, config.steps + 1):
            started = time.perf_counter()  # time the steps, not the evaluations
            thaw(param_groups, step)
            step_batches = list(itertools.islice(batch_iter, config.accumulate))
            if len(step_batches) < config.accumulate:
                each = "a batch" if config.accumulate == 1 else f"{config.accumulate} batches (accumulate)"
                raise ValueError(f"train: the batches ran out after {step - 1} steps, and {config.steps} were asked "
                                 f"for; expected {each} for every step (an endless generator, such as "
                                 "compare.endless_batches: data.batches gives one epoch)")
            with backend.silent_float_errors():  # a diverging run is stopped, and said so, by the NaN guard
                value = training_step(model, loss_fn, step_batches, optimizer, trainable, config.clip_grad_norm, step,
                                      loss_items)
            schedule.step()
            result.seconds += time.perf_counter() - started
            result.train_losses.append(value)
            result.steps_done = step
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}")
            if evaluate is None or (step % config.eval_every and step != config.steps):
                continue
            model.eval()
            with mg.no_grad(), backend.silent_float_errors():  # weights on their way to inf: its loss says so
                metrics = {"step": step, "train_loss": value, **evaluate(model)}
            result.history.append(metrics)
            if log:
                log.write(json.dumps(strict_json(metrics)) + "\n")
                log.flush()
            if not math.isfinite(metrics["loss"]):  # the last updates diverged: these weights predict nothing
                raise NonFiniteLoss(f"step {step}: the validation loss is {metrics['loss']}; stopping (try a lower lr)")
            if metrics["loss"] < best_loss:
                best_loss, waited = metrics["loss"], 0
                result.best_step, result.best_eval = step, metrics
                best_weights = snapshot(model, trainable) if config.patience else None
            else:
                waited += 1
            if not config.patience:
                good_weights, good_step = snapshot(model, trainable), step
            if checkpoint_path:  # atomic: a crash keeps the one before
                save_checkpoint(checkpoint_path, model, optimizer, schedule, step,
                                {**(checkpoint_metadata or {}), "accumulate": str(config.accumulate),
                                 "valid_loss": repr(metrics["loss"]),
                                 "best_valid_loss": repr(best_loss), "best_step": str(result.best_step),
                                 "waited": str(waited), "history": json.dumps(result.history),
                                 "seconds_per_step": json.dumps(result.seconds_per_step)},
                                best_weights=best_weights if result.best_step != step else None)
            if config.patience and waited >= config.patience:
                result.stopped = "early stopping"
                break
    except NonFiniteLoss as error:
        result.stopped, diverged = "non-finite loss", error
    except KeyboardInterrupt:
        result.stopped = "interrupted"
        tqdm.write(f"training interrupted (Ctrl-C): stopping cleanly{last_good(checkpoint_path)}")
    finally:
        bar.close()
        if log:
            log.close()
    result.weights_step = result.steps_done
    if best_weights is not None and result.best_step != result.steps_done:
        model.load_state_dict(best_weights, strict=False)  # early stopping (or a diverged run): go back to the best evaluation
        result.weights_step = result.best_step
    elif diverged and good_weights is not None:
        model.load_state_dict(good_weights, strict=False)
        result.weights_step = good_step
    elif diverged:
        result.weights_step = None
    if result.weights_step:  # the groups that had thawed by then are what these weights trained
        thaw(param_groups, result.weights_step)
    if diverged:  # the weights in memory are what is kept (the caller saves them), not the checkpoint
        back = (f"back to the weights of step {result.weights_step} (its evaluation)" if result.weights_step
                else "no finite evaluation came before it, so there are no good weights to go back to")
        tqdm.write(f"training stopped: {diverged}; {back}")
    return result


def strict_json(value):
    """value with every NaN and infinity made None: JSON has no such numbers (json.dumps would write
    NaN, which strict parsers, and other languages, refuse)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def last_good(checkpoint_path):
    """'; the last good checkpoint is PATH' where one was written (none is before the first evaluation)."""
    written = checkpoint_path and Path(checkpoint_path).is_file()
    return f"; the last good checkpoint is {checkpoint_path}" if written else ""


def write_results(out_dir, **sections):
    """Write results.json (config, metrics, timings) under out_dir, atomically; returns its path.
    A non-finite number (a diverged run's loss) is written as null."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    sections = {k: asdict(v) if hasattr(v, "__dataclass_fields__") else v for k, v in sections.items()}
    mg.io.write_atomically(path, json.dumps(strict_json(sections), indent=2, default=str, allow_nan=False).encode())
    return path
