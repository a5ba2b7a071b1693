"""How `minigrad compare` shows its results: a text table, per-class details and two PNG plots.

The score columns follow the task's kind: accuracy and macro F1 (classification; token
accuracy for tagging, exact match and word F1 of the answers for qa), or, for language
modelling (lm), the loss and perplexity on the new domain's texts.
"""
import matplotlib

matplotlib.use("Agg")  # files only: no window, works on a server
import matplotlib.pyplot as plt  # noqa: E402


def shown(key, text):
    """row -> text(row[key]), or "-" where the row has no such value (a baseline has no s/step)."""
    return lambda r: text(r[key]) if r.get(key) is not None else "-"


COLUMNS = [  # (header, width, row -> text)
    ("mode", 15, lambda r: r["mode"]),
    ("trainable", 10, lambda r: f"{r['trainable']:,}"),
    ("%", 6, lambda r: f"{r['trainable_pct']:.1f}" if r["trainable_pct"] >= 0.1 or not r["trainable"]
     else f"{r['trainable_pct']:.2f}"),
    ("s/step", 7, shown("seconds_per_step", lambda v: f"{v:.3f}")),
    ("peak MB", 8, shown("peak_mb", lambda v: f"{v:.1f}")),
]
ACCURACY_COLUMNS = [
    ("val acc", 8, shown("val_accuracy", lambda v: f"{100 * v:.1f}%")),
    ("val F1", 7, shown("val_macro_f1", lambda v: f"{v:.3f}")),
    ("test acc", 8, shown("test_accuracy", lambda v: f"{100 * v:.1f}%")),
]
QA_COLUMNS = [  # the same scores, under their QA names: exact match and word F1 of the answers
    ("val EM", 8, shown("val_accuracy", lambda v: f"{100 * v:.1f}%")),
    ("val F1", 7, shown("val_macro_f1", lambda v: f"{v:.3f}")),
    ("test EM", 8, shown("test_accuracy", lambda v: f"{100 * v:.1f}%")),
]
LM_COLUMNS = [
    ("val loss", 8, shown("val_loss", lambda v: f"{v:.3f}")),
    ("val ppl", 8, shown("val_perplexity", lambda v: f"{v:.2f}")),
    ("test ppl", 8, shown("test_perplexity", lambda v: f"{v:.2f}")),
]
FORGETTING_COLUMN = ("forgetting", 10, shown("forgetting", lambda v: f"{round(v, 3) + 0.0:+.3f}"))  # no "-0.000"


def columns(kind, test=True):
    """test=False: without the test score (finetune scores the test set once, for the chosen setting)."""
    scores = {"lm": LM_COLUMNS, "qa": QA_COLUMNS}.get(kind, ACCURACY_COLUMNS)
    return COLUMNS + (scores if test else scores[:-1]) + [FORGETTING_COLUMN]


def table_header(kind="classification", test=True):
    return "  ".join(f"{name:<{width}}" if i == 0 else f"{name:>{width}}"
                     for i, (name, width, _) in enumerate(columns(kind, test)))


def table_row(row, kind="classification", test=True):
    return "  ".join(f"{cell(row):<{width}}" if i == 0 else f"{cell(row):>{width}}"
                     for i, (_, width, cell) in enumerate(columns(kind, test)))


def table(rows, kind="classification"):
    return "\n".join([table_header(kind)] + [table_row(r, kind) for r in rows])


def class_details(per_class, confusion_matrix, labels):
    """Per-class precision / recall / F1 / support and the confusion matrix, as text lines."""
    width = max(12, *(len(str(label)) + 2 for label in labels))
    lines = [f"{'class':<{width}} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}"]
    for label, scores in zip(labels, per_class):
        lines.append(f"{str(label):<{width}} {scores['precision']:9.3f} {scores['recall']:7.3f} {scores['f1']:6.3f} "
                     f"{scores['support']:8d}")
    cell = max(7, *(len(str(label)) + 1 for label in labels))
    lines += ["", "confusion matrix (rows: true class, columns: predicted)",
              " " * width + "".join(f"{str(label):>{cell}}" for label in labels)]
    lines += [f"{str(label):<{width}}" + "".join(f"{n:>{cell}d}" for n in row)
              for label, row in zip(labels, confusion_matrix)]
    return lines


def headline(kind):
    """The score the plots show: (row key, axis label, factor) -- accuracy in %, or perplexity for lm."""
    return ("val_perplexity", "validation perplexity", 1) if kind == "lm" else \
        ("val_accuracy", "validation accuracy (%)", 100)


def plot_curves(rows, path, kind="classification"):
    """Validation score (left) and validation loss (right) against training step, one line per
    mode; the untrained baselines that have them (majority class, the pretrained LM) as
    horizontal lines. The loss shows what the score hides: growing over-confidence."""
    panels = [headline(kind)] + ([] if kind == "lm" else [("val_loss", "validation loss", 1)])
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (key, label, factor) in zip(axes[0], panels):
        for row in rows:
            if row.get("curve"):
                ax.plot([p["step"] for p in row["curve"]], [factor * p[key] for p in row["curve"]], marker="o",
                        markersize=3, label=row["mode"], linestyle="--" if row["mode"] == "scratch" else "-")
            elif not row["trainable"] and row.get(key) is not None:
                ax.axhline(factor * row[key], color="gray", linewidth=1, label=row["mode"])
        ax.set(xlabel="training step", ylabel=label, title=f"Fine-tuning modes: {label}")
        if kind == "lm":
            ax.set_yscale("log")  # from scratch starts near the vocabulary size
        ax.legend(fontsize=8, ncol=2)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_score_vs_parameters(rows, path, kind="classification"):
    """The validation score against trainable parameters (log scale): what each mode buys per parameter."""
    key, label, factor = headline(kind)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    same_count = {}  # modes that train the same parameters (full, layerwise-lr) share one label
    for row in rows:
        if row["trainable"]:
            ax.scatter(row["trainable"], factor * row[key], s=40)
            same_count.setdefault((row["trainable"], row["mode"] == "scratch"), []).append(row)
    largest = max(count for count, _ in same_count)
    previous, below = None, False
    for (count, _), group in sorted(same_count.items()):
        at_right_edge = count == largest  # label to the left of the point, below it
        below = previous is not None and count < 3 * previous and not below  # a close neighbour: take turns
        previous = count
        ax.annotate(", ".join(r["mode"] for r in group), (count, factor * group[0][key]), fontsize=8,
                    xytext=(-6, -12) if at_right_edge else (4, -12) if below else (4, 5), textcoords="offset points",
                    ha="right" if at_right_edge else "left")
    ax.set_xscale("log")
    ax.set(xlabel="trainable parameters (log scale)", ylabel=label, title=f"{label} vs trainable parameters")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
