"""Lesson 8: build and pretrain a tiny transformer language model.

A causal language model reads a text one token at a time and, at every
position, predicts the next token. Its loss is the mean cross-entropy of
those predictions:

    loss = mean over positions t of  -log p(token[t+1] | token[0..t])

Before training every token is about equally likely, so the loss starts at
ln(vocab size), and the perplexity exp(loss) -- "how many tokens the model
hesitates between" -- at the vocabulary size. Training pushes both down.

The recipe, in four lines of this file (see `pretrain_tiny` below):

  1. tokenizer = BPETokenizer.train(lines, 512)   # frequent pieces of words become one token
  2. model = LanguageModel(TransformerConfig(...)) # embeddings -> 2 attention blocks -> tied LM head
  3. loss = model.lm_loss(ids, mask)               # next-token cross-entropy, padding ignored
  4. backward, AdamW step, warmup + cosine learning-rate schedule

on the bundled corpus of generated reviews, in seconds. Then we load the
model shipped in models/checkpoints/ (pretrained the same way, longer and
bigger, by `minigrad pretrain`) and sample from it: greedy decoding,
temperature, and top-k, and why generation keeps a KV cache. Because losses per token depend on the tokenizer,
we compare the two models in nats per *character* of held-out text.

Run: python lessons/08_transformer.py   (--quick for a few dozen steps)
"""
import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt

import minigrad as mg
from minigrad import optim
from models import data, pretrained
from models.generate import generate_ids, next_token
from models.heads import LanguageModel
from models.pretraining import encode_lines, lm_loss_on, random_batches
from models.tokenizers import BPETokenizer
from models.transformer import TransformerConfig

FIGURES = Path(__file__).parent / "figures"
N_VALID = 200  # held-out lines


def nats_per_char(model, lines):
    """Held-out loss per character: comparable across tokenizers (a token may hold several characters)."""
    rows = encode_lines(model.tokenizer, lines, model.config.max_len)
    per_token = lm_loss_on(model, rows, model.tokenizer, "cpu")
    predicted = sum(len(r) - 1 for r in rows)  # next-token predictions: every token after [BOS]
    characters = sum(len(model.tokenizer.decode(r)) + 1 for r in rows)  # the text kept, + [EOS]
    return per_token * predicted / characters


def pretrain_tiny(lines, steps, quick):
    train_lines, valid_lines = lines[N_VALID:], lines[:N_VALID]
    tokenizer = BPETokenizer.train(train_lines, 512)
    example = train_lines[0]
    pieces = [tokenizer.decode([i]) for i in tokenizer.encode(example)]
    print(f"BPE tokenizer: {tokenizer.vocab_size} tokens; {len(example)} characters -> {len(pieces)} tokens:")
    print("  " + "|".join(pieces))

    config = TransformerConfig(vocab_size=tokenizer.vocab_size, n_layers=2, d_model=64, n_heads=4, d_ff=256,
                               max_len=64, dropout=0.0)
    model = LanguageModel(config)
    model.tokenizer = tokenizer  # generate() and nats_per_char() read it from the model
    total = sum(p.numel() for p in model.parameters())
    print(f"\nmodel: {config.n_layers} layers, d_model {config.d_model}, {config.n_heads} heads, "
          f"{total:,} parameters ({config.vocab_size} x {config.d_model} = "
          f"{config.vocab_size * config.d_model:,} of them the embedding, shared with the output layer)")

    mg.manual_seed(1)
    print(f'sample before training: "{model.generate("the battery", 20, temperature=1.0)}"')
    print("(random tokens; a byte-level token can be half of a multi-byte character, printed as \ufffd)\n")

    train_rows = encode_lines(tokenizer, train_lines, config.max_len)
    valid_rows = encode_lines(tokenizer, valid_lines, config.max_len)
    batches = random_batches(train_rows, 32, tokenizer, seed=0, device="cpu")
    optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    schedule = optim.lr_scheduler.WarmupCosineLR(optimizer, steps // 10, steps)

    initial = lm_loss_on(model, valid_rows, tokenizer, "cpu")
    print(f"ln(vocab size) = ln {tokenizer.vocab_size} = {math.log(tokenizer.vocab_size):.3f}: "
          f"the loss of a uniform guess; at step 0 the valid loss is {initial:.3f}")
    print(f"{'step':>5} {'train loss':>11} {'valid loss':>11} {'perplexity':>11} {'seconds':>8}")
    print(f"{0:5d} {'':>11} {initial:11.3f} {math.exp(initial):11.1f} {0:8.1f}")
    losses, evaluations, started = [], [(0, initial)], time.perf_counter()
    for step in range(1, steps + 1):
        ids, mask = next(batches)  # (32, T) ids and their padding mask
        loss = model.lm_loss(ids, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % (steps // 5) == 0:
            valid = lm_loss_on(model, valid_rows, tokenizer, "cpu")
            evaluations.append((step, valid))
            print(f"{step:5d} {loss.item():11.3f} {valid:11.3f} {math.exp(valid):11.2f} "
                  f"{time.perf_counter() - started:8.1f}")
    print(f"the perplexity fell from ~{tokenizer.vocab_size} to {math.exp(evaluations[-1][1]):.2f}: the model now "
          f"hesitates between about {math.exp(evaluations[-1][1]):.0f} tokens instead of {tokenizer.vocab_size}")

    mg.manual_seed(1)
    print(f'\nsample after training (temperature 1): "{model.generate("the battery", 30, temperature=1.0)}"')
    print(f'greedy (always the most likely token):  "{model.generate("the battery", 30, temperature=0)}"')
    return model, losses, evaluations, valid_lines


def sample_shipped(valid_lines, ours):
    model = pretrained.load("tiny")
    config, meta = model.config, model.metadata
    total = sum(p.numel() for p in model.parameters())
    print(f"\nthe shipped model: {config.n_layers} layers, d_model {config.d_model}, {total:,} parameters, "
          f"{meta.get('step', '?')} steps of pretraining (its recorded valid loss: {meta.get('valid_loss', '?')})")
    theirs = nats_per_char(model, valid_lines)
    print(f"held-out loss per character: ours {ours:.3f} nats, shipped {theirs:.3f} nats")
    prompts = ["the battery", "this film", "honestly , the plot is not"]
    mg.manual_seed(0)
    for prompt in prompts:
        print(f'\n  prompt "{prompt}"')
        print(f'    greedy            : {model.generate(prompt, 30, temperature=0)}')
        print(f'    temperature 0.7   : {model.generate(prompt, 30, temperature=0.7)}')
        print(f'    temperature 1.5   : {model.generate(prompt, 30, temperature=1.5)}')
        print(f'    top-k 5 (temp 1)  : {model.generate(prompt, 30, temperature=1.0, top_k=5)}')
    print("\ngreedy is the same every run and tends to the most common phrasing; temperature < 1 sharpens")
    print("the distribution towards greedy, > 1 flattens it (rare tokens get a real chance: more variety,")
    print("more mistakes); top-k samples, but only among the k most likely tokens.")
    return model


def kv_cache(model, new_tokens=40):
    """Generation keeps a KV cache: a causal model's earlier keys and values never change."""
    start = [model.tokenizer.bos_id] + model.tokenizer.encode("the battery")
    started = time.perf_counter()
    cached = generate_ids(model, start, new_tokens, temperature=0)  # feeds the start, then 1 token a step
    seconds_cached = time.perf_counter() - started
    rerun, started = list(start), time.perf_counter()
    with mg.no_grad():
        for _ in range(new_tokens):  # the naive way: the whole text through the body at every step
            rerun.append(next_token(model(mg.tensor([rerun]))[0, -1], temperature=0))
    seconds_rerun = time.perf_counter() - started
    positions_rerun = sum(len(start) + i for i in range(new_tokens))
    print("\na KV cache: in a causal model a token's keys and values never change once computed, so")
    print("generation keeps them (per block) and runs only the newest token through the body at each step.")
    print(f"{new_tokens} greedy tokens: positions computed {len(start) + new_tokens - 1} with the cache, "
          f"{positions_rerun:,} rerunning the text each step; {1e3 * seconds_cached:.0f} ms vs "
          f"{1e3 * seconds_rerun:.0f} ms (a small model: the fixed cost per step dominates); "
          f"same tokens: {cached == rerun}")


def main(quick):
    mg.manual_seed(0)
    lines = data.pretraining_corpus(n_sentences=4000).splitlines()
    print(f"corpus: {len(lines)} generated reviews, e.g. {lines[N_VALID]!r}\n")
    steps = 40 if quick else 300
    model, losses, evaluations, valid_lines = pretrain_tiny(lines, steps, quick)
    ours = nats_per_char(model, valid_lines)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(range(1, len(losses) + 1), losses, linewidth=1, label="train loss (one batch)")
    ax.plot(*zip(*evaluations), "o-", label=f"valid loss ({N_VALID} held-out reviews)")
    ax.axhline(math.log(model.tokenizer.vocab_size), color="gray", linestyle="--",
               label=f"ln {model.tokenizer.vocab_size}: uniform guess")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.set_title(f"Pretraining a {model.config.n_layers}-layer transformer on the review corpus")
    ax.legend()
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "08_transformer.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"\nfigure written to {path}")

    kv_cache(sample_shipped(valid_lines, ours))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few dozen steps (used by CI)")
    main(parser.parse_args().quick)
