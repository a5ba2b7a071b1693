"""Language-model domain adaptation through compare and finetune: the tiny model on new text.

The new domain here is a few generated sentences about the sea (no network in CI); the
real run uses rt-polarity's movie reviews (`--task lm-rt-polarity`).
"""
import json
import math
import random

import pytest

from models.cli import best_said, main
from models import data, pretrained, tasks, user_files
from models.compare import CompareConfig, pretrained_row, run_mode, with_defaults
from models.forgetting import forgetting_probe


def sea_texts(n, seed=0):
    rng = random.Random(seed)
    who = ["the old lighthouse keeper", "a quiet fisherman", "the harbour master", "the ferry captain"]
    did = ["watched the storm roll in", "mended the nets at dawn", "sailed past the rocks", "counted gulls"]
    when = ["before the tide turned .", "while the village slept .", "as the fog lifted ."]
    return [f"{rng.choice(who)} {rng.choice(did)} {rng.choice(when)}" for _ in range(n)]


@pytest.fixture
def sea_file(tmp_path):
    path = tmp_path / "sea.txt"
    path.write_text("\n\n".join(sea_texts(80)) + "\n")  # blank lines are not texts
    return path


@pytest.fixture(scope="module")
def tiny():
    return pretrained.load("tiny")


def test_the_shipped_tokenizer_reads_any_text(tiny):
    text = "Naïve café — déjà vu! 😀 \t tabs, ünïcödé and ☃"  # characters the review grammar never had
    assert tiny.tokenizer.decode(tiny.tokenizer.encode(text)) == text


def test_plain_text_csv_and_jsonl_files(sea_file, tmp_path):
    texts = user_files.load_texts(sea_file)
    assert len(texts) == 80 and texts[0] == data.TextExample(sea_texts(1)[0])
    (tmp_path / "t.csv").write_text('id,body\n1,"first, with a comma"\n2,second\n')
    from_csv = user_files.load_texts(tmp_path / "t.csv", text_column="body")
    assert [t.text for t in from_csv] == ["first, with a comma", "second"]
    (tmp_path / "t.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    assert [t.text for t in user_files.load_texts(tmp_path / "t.jsonl")] == ["one", "two"]
    with pytest.raises(ValueError, match="no column 'text'; its columns are: 'id', 'body'"):
        user_files.load_texts(tmp_path / "t.csv")
    (tmp_path / "one.txt").write_text("only one line\n")
    with pytest.raises(ValueError, match="needs at least 2"):
        user_files.load_texts(tmp_path / "one.txt")
    task = user_files.load_user_text(sea_file)
    assert task.kind == "lm" and len(task.train) == 72 and len(task.valid) == 8


def test_long_texts_are_cut_into_windows_that_predict_every_token_once(tiny):
    text = " ".join(sea_texts(6))  # longer than the model's 64-token context
    ids = [tiny.tokenizer.bos_id] + tiny.tokenizer.encode(text) + [tiny.tokenizer.eos_id]
    assert len(ids) > 64
    batch = next(data.batches([data.TextExample(text)], tiny.tokenizer, 1, max_len=64, shuffle=False))
    rows = [[i for i, m in zip(r, mask) if m] for r, mask in zip(batch["input_ids"].tolist(),
                                                                 batch["attention_mask"].tolist())]
    assert all(len(r) <= 64 for r in rows) and len(rows) > 1
    assert rows[0] + [i for r in rows[1:] for i in r[1:]] == ids  # each window starts where the last ended


def test_perplexity_is_the_exp_of_the_loss_per_predicted_token(tiny):
    # 1 to 4 sentences each (the longest need two windows), more than one evaluation batch
    texts = [data.TextExample(" ".join(sea_texts(k % 4 + 1, seed=k))) for k in range(tasks.EVAL_BATCH + 8)]
    scores = tasks.evaluate(tiny, texts, tiny.tokenizer, None, {"max_len": 64, "device": "cpu"})
    weighted, count = 0.0, 0  # each text alone, weighted by its number of predicted tokens
    for text in texts:
        batch = next(data.batches([text], tiny.tokenizer, 1, max_len=64, shuffle=False))
        n = int(batch["attention_mask"][:, 1:].sum().item())
        weighted += tiny.lm_loss(batch["input_ids"], batch["attention_mask"]).item() * n
        count += n
    assert scores["loss"] == pytest.approx(weighted / count, rel=1e-5)
    assert scores["perplexity"] == pytest.approx(math.exp(weighted / count), rel=1e-5)


def test_full_fine_tuning_lowers_the_loss_on_the_new_domain(sea_file, tiny):
    config = CompareConfig(task="lm", train_path=str(sea_file), steps=30, eval_every=30)
    task = user_files.load_user_text(sea_file)
    config = with_defaults(config, task.kind)
    before = pretrained_row(tiny, task, config)
    row, _ = run_mode("full", tiny, task, config, forgetting_probe(tiny))
    assert row["val_loss"] < before["val_loss"] - 3  # from ~9.5 nats per token: the new words are learnt
    assert row["forgetting"] > 0  # and the reviews got harder to predict
    sea_words = {word for text in sea_texts(80) for word in text.split() if len(word) > 3}
    assert any(word in row["sample"] for word in sea_words)  # it writes about the sea now, not about gadgets


def test_compare_adapts_the_language_model_end_to_end(sea_file, tmp_path, capsys):
    csv = tmp_path / "sea.csv"
    csv.write_text("line\n" + "\n".join(sea_texts(40)) + "\n")
    out = tmp_path / "run"
    assert main(["compare", "--task", "lm", "--train", str(csv), "--text-column", "line", "--modes", "full,lora",
                 "--steps", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "val ppl" in printed and "val acc" not in printed and "greedy samples" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == {"name": "sea", "kind": "lm", "labels": [],
                               "scores": {"loss": "mean next-token cross-entropy", "perplexity": "exp(loss)"}}
    rows = {row["mode"]: row for row in results["rows"]}
    assert list(rows) == ["pretrained", "full", "lora", "scratch"]  # no majority class: there are no classes
    for row in rows.values():
        assert row["val_perplexity"] == pytest.approx(math.exp(row["val_loss"]))
        assert "val_accuracy" not in row
    assert all(isinstance(row["sample"], str) for mode, row in rows.items() if mode != "scratch")
    assert rows["pretrained"]["trainable"] == 0 and rows["lora"]["forgetting"] > 0
    assert (out / "perplexity_vs_parameters.png").exists() and (out / "curves.png").exists()


def test_lm_tasks_leave_out_the_head_mode_and_need_text(tmp_path, capsys):
    assert "head" not in with_defaults(CompareConfig(task="lm"), "lm").modes  # the LM head is the tied embedding
    assert main(["compare", "--task", "lm", "--out", str(tmp_path)]) == 2
    assert "pass --train FILE" in capsys.readouterr().err


def test_finetune_keeps_the_lowest_validation_loss(sea_file, tmp_path, capsys):
    out = tmp_path / "tune"
    assert main(["finetune", "--task", "lm", "--train", str(sea_file), "--mode", "lora", "--steps", "3",
                 "--sweep", "lr=1e-4,1e-2", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["best"]["val_loss"] == min(row["val_loss"] for row in results["rows"])
    assert f"best: lr={results['best']['point']['lr']}: val perplexity" in capsys.readouterr().out


def test_finetune_without_a_sweep_names_its_setting_by_its_options_and_says_how_to_generate(sea_file, tmp_path, capsys):
    out = tmp_path / "tune"
    assert main(["finetune", "--task", "lm", "--train", str(sea_file), "--mode", "lora", "--option", "r=2",
                 "--steps", "2", "--out", str(out)]) == 0
    best = json.loads((out / "results.json").read_text())["best"]
    printed = capsys.readouterr().out
    assert f"\nr=2: val perplexity {best['val_perplexity']:.2f}\n" in printed and "best:" not in printed
    # a task with a test split (lm-rt-polarity) says its test perplexity too
    tested = {**best, "test_perplexity": 123.456}
    said = best_said(tested, "lm", None)
    assert said.startswith(f"val perplexity {best['val_perplexity']:.2f}, test perplexity 123.46\n")
    assert f"use it: minigrad generate --delta {out / 'delta.safetensors'}" in printed


def test_a_run_shorter_than_two_evaluation_intervals_still_draws_curves():
    assert with_defaults(CompareConfig(task="lm-rt-polarity", steps=40), "lm").eval_every == 10  # 50 by default
    assert with_defaults(CompareConfig(steps=2), "classification").eval_every == 2  # a smoke run: once, at the end
    assert with_defaults(CompareConfig(steps=20), "classification").eval_every == 5  # one interval of 20: one point
    assert with_defaults(CompareConfig(steps=40, eval_every=30), "classification").eval_every == 30  # as asked
    assert with_defaults(CompareConfig(), "classification").eval_every == 20  # the defaults as they were
