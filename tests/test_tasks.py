"""Fine-tuning beyond sentence classification: tagging and extractive QA, end to end."""
import json

import pytest

from models.cli import main
from models.tasks import span_f1


def test_span_f1_by_hand():
    assert span_f1((3, 5), (3, 5)) == 1.0
    assert span_f1((3, 3), (3, 4)) == pytest.approx(2 * 1 * 0.5 / 1.5)  # precision 1, recall 1/2
    assert span_f1((0, 1), (4, 6)) == 0.0


@pytest.mark.parametrize("task", ["tagging", "qa"])
def test_compare_runs_tagging_and_qa(task, tmp_path, capsys):
    out = tmp_path / task
    assert main(["compare", "--task", task, "--modes", "head,lora", "--steps", "3", "--out", str(out)]) == 0
    rows = {row["mode"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    assert set(rows) == {"head", "lora", "scratch"}  # no majority class outside classification
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
