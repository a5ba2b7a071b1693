"""Continue a `minigrad compare` or `minigrad finetune` run that stopped part-way (Ctrl-C, a crash,
a machine that went down): `--resume RUN_FOLDER`.

Such a run keeps its folder up to date as it goes, so that nothing finished is lost:

    results.json                  rewritten after every row; its "state" is "running" until the
                                  run ends ("finished") or Ctrl-C stops it ("interrupted")
    checkpoint-<run>.safetensors  the row in training (a mode, a mode's seed with --seeds, or a
                                  setting of a sweep): written at
                                  each of its evaluations (models/train.py), deleted once its row is
                                  in results.json
    delta.safetensors             finetune: the best setting so far

A resumed run reads them back. The rows that finished stay as they are, the one that was training
continues from its checkpoint (from its first step if it had none yet), and the rest run as they
would have: with the settings the run was given (results.json's "settings"), the same batches in
the same order, so the table comes out as one uninterrupted run's would (on the CPU, bit for bit).
"""
import dataclasses
import hashlib
import json
import math
from pathlib import Path

from models.pretrained import checkpoint_file

RESULTS = "results.json"
STATES = ("running", "interrupted", "finished")
RECORDED = {"finetune": ("mode", "grid"), "compare": ("seconds",)}  # what resuming each command reads, besides rows
INPUT_FILES = (("train_path", "--train"), ("valid_path", "--valid"), ("test_path", "--test"), ("model", "--model"))


def checkpoint_path(out_dir, run):
    """Where the row `run` (a mode's name, or a sweep setting's number) keeps its training checkpoint."""
    return Path(out_dir) / f"checkpoint-{run}.safetensors"


def read_run(folder, command):
    """The results.json of an unfinished `command` run in folder, checked: what it recorded so far."""
    folder = Path(folder)
    path = folder / RESULTS
    if not folder.is_dir():
        raise FileNotFoundError(f"--resume {folder}: no such folder; expected the folder of an interrupted "
                                f"`minigrad {command}` run (its output says where: runs/<timestamp>-{command}/)")
    if not path.is_file():
        raise FileNotFoundError(f"--resume {folder}: it has no {RESULTS}, so no row of a `minigrad {command}` run "
                                "finished there (a run writes it after each row): start the run again instead")
    try:
        record = json.loads(path.read_text())
    except ValueError as error:
        raise ValueError(f"--resume {folder}: {path} is not valid JSON ({error}); was it edited?") from None
    if not isinstance(record, dict):
        raise ValueError(f"--resume {folder}: {path} holds a JSON {type(record).__name__}, expected the object a "
                         f"`minigrad {command}` run writes; was it edited?")
    if record.get("command") != command:
        raise ValueError(f"--resume {folder}: that is a `minigrad {record.get('command')}` run, not a "
                         f"`minigrad {command}` one: resume it with `minigrad {record.get('command')} --resume`")
    if record.get("state") == "finished":
        raise ValueError(f"--resume {folder}: that run finished; nothing is left to run (its results: {path})")
    if record.get("state") not in STATES or "settings" not in record:
        raise ValueError(f"--resume {folder}: {path} does not say how far the run got (written by an older "
                         "minigrad?); start the run again instead")
    missing = [key for key in ("rows", *RECORDED[command]) if key not in record]
    settings, rows = record["settings"], record.get("rows")
    if missing or not (isinstance(settings, dict) and "seed" in settings and isinstance(rows, list)
                       and all(isinstance(row, dict) for row in rows)):
        raise ValueError(f"--resume {folder}: {path} is not what a `minigrad {command}` run records: expected the "
                         f"entries {', '.join(('settings', 'rows', *RECORDED[command]))}, the settings an object "
                         "with the seed, the rows a list of objects; was it edited? Start the run again instead")
    check_inputs_unchanged(record, folder)
    return record


def input_fingerprints(config):
    """{flag: SHA-256 of the file} for the user's files a run reads: --train, --valid, --test, and --model
    where it names a checkpoint file (or a pretrain run's folder). results.json records them, so --resume
    can tell a changed file."""
    paths = {flag: checkpoint_file(getattr(config, name)) for name, flag in INPUT_FILES if getattr(config, name)}
    return {flag: hashlib.sha256(path.read_bytes()).hexdigest() for flag, path in paths.items() if path.is_file()}


def check_inputs_unchanged(record, folder):
    """Refuse to resume on files other than the run's own: its finished rows learned from those, so a
    changed --train would mix two datasets (even two label sets) in one table."""
    config = config_from(record)
    now = input_fingerprints(config)
    for name, flag in INPUT_FILES:
        if flag in record.get("inputs", {}) and now.get(flag) != record["inputs"][flag]:
            raise ValueError(f"--resume {folder}: {flag} {getattr(config, name)} is not the file the run started "
                             "with (it changed, or is gone), and the rows so far learned from that one; put the "
                             "original back to resume, or start a new run on this one")


def config_from(record):
    """The CompareConfig the recorded run was given (its "settings": the model's defaults are filled in
    again as the run starts, as they were the first time; its "config" has them filled)."""
    from models.compare import CompareConfig

    saved = dict(record["settings"])
    if "augment_keep" in saved:  # JSON has lists, the config a tuple
        saved["augment_keep"] = tuple(saved["augment_keep"])
    return CompareConfig(**{f.name: saved[f.name] for f in dataclasses.fields(CompareConfig) if f.name in saved})


def finished_rows(record):
    """The rows that ran to their end (not the one Ctrl-C stopped), with JSON's nulls back as NaN
    where a score was NaN (a diverged run's), as the table printed them first."""
    return [restore_nans(row) for row in record["rows"] if row.get("stopped") != "interrupted"]


def recorded_rows(record):
    """The rows as results.json has them, NaN scores restored (see restore_nans)."""
    return [restore_nans(row) for row in record["rows"]]


def finished_by_seed(row, seed):
    """A row's runs that ran to their end, by seed: with --seeds, the runs inside it (models/seeds.py);
    else the row itself, unless Ctrl-C stopped it. A row without a seed (written before runs recorded
    theirs) ran with `seed`, the run's --seed."""
    return {run.get("seed", seed): run for run in row.get("runs", [row]) if run.get("stopped") != "interrupted"}


def finished_runs(record):
    """compare's runs that ran to their end, by (mode, seed)."""
    seed = record["settings"]["seed"]
    return {(run["mode"], run_seed): run for row in recorded_rows(record)
            for run_seed, run in finished_by_seed(row, seed).items()}


def restore_nans(row):
    """A row read from results.json: scores written as null (JSON has no NaN) are NaN again."""
    def score(key, value):
        return math.nan if value is None and key.startswith(("val_", "test_")) else value
    row = {key: score(key, value) for key, value in row.items()}
    if row.get("runs"):  # with --seeds: each run's own row
        row["runs"] = [restore_nans(run) for run in row["runs"]]
    if row.get("curve"):
        row["curve"] = [{key: score(key, value) for key, value in point.items()} for point in row["curve"]]
    return row


def checkpoint_to_resume(out_dir, run):
    """run's checkpoint, if the run wrote one before it stopped; else None (it starts from its first step)."""
    path = checkpoint_path(out_dir, run)
    return path if path.is_file() else None


def forget_checkpoint(out_dir, run):
    """Remove run's checkpoint once its row is safe in results.json: only an unfinished row needs one."""
    checkpoint_path(out_dir, run).unlink(missing_ok=True)
