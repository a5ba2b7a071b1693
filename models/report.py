"""How `minigrad compare` shows its results: a text table and two PNG plots."""
import matplotlib

matplotlib.use("Agg")  # files only: no window, works on a server
import matplotlib.pyplot as plt  # noqa: E402

COLUMNS = [  # (header, width, row -> text)
    ("mode", 15, lambda r: r["mode"]),
    ("trainable", 10, lambda r: f"{r['trainable']:,}"),
    ("%", 6, lambda r: f"{r['trainable_pct']:.1f}" if r["trainable_pct"] >= 0.1 or not r["trainable"]
     else f"{r['trainable_pct']:.2f}"),
    ("s/step", 7, lambda r: f"{r['seconds_per_step']:.3f}" if "seconds_per_step" in r else "-"),
    ("peak MB", 8, lambda r: f"{r['peak_mb']:.1f}" if "peak_mb" in r else "-"),
    ("val acc", 8, lambda r: f"{100 * r['val_accuracy']:.1f}%"),
    ("val F1", 7, lambda r: f"{r['val_macro_f1']:.3f}"),
    ("test acc", 8, lambda r: f"{100 * r['test_accuracy']:.1f}%" if r.get("test_accuracy") is not None else "-"),
    ("forgetting", 10, lambda r: f"{r['forgetting']:+.3f}" if r.get("forgetting") is not None else "-"),
]


def table_header():
    return "  ".join(f"{name:<{width}}" if i == 0 else f"{name:>{width}}"
                     for i, (name, width, _) in enumerate(COLUMNS))


def table_row(row):
    return "  ".join(f"{cell(row):<{width}}" if i == 0 else f"{cell(row):>{width}}"
                     for i, (_, width, cell) in enumerate(COLUMNS))


def table(rows):
    return "\n".join([table_header()] + [table_row(r) for r in rows])


def plot_curves(rows, path):
    """Validation accuracy against training step, one line per mode."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        if row.get("curve"):
            ax.plot([p["step"] for p in row["curve"]], [100 * p["val_accuracy"] for p in row["curve"]],
                    marker="o", markersize=3, label=row["mode"], linestyle="--" if row["mode"] == "scratch" else "-")
    majority = [r for r in rows if r["mode"] == "majority class"]
    if majority:
        ax.axhline(100 * majority[0]["val_accuracy"], color="gray", linewidth=1, label="majority class")
    ax.set(xlabel="training step", ylabel="validation accuracy (%)", title="Fine-tuning modes: validation accuracy")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_accuracy_vs_parameters(rows, path):
    """Validation accuracy against trainable parameters (log scale): what each mode buys per parameter."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    same_count = {}  # modes that train the same parameters (full, layerwise-lr) share one label
    for row in rows:
        if row["trainable"]:
            ax.scatter(row["trainable"], 100 * row["val_accuracy"], s=40)
            same_count.setdefault((row["trainable"], row["mode"] == "scratch"), []).append(row)
    largest = max(count for count, _ in same_count)
    for (count, _), group in same_count.items():
        at_right_edge = count == largest  # label to the left of the point, below it
        ax.annotate(", ".join(r["mode"] for r in group), (count, 100 * group[0]["val_accuracy"]), fontsize=8,
                    xytext=(-6, -12) if at_right_edge else (4, 5), textcoords="offset points",
                    ha="right" if at_right_edge else "left")
    ax.set_xscale("log")
    ax.set(xlabel="trainable parameters (log scale)", ylabel="validation accuracy (%)",
           title="Accuracy vs trainable parameters")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
