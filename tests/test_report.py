"""What `minigrad compare` shows a reader: the table's alignment and the two plots' labels, colours
and baselines (models/report.py). The plots are checked through the calls they make, not by pixels."""
import math

import matplotlib
import pytest
from matplotlib.axes import Axes
from matplotlib.transforms import Bbox

from models import report

ROW = {"trainable": 8_322, "trainable_pct": 3.4, "seconds_per_step": 0.026, "peak_mib": 45.7, "val_accuracy": 0.986,
       "val_macro_f1": 0.986, "test_accuracy": 0.978, "forgetting": 0.013}


def column_ends(line):
    """Where each run of non-spaces ends: the right edges of right-aligned cells."""
    return [i + 1 for i, c in enumerate(line) if c != " " and (i + 1 == len(line) or line[i + 1] == " ")]


def header_ends(kind="classification"):
    """Where each column's header ends (headers such as "peak MiB" have spaces of their own)."""
    ends, end = [], -2
    for _, width, _ in report.columns(kind):
        end += 2 + width
        ends.append(end)
    return ends


@pytest.mark.parametrize("mode", ["lora", "lora+params+head", "layerwise-lr+lora+params"])
def test_a_long_mode_name_does_not_shift_the_columns_after_it(mode):
    row = report.table_row({**ROW, "mode": mode})
    # "%" ... forgetting end where their headers do; "trainable" too, while the name fits in its spare room
    assert column_ends(row)[1 + (len(mode) > 20):] == header_ends()[1 + (len(mode) > 20):]
    assert row.startswith(mode + " ")


def test_a_huge_perplexity_takes_room_from_its_neighbour_and_the_rest_line_up():
    row = {"mode": "pretrained", "trainable": 0, "trainable_pct": 0.0, "val_loss": 12.5, "val_perplexity": 268337.29,
           "test_perplexity": 270000.0}
    line = report.table_row(row, "lm")
    assert "12.500 268337.29" in line and column_ends(line)[-2:] == header_ends("lm")[-2:]


def test_a_diverged_run_shows_nan_and_inf_without_units_or_sign():
    row = {**ROW, "mode": "full", "val_accuracy": float("nan"), "forgetting": float("nan")}
    assert "nan%" not in report.table_row(row) and "+nan" not in report.table_row(row)
    assert report.table_row(row).split()[-1] == "nan"
    lm = {"mode": "full", "trainable": 1, "trainable_pct": 1.0, "val_loss": float("nan"),
          "val_perplexity": float("inf"), "test_perplexity": float("inf")}
    assert report.table_row(lm, "lm").split()[-4:-1] == ["nan", "inf", "inf"]


@pytest.mark.parametrize("kind, label", [("classification", "validation accuracy (%)"),
                                         ("tagging", "validation token accuracy (%)"),
                                         ("qa", "validation exact match (%)"), ("lm", "validation perplexity")])
def test_the_score_axis_names_the_tasks_own_score(kind, label):
    assert report.headline(kind)[1] == label
    test_key, test_label, _ = report.headline(kind, "test")
    assert test_key.startswith("test_") and test_label == label.replace("validation", "test")


def test_a_mode_keeps_its_colour_whichever_modes_run_and_baselines_are_not_a_modes_colour():
    every = [{"mode": m, "trainable": 1} for m in ("full", "head", "lora", "scratch")]
    some = [{"mode": m, "trainable": 1} for m in ("lora", "head")] + [{"mode": "majority class", "trainable": 0}]
    def colors(rows):
        return {mode: color for mode, (color, _) in report.mode_styles(rows).items()}

    assert colors(every)["lora"] == colors(some)["lora"] != colors(every)["head"]
    combos = colors([{"mode": m, "trainable": 1} for m in ("lora+params", "lora+head", "lora")])
    assert len(set(combos.values())) == 3  # combinations take colours no named mode has
    assert not set(combos.values()) & {c for m, c in report.MODE_COLORS.items() if m != "lora"}
    variants = report.mode_styles([{"mode": f"lora:r={r}", "trainable": 1} for r in range(1, 43)])
    assert len(set(variants.values())) == 42  # no two rows alike, though colours come round after seven
    assert all(marker != "o" for _, marker in variants.values())  # and none looks like a named mode's point
    named = [matplotlib.colors.to_rgb(c) for c in report.MODE_COLORS.values()]
    assert matplotlib.colors.to_rgb(report.BASELINE["color"]) not in named


def annotations(monkeypatch):
    """Record every label the plot places: text -> (its point, its offset)."""
    placed, annotate = {}, Axes.annotate
    monkeypatch.setattr(Axes, "annotate", lambda self, text, xy, xytext=None, **kw:
                        placed.update({text: (xy, xytext)}) or annotate(self, text, xy, xytext=xytext, **kw))
    return placed


def test_modes_with_the_same_parameter_count_are_labelled_at_their_own_scores(tmp_path, monkeypatch):
    placed = annotations(monkeypatch)
    rows = [{"mode": "full", "trainable": 237_058, "val_accuracy": 0.654},
            {"mode": "layers", "trainable": 100_226, "val_accuracy": 0.654},
            {"mode": "layerwise-lr", "trainable": 237_058, "val_accuracy": 0.646},
            {"mode": "scratch", "trainable": 237_058, "val_accuracy": 0.591}]
    report.plot_score_vs_parameters(rows, tmp_path / "plot.png", "qa")
    # before, one label "full, layerwise-lr" sat at full's score, beside layerwise-lr's point
    assert placed["full"][0] == (237_058, pytest.approx(65.4)) and placed["layerwise-lr"][0][1] == pytest.approx(64.6)
    # the right-most column: beside the points, a lower label only ever pushed further down
    assert placed["full"][1] == (7, 0) and placed["layerwise-lr"][1][0] == 7 and placed["layerwise-lr"][1][1] <= 0
    assert "scratch" in placed and "full, layerwise-lr" not in placed


def test_modes_on_one_spot_share_a_label_in_the_tables_order(tmp_path, monkeypatch):
    placed = annotations(monkeypatch)
    rows = [{"mode": "full", "trainable": 237_058, "val_accuracy": 0.98},
            {"mode": "layerwise-lr", "trainable": 237_058, "val_accuracy": 0.98},
            {"mode": "head", "trainable": 130, "val_accuracy": 0.97}]
    report.plot_score_vs_parameters(rows, tmp_path / "plot.png")
    assert "full, layerwise-lr" in placed


def test_baselines_are_drawn_and_a_diverged_mode_is_left_out(tmp_path, monkeypatch):
    placed, lines = annotations(monkeypatch), []
    axhline = Axes.axhline
    monkeypatch.setattr(Axes, "axhline", lambda self, y, **kw: lines.append(y) or axhline(self, y, **kw))
    rows = [{"mode": "full", "trainable": 237_058, "val_accuracy": float("nan")},
            {"mode": "head", "trainable": 130, "val_accuracy": 0.97},
            {"mode": "majority class", "trainable": 0, "val_accuracy": 0.54}]
    report.plot_score_vs_parameters(rows, tmp_path / "plot.png")
    assert lines == [pytest.approx(54.0)] and "majority class" in placed and "full" not in placed
    report.plot_score_vs_parameters(rows[:1] + rows[2:], tmp_path / "none.png")  # every mode diverged: still a plot
    assert (tmp_path / "none.png").is_file()
    lines.clear()
    report.plot_curves([{**rows[1], "curve": [{"step": 20, "val_accuracy": 0.9, "val_loss": 0.3}]}, rows[2]],
                       tmp_path / "curves.png")
    assert lines == [pytest.approx(54.0)]  # on the score panel only: the majority class has no loss


def test_a_loss_that_explodes_puts_the_loss_panel_on_a_log_scale_and_steps_are_whole(tmp_path, monkeypatch):
    scales, locators = [], []
    monkeypatch.setattr(Axes, "set_yscale", lambda self, value, **kw: scales.append((self.get_title(), value)))
    set_locator = matplotlib.axis.Axis.set_major_locator
    monkeypatch.setattr(matplotlib.axis.Axis, "set_major_locator",
                        lambda self, locator: locators.append(type(locator).__name__) or set_locator(self, locator))
    calm = {"mode": "head", "trainable": 130,
            "curve": [{"step": s, "val_accuracy": 0.9, "val_loss": 0.3} for s in (1, 2)]}
    exploding = {**calm, "mode": "full", "curve": [{"step": s, "val_accuracy": 0.5, "val_loss": 1e10} for s in (1, 2)]}
    report.plot_curves([calm], tmp_path / "calm.png")
    assert scales == [] and locators.count("MaxNLocator") == 2  # one per panel: integer step ticks
    ticks = [t for t in plt_ticks(tmp_path, calm) if t >= 0]
    assert ticks and all(float(t).is_integer() for t in ticks)
    report.plot_curves([calm, exploding], tmp_path / "exploding.png")
    assert scales == [("Fine-tuning modes: validation loss", "log")]  # the score panel stays linear
    scales.clear()
    rising = {**calm, "curve": [{"step": s, "val_accuracy": a, "val_loss": 0.3} for s, a in ((1, 0.004), (2, 0.6))]}
    report.plot_curves([rising], tmp_path / "rising.png")  # a score from 0.4 % to 60 %: still a linear axis
    assert scales == []


def plt_ticks(tmp_path, row):
    """The step ticks plot_curves gives row's two-point curve (whose steps are 1 and 2)."""
    import matplotlib.pyplot as plt
    figures = []
    close = plt.close
    plt.close = lambda fig=None: figures.append(fig)
    try:
        report.plot_curves([row], tmp_path / "ticks.png")
    finally:
        plt.close = close
    return list(figures[0].axes[0].get_xticks())


def test_a_diverged_evaluation_has_no_score_on_the_curve():
    from models.compare import curve_point
    diverged = curve_point({"step": 3, "train_loss": 9.0, "loss": float("inf"), "accuracy": 0.54})
    assert diverged["step"] == 3 and all(math.isnan(diverged[k]) for k in ("val_loss", "val_accuracy"))
    point = curve_point({"step": 3, "train_loss": 0.5, "loss": 0.4, "accuracy": 0.9})
    assert point == {"step": 3, "val_loss": 0.4, "val_accuracy": 0.9}


def test_each_plot_names_the_run_it_is_of(tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    titles = []
    monkeypatch.setattr(Figure, "suptitle", lambda self, text, **kw: titles.append(text))
    rows = [{"mode": "head", "trainable": 130, "val_accuracy": 0.97, "test_accuracy": 0.91,
             "curve": [{"step": 20, "val_accuracy": 0.97, "val_loss": 0.1}]}]
    run = "'tiny' on 'sentiment, products -> movies': 20 steps each, seed 0, on cpu"
    report.plot_curves(rows, tmp_path / "curves.png", run=run)
    report.plot_score_vs_parameters(rows, tmp_path / "versus.png", split="test", run=run)
    assert titles == [run, run]


def test_long_names_on_one_spot_take_a_line_each_and_every_label_ends_inside_the_axes(tmp_path, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    made, annotate = {}, Axes.annotate
    monkeypatch.setattr(Axes, "annotate", lambda self, text, xy, **kw:  # the last one made is the one kept
                        made.__setitem__(text, annotate(self, text, xy, **kw)) or made[text])
    same = ["lora", "lora:r=16:targets=query", "lora:r=4:targets=query+key+value+out"]  # 8,322 parameters each
    rows = ([{"mode": mode, "trainable": 8_322, "val_accuracy": 0.982} for mode in same] +
            [{"mode": "lora:r=1", "trainable": 1_154, "val_accuracy": 0.98},
             {"mode": "lora:r=32", "trainable": 32_898, "val_accuracy": 0.98}])
    report.plot_score_vs_parameters(rows, tmp_path / "plot.png")
    assert ",\n".join(same) in made  # not one line running far past its point
    renderer = FigureCanvasAgg(made["lora:r=1"].figure).get_renderer()
    axes = made["lora:r=1"].axes.get_window_extent(renderer)
    for text, label in made.items():
        assert label.get_window_extent(renderer).x1 <= axes.x1, f"the label {text!r} runs past the axes"


def test_a_label_goes_below_its_point_rather_than_over_the_next_point(tmp_path, monkeypatch):
    placed = annotations(monkeypatch)
    rows = [{"mode": "lora:r=1", "trainable": 1_154, "val_accuracy": 0.904},
            {"mode": "lora:r=7", "trainable": 7_298, "val_accuracy": 0.928},  # the next point is up and to the right
            {"mode": "lora:r=9", "trainable": 9_346, "val_accuracy": 0.930},
            {"mode": "head", "trainable": 130, "val_accuracy": 0.922}]
    report.plot_score_vs_parameters(rows, tmp_path / "plot.png")
    assert placed["lora:r=1"][1] == (4, 5)  # above, where nothing is in the way
    assert placed["lora:r=7"][1] == (4, -12)  # above, it would sit on lora:r=9's marker


def test_crowded_variants_get_labels_clear_of_every_point_and_far_ones_a_line_to_theirs(tmp_path, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    made, annotate = {}, Axes.annotate
    monkeypatch.setattr(Axes, "annotate", lambda self, text, xy, **kw:  # the last one made is the one kept
                        made.__setitem__(text, annotate(self, text, xy, **kw)) or made[text])
    rows = [{"mode": mode, "trainable": count, "val_accuracy": score} for mode, count, score in [  # one band
        ("full", 237_058, 0.976), ("head", 130, 0.968), ("layers", 100_226, 0.938), ("params", 3_010, 0.923),
        ("layerwise-lr", 237_058, 0.946), ("prompt", 642, 0.936), ("prefix", 4_226, 0.971),
        ("adapter", 4_770, 0.927), ("lora", 8_322, 0.943), ("ia3", 1_666, 0.953), ("lora:r=1", 1_040, 0.982),
        ("lora:r=2", 2_080, 0.945), ("lora:r=4", 4_160, 0.925), ("lora:r=16", 16_640, 0.968),
        ("lora:r=32", 33_280, 0.956), ("lora:r=64", 66_560, 0.923), ("lora+ia3", 9_988, 0.982),
        ("adapter:bottleneck=16", 17_000, 0.988)]]
    report.plot_score_vs_parameters(rows, tmp_path / "plot.png")
    ax = made["head"].axes
    renderer = FigureCanvasAgg(ax.figure).get_renderer()
    points = {row["mode"]: ax.transData.transform((row["trainable"], 100 * row["val_accuracy"])) for row in rows}
    for text, label in made.items():  # text: a mode, or modes sharing one spot ("a, b")
        box, own = report.words(label, renderer), text.split(", ")
        for other, (x, y) in points.items():  # before, lora:r=2's label ran over params' point, params' over
            if other not in own:  # prefix's, and lora+ia3's over adapter:bottleneck=16's
                assert not box.overlaps(Bbox.from_bounds(x - 4, y - 4, 8, 8)), f"{text!r} covers {other!r}'s point"
        x, y = points[own[0]]
        assert (box.x0 - x < 10 and abs(box.y0 - y) < 20) or label.arrow_patch is not None, \
            f"{text!r} is away from its point with nothing joining them"
