"""Lesson 7: attention, the weights of a toy sentence.

Self-attention lets every token gather information from the others. Each token
i has a query q_i (what it looks for), a key k_j (what it offers) and a value
v_j (what it passes on). Token i scores every token j by q_i . k_j, scaled by
1/sqrt(d) so the scores do not grow with the vector size d; a softmax over
each row turns the scores into weights that are positive and sum to 1; the
output of token i is the weighted mix of the values:

    weights = softmax(q k^T / sqrt(d))        (T, T), row i = where token i looks
    output  = weights v                       (T, d)

We build q, k and v by hand for "the battery is not bad", with d = 4 features
(aspect, opinion, negation, filler), so that sqrt(d) = 2 and every weight can
be checked with a calculator. Then the two masks a transformer needs:

  - causal (GPT): token i may look only at tokens j <= i (the future is not
    written yet when we predict the next token);
  - padding: a batch pads short sentences with [PAD] to one length; no real
    token may look at the padding.

Finally the same computation inside the shipped pretrained model (lesson 8
builds that model; here we only read its weights): its attention weights,
recomputed from the query and key projections of one layer, on a review
sentence.

Run: python lessons/07_attention.py   (--quick: plots one layer of the model, not all)
"""
import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write PNG files, never open a window
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.nn import functional as F
from models import pretrained

FIGURES = Path(__file__).parent / "figures"

WORDS = ["the", "battery", "is", "not", "bad"]
FEATURES = ["aspect", "opinion", "negation", "filler"]
KEYS = {  # what each word offers: one feature each
    "the": [0, 0, 0, 1], "battery": [1, 0, 0, 0], "is": [0, 0, 0, 1], "not": [0, 0, 1, 0], "bad": [0, 1, 0, 0],
    "[PAD]": [0, 1, 1, 0],  # padding's vector is whatever its embedding happens to be: here, tempting
}
QUERIES = {  # what each word looks for
    "the": [2, 0, 0, 0],  # the noun it introduces
    "battery": [0, 2, 0, 0],  # what is said about it
    "is": [0, 0, 0, 0],  # nothing in particular: equal scores, equal weights
    "not": [0, 2, 0, 0],  # the opinion it negates
    "bad": [2, 0, 4, 0],  # its aspect, and above all a negation that would flip it
    "[PAD]": [0, 0, 0, 0],
}


def show(title, matrix, rows, cols, fmt="{:9.4f}"):
    print(title)
    print(" " * 9 + "".join(f"{c:>9}" for c in cols))
    for name, row in zip(rows, np.asarray(matrix)):
        print(f"{name:>9}" + "".join(fmt.format(x) for x in row))
    print()


def heatmap(ax, weights, rows, cols, title):
    ax.imshow(weights, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("key (looked at)", fontsize=8)
    ax.set_title(title, fontsize=9)
    if len(rows) <= 6:  # small enough to print the numbers in the cells
        for i in range(len(rows)):
            for j in range(len(cols)):
                ax.text(j, i, f"{weights[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if weights[i, j] > 0.5 else "black")


def by_hand(words):
    """q, k, v of a list of words as float64 tensors (T, 4); the values are the keys."""
    q = mg.tensor([QUERIES[w] for w in words], dtype=mg.float64)
    k = mg.tensor([KEYS[w] for w in words], dtype=mg.float64)
    return q, k, k


def toy_sentence():
    q, k, v = by_hand(WORDS)
    d = q.shape[-1]
    show("queries q (what each word looks for):", q.numpy(), WORDS, FEATURES, "{:9.0f}")
    show("keys k (what each word offers; the values v are the same here):", k.numpy(), WORDS, FEATURES, "{:9.0f}")

    # step by step: scores, scaled scores, softmax, weighted sum of the values
    scores = q @ k.T  # (T, T): row i holds q_i . k_j for every j
    scaled = scores / math.sqrt(d)  # d = 4: divide by 2
    show(f"scores q k^T / sqrt(d), d = {d}:", scaled.numpy(), WORDS, WORDS)
    exp = (scaled - scaled.max(-1, keepdim=True).values).exp()  # minus the row max: same softmax, no overflow
    weights = exp / exp.sum(-1, keepdim=True)
    show("weights = softmax of each row (each row sums to 1):", weights.numpy(), WORDS, WORDS)
    e = math.e
    print(f'row "the": battery scores 1, the rest 0 -> e / (e + 4) = {e / (e + 4):.4f}, 1 / (e + 4) = {1 / (e + 4):.4f}')
    print('row "is": all scores 0 -> 1/5 = 0.2000 each')
    print(f'row "bad": scores (0, 1, 0, 2, 0) -> e^2 / (3 + e + e^2) = {e**2 / (3 + e + e**2):.4f} on "not"\n')

    output = weights @ v
    show("output = weights v (each word's mix of features):", output.numpy(), WORDS, FEATURES)
    fused = F.scaled_dot_product_attention(q, k, v)
    print(f"F.scaled_dot_product_attention(q, k, v): max |fused - step by step| = "
          f"{np.abs(fused.numpy() - output.numpy()).max():.1e}")
    print(f"F.softmax agrees too: max difference {np.abs(F.softmax(scaled, dim=-1).numpy() - weights.numpy()).max():.1e}\n")

    # the causal mask: scores of future tokens (j > i) become -inf, so their weight is exactly 0
    T = len(WORDS)
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    masked = mg.where(mg.tensor(future), -math.inf, scaled)
    causal = F.softmax(masked, dim=-1)
    show("causal weights (the upper triangle is masked to 0):", causal.numpy(), WORDS, WORDS)
    print('"not" looks for the opinion it negates, but "bad" is in its future: it spreads 1/4 over what it can see;')
    print('"bad" comes last, sees everything, and keeps its row.')
    fused_causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    print(f"is_causal=True: max |fused - masked by hand| = {np.abs(fused_causal.numpy() - (causal @ v).numpy()).max():.1e}\n")
    return weights.numpy(), causal.numpy()


def padding():
    """A batch of two sentences of different lengths, padded to one length."""
    a, b = WORDS, ["the", "battery", "is", "bad", "[PAD]"]
    qa, ka, va = by_hand(a)
    qb, kb, vb = by_hand(b)
    q, k, v = mg.stack([qa, qb]), mg.stack([ka, kb]), mg.stack([va, vb])  # (B=2, T=5, d=4)
    attention_mask = mg.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])  # 1 = real token, 0 = padding
    keep = (attention_mask != 0).reshape(2, 1, 5)  # (B, 1, T_keys): broadcast over the queries
    print(f"sentence 2 is padded: {' '.join(b)}   attention_mask = {attention_mask.numpy()[1].tolist()}")

    d = q.shape[-1]
    scaled = (q @ k.transpose(1, 2)) / math.sqrt(d)  # (B, T, T)
    unmasked = F.softmax(scaled, dim=-1).numpy()[1]
    weights = F.softmax(mg.where(keep, scaled, -math.inf), dim=-1).numpy()[1]
    print(f'without the mask, "bad" gives [PAD] weight {unmasked[3, 4]:.4f} (its key looks like a negation!)')
    print(f'with the mask:     "bad" gives [PAD] weight {weights[3, 4]:.4f}; '
          f'"battery" gets e / (e + 3) = {math.e / (math.e + 3):.4f}: {weights[3, 1]:.4f}')
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    print(f"F.scaled_dot_product_attention(..., attn_mask=keep): max |fused - by hand| = "
          f"{np.abs(fused.numpy()[1] - weights @ vb.numpy()).max():.1e}")
    print("([PAD]'s own row still attends somewhere; its output is never used.)\n")
    return b, weights


def model_attention(model, text, layers):
    """Per layer (in `layers`): the (H, T, T) attention weights of the shipped model on `text`.

    The model computes them inside F.scaled_dot_product_attention and keeps only the output,
    so we recompute them: run the blocks up to the layer, LayerNorm the hidden states
    (pre-LN: attention reads ln1(x)), project to q and k, and do softmax(q k^T / sqrt(d_head)) + causal mask.
    """
    tokenizer, body = model.tokenizer, model.body
    ids = [tokenizer.bos_id] + tokenizer.encode(text)  # as in pretraining: [BOS] text
    tokens = ["[BOS]"] + [tokenizer.decode([i]) for i in ids[1:]]
    result = {}
    with mg.no_grad():
        x = body.embed(mg.tensor([ids]))
        bias = body.attention_bias(None, len(ids), 0, x)  # the causal mask as the model adds it: 0 or -inf
        for i, block in enumerate(body.blocks):
            if i in layers:
                attn = block.attn
                h = block.ln1(x) if body.config.norm_first else x
                q, k, v = attn.split_heads(attn.query(h)), attn.split_heads(attn.key(h)), attn.split_heads(attn.value(h))
                scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (1, H, T, T)
                future = np.triu(np.ones((len(ids), len(ids)), dtype=bool), k=1)
                weights = F.softmax(mg.where(mg.tensor(future), -math.inf, scores), dim=-1)
                # check: our weights reproduce the module's own output
                mixed = (weights @ v).transpose(1, 2).reshape(1, len(ids), -1)
                difference = np.abs(attn.out(mixed).numpy() - attn(h, bias).numpy()).max()
                assert difference < 1e-4, f"layer {i}: recomputed attention is off by {difference:.1e}"
                result[i] = weights.numpy()[0], difference
            x = block(x, bias)
    return tokens, result


def main(quick):
    weights, causal = toy_sentence()
    padded_words, padded = padding()

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    heatmap(axes[0], weights, WORDS, WORDS, "softmax(q kᵀ / √d)")
    heatmap(axes[1], causal, WORDS, WORDS, "causal mask: no looking ahead")
    heatmap(axes[2], padded, padded_words, padded_words, "padding mask: [PAD] gets 0")
    axes[0].set_ylabel("query (looking)")
    fig.suptitle('Attention weights of "the battery is not bad" (rows sum to 1)')
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / "07_attention.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"figure written to {path}\n")

    # the same, inside the shipped pretrained model
    model = pretrained.load("tiny")
    config = model.config
    text = "the battery is not bad , but the delivery is slow ."
    layers = [config.n_layers - 1] if quick else list(range(config.n_layers))
    tokens, result = model_attention(model, text, layers)
    print(f'the shipped model ({config.n_layers} layers x {config.n_heads} heads, d_head = '
          f'{config.d_model // config.n_heads}) on "{text}"')
    print(f"{len(tokens)} tokens: {tokens}")
    top = config.n_layers - 1
    print(f"layer {top}, the last token {tokens[-1]!r} (a 'last'-pooling classifier reads the [EOS] after it, "
          "which fine-tuning adds) looks most at:")
    for head in range(config.n_heads):
        row = result[top][0][head, -1]
        best = np.argsort(row)[::-1][:3]
        print(f"  head {head}: " + ", ".join(f"{tokens[j]!r} {row[j]:.2f}" for j in best))
    print("recomputed weights reproduce each layer's attention output: max difference "
          f"{max(diff for _, diff in result.values()):.1e}")

    fig, axes = plt.subplots(len(layers), config.n_heads, figsize=(3.3 * config.n_heads, 3.4 * len(layers)),
                             squeeze=False)
    for row, layer in enumerate(layers):
        for head in range(config.n_heads):
            ax = axes[row, head]
            heatmap(ax, result[layer][0][head], tokens, tokens, f"layer {layer}, head {head}")
            if head:
                ax.set_yticks([])
    fig.tight_layout()
    path = FIGURES / "07_attention_heads.png"
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    print(f"\nfigure written to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="plot one layer of the model (used by CI)")
    main(parser.parse_args().quick)
