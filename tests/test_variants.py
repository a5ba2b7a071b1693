"""`minigrad compare --modes lora:r=2,lora:r=8,...`: variants of one mode, each with settings of its
own, as rows side by side (models/variants.py)."""
import json
import re

import pytest

from models import compare
from models.cli import main
from models.variants import file_stem, row_name, split_row
from tests.test_resume import comparable, results, stop_at_step


def test_a_row_is_named_as_written_with_its_modes_in_the_order_they_apply():
    assert row_name("lora") == "lora"
    assert row_name(" head + lora : r = 4 ") == "lora+head:r=4"
    assert row_name("layerwise-lr:unfreeze_every=25:lr=1e-2") == "layerwise-lr:unfreeze_every=25:lr=1e-2"
    assert row_name("lora:targets=query + value") == "lora:targets=query+value"


def test_a_rows_settings_are_read_as_the_modes_options_are():
    assert split_row("lora") == ("lora", {}, {})
    assert split_row("scratch") == ("scratch", {}, {})
    mode, options, settings = split_row("lora+head:r=4:targets=query+key+value:alpha=1e+1:lr=3e-3:optimizer=sgd")
    assert (mode, settings) == ("lora+head", {"lr": 3e-3, "optimizer": "sgd"})
    assert options == {"r": 4, "targets": ["query", "key", "value"], "alpha": 10.0}  # an exponent's + is no list
    assert type(options["r"]) is int
    assert split_row("params:patterns=*ln*") == ("params", {"patterns": "*ln*"}, {})
    assert split_row("full:patience=3:dropout=0.1") == ("full", {}, {"patience": 3, "dropout": 0.1})


@pytest.mark.parametrize("spec, message", [
    ("lora:r", "--modes item 'lora:r': 'r' is not NAME=VALUE"),
    ("lora:", "--modes item 'lora:': '' is not NAME=VALUE"),
    ("lora:r=", "'r=' is not NAME=VALUE"),
    ("lora:r=4:r=8", "--modes item 'lora:r=4:r=8' sets r twice"),
    ("full:lr=0", "--modes item 'full:lr=0': lr=0, expected a finite number > 0"),
    ("full:lr=fast", "lr=fast, expected a number"),
    ("head:patience=1.5", "patience=1.5, expected an integer"),
    ("all:lr=1e-3", "'all' stands for every mode and takes no settings"),
    ("full:lr=inf", "lr=inf, expected a finite number > 0"),
    ("full:lr=1e999", "lr=1e999, expected a finite number > 0"),
    ("loar:r=4", "--modes item 'loar:r=4': unknown fine-tuning mode 'loar'"),
    ("params:patterns=" + "+".join(["*bias"] * 60), "characters, too long to name its files (at most 200)"),
])
def test_a_malformed_row_is_named(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        row_name(spec)


def test_a_rows_files_have_names_any_file_system_takes():
    assert file_stem("params:patterns=*ln*") == "params_patterns=_ln_"
    assert file_stem("lora+head:r=4:lr=1e-3-seed2") == "lora+head_r=4_lr=1e-3-seed2"
    assert file_stem("layers:layers=0+2") == "layers_layers=0+2"


@pytest.mark.parametrize("modes, message", [
    ("lora:rank=4", "--modes item 'lora:rank=4': unknown option 'rank' for mode 'lora'"),
    ("full:learning_rate=1e-3", "unknown option 'learning_rate' for mode 'full' and task 'classification'; "
                                "its options are: pooling, lr, optimizer, weight_decay, dropout, patience, augment"),
    ("full:optimizer=lion", "--modes item 'full:optimizer=lion': optimizer=lion, expected one of adam, adamw"),
    ("full:dropout=1.5", "dropout=1.5, expected a probability in [0, 1)"),
    ("full:weight_decay=inf", "weight_decay=inf, expected a finite number >= 0"),
    ("full:patience=soon", "patience=soon, expected an integer"),
    ("all,all", "--modes lists 'all' twice"),
    ("head,head:pooling=last", "--modes items 'head' and 'head:pooling=last' train the same model"),  # its default
    ("lora,lora:targets=value+query", "--modes items 'lora' and 'lora:targets=value+query' train the same model"),
    ("layers:layers=0+3,layers:layers=3+0", "'layers:layers=0+3' and 'layers:layers=3+0' train the same model"),
    ("lora+head,lora", "'lora+head' and 'lora' train the same model (the same options and training settings, "
                       "defaults included; every mode trains the new head, so X+head is X)"),
    ("head:augment=0.1 --task tagging", "--modes item 'head:augment=0.1': augment drops and swaps the words"),
    ("full:steps=50", "every row trains the same --steps on the same batches (--batch-size, --accumulate), so steps is set"),
    ("full:accumulate=2", "on the same batches (--batch-size, --accumulate), so accumulate is set for the whole table"),
    ("lora:r=four", "--modes item 'lora:r=four': option r= of mode 'lora' must be a whole number"),
    ("head:r=4", "unknown option 'r' for mode 'head'"),
    ("params:patterns=*ln*,params:patterns=?ln?", "'params:patterns=*ln*' and 'params:patterns=?ln?' would share "
                                                  "the files params_patterns=_ln_.*"),
    ("params:patterns=*LN*,params:patterns=*ln*", "would share the files"),  # where a file system ignores case
    ("lora:r=4,lora:r=4", "mode 'lora:r=4' is listed twice"),
    ("lora:r=0", "--modes item 'lora:r=0': lora: rank r must be between 1 and 64"),  # found with the model
    ("lora:alpha=inf", "option alpha= of mode 'lora' must be a finite number"),
])
def test_a_row_whose_settings_do_not_fit_its_mode_is_refused_before_anything_trains(modes, message, tmp_path, capsys):
    modes, *task = modes.split(" ")
    assert main(["compare", "--modes", modes, *task, "--steps", "1", "--out", str(tmp_path / "run")]) == 2
    printed = capsys.readouterr()
    assert message in printed.err and "trainable" not in printed.out
    assert not (tmp_path / "run").exists()


def test_variants_train_side_by_side_each_with_its_own_settings(tmp_path, capsys):
    out = tmp_path / "run"
    modes = "lora:r=2,lora:r=4:lr=1e-3,params:patterns=*ln*,layerwise-lr:unfreeze_every=1"
    assert main(["compare", "--modes", modes, "--steps", "2", "--eval-every", "1", "--no-baselines",
                 "--save-deltas", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    header, *lines = printed[printed.index("mode "):].splitlines()[:5]
    assert [line.split()[0] for line in lines] == modes.split(",")
    assert {len(line) for line in lines} == {len(header)}  # the first column fits the longest name
    rows = {row["mode"]: row for row in results(out)["rows"]}
    small, large = rows["lora:r=2"], rows["lora:r=4:lr=1e-3"]
    assert (small["options"]["r"], large["options"]["r"]) == (2, 4)
    assert small["lr"] == compare.MODEL_DEFAULTS["tiny"].lr["lora"] and large["lr"] == 1e-3
    per_rank = 2 * 4 * (64 + 64)  # query and value in 4 blocks: a row of A (r x 64) and a column of B (64 x r)
    assert large["trainable"] - small["trainable"] == (4 - 2) * per_rank
    assert rows["params:patterns=*ln*"]["options"]["patterns"] == "*ln*"
    assert rows["layerwise-lr:unfreeze_every=1"]["options"]["unfreeze_every"] == 1
    for row in rows.values():  # each row's files under its file-safe name
        assert (out / row["log"]).is_file() and (out / row["delta"]).is_file()
    assert (out / "log-params_patterns=_ln_.jsonl").is_file()
    assert main(["predict", str(out / rows["lora:r=4:lr=1e-3"]["delta"]), "a wonderful film"]) == 0
    assert "a wonderful film" in capsys.readouterr().out


def test_a_rows_training_settings_reach_its_training(tmp_path):
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head,head:dropout=0.5,head:optimizer=sgd:weight_decay=0.1:patience=1",
                 "--steps", "4", "--eval-every", "1", "--no-baselines", "--out", str(out)]) == 0
    plain, dropped, sgd = results(out)["rows"]
    assert (plain["optimizer"], plain["weight_decay"]) == ("adamw", 0.0)
    assert (sgd["optimizer"], sgd["weight_decay"]) == ("sgd", 0.1)
    assert dropped["optimizer"] == "adamw" and dropped["curve"] != plain["curve"]  # the same seed and batches:
    assert sgd["curve"] != plain["curve"]                                          # only dropout, or sgd, differ


def test_a_variant_of_the_mode_with_its_defaults_trains_the_same_model_as_the_mode(tmp_path, capsys):
    same = f"lora:r=8:lr={compare.MODEL_DEFAULTS['tiny'].lr['lora']}"
    rows = []
    for modes in ("lora", same):
        out = tmp_path / modes.replace(":", "_")
        assert main(["compare", "--modes", modes, "--steps", "3", "--eval-every", "1", "--no-baselines",
                     "--out", str(out)]) == 0
        rows += comparable(results(out)["rows"])
    plain, variant = rows
    assert plain.pop("mode") == "lora" and variant.pop("mode") == same
    assert plain.pop("log") != variant.pop("log")
    assert plain == variant
    # listed side by side, they would only train it twice
    assert main(["compare", "--modes", f"lora,{same},lora:r=8.0:alpha=16", "--steps", "1", "--out",
                 str(tmp_path / "both")]) == 2
    assert f"--modes items 'lora' and '{same}' train the same model" in capsys.readouterr().err
    assert main(["compare", "--modes", "lora:r=4,lora:r=4.0", "--steps", "1", "--out", str(tmp_path / "r4")]) == 2
    assert "--modes items 'lora:r=4' and 'lora:r=4.0' train the same model" in capsys.readouterr().err
    assert main(["compare", "--modes", "full,full:weight_decay=0", "--steps", "1", "--out", str(tmp_path / "wd")]) == 2
    assert "--modes items 'full' and 'full:weight_decay=0' train the same model" in capsys.readouterr().err
    assert main(["compare", "--modes", "head,head:pooling=mean", "--steps", "1", "--no-baselines",
                 "--out", str(tmp_path / "pooling")]) == 0  # the head's pooling differs: two models


def test_a_resumed_comparison_of_variants_gives_the_uninterrupted_table(tmp_path, monkeypatch, capsys):
    args = ["compare", "--modes", "lora:r=2,params:patterns=*ln*", "--steps", "4", "--eval-every", "2",
            "--no-baselines"]
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    assert main(args + ["--out", str(whole)]) == 0
    stop_at_step(4 + 3, monkeypatch)  # the second row's 3rd step: its step-2 evaluation left a checkpoint
    assert main(args + ["--out", str(stopped)]) == 130
    assert (stopped / "checkpoint-params_patterns=_ln_.safetensors").is_file()
    monkeypatch.undo()
    assert main(["compare", "--resume", str(stopped)]) == 0
    assert "resuming: 1 mode done before the stop" in capsys.readouterr().out
    assert comparable(results(stopped)["rows"]) == comparable(results(whole)["rows"])
    assert not list(stopped.glob("checkpoint-*"))


def test_a_table_of_rows_fits_its_longest_name():
    from models.report import table

    row = {"trainable": 1, "trainable_pct": 1.0, "seconds_per_step": 0.1, "peak_mib": 1.0, "val_accuracy": 0.5,
           "val_macro_f1": 0.5, "test_accuracy": 0.5, "forgetting": 0.0}
    lines = table([{**row, "mode": "lora"}, {**row, "mode": "layerwise-lr:unfreeze_every=25"}]).splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1].startswith("lora" + " " * 27)


def test_finetune_points_a_variant_to_its_options(tmp_path, capsys):
    assert main(["finetune", "--mode", "lora:r=4:weight_decay=0.1", "--out", str(tmp_path / "run")]) == 2
    assert ("finetune takes the mode's settings as options: --mode lora --option r=4 --weight-decay 0.1"
            in capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["compare", "finetune"])
def test_help_lists_every_mode_with_its_options_and_their_defaults(command, capsys):
    from models.finetune import MODES, mode_options

    with pytest.raises(SystemExit):
        main([command, "--help"])
    printed = capsys.readouterr().out
    for mode in MODES:
        assert f"\n  {mode:<13} " in printed and all(f"{name}=" in printed for name in mode_options(mode))
    assert "lora          r=8, alpha=16.0, lora_dropout=0.0, targets=query+value" in printed


def test_compare_trains_every_row_with_its_training_options_unless_the_row_sets_its_own(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head,head:optimizer=adamw:weight_decay=0", "--optimizer", "sgd",
                 "--weight-decay", "0.1", "--patience", "2", "--steps", "2", "--no-baselines", "--out", str(out)]) == 0
    plain, own = results(out)["rows"]
    assert (plain["optimizer"], plain["weight_decay"]) == ("sgd", 0.1)
    assert (own["optimizer"], own["weight_decay"]) == ("adamw", 0.0)
    assert results(out)["settings"]["patience"] == 2
    # words to keep from augmentation need augmentation: for the table, or for a row
    assert main(["compare", "--modes", "head", "--augment-keep", "not", "--steps", "1",
                 "--out", str(tmp_path / "off")]) == 2
    assert "--augment-keep not lists words augmentation keeps, but augmentation is off" in capsys.readouterr().err
    assert main(["compare", "--modes", "head:augment=0.1", "--augment-keep", "not", "--steps", "1", "--no-baselines",
                 "--out", str(tmp_path / "row")]) == 0
    assert main(["compare", "--task", "tagging", "--augment", "0.1", "--steps", "1",
                 "--out", str(tmp_path / "tagging")]) == 2
    assert "a tagging task's targets sit on its words" in capsys.readouterr().err


def test_all_modes_may_be_listed_beside_variants(tmp_path, capsys):
    from models.finetune import MODES

    out = tmp_path / "run"
    assert main(["compare", "--modes", "all,lora:r=1", "--steps", "1", "--no-baselines", "--out", str(out)]) == 0
    assert [row["mode"] for row in results(out)["rows"]] == [*MODES, "lora:r=1"]
    assert main(["compare", "--modes", "all,lora", "--steps", "1", "--out", str(tmp_path / "twice")]) == 2
    assert "mode 'lora' is listed twice" in capsys.readouterr().err


def test_the_first_line_says_the_training_settings_and_early_stopping_is_reported(tmp_path, capsys):
    assert main(["compare", "--steps", "60", "--eval-every", "2", "--no-baselines", "--patience", "1", "--optimizer",
                 "sgd", "--modes", "head:lr=3,head:lr=3:patience=0", "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert "2 modes, 60 steps each, sgd, early stopping (patience 1), on cpu" in printed.splitlines()[0]
    stopped, whole = results(tmp_path / "run")["rows"]
    assert stopped["stopped"] == "early stopping" and whole["stopped"] == "finished"
    assert (stopped["patience"], whole["patience"]) == (1, 0)
    assert (f"head:lr=3: stopped early after {stopped['steps_done']} of 60 steps (no better validation loss in "
            f"1 evaluation; the table shows its weights of step {stopped['weights_step']}, the best)") in printed
