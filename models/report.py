"""How `minigrad compare` shows its results: a text table, per-class details and two PNG plots.

The score columns follow the task's kind: accuracy and macro F1 (classification; token
accuracy for tagging, exact match and word F1 of the answers for qa), or, for language
modelling (lm), the loss and perplexity on the new domain's texts.
"""
import itertools
import math

import matplotlib

matplotlib.use("Agg")  # files only: no window, works on a server
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402


def shown(key, text, spread=None):
    """row -> text(row[key]), "-" where the row has no such value (a baseline has no s/step), and a
    diverged run's NaN or infinity as plain "nan" / "inf" (not "nan%" or "+nan"). spread: how to write
    the standard deviation over seeds (row[key + "_std"], models/seeds.py), after a "±"."""
    def cell(row):
        value, std = row.get(key), row.get(f"{key}_std")
        if value is None:
            return "-"
        if not math.isfinite(value):
            return str(value)
        return text(value) + (f" ±{spread(std)}" if spread and std is not None and math.isfinite(std) else "")
    return cell


def percent(v):
    return f"{100 * v:.1f}%"


def points(v):  # a spread of percentages, in percentage points
    return f"{100 * v:.1f}"


def three(v):
    return f"{v:.3f}"


def two(v):
    return f"{v:.2f}"


COLUMNS = [  # (header, width, row -> text, extra width for the spread over seeds)
    ("mode", 15, lambda r: r["mode"], 0),
    ("trainable", 10, lambda r: f"{r['trainable']:,}", 0),
    ("%", 6, lambda r: f"{r['trainable_pct']:.1f}" if r["trainable_pct"] >= 0.1 or not r["trainable"]
     else f"{r['trainable_pct']:.2f}", 0),
    ("s/step", 7, shown("seconds_per_step", three), 0),
    ("peak MiB", 8, shown("peak_mib", lambda v: f"{v:.1f}"), 0),
]
ACCURACY_COLUMNS = [
    ("val acc", 8, shown("val_accuracy", percent, points), 5),
    ("val F1", 7, shown("val_macro_f1", three, three), 7),
    ("test acc", 8, shown("test_accuracy", percent, points), 5),
]
QA_COLUMNS = [  # the same scores, under their QA names: exact match and word F1 of the answers
    ("val EM", 8, shown("val_accuracy", percent, points), 5),
    ("val F1", 7, shown("val_macro_f1", three, three), 7),
    ("test EM", 8, shown("test_accuracy", percent, points), 5),
]
LM_COLUMNS = [
    ("val loss", 8, shown("val_loss", three, three), 7),
    ("val ppl", 8, shown("val_perplexity", two, two), 8),
    ("test ppl", 8, shown("test_perplexity", two, two), 8),
]
FORGETTING_COLUMN = ("forgetting", 10, shown("forgetting", lambda v: f"{round(v, 3) + 0.0:+.3f}", three), 7)  # no "-0.000"


def columns(kind, test=True, spread=False, names=()):
    """[(header, width, row -> text)]. test=False: without the test score (finetune scores the test set
    once, for the chosen setting); spread: the rows are means over seeds, with "± std" in the scores;
    names: the rows' names, when known before the first row, so that the first column fits them all
    (compare's variants, such as layerwise-lr:unfreeze_every=25)."""
    scores = {"lm": LM_COLUMNS, "qa": QA_COLUMNS}.get(kind, ACCURACY_COLUMNS)
    chosen = COLUMNS + (scores if test else scores[:-1]) + [FORGETTING_COLUMN]
    widths = [max([chosen[0][1], *(len(name) + 1 for name in names)])] + [width for _, width, _, _ in chosen[1:]]
    return [(name, width + extra * spread, cell) for (name, _, cell, extra), width in zip(chosen, widths)]


def aligned(cells, widths):
    """The first cell left-aligned, every other one ending where its header ends, two spaces between
    columns. A cell wider than its column (a combination such as lora+params+head, a perplexity in the
    hundred thousands) takes the room it needs, at least a space, and the cells after it line up again:
    rows are printed as they finish, so the widths can't follow the longest one."""
    text, end = "", -2
    for i, (cell, width) in enumerate(zip(cells, widths)):
        end += 2 + width
        text = f"{cell:<{width}}" if i == 0 else text + " " * max(1, end - len(text) - len(cell)) + cell
    return text


def table_header(kind="classification", test=True, spread=False, names=()):
    return aligned(*zip(*((name, width) for name, width, _ in columns(kind, test, spread, names))))


def table_row(row, kind="classification", test=True, spread=False, names=()):
    return aligned(*zip(*((cell(row), width) for _, width, cell in columns(kind, test, spread, names))))


def table(rows, kind="classification", spread=False):
    names = [row["mode"] for row in rows]
    return "\n".join([table_header(kind, spread=spread, names=names)] +
                     [table_row(r, kind, spread=spread, names=names) for r in rows])


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


SCORE_NAMES = {"qa": "exact match", "tagging": "token accuracy"}  # what val_accuracy holds, by the task's kind


def headline(kind, split="val"):
    """The score the plots show: (row key, axis label, factor) -- accuracy (exact match for qa, token
    accuracy for tagging) in %, or perplexity for lm; on the validation set, or the test set ("test")."""
    name = {"val": "validation", "test": "test"}[split]
    return (f"{split}_perplexity", f"{name} perplexity", 1) if kind == "lm" else \
        (f"{split}_accuracy", f"{name} {SCORE_NAMES.get(kind, 'accuracy')} (%)", 100)


def titled(fig, run):
    """The run the plot is of (model, task, steps, ...) above its panels: a plot saved apart from its
    table still says what it shows."""
    if run:
        fig.suptitle(run, fontsize=9)


# A mode keeps its colour in every run and in both plots (with --modes head,lora, head was blue and lora
# orange, while the full run drew them orange and gray); combinations and variants (lora:r=4) take the
# extras in turn, each with a marker of its own too: past seven the colours come round again, and some
# extras are near a mode's colour. Baselines are black and dotted: a gray line beside gray LoRA read as
# one of the modes.
MODE_COLORS = {"full": "tab:blue", "head": "tab:orange", "layers": "tab:green", "params": "tab:red",
               "layerwise-lr": "tab:purple", "prompt": "tab:brown", "prefix": "tab:olive", "adapter": "tab:pink",
               "lora": "tab:cyan", "ia3": "gold", "scratch": "tab:gray"}
EXTRA_COLORS = plt.get_cmap("Dark2").colors[:7]  # Dark2's 8th is a gray, too like scratch
EXTRA_MARKERS = ("s", "^", "D", "v", "P", "X")  # a named mode's is "o"; with 7 colours, no pair repeats before 42
BASELINE = {"color": "black", "linestyle": ":", "linewidth": 1.2}


def mode_styles(rows):
    """mode -> (colour, marker) for the rows that trained."""
    extras = zip(itertools.cycle(EXTRA_COLORS), itertools.cycle(EXTRA_MARKERS))
    return {row["mode"]: (MODE_COLORS[row["mode"]], "o") if row["mode"] in MODE_COLORS else next(extras)
            for row in rows if row["trainable"]}


def finite(value):
    return value is not None and math.isfinite(value)


def plot_curves(rows, path, kind="classification", run=None):
    """Validation score (left) and validation loss (right) against training step, one line per
    mode; the untrained baselines that have them (majority class, the pretrained LM) as
    horizontal lines. The loss shows what the score hides: growing over-confidence."""
    panels = [headline(kind)] + ([] if kind == "lm" else [("val_loss", "validation loss", 1)])
    styles = mode_styles(rows)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels) + 1.6, 4.5), squeeze=False)
    for ax, (key, label, factor) in zip(axes[0], panels):
        plotted = []
        for row in rows:
            if row.get("curve"):
                steps, values = [p["step"] for p in row["curve"]], [factor * p[key] for p in row["curve"]]
                plotted += [v for v in values if finite(v)]
                color, marker = styles[row["mode"]]
                ax.plot(steps, values, marker=marker, markersize=3, label=row["mode"], color=color,
                        linestyle="--" if row["mode"] == "scratch" else "-")
                spread = [factor * p[f"{key}_std"] for p in row["curve"] if finite(p.get(f"{key}_std"))]
                if len(spread) == len(values):  # a mean over seeds: one standard deviation either side
                    ax.fill_between(steps, [v - s for v, s in zip(values, spread)],
                                    [v + s for v, s in zip(values, spread)], color=color, alpha=0.15,
                                    linewidth=0)
            elif not row["trainable"] and finite(row.get(key)):
                ax.axhline(factor * row[key], label=row["mode"], **BASELINE)
        ax.set(xlabel="training step", ylabel=label, title=f"Fine-tuning modes: {label}")
        ax.set_xlim(left=0)  # training starts at 0: the first point is the first evaluation, not the start
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # whole steps, round ticks
        # from scratch starts near the vocabulary size (lm); a mode on its way to diverging can reach 1e10:
        # on a linear axis either would flatten every other curve into a line at the bottom
        if kind == "lm" or (key == "val_loss" and plotted and min(plotted) > 0 and max(plotted) > 100 * min(plotted)):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    # one legend for both panels, outside them: inside, it sat on the curves of whichever panel had no room
    axes[0][-1].legend(*axes[0][0].get_legend_handles_labels(), fontsize=8, loc="upper left",
                       bbox_to_anchor=(1.02, 1), borderaxespad=0)
    titled(fig, run)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def spots(points, to_points, apart=5):
    """One column's points [(score, mode)] -> [(score, [modes])], highest first: points closer than
    `apart` typographic points on the page (to_points: score -> its height there) share a spot."""
    merged = []
    for score, mode in sorted(points, key=lambda p: -to_points(p[0])):
        if merged and to_points(merged[-1][0]) - to_points(score) < apart:
            merged[-1][1].append(mode)
        else:
            merged.append((score, [mode]))
    order = [mode for _, mode in points]
    return [(score, sorted(modes, key=order.index)) for score, modes in merged]  # "full, layerwise-lr", as in the table


# Offsets in points, and the side of its point the label sits on: to the right, just above it or just below;
# then further out, to the right and then to the left, with a thin line to its point (variants of one mode,
# lora:r=1 ... lora:r=64, crowd one band of the plot, where a label away from its point read as the next one's).
LABEL_SPOTS = [((4, 5), "left"), ((4, -12), "left"), ((10, 16), "left"), ((10, -24), "left"),
               ((-10, 16), "right"), ((-10, -24), "right"), ((16, 28), "left"), ((16, -36), "left")]
LEADER = {"arrowstyle": "-", "color": "0.45", "linewidth": 0.6, "shrinkA": 1, "shrinkB": 4}


def clear_label(ax, label, point, placed, renderer, markers=()):
    """The label of one point, at the first of LABEL_SPOTS that overlaps neither a box in placed (the labels
    so far) nor another point's marker, nor leaves the axes on the left (on the right, widen_to_fit makes
    room); where every spot overlaps something, at the one that overlaps least. (With modes a few hundred
    parameters apart, labels side by side ran into each other, and a label over the next point hid it.)"""
    axes = ax.get_window_extent(renderer)
    room = Bbox.from_extents(axes.x0, axes.y0, math.inf, axes.y1)
    best, least = None, math.inf
    for i, (xytext, side) in enumerate(LABEL_SPOTS):
        text = ax.annotate(label, point, fontsize=8, textcoords="offset points", xytext=xytext, ha=side,
                           va="baseline", arrowprops=LEADER if i >= 2 else None)
        box = words(text, renderer).padded(3)  # a few pixels apart: touching labels read as one
        overlap = sum(shared_area(box, other) for other in (*placed, *markers)) + area(box) - shared_area(box, room)
        if overlap < least:
            if best is not None:
                best.remove()
            best, least = text, overlap
        else:
            text.remove()
        if not overlap:
            break
    return best


def words(label, renderer):
    """Where a label's text sits on the page, in pixels: without the line to its point, which may cross others."""
    label.update_positions(renderer)
    return Text.get_window_extent(label, renderer)


def area(box):
    return box.width * box.height


def shared_area(box, other):
    common = Bbox.intersection(box, other)
    return 0 if common is None else area(common)


def widen_to_fit(ax, labels, renderer):
    """Widen the log x axis on the right until every label [(its point's x, text)] ends inside it. A label
    sits right of its point, `past` pixels at any scale, and the point at x lies a fraction
    (log x - low) / (high - low) of the way along: the axis must end at high >= low + (log x - low) * W / (W - past)."""
    box = ax.get_window_extent()
    low, high = (math.log10(x) for x in ax.get_xlim())
    needed = high
    for x, text in labels:
        point = box.x0 + (math.log10(x) - low) / (high - low) * box.width
        past = text.get_window_extent(renderer).x1 + 4 - point
        if point + past > box.x1 and past < box.width:  # (a label wider than the axes can't fit at any scale)
            needed = max(needed, low + (math.log10(x) - low) * box.width / (box.width - past))
    if needed > high:
        ax.set_xlim(right=10 ** needed)


def plot_score_vs_parameters(rows, path, kind="classification", split="val", run=None):
    """The validation (or test) score against trainable parameters (log scale): what each mode buys per
    parameter; the untrained baselines (majority class, the pretrained LM) as labelled horizontal lines."""
    key, label, factor = headline(kind, split)
    styles = mode_styles(rows)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    columns = {}  # count -> [(score, mode)]: full, layerwise-lr and scratch train the same parameters
    for row in rows:
        if not finite(row.get(key)):  # a diverged mode has no point to place
            continue
        if row["trainable"]:
            columns.setdefault(row["trainable"], []).append((factor * row[key], row["mode"]))
            if finite(row.get(f"{key}_std")):  # a mean over seeds: a bar of one standard deviation either side
                ax.errorbar(row["trainable"], factor * row[key], yerr=factor * row[f"{key}_std"], capsize=3,
                            color=styles[row["mode"]][0], linewidth=1, zorder=2)
        else:
            ax.axhline(factor * row[key], **BASELINE)
            ax.annotate(row["mode"], (0.01, factor * row[key]), xycoords=("axes fraction", "data"), xytext=(0, 3),
                        textcoords="offset points", fontsize=8)
    ax.set_xscale("log")
    if kind == "lm":
        ax.set_yscale("log")  # as in the curves: the pretrained model's perplexity is in the thousands
    ax.margins(x=0.06, y=0.1)  # room for the labels below the lowest point (they were cut by the axis)
    ax.update_datalim([(count, score) for count, points in columns.items() for score, _ in points])
    ax.set(xlabel="trainable parameters (log scale)", ylabel=label, title=f"{label} vs trainable parameters")
    ax.autoscale_view()
    titled(fig, run)
    fig.tight_layout()  # limits and layout known: where the points land on the page, to keep labels apart

    def to_points(score):  # a score's height on the page, in typographic points (the labels' offsets)
        return ax.transData.transform((1, score))[1] * 72 / fig.dpi

    def marker_box(count, score):  # a point's marker on the page, in pixels
        x, y = ax.transData.transform((count, score))
        return Bbox.from_bounds(x - 5, y - 5, 10, 10)

    markers = [(count, marker_box(count, score)) for count, points in columns.items() for score, _ in points]
    largest = max(columns, default=None)  # none where every mode diverged
    renderer, placed, labels = fig.canvas.get_renderer(), [], []  # placed: the labels' boxes so far
    for count in sorted(columns):
        at_right_edge = count == largest  # labels to the right, past the axes: to the left they ran over the points
        column = spots(columns[count], to_points)
        last = None  # where the label above went: in one column, each label at least a line below it
        for score, modes in column:
            for i, mode in enumerate(modes):  # a second mode on one spot as a ring around it, or it hides
                color, marker = styles[mode]
                ax.scatter(count, score, s=40 + 70 * i, color=color, marker=marker, facecolors="none" if i else None,
                           linewidths=1.5, zorder=3)
            label = ", ".join(modes)
            label = label if len(label) <= 30 else ",\n".join(modes)  # long names: a line each
            if len(column) == 1 and not at_right_edge:  # above, below, or a line further out: the first clear spot
                others = [box for x, box in markers if x != count]
                text = clear_label(ax, label, (count, score), placed, renderer, others)
            else:  # beside its point, pushed down clear of the label above it in the column
                height = to_points(score) if last is None else min(to_points(score), last - 10)
                last = height
                text = ax.annotate(label, (count, score), fontsize=8, textcoords="offset points",
                                   xytext=(7, height - to_points(score)), va="center")
            placed.append(words(text, renderer))
            labels.append((count, text))
    widen_to_fit(ax, labels, renderer)

    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
