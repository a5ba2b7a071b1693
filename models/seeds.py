"""`--seeds N`: every mode of `minigrad compare` (every setting of `minigrad finetune`) trained N times,
and its row the mean and spread of the N.

On a small data set, which mode "wins" can be down to luck: the seed draws the new weights (a head,
LoRA's A, a prompt's rows), the order of the batches and the dropout masks, and fine-tuning is known
to swing by points from seed to seed (Dodge et al. 2020; Mosbach et al. 2021). Two modes whose means
differ by less than their spread are not told apart by this comparison.

Runs of one mode differ only in their seed: seed, seed + 1, ..., seed + N - 1. The data (its splits,
and the probe that measures forgetting) stays the one `--seed` gives, so that every run is scored on
the same examples. A mode's row then holds

    its settings and parameter count         the same for every run
    s/step                                   the mean; peak MiB and trainable: the largest
    each score and forgetting                the mean, and beside it (key + "_std") the sample
                                             standard deviation over the runs
    curve                                    the mean (and standard deviation) at each evaluation
                                             every run made
    seeds, runs                              the seeds, and each run's own row (its details, such as
                                             per-class scores, and its log) as a single-seed run has it
"""
import math


def run_name(mode, seed, seeds):
    """What names one run's files (log, checkpoint, delta): the mode, and with more than one seed, its seed."""
    return mode if seeds == 1 else f"{mode}-seed{seed}"


def spread_keys(run):
    """The keys of a run's row that are scores: a number for each split, and forgetting."""
    return [key for key, value in run.items()
            if (key.startswith(("val_", "test_")) or key == "forgetting") and is_number(value)]


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mean_and_std(values):
    """(mean, sample standard deviation) of values; None where any is None (a row without the score),
    and no deviation from one value (a mode Ctrl-C stopped after its first run)."""
    if any(value is None for value in values):
        return None, None
    if len(values) == 1:
        return values[0], None
    mean = sum(values) / len(values)  # not statistics.fmean / stdev: they fail on a diverged run's NaN or inf
    return mean, math.sqrt(sum((value - mean) ** 2 for value in values) / (len(values) - 1))


# Why a run did not train all its steps, the most telling first: the mode's row says the first that any run gave
STOPS = ("interrupted", "non-finite loss")


def aggregate(runs):
    """One row for a mode's runs, as described above (one run only where Ctrl-C stopped the others)."""
    first = runs[0]
    row = {key: first[key] for key in ("mode", "options", "lr", "optimizer", "weight_decay", "dropout", "patience",
                                       "augment", "steps", "batch_size", "accumulate", "total") if key in first}
    most = max(runs, key=lambda run: run["trainable"])  # runs may end with different layers thawed (unfreeze_every)
    row["trainable"], row["trainable_pct"] = most["trainable"], most["trainable_pct"]
    timed = [run["seconds_per_step"] for run in runs if run["seconds_per_step"] is not None]  # None: no step ran
    row["seconds_per_step"] = sum(timed) / len(timed) if timed else None
    peaks = [run["peak_mib"] for run in runs]
    row["peak_mib"] = None if None in peaks else max(peaks)
    for key in spread_keys(first):
        row[key], row[f"{key}_std"] = mean_and_std([run.get(key) for run in runs])
    if "sample" in first:  # a language model's greedy sample: the first run's
        row["sample"] = first["sample"]
    stops = [run["stopped"] for run in runs]
    row["stopped"] = next((stop for stop in STOPS if stop in stops), None)
    row["curve"] = mean_curve([run["curve"] for run in runs])
    row["seeds"] = [run["seed"] for run in runs]
    row["runs"] = runs
    return row


def mean_curve(curves):
    """The runs' evaluations averaged step by step, over the steps every run evaluated at (early
    stopping ends some runs sooner)."""
    common = set.intersection(*({point["step"] for point in curve} for curve in curves))
    by_step = [{point["step"]: point for point in curve} for curve in curves]
    points = []
    for step in sorted(common):
        point = {"step": step}
        for key in by_step[0][step]:
            if key != "step":
                point[key], point[f"{key}_std"] = mean_and_std([run[step][key] for run in by_step])
        points.append(point)
    return points


def row_of(runs, seeds):
    """The table's row for a mode (a setting) run with `seeds` seeds: its one run, or their aggregate,
    marked interrupted where Ctrl-C left fewer runs than seeds (it then ranks below any complete row)."""
    if seeds == 1:
        return runs[0]
    row = aggregate(runs)
    if len(runs) < seeds:
        row["stopped"] = "interrupted"
    return row


def runs_of(row):
    """The runs behind a row of the table: its own runs where it aggregates several, else itself."""
    return row.get("runs", [row])


def runs_in(rows):
    """Every run behind the rows of a table, in order."""
    return [run for row in rows for run in runs_of(row)]
