"""`minigrad finetune`: one mode, all its options, and an optional grid search.

    minigrad finetune --mode lora --option r=4 --steps 200
    minigrad finetune --mode full --sweep lr=1e-4,3e-4,1e-3 optimizer=adamw,sgd

Each grid point is trained from the same pretrained weights on the same batches;
the best one by validation accuracy (then validation loss) is kept, scored on the
test set (it alone: the test set plays no part in the choice), and saved as a small
delta file -- only the parameters it trained -- that `minigrad predict` (or
`models.finetune.load_delta`) puts back on the pretrained model. With --seeds N each
point trains N times and is judged by the mean of its runs (models/seeds.py).
"""
import itertools
import math
from dataclasses import replace
from pathlib import Path

import minigrad as mg
from minigrad import backend
from models import resume, seeds, tasks
from models.compare import (batch_options, check_before_training, check_modes_fit, eval_every_for, model_defaults,
                            run_mode, save_run_delta, scores, start_run, task_record)
from models.finetune import MODES, load_delta, mode_options, option_value
from models.train import write_results
from models.variants import ALLOWED, TRAINING_SETTINGS


def parse_grid(specs, option_names=()):
    """["lr=1e-4,3e-4", "optimizer=adamw,sgd"] -> the 4 combinations, as dicts. Besides the training
    settings in TRAINING_SETTINGS, the names in option_names (the mode's own, e.g. lora's r and alpha) may vary:
    their values are read as --option reads them (numbers where they parse), and checked per point
    when the model is there (finetune)."""
    axes = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        if name not in (*TRAINING_SETTINGS, *option_names) or not values:
            owners = [mode for mode in MODES if name in mode_options(mode)]
            whose = f" ({name} is an option of {' and '.join(owners)}, not of this mode)" if owners and values else ""
            raise ValueError(f"bad --sweep item {spec!r}: expected NAME=V1,V2,... with NAME one of "
                             f"{', '.join([*TRAINING_SETTINGS, *option_names])}{whose}")
        if name in axes:
            raise ValueError(f"--sweep names {name} twice; list all its values in one item: {name}=V1,V2,...")
        if name not in TRAINING_SETTINGS:  # a list-valued option's lists are joined with "+": targets=query+value,query
            axes[name] = [option_value(v, joined_by="+") for v in values.split(",")]
            continue
        try:
            axes[name] = [TRAINING_SETTINGS[name](v) for v in values.split(",")]
        except ValueError:
            raise ValueError(f"bad --sweep item {spec!r}: every value of {name} must be "
                             f"{'a number' if TRAINING_SETTINGS[name] is float else 'an integer'}") from None
        allowed, expected = ALLOWED[name]
        bad = [v for v in axes[name] if not allowed(v)]
        if bad:
            raise ValueError(f"bad --sweep item {spec!r}: {name}={bad[0]}, {expected}")
    for name, values in axes.items():
        repeated = next((v for n, v in enumerate(values) if v in values[:n]), None)
        if repeated is not None:
            raise ValueError(f"--sweep {name} lists {repeated} twice: each setting would train twice")
    return [dict(zip(axes, combination)) for combination in itertools.product(*axes.values())]


def parse_options(specs):
    """["r=4", "targets=query,value", "layers=0,2"] -> {"r": 4, "targets": ["query", "value"], "layers": [0, 2]}
    (numbers where they parse, in a list too)."""
    options = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        if not sep:
            raise ValueError(f"bad --option {spec!r}: expected NAME=VALUE")
        if name in options:
            raise ValueError(f"--option {name} is given twice; give it once (to try several values, train each)")
        options[name] = option_value(text)
    return options


def point_name(point):
    """A grid point as the sweep wrote it: "lr=0.001 optimizer=sgd" ("defaults" without a grid)."""
    return " ".join(f"{k}={'+'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                    for k, v in point.items()) or "defaults"


def at_point(config, mode, point, kind="classification", eval_every_given=None):
    """config with one grid point's values in place: its lr is the mode's, a mode option joins the options,
    and swept steps bring their own evaluation interval (unless --eval-every set one), as --steps would."""
    settings = {k: v for k, v in point.items() if k in TRAINING_SETTINGS and k != "lr"}
    if "steps" in point and eval_every_given is None:
        settings["eval_every"] = eval_every_for(point["steps"], model_defaults(config.model, kind).eval_every)
    options = {**config.options, **{k: v for k, v in point.items() if k not in TRAINING_SETTINGS}}
    return replace(config, **settings, options=options,
                   lr={**config.lr, **({mode: point["lr"]} if "lr" in point else {})})


def better(row, best):
    """A run that trained to the end over one that did not (Ctrl-C, a non-finite loss), then higher
    validation accuracy, then lower validation loss (lm: lower loss alone). NaN never wins."""
    def key(r):
        loss = r["val_loss"] if math.isfinite(r["val_loss"]) else math.inf
        accuracy = r.get("val_accuracy", 0)
        return r["stopped"] not in ("interrupted", "non-finite loss"), accuracy if math.isfinite(accuracy) else -1, -loss
    return key(row) > key(best)


def finetune(config, mode, out_dir, grid=(), on_start=None, on_row=None, progress=False, resumed=None):
    """Train `mode` at every grid point; keep, test and save the best. Returns (rows, best, results path,
    what Ctrl-C stopped, a grid point's name or "the test set", or None: the best so far is kept).
    on_start(config, task, forgetting, notes), on_row(row) and progress as in models.compare.compare; each
    point's evaluations go to out_dir/log-<n>.jsonl (n counts the points from 1; log-<n>-seed<seed>.jsonl
    with config.seeds > 1). out_dir keeps the best setting so far as delta.safetensors, and results.json
    up to date (models/resume.py); resumed: the results.json of an unfinished run there, to continue
    (config, mode and grid must be its own).

    With config.seeds > 1 every point trains once per seed (models/seeds.py) and is judged by the mean of
    its runs; the model saved (and tested) is the chosen point's run with the best validation score, whose
    seed the row records as "saved_seed". While a point trains, its best run so far waits in
    candidate-<n>.safetensors."""
    settings, inputs = config, resume.input_fingerprints(config)  # as given, what a resumed run starts from again
    base, task, config, forgetting, notes = start_run(replace(config, modes=[mode]))
    points = [(point, at_point(config, mode, point, task.kind, settings.eval_every)) for point in grid or [{}]]
    for _, run_config in points:  # every setting checked before the first one trains
        check_before_training(run_config, [mode], task.kind, run_config.options)
        check_modes_fit(base, task, run_config)  # and its mode options against the model (r=0, ...)
    if on_start:
        on_start(config, task, forgetting, notes)
    recorded = resume.recorded_rows(resumed) if resumed else []  # by point: as they were when the run stopped
    rows, best, best_model = [], None, None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    delta = out_dir / "delta.safetensors"
    interrupted = None  # the grid point Ctrl-C stopped
    development = replace(task, test=[])  # the test set scores the chosen setting alone, once, at the end

    def record(state, unfinished=()):
        return write_results(out_dir, command="finetune", state=state, mode=mode, grid=list(grid), settings=settings,
                             inputs=inputs, config=config, notes=notes, forgetting_measure=forgetting.measure,
                             task=task_record(task), rows=rows + list(unfinished), best=best, interrupted=interrupted,
                             delta=str(delta) if delta.is_file() else None)

    record("running")  # from now on the folder holds a run that --resume can continue
    for n, (point, run_config) in enumerate(points, start=1):
        finished = resume.finished_by_seed(recorded[n - 1], config.seed) if n <= len(recorded) else {}
        if len(finished) == config.seeds:  # it finished before the stop: its row as it was then
            rows.append(recorded[n - 1])
            if on_row:
                on_row(recorded[n - 1])
            if best is None or better(recorded[n - 1], best):
                best, best_model = recorded[n - 1], None  # its model is in the delta
            continue
        candidate, runs, chosen, chosen_model = out_dir / f"candidate-{n}.safetensors", [], None, None
        for seed in range(config.seed, config.seed + config.seeds):
            run, earlier = seeds.run_name(n, seed, config.seeds), finished.get(seed)
            if earlier:
                runs.append(earlier)
            else:
                try:
                    row, model = run_mode(mode, base, development, replace(run_config, seed=seed), forgetting, progress,
                                          out_dir / f"log-{run}.jsonl", resume.checkpoint_path(out_dir, run),
                                          resume.checkpoint_to_resume(out_dir, run) if resumed else None)
                except KeyboardInterrupt:  # outside its training (while it was prepared or scored): it has no row
                    interrupted = point_name(point)
                    break
                row["point"] = point
                runs.append(row)
            if chosen is None or better(runs[-1], chosen):  # the point's best run so far: its model waits on disk
                chosen, chosen_model = runs[-1], None if earlier else model
                if chosen_model is not None and chosen["weights_step"] is not None:
                    save_run_delta(chosen_model, candidate, chosen, base, task, config)
                elif chosen_model is not None:  # diverged before any evaluation: no weights to save
                    candidate.unlink(missing_ok=True)
            if runs[-1]["stopped"] == "interrupted":  # Ctrl-C: keep the best so far, run no more
                interrupted = point_name(point)
                break
            if len(runs) < config.seeds:  # the point is not done, but its runs so far are safe on disk
                record("running", unfinished=[{**seeds.row_of(runs, config.seeds), "point": point}])
                resume.forget_checkpoint(out_dir, run)
        if not runs:
            break
        row = {**seeds.row_of(runs, config.seeds), "point": point}
        row["saved_seed"], row["weights_step"] = chosen["seed"], chosen["weights_step"]  # of the model it keeps
        if "sample" in chosen:  # a language model's greedy sample: the kept model's
            row["sample"] = chosen["sample"]
        rows.append(row)
        if on_row:
            on_row(row)
        if best is None or better(row, best):
            best, best_model = row, chosen_model
            if candidate.is_file():
                copy_atomically(candidate, delta)
            else:  # its chosen run diverged before any evaluation: no weights to save
                delta.unlink(missing_ok=True)
        if interrupted:  # a finished run's candidate stays, for the resumed run to weigh the rest against
            if chosen["stopped"] == "interrupted":  # none finished: the resumed run trains them again
                candidate.unlink(missing_ok=True)
            break
        record("running")  # the rows so far are safe on disk: --resume continues after them
        candidate.unlink(missing_ok=True)  # only now: until the row is recorded, a resumed run needs it
        resume.forget_checkpoint(out_dir, seeds.run_name(n, config.seed + config.seeds - 1, config.seeds))
    if best is None:  # stopped before any point had a score: nothing to save
        raise KeyboardInterrupt
    usable = best["weights_step"] is not None  # diverged before any evaluation: no weights to test or save
    if task.test and interrupted is None and usable:  # scoring every setting on it and keeping the best would flatter the best
        if best_model is None:  # resumed, and the best setting ran before the stop
            best_model = load_delta(base, delta)
        try:
            with backend.silent_float_errors():  # a diverged best scores NaN, said so by the table
                best.update(scores("test", tasks.evaluate(best_model, task.test, base.tokenizer,
                                                          len(task.labels) or None, batch_options(base, task, config),
                                                          details=True)))
        except KeyboardInterrupt:  # the best is saved all the same, without a test score
            interrupted = "the test set"
    path = record("interrupted" if interrupted else "finished")
    return rows, best, path, interrupted


def copy_atomically(source, target):
    """target becomes a copy of source, all at once: a crash midway leaves the old target."""
    mg.io.write_atomically(target, Path(source).read_bytes())
