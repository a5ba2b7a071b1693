"""Pretraining a causal language model: predict each next token of a corpus.

    minigrad pretrain --out runs/tiny        # the bundled review corpus, BPE tokens
    minigrad pretrain --corpus shakespeare   # real English, characters (nanoGPT's example)

Each line of the review corpus (one review) is one training sequence, [BOS] text [EOS],
so a pretrained model sees sentences starting at position 0 exactly as it will
when fine-tuned on single reviews. Shakespeare's plays are one long stream of
characters instead, and each training sequence is a window of it that starts
anywhere, as in nanoGPT. The loss is the mean cross-entropy of every next token;
its exp is the perplexity.
"""
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import minigrad as mg
from minigrad.io import load_metadata
from models import data
from models.fetch import read_cached
from models.heads import LanguageModel
from models.pretrained import load as load_pretrained
from models.pretrained import save_pretrained
from models.tokenizers import BPETokenizer, CharTokenizer, pad
from models.train import TrainConfig, train, write_results
from models.transformer import TransformerConfig

TOKENIZERS = {"bpe": BPETokenizer, "char": CharTokenizer}
CORPORA = ("reviews", "shakespeare")
N_EVAL_WINDOWS = 500  # Shakespeare: fixed random windows on which the losses are measured


@dataclass
class PretrainConfig:
    corpus: str = "reviews"  # the generated reviews, or "shakespeare" (fetched: `minigrad data fetch shakespeare`)
    corpus_sentences: int = 20000
    valid_fraction: float = 0.05
    tokenizer: str = "bpe"
    vocab_size: int = 512  # BPE only
    batch_size: int = 32
    seed: int = 0
    model: TransformerConfig = field(default_factory=lambda: TransformerConfig(
        n_layers=4, d_model=64, n_heads=4, d_ff=256, max_len=64, dropout=0.0, gelu_approximate="tanh"))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=3000, lr=3e-3, warmup_steps=100, eval_every=250, weight_decay=0.01))


def shakespeare_config():
    """nanoGPT's small CPU configuration for its Shakespeare example: characters, 4 layers, 4 heads,
    width 128, context 64, batch 12, 2,000 steps, no dropout, no biases; AdamW at lr 1e-3 with 100
    warmup steps and cosine decay, weight decay 0.1; 10 % of the text held out for validation."""
    return PretrainConfig(
        corpus="shakespeare", valid_fraction=0.1, tokenizer="char", batch_size=12,
        model=TransformerConfig(n_layers=4, d_model=128, n_heads=4, d_ff=512, max_len=64, dropout=0.0, bias=False),
        train=TrainConfig(steps=2000, lr=1e-3, warmup_steps=100, eval_every=250, weight_decay=0.1))


PRESETS = {"reviews": PretrainConfig, "shakespeare": shakespeare_config}  # each corpus's default configuration


def encode_lines(tokenizer, lines, max_len):
    """[BOS] line [EOS] as id lists, cut to max_len."""
    return [([tokenizer.bos_id] + tokenizer.encode(line) + [tokenizer.eos_id])[:max_len] for line in lines]


def batch_of(rows, tokenizer, device):
    """Right-padded (input_ids, attention_mask), each (B, T)."""
    ids = mg.tensor(pad(rows, tokenizer.pad_id), dtype=mg.int64, device=device)
    mask = mg.tensor(pad([[1] * len(r) for r in rows], 0), dtype=mg.int64, device=device)
    return ids, mask


def random_batches(rows, batch_size, tokenizer, seed, device):
    """An endless stream of batches of randomly chosen sequences (seeded)."""
    rng = random.Random(seed)
    while True:
        yield batch_of(rng.sample(rows, min(batch_size, len(rows))), tokenizer, device)


def random_windows(ids, length, count, rng):
    """count slices of `length` consecutive tokens, each starting at a random place in ids."""
    return [ids[start:start + length] for start in (rng.randrange(len(ids) - length + 1) for _ in range(count))]


def window_batches(ids, length, batch_size, seed, device):
    """An endless stream of (B, length) batches of random windows (nanoGPT's get_batch); no padding, so no mask."""
    rng = random.Random(seed)
    while True:
        yield mg.tensor(random_windows(ids, length, batch_size, rng), dtype=mg.int64, device=device), None


def predicted_tokens(batch):
    """How many next tokens a batch (ids, mask or None) predicts: what its loss is the mean of."""
    ids, mask = batch
    return ids.shape[0] * (ids.shape[1] - 1) if mask is None else int(mask[:, 1:].sum().item())


def lm_loss_on(model, rows, tokenizer, device, batch_size=128):
    """Mean next-token loss over rows, batch by batch, weighted by the number of predicted tokens."""
    total, count = 0.0, 0
    with mg.no_grad():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            tokens = sum(len(r) - 1 for r in chunk)
            total += model.lm_loss(*batch_of(chunk, tokenizer, device)).item() * tokens
            count += tokens
    return total / count


def split_corpus(config):
    """(train texts, valid texts): reviews, one per line; or Shakespeare, one stream each."""
    if config.corpus not in CORPORA:
        raise ValueError(f"unknown corpus {config.corpus!r}; expected one of {CORPORA}")
    if not 0 <= config.valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in [0, 1) (the part of the corpus held out), "
                         f"got {config.valid_fraction}")
    if config.corpus == "shakespeare":
        text = read_cached("shakespeare").decode("ascii")
        cut = int(len(text) * (1 - config.valid_fraction))  # the first 90 % trains, the rest validates
        return [text[:cut]], [text[cut:]]
    lines = data.pretraining_corpus(n_sentences=config.corpus_sentences, seed=config.seed).splitlines()
    n_valid = max(1, int(len(lines) * config.valid_fraction))
    if n_valid >= len(lines):  # at least 1 validates, so 1 sentence would leave nothing to sample batches from
        raise ValueError(f"corpus_sentences {len(lines)} leaves no sentence to train on: at least 2 are needed, "
                         "1 to validate on and 1 to train on")
    return lines[n_valid:], lines[:n_valid]


def checkpoint_metadata(resume):
    """The metadata of `resume`, after checking that it is a checkpoint a pretraining run wrote."""
    if not Path(resume).is_file():
        raise FileNotFoundError(f"resume: no checkpoint file {resume} (a pretraining run writes "
                                "checkpoint.safetensors in its output folder)")
    metadata = load_metadata(resume)
    if "optimizer" not in metadata or "pretrain_config" not in metadata:
        raise ValueError(f"{resume} holds weights but no optimizer state, so training cannot continue "
                         "exactly from it: resume from the checkpoint.safetensors a pretraining run wrote")
    return metadata


def resumed_settings(resume):
    """What a run resumed from `resume` continues with, by the names of the command's options:
    the checkpoint's own corpus, tokenizer, batch size, accumulation, seed, learning rate and model sizes."""
    metadata = checkpoint_metadata(resume)
    saved, model = json.loads(metadata["pretrain_config"]), json.loads(metadata["config"])
    return {"corpus": saved["corpus"], "sentences": saved["corpus_sentences"], "tokenizer": saved["tokenizer"],
            "vocab_size": saved["vocab_size"], "batch_size": saved["batch_size"], "seed": saved["seed"],
            "accumulate": saved.get("accumulate", 1),  # (checkpoints from before --accumulate: 1)
            "lr": json.loads(metadata["schedule"])["base_lrs"][0],
            **{name: model[name] for name in ("n_layers", "d_model", "n_heads", "d_ff", "max_len")}}


RUN_FILES = ("model.safetensors", "checkpoint.safetensors", "results.json", "log.jsonl")  # what a run leaves


def refuse_another_run(out_dir, resume):
    """Writing into a folder that holds an earlier run would overwrite its model and results and append
    to its log, mixing two runs: refused, except for --resume continuing a checkpoint in its own folder."""
    if resume and Path(resume).resolve().parent == out_dir.resolve():
        return
    # an empty file is no run: a run that failed before its first evaluation leaves an empty log
    found = [name for name in RUN_FILES if (out_dir / name).is_file() and (out_dir / name).stat().st_size]
    if found:
        checkpoint = out_dir / "checkpoint.safetensors"
        instead = (f", or continue that run with --resume {checkpoint} --out {out_dir}" if checkpoint.is_file()
                   else " (or delete that one)")
        raise ValueError(f"--out {out_dir} already holds an earlier run's files ({', '.join(found)}); "
                         f"choose a new folder{instead}")


def interruption_note(out_dir, config, result, resume=None):
    """After Ctrl-C: the checkpoint --resume can continue from, or that none was written yet (one is
    written at every evaluation, so a run stopped before its first has none)."""
    checkpoint = Path(out_dir) / "checkpoint.safetensors"
    if checkpoint.is_file():
        return (f"the last good checkpoint is {checkpoint} (step {load_metadata(checkpoint)['step']}); "
                f"continue with --resume {checkpoint} --out {out_dir}")
    every = config.train.eval_every
    first = min((result.steps_done // every + 1) * every, config.train.steps)  # the next evaluation
    where = "yet" if not resume else f"in {out_dir} yet"
    kept = (f"{resume} is still the one to continue from, into another new folder (this one holds this run's "
            f"results now): --resume {resume} --out NEW_FOLDER" if resume else
            "model.safetensors holds the weights, but not the optimizer's state that --resume needs")
    return (f"no checkpoint was written {where} (the first would have been at step {first}, at the next "
            f"evaluation: they come every {every} steps and at the last); {kept}")


RESUMED_FIELDS = ("corpus", "corpus_sentences", "valid_fraction", "tokenizer", "vocab_size", "batch_size", "seed")


def pretrain(config=PretrainConfig(), out_dir="runs/pretrain", device="cpu", resume=None):
    """Train a tokenizer and a causal LM from scratch (or resume from a checkpoint); returns (model, results).
    A resumed run takes its corpus, tokenizer, batch size, accumulation and seed from the checkpoint (so the data
    continues where it stopped), its learning rate and weight decay (the optimizer state it restores),
    and its total steps too unless config.train.steps is set. out_dir must not hold another run."""
    out_dir = Path(out_dir)
    refuse_another_run(out_dir, resume)
    if resume:  # the model and tokenizer here; train() restores the weights, optimizer and schedule
        checkpoint_metadata(resume)  # checked to be a pretraining checkpoint first
        model = load_pretrained(resume, device)
        done, saved = int(model.metadata["step"]), json.loads(model.metadata["pretrain_config"])
        if config.train.steps is None:  # the interrupted run's total: its cosine schedule, continued
            config.train.steps = saved["steps"]
        if done >= config.train.steps:
            raise ValueError(f"{resume} is at step {done} already: pass more --steps than that to continue")
        for name in RESUMED_FIELDS:
            setattr(config, name, saved[name])
        config.train.accumulate = saved.get("accumulate", 1)  # the batches each step took (before --accumulate: 1)
        # train() restores the checkpoint's optimizer and schedule: record the rate and decay they hold
        config.train.lr = json.loads(model.metadata["schedule"])["base_lrs"][0]
        config.train.weight_decay = max(group["weight_decay"]
                                        for group in json.loads(model.metadata["optimizer"])["param_groups"])
        config.model, tokenizer = model.config, model.tokenizer
    mg.manual_seed(config.seed)
    train_lines, valid_lines = split_corpus(config)
    if not resume:
        tokenizer_class = TOKENIZERS[config.tokenizer]
        tokenizer = (tokenizer_class.train(train_lines, config.vocab_size) if config.tokenizer == "bpe"
                     else tokenizer_class.train(train_lines))
        config.model.vocab_size = tokenizer.vocab_size
        model = LanguageModel(config.model).to(device)
    if config.corpus == "shakespeare":  # windows of max_len inputs + the one token after them
        length = model.config.max_len + 1
        train_ids, valid_ids = tokenizer.encode(train_lines[0]), tokenizer.encode(valid_lines[0])
        batches = window_batches(train_ids, length, config.batch_size, config.seed, device)
        train_rows = random_windows(train_ids, length, N_EVAL_WINDOWS, random.Random(f"eval/{config.seed}"))
        valid_rows = random_windows(valid_ids, length, N_EVAL_WINDOWS, random.Random(f"eval/{config.seed}"))
    else:
        train_rows = encode_lines(tokenizer, train_lines, model.config.max_len)
        valid_rows = encode_lines(tokenizer, valid_lines, model.config.max_len)
        batches = random_batches(train_rows, config.batch_size, tokenizer, config.seed, device)
    checkpoint = out_dir / "checkpoint.safetensors"
    metadata = {"config": json.dumps(model.config.to_dict()), "tokenizer": tokenizer.to_json(),
                "pretrain_config": json.dumps({**{name: getattr(config, name) for name in RESUMED_FIELDS},
                                               "steps": config.train.steps, "accumulate": config.train.accumulate})}
    config.train.warmup_steps = min(config.train.warmup_steps, config.train.steps // 10)  # short runs: less
    if model.config.max_len < 2:
        raise ValueError(f"--max-len {model.config.max_len} leaves nothing to learn: a language model needs at least "
                         "2 tokens per window, one to read and the next to predict")
    out_dir.mkdir(parents=True, exist_ok=True)  # only now: a mistake found above leaves no folder behind
    result = train(
        model, lambda m, batch: m.lm_loss(*batch),
        batches, config.train,
        evaluate=lambda m: {"loss": lm_loss_on(m, valid_rows, tokenizer, device)},
        log_path=out_dir / "log.jsonl", checkpoint_path=checkpoint, checkpoint_metadata=metadata, resume=resume,
        loss_items=predicted_tokens,
    )
    model.eval()
    final = {"train_loss": math.nan, "valid_loss": math.nan, "steps": result.steps_done,
             "weights_step": result.weights_step}
    if result.weights_step is not None:  # weights that diverged before any evaluation are no model to save
        final.update(train_loss=lm_loss_on(model, train_rows[:1000], tokenizer, device),
                     valid_loss=lm_loss_on(model, valid_rows, tokenizer, device))
        save_pretrained(model, tokenizer, out_dir / "model.safetensors", step=result.weights_step,
                        train_loss=f"{final['train_loss']:.4f}", valid_loss=f"{final['valid_loss']:.4f}",
                        seed=config.seed, corpus=config.corpus)
    model.tokenizer = tokenizer
    resumed = {"checkpoint": str(Path(resume).resolve()), "step": result.first_step - 1} if resume else None
    path = write_results(out_dir, command="pretrain", config=config, final=final, resumed_from=resumed,
                         timings={"seconds": result.seconds, "seconds_per_step": result.seconds_per_step,
                                  "of_steps": f"{result.first_step}-{result.steps_done}"},  # this call's steps
                         history=result.history, stopped=result.stopped)
    return model, {"final": final, "result": result, "results_path": path}
