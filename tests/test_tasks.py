"""Fine-tuning beyond sentence classification: tagging and extractive QA, end to end."""
import json

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import functional as F
from models import pretrained
from models.cli import main
from models.tasks import answer_words, loss_of


def test_an_answer_is_the_context_words_the_predicted_tokens_fall_in():
    context = "the battery is not bad"
    spans = [(3, 3), (4, 5), (6, 6), (7, 6), (8, 9)]  # "battery": 2 tokens; "not": none; "bad": 2
    assert answer_words(context, spans, 8, 9) == "bad"
    assert answer_words(context, spans, 5, 8) == "battery is bad"  # a start inside a word takes the word
    assert answer_words(context, spans, 6, 3) == "is"  # an end before the start: the start token alone
    assert answer_words(context, spans, 0, 2) == ""  # in the question: no context word


@pytest.mark.parametrize("task", ["tagging", "qa"])
def test_compare_runs_tagging_and_qa(task, tmp_path, capsys):
    out = tmp_path / task
    assert main(["compare", "--task", task, "--modes", "head,lora", "--steps", "3", "--save-deltas",
                 "--out", str(out)]) == 0
    use = '--question "a question" "a text that answers it"' if task == "qa" else '"a new text"'
    assert f"use them all, side by side: minigrad predict {out} {use}" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    rows = {row["mode"]: row for row in results["rows"]}
    assert set(rows) == {"head", "lora", "scratch"}  # no majority class outside classification
    assert results["task"]["scores"]["accuracy"] == {"tagging": "token accuracy",
                                                     "qa": "exact match of the answer's words"}[task]
    score = {"tagging": "token_accuracy", "qa": "exact_match"}[task]
    assert (out / f"{score}_vs_parameters.png").exists()  # named for the score it plots
    for row in rows.values():
        assert 0 <= row["val_accuracy"] <= 1 and 0 <= row["val_macro_f1"] <= 1
    assert rows["head"]["trainable"] == 64 * ({"tagging": 4, "qa": 2}[task]) + {"tagging": 4, "qa": 2}[task]


def test_finetune_learns_tagging(tmp_path, capsys):
    out = tmp_path / "tags"
    assert main(["finetune", "--task", "tagging", "--mode", "lora", "--steps", "40", "--out", str(out)]) == 0
    best = json.loads((out / "results.json").read_text())["best"]
    assert best["val_accuracy"] > 0.9  # aspect / opinion / negation / other, per word


@pytest.mark.parametrize("task_name", ["tagging", "sentiment"])
def test_the_evaluation_loss_does_not_depend_on_the_batch_size(task_name, monkeypatch):
    """The mean over every tagged token (tagging) or example, however the batches cut them."""
    from models import data, pretrained, tasks
    from models.finetune import prepare

    base, task = pretrained.load("tiny"), data.load_task(task_name)
    model = prepare(base, "head", num_labels=len(task.labels), task=task.kind)
    losses = []
    for batch_size in (1, 7, 45):
        monkeypatch.setattr(tasks, "EVAL_BATCH", batch_size)
        losses.append(tasks.evaluate(model, task.valid[:45], base.tokenizer, len(task.labels),
                                     {"max_len": 48, "tag_position": "last"})["loss"])
    assert losses == pytest.approx([losses[-1]] * 3, rel=1e-5)


@pytest.mark.parametrize("task, max_len, expected", [
    ("qa", None, "left out as longer, with their context, than the 64 tokens 'tiny' reads: 54 of 2000 training, "
                 "14 of 500 validation, 17 of 500 test questions"),
    ("tagging", 8, "485 of 500 validation and 487 of 500 test sentences are longer than 8 tokens: their words past the "
                   "first 6 tokens get no tag, and are neither trained on nor scored"),
])
def test_a_bundled_task_says_what_it_leaves_out_as_the_users_do(task, max_len, expected):
    from models.compare import CompareConfig, data_notes, load_data, with_defaults
    base = pretrained.load("tiny")
    config = with_defaults(CompareConfig(task=task, max_len=max_len), task)
    assert expected in data_notes(config, base, load_data(config, base))[0]


def test_best_span_keeps_start_before_end_and_on_the_context():
    """The likeliest start (position 5) and end (position 2) taken apart cross; the question's token 0
    has the highest start logit of all. The best valid span: start 3, end 4 (0.9 + 0.8)."""
    from models.tasks import best_span
    spans = [(2, 2), (3, 3), (4, 5)]  # context words' tokens; positions 0-1 are the question
    starts = [9.0, 0.0, 0.1, 0.9, 0.2, 1.0]
    ends = [0.0, 0.0, 1.2, 0.1, 0.8, -5.0]
    assert best_span(starts, ends, spans, kept=6) == (3, 4)
    assert best_span(starts, ends, [(3, 2)], kept=6) == (0, 0)  # no context token left: no word
    # a word the cut split: its tokens past kept (here 5 to 7, past the logits too) are no candidates
    assert best_span(starts, ends, [(2, 2), (3, 3), (4, 7)], kept=5) == (3, 4)


def test_the_qa_loss_is_the_mean_of_the_start_and_the_end_cross_entropy():
    """Start logits are scored against the start, end logits against the end: start != end here, so
    scoring both against one position (or mixing the channels up) gives another number."""
    logits = mg.tensor(np.random.default_rng(0).normal(size=(2, 5, 2)).astype(np.float32))  # (B, T, 2)
    start, end = mg.tensor([1, 0], dtype=mg.int64), mg.tensor([3, 4], dtype=mg.int64)
    expected = (F.cross_entropy(logits[..., 0], start).item() + F.cross_entropy(logits[..., 1], end).item()) / 2
    assert loss_of(logits, {"start": start, "end": end}).item() == pytest.approx(expected, rel=1e-6)
    # so the check above tells the end term from one scored against the start
    assert F.cross_entropy(logits[..., 1], start).item() != pytest.approx(F.cross_entropy(logits[..., 1], end).item())
