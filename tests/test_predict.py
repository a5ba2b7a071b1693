"""`minigrad predict` (models/predict.py): a saved delta on new text gives the predictions the
fine-tuned model gave in training, in the terms of its task."""
import csv
import json

import pytest

import minigrad as mg
from models import data, pretrained, tasks
from models.cli import main
from models.compare import CompareConfig, batch_options, with_defaults
from models.finetune import prepare, save_delta
from models.predict import answer, load_tuned, predict, read_input


@pytest.fixture(scope="module")
def tiny():
    return pretrained.load("tiny")


def saved(tiny, tmp_path, task_name, mode="lora", **options):
    """A delta of `mode` on tiny for a bundled task, its trainable parameters moved off their start
    (so that it predicts differently from a fresh prepare), saved the way finetune saves it."""
    task = data.load_task(task_name)
    mg.manual_seed(1)
    tuned = prepare(tiny, mode, num_labels=len(task.labels) or None, task=task.kind, **options)
    with mg.no_grad():
        for p in tuned.parameters():
            if p.requires_grad:
                p.add_(mg.randn(*p.shape) * 0.05)
    max_len = batch_options(tiny, task, with_defaults(CompareConfig(task=task_name), task.kind))["max_len"]
    path = tmp_path / f"{task_name}.safetensors"
    save_delta(tuned, path, labels=task.labels or None, base="tiny", max_len=max_len)
    return path, tuned, task, max_len


def write_csv(path, rows):
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(rows)
    return path


def test_a_classifier_predicts_what_evaluation_scored(tiny, tmp_path):
    path, tuned, task, max_len = saved(tiny, tmp_path, "sentiment")
    examples = task.valid[:60]
    options = batch_options(tiny, task, with_defaults(CompareConfig(), task.kind))
    scored = tasks.evaluate(tuned, examples, tiny.tokenizer, 2, options)
    loaded, tokenizer, fed = load_tuned(path)
    assert fed == max_len == 48  # the delta says how many tokens training read
    result = predict(loaded, tokenizer, fed, [e.text for e in examples], true=[task.labels[e.label] for e in examples])
    assert result["scores"]["accuracy"] == scored["accuracy"]
    assert 0 < scored["accuracy"] < 1  # so the equality above says something
    for row in result["rows"]:
        assert sum(row["probabilities"]) == pytest.approx(1) and row["probability"] == max(row["probabilities"])
        assert row["label"] == task.labels[row["probabilities"].index(row["probability"])]
    # the loss evaluation reports is the mean of -log p(true class)
    mean_nll = sum(-mg.tensor(row["probabilities"][e.label]).log().item() for row, e in zip(result["rows"], examples))
    assert mean_nll / len(examples) == pytest.approx(scored["loss"], rel=1e-5)


def test_tags_are_the_ones_evaluation_counted(tiny, tmp_path):
    path, tuned, task, max_len = saved(tiny, tmp_path, "tagging")
    examples = task.valid[:40]
    options = batch_options(tiny, task, with_defaults(CompareConfig(task="tagging"), task.kind))
    scored = tasks.evaluate(tuned, examples, tiny.tokenizer, len(task.labels), options)
    loaded, tokenizer, fed = load_tuned(path)
    rows = predict(loaded, tokenizer, fed, [e.text for e in examples])["rows"]
    pairs = [(tag, task.labels[true]) for row, e in zip(rows, examples) for (_, tag), true in zip(row["tags"], e.tags)]
    assert [w for w, _ in rows[0]["tags"]] == list(examples[0].words)
    assert sum(tag == true for tag, true in pairs) / len(pairs) == pytest.approx(scored["accuracy"])
    assert 0 < scored["accuracy"] < 1


def test_a_word_cut_off_gets_no_tag(tiny, tmp_path):
    path = saved(tiny, tmp_path, "tagging")[0]
    loaded, tokenizer, _ = load_tuned(path)
    words = "the battery is not bad".split() * 4
    result = predict(loaded, tokenizer, 8, [" ".join(words)])  # 6 tokens between [BOS] and [EOS]
    tags = [tag for _, tag in result["rows"][0]["tags"]]
    assert "?" not in tags[:3] and set(tags[6:]) == {"?"} and len(tags) == len(words)
    assert "longer than the 8 tokens" in result["notes"][0]


class Pointing:
    """A stand-in QA model whose start and end logits peak at chosen token positions."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def parameters(self):
        return iter([mg.zeros(1)])

    def __call__(self, ids, mask):
        logits = mg.zeros(*ids.shape, 2)
        logits[:, self.start, 0] = 1.0
        logits[:, self.end, 1] = 1.0
        return logits


def test_an_answer_is_the_words_whose_tokens_the_span_covers(tiny):
    tokenizer, question, context = tiny.tokenizer, "what is the opinion of the battery ?", "the battery is not bad ."
    ids, spans = data.qa_input(tokenizer, question, context, 64)
    assert tokenizer.decode(ids[spans[3][0]:spans[4][1] + 1]).strip() == "not bad"
    assert answer(Pointing(spans[3][0], spans[4][1]), tokenizer, [question], [context], 64) == ["not bad"]
    assert answer(Pointing(spans[4][1], spans[4][1]), tokenizer, [question], [context], 64) == ["bad"]
    # an end before the start, or a span over the question: the likeliest span that starts before it ends
    # on the context instead (tasks.best_span); here every one scores 1, and the first, "the", is taken
    assert answer(Pointing(spans[1][0], spans[0][0]), tokenizer, [question], [context], 64) == ["the"]
    assert answer(Pointing(1, 2), tokenizer, [question], [context], 64) == ["the"]


def test_qa_input_puts_each_word_where_the_training_batch_has_its_answer(tiny):
    task = data.load_task("qa")
    for example in task.valid[:20]:
        batch = next(data.batches([example], tiny.tokenizer, 1, max_len=64))
        ids, spans = data.qa_input(tiny.tokenizer, example.question, example.context, 64)
        assert ids == batch["input_ids"][0].tolist()
        assert (spans[example.start][0], spans[example.end][1]) == (batch["start"].item(), batch["end"].item())


def test_read_input_scores_a_file_that_has_labels_and_reads_one_that_has_none(tmp_path):
    names = ["negative", "positive"]
    labelled = write_csv(tmp_path / "a.csv", [["label", "text"], ["positive", "good"], ["negative", "bad"]])
    assert read_input(labelled, "classification", names) == (["good", "bad"], ["positive", "negative"], None)
    unlabelled = write_csv(tmp_path / "b.tsv", [["text\tid"], ["good\t1"]])
    assert read_input(unlabelled, "classification", names) == (["good"], None, None)
    with pytest.raises(ValueError, match="has no column 'sentiment'"):  # asked for by name: it must be there
        read_input(unlabelled, "classification", names, label_column="sentiment")
    plain = tmp_path / "c.txt"
    plain.write_text("good\n\nbad\n")
    assert read_input(plain, "classification", names) == (["good", "bad"], None, None)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"text": "good", "label": 1}\n')
    assert read_input(jsonl, "classification", ["0", "1"]) == (["good"], ["1"], None)
    array = tmp_path / "f.json"
    array.write_text('[{"text": "good", "label": "positive"},\n {"text": "bad", "label": "negative"}]')
    assert read_input(array, "classification", names) == (["good", "bad"], ["positive", "negative"], None)
    one_class = write_csv(tmp_path / "e.csv", [["text", "label"], ["meh", "neutral"]])  # predict says what it can score
    assert read_input(one_class, "classification", names) == (["meh"], ["neutral"], None)


def test_read_input_reads_a_taggers_and_a_qa_models_own_formats(tmp_path):
    tags = ["ASPECT", "O"]
    conll = tmp_path / "t.conll"
    conll.write_text("the O\nbattery ASPECT\n\nscreen ASPECT\n")
    assert read_input(conll, "tagging", tags) == (["the battery", "screen"], [(1, 0), (0,)], None)
    sentences = tmp_path / "s.txt"  # plain sentences: their last words are not tags
    sentences.write_text("the battery is good\nthe screen\n")
    assert read_input(sentences, "tagging", tags) == (["the battery is good", "the screen"], None, None)
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "what ?", "context": "it is good", "answer": "good"}\n')
    assert read_input(questions, "qa") == (["it is good"], ["good"], ["what ?"])
    questions.write_text('{"question": "what ?", "context": "it is good"}\n')
    assert read_input(questions, "qa") == (["it is good"], None, ["what ?"])


def test_a_tag_the_model_lacks_is_named_not_read_as_plain_text(tmp_path):
    conll = tmp_path / "t.conll"
    conll.write_text("the O\nbattery ASPECT\nis O\ncheap PRICE\n")
    with pytest.raises(ValueError, match="line 4.*unknown tag 'PRICE'.*ASPECT, O"):
        read_input(conll, "tagging", ["ASPECT", "O"])


def test_a_taggers_json_input_may_name_its_fields_as_finetune_does(tmp_path):
    tagged = tmp_path / "t.jsonl"
    tagged.write_text('{"tokens": ["the", "battery"], "ner": ["O", "ASPECT"]}\n')
    assert read_input(tagged, "tagging", ["ASPECT", "O"], "tokens", "ner") == (["the battery"], [(1, 0)], None)
    with pytest.raises(ValueError, match="'tags'"):  # the default field names, which this file lacks
        read_input(tagged, "tagging", ["ASPECT", "O"], "tokens")


def test_a_qa_input_has_no_columns_to_name(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "what ?", "context": "it is good"}\n')
    with pytest.raises(ValueError, match="fixed fields.*'ctx'"):
        read_input(questions, "qa", text_column="ctx")


@pytest.mark.parametrize("name, content, options, expected", [
    ("empty.txt", "\n\n", [], "expected one per line"),
    ("header.csv", "review\n", ["--text-column", "review"], "a header and no rows")])
def test_an_input_file_without_texts_says_so(tiny, tmp_path, capsys, name, content, options, expected):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    (tmp_path / name).write_text(content)
    assert main(["predict", str(delta), "--input", str(tmp_path / name)] + options) == 2
    assert f"{tmp_path / name} has no texts to predict: {expected}" in capsys.readouterr().err


@pytest.mark.parametrize("options, default", [(["--text-column", "label"], " (--label-column's default"),
                                              (["--text-column", "label", "--label-column", "label"], ":")])
def test_a_text_column_that_is_also_the_label_column_is_refused(tiny, tmp_path, capsys, options, default):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    labelled = write_csv(tmp_path / "t.csv", [["text", "label"], ["good .", "positive"], ["bad .", "negative"]])
    assert main(["predict", str(delta), "--input", str(labelled), "--out", str(tmp_path / "p")] + options) == 2
    assert (f"--text-column and --label-column are both 'label'{default}" in (err := capsys.readouterr().err)
            and "the label would be read from the text itself" in err)
    assert not (tmp_path / "p").exists()  # refused before anything is written


@pytest.mark.parametrize("task, options, expected", [
    ("classification", {"text_column": "review"}, "--text-column review names a column"),
    ("classification", {"label_column": "stars"}, "--label-column stars names a column"),
    ("tagging", {"text_column": "tokens"}, "--text-column tokens names a column"),
])
def test_a_plain_text_input_has_no_columns_to_name(tmp_path, task, options, expected):
    plain = tmp_path / "p.txt"
    plain.write_text("good .\nbad .\n")
    with pytest.raises(ValueError, match="plain text \\(one text per line.*; no columns\\)") as refused:
        read_input(plain, task, ["negative", "positive"], **options)
    assert str(refused.value).startswith(f"{expected}, and {plain} is plain text")
    assert ("CoNLL-style: a word and its tag on each line" in str(refused.value)) == (task == "tagging")


def test_predict_refuses_a_column_of_a_plain_text_input_before_writing_anything(tiny, tmp_path, capsys):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    (tmp_path / "p.txt").write_text("good .\nbad .\n")
    args = ["predict", str(delta), "--input", str(tmp_path / "p.txt"), "--out", str(tmp_path / "out")]
    assert main(args + ["--text-column", "foo"]) == 2
    assert "--text-column foo names a column, and " in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_text_with_a_line_break_stays_on_its_row_of_the_printed_table(tiny, tmp_path, capsys):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    texts = write_csv(tmp_path / "t.csv", [["text"], ["good .\nreally good ."], ["bad ."]])
    assert main(["predict", str(delta), "--input", str(texts), "--out", str(tmp_path / "p")]) == 0
    printed = capsys.readouterr().out.splitlines()
    rows = printed[printed.index(next(line for line in printed if line.split() == ["label", "p", "text"])) + 1:][:2]
    assert rows[0].endswith("  good .\\nreally good .") and rows[1].endswith("  bad .")
    saved_rows = list(csv.DictReader(open(tmp_path / "p" / "predictions.csv", newline="")))
    assert saved_rows[0]["text"] == "good .\nreally good ."  # the file keeps it as it is


def test_a_taggers_input_file_is_read_for_its_texts_even_with_a_label_column(tiny, tmp_path, capsys):
    delta = saved(tiny, tmp_path, "tagging")[0]
    texts = write_csv(tmp_path / "t.csv", [["text", "label"], ["the battery is good .", "positive"]])
    assert main(["predict", str(delta), "--input", str(texts), "--out", str(tmp_path / "p")]) == 0
    assert "the/" in capsys.readouterr().out
    assert "scores" not in json.loads((tmp_path / "p" / "results.json").read_text())


def test_predict_end_to_end_reproduces_finetunes_validation_accuracy(tmp_path, capsys):
    out = tmp_path / "ft"
    assert main(["finetune", "--mode", "head", "--steps", "5", "--out", str(out)]) == 0
    best = json.loads((out / "results.json").read_text())["best"]
    task = data.load_task("sentiment")
    valid = write_csv(tmp_path / "valid.csv", [["text", "label"]] + [[e.text, task.labels[e.label]] for e in task.valid])
    capsys.readouterr()
    assert main(["predict", str(out / "delta.safetensors"), "--input", str(valid), "--out", str(tmp_path / "p")]) == 0
    printed = capsys.readouterr().out
    assert f"accuracy {100 * best['val_accuracy']:.1f}%" in printed and "... and 490 more" in printed
    assert f"on the 500 labelled texts of {valid}:\n" in printed  # every label known: no "whose label ..."
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert results["scores"]["accuracy"] == best["val_accuracy"]
    rows = list(csv.DictReader(open(tmp_path / "p" / "predictions.csv")))
    assert len(rows) == 500 and rows[0]["text"] == task.valid[0].text
    assert sum(r["label"] == r["true"] for r in rows) / 500 == best["val_accuracy"]
    # texts on the command line, also after an option; nothing written without --input or --out
    assert main(["predict", str(out / "delta.safetensors"), "--device", "cpu", "good .", "awful ."]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].endswith("  good .") and lines[-1].endswith("  awful .")
    assert lines[-3].split() == ["label", "p", "text"]
    assert lines[-1].index("awful .") == lines[-3].index("text")  # a column as wide as the longest label, "positive"


@pytest.mark.parametrize("args, message", [
    (["TAGGER", "x", "--question", "why ?"], "--question is for a question-answering delta; "),
    (["QA", "the battery is good ."], "answers questions about a text: pass --question"),
    (["QA", "--question", " ", "x"], "--question is empty"),
    (["TAGGER"], "no texts to predict"),
    (["TAGGER", "x", "--input", "file.csv"], "not both"),
    (["missing.safetensors", "x"], "no delta file missing.safetensors"),
    (["TAGGER", "x", "--model", "elsewhere.safetensors"], "was fine-tuned from 'elsewhere.safetensors', which is not found"),
])
def test_predict_refuses_what_it_cannot_do(tiny, tmp_path, capsys, args, message):
    deltas = {"TAGGER": str(saved(tiny, tmp_path, "tagging")[0]), "QA": str(saved(tiny, tmp_path, "qa", "head")[0])}
    assert main(["predict"] + [deltas.get(a, a) for a in args]) == 2
    assert message in capsys.readouterr().err


def test_a_language_model_delta_writes_text_with_generate_and_a_classifier_does_not(tiny, tmp_path, capsys):
    mg.manual_seed(0)
    lm = prepare(tiny, "lora", task="lm")
    save_delta(lm, tmp_path / "lm.safetensors", base="tiny")
    classifier = saved(tiny, tmp_path, "sentiment")[0]
    assert main(["predict", str(tmp_path / "lm.safetensors"), "x"]) == 2
    assert "use `minigrad generate --delta" in capsys.readouterr().err
    assert main(["generate", "--delta", str(tmp_path / "lm.safetensors"), "--samples", "1", "--temperature", "0",
                 "--max-new-tokens", "5"]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["generate", "--delta", str(classifier)]) == 2
    assert "fine-tuned the model for classification, not to write text" in capsys.readouterr().err


def test_a_delta_without_max_len_is_fed_the_models_context(tiny, tmp_path):
    path, *_ = saved(tiny, tmp_path, "sentiment")
    tuned, _, _ = load_tuned(path)
    save_delta(tuned, tmp_path / "old.safetensors", labels=tuned.labels, base="tiny")  # as before max_len was saved
    assert load_tuned(tmp_path / "old.safetensors")[2] == tiny.config.max_len


def test_a_tagged_file_and_a_question_file_are_scored_as_evaluation_scores_them(tiny, tmp_path, capsys):
    path, tuned, task, _ = saved(tiny, tmp_path, "tagging")
    examples = task.valid[:30]
    (tmp_path / "valid.conll").write_text("\n\n".join("\n".join(f"{w}\t{task.labels[t]}" for w, t in zip(e.words, e.tags))
                                                      for e in examples) + "\n")
    options = batch_options(tiny, task, with_defaults(CompareConfig(task="tagging"), task.kind))
    scored = tasks.evaluate(tuned, examples, tiny.tokenizer, len(task.labels), options)
    assert main(["predict", str(path), "--input", str(tmp_path / "valid.conll"), "--out", str(tmp_path / "t")]) == 0
    assert json.loads((tmp_path / "t" / "results.json").read_text())["scores"]["accuracy"] == \
        pytest.approx(scored["accuracy"])
    assert f"token accuracy {100 * scored['accuracy']:.1f}%" in capsys.readouterr().out

    path, tuned, task, _ = saved(tiny, tmp_path, "qa", "head")
    examples = task.valid[:30]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps({"question": e.question, "context": e.context,
                                                          "answer": e.answer}) + "\n" for e in examples))
    options = batch_options(tiny, task, with_defaults(CompareConfig(task="qa"), task.kind))
    scored = tasks.evaluate(tuned, examples, tiny.tokenizer, None, options)
    assert main(["predict", str(path), "--input", str(tmp_path / "q.jsonl"), "--out", str(tmp_path / "q")]) == 0
    results = json.loads((tmp_path / "q" / "results.json").read_text())
    assert results["scores"] == {"exact_match": scored["accuracy"], "f1": pytest.approx(scored["macro_f1"])}  # one way
    assert scored["macro_f1"] > 0  # an untrained head: few whole answers, but some words right
    rows = list(csv.DictReader(open(tmp_path / "q" / "predictions.csv")))
    assert [r["question"] for r in rows] == [e.question for e in examples]
    assert sum(r["answer"] == r["true"] for r in rows) / 30 == results["scores"]["exact_match"]
    assert "to: " + examples[0].question in capsys.readouterr().out
    assert main(["predict", str(path), "--question", "what ?", "--input", str(tmp_path / "q.jsonl"),
                 "--out", str(tmp_path / "both")]) == 2  # one question for a file that has its own
    assert "a file of question / context objects has its own questions: drop --question" in capsys.readouterr().err


def test_answer_scores_count_words_as_squad_does():
    from models.metrics import answer_scores
    scores = answer_scores(["not bad", "bad", "", "good good"], ["not bad", "not bad", "fine", "good"])
    assert scores["exact_match"] == 0.25
    # F1: 1, 2*1/(1+2) = 2/3, 0, 2*1/(2+1) = 2/3 (the gold "good" is shared once)
    assert scores["f1"] == pytest.approx((1 + 2 / 3 + 0 + 2 / 3) / 4)
    # SQuAD's normalisation: case, punctuation and the articles a / an / the do not count
    normalised = answer_scores(["Great.", "the battery", "very good ,", "an apple a day"], ["great", "battery", "very good",
                                                                                           "apple day"])
    assert normalised == {"exact_match": 1.0, "f1": 1.0}
    # punctuation is deleted, not made a space: "U.S." is the one word "us", as in SQuAD's script
    assert answer_scores(["U.S.", "well-known"], ["US", "wellknown"]) == {"exact_match": 1.0, "f1": 1.0}


def test_a_run_folder_stands_for_its_delta_and_a_pretrained_model_is_not_one(tiny, tmp_path, capsys):
    path = saved(tiny, tmp_path, "sentiment")[0]
    folder = tmp_path / "run"
    folder.mkdir()
    path.rename(folder / "delta.safetensors")
    assert main(["predict", str(folder), "good ."]) == 0
    assert main(["predict", str(pretrained.SHIPPED["tiny"]), "good ."]) == 2
    assert "is a pretrained model, not a fine-tuning delta: fine-tune it first" in capsys.readouterr().err
    assert main(["predict", str(folder), "good .", " "]) == 2
    assert "text 2 is empty" in capsys.readouterr().err


def test_a_run_folder_names_its_deltas_as_its_table_names_its_rows(tmp_path):
    from models.predict import delta_files

    (tmp_path / "delta-head.safetensors").write_bytes(b"")  # compare --modes head --save-deltas
    assert delta_files(tmp_path) == {"head": tmp_path / "delta-head.safetensors"}  # not taken for finetune's
    (tmp_path / "delta-params_patterns=_ln_-seed3.safetensors").write_bytes(b"")
    seed3 = {"seed": 3, "delta": "delta-params_patterns=_ln_-seed3.safetensors"}
    (tmp_path / "results.json").write_text(json.dumps({"command": "compare", "rows": [
        {"mode": "head", "delta": "delta-head.safetensors"}, {"mode": "params:patterns=*ln*", "runs": [seed3]}]}))
    assert list(delta_files(tmp_path)) == ["head", "params:patterns=*ln*-seed3"]
    one = tmp_path / "delta-head.safetensors"
    assert delta_files(one) == {one.name: one}
    (tmp_path / "delta.safetensors").write_bytes(b"")  # finetune's folder: its one delta
    assert list(delta_files(tmp_path).values()) == [tmp_path / "delta.safetensors"]


def test_a_word_without_tokens_gets_no_tag_and_is_never_part_of_an_answer():
    """WordPiece drops control characters: a word made only of them has no token to carry a tag or an answer."""
    from models.tokenizers import WordPieceTokenizer

    tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "good", "what", "?"])
    assert data.tagging_input(tokenizer, ["the", "\x00", "good"], 64) == ([2, 5, 6, 3], [1, None, 2])
    ids, spans = data.qa_input(tokenizer, "what ?", "the \x00 good", 64)
    assert spans[1][0] > spans[1][1]  # no tokens
    assert answer(Pointing(spans[0][0], spans[2][1]), tokenizer, ["what ?"], ["the \x00 good"], 64) == ["the good"]


def test_inputs_without_special_tokens_put_each_word_at_its_own_tokens(tiny):
    tokenizer = tiny.tokenizer
    ids, spans = data.encode_words(tokenizer, ["the", "battery"])
    assert data.tagging_input(tokenizer, ["the", "battery"], None, add_special_tokens=False) == (
        ids, [first for first, _ in spans])
    ids, spans = data.qa_input(tokenizer, "why ?", "the battery", None, add_special_tokens=False)
    assert ids[0] != tokenizer.bos_id and tokenizer.decode(ids[spans[1][0]:spans[1][1] + 1]).strip() == "battery"


def test_pad_rows_pads_ids_with_the_tokenizers_pad_and_masks_the_padding():
    class Padding:  # pad_id 9, so that padding with 0 would show
        pad_id = 9

    batch = data.pad_rows(Padding(), [[4, 5, 6], [7]], "cpu", labels=[1, 0])
    assert batch["input_ids"].tolist() == [[4, 5, 6], [7, 9, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0] and batch["input_ids"].dtype == mg.int64


def test_notes_count_the_texts_longer_than_the_model_reads(tiny):
    from models.predict import notes

    tokenizer, text = tiny.tokenizer, "the battery is not bad ."  # 6 tokens
    assert notes("classification", tokenizer, [text], 8) == []  # [BOS] 6 tokens [EOS]: exactly fits
    assert notes("classification", tokenizer, [text, "good"], 7) == [
        "1 of 2 texts are longer than the 7 tokens the model was fine-tuned on: only their first tokens are read"]
    question = "what is the opinion of the battery ?"  # 15 tokens, also read with each text
    assert notes("qa", tokenizer, [text], 24, [question]) == []  # [BOS] 15 [SEP] 6 [EOS]
    assert notes("qa", tokenizer, [text], 23, [question]) == [  # the text is short: it is the pair that is long
        "1 of 1 texts are longer than the 23 tokens the model was fine-tuned on once their question is put before "
        "them ([BOS] question [SEP] text [EOS]): an answer past the cut cannot be found"]
    # at 18 tokens [BOS] question [SEP] [EOS] leaves no room for the text: the question is what is too long;
    # "what about the battery ?" (11 tokens) leaves room, but not for all of the text; "why ?" (4) fits with it
    assert notes("qa", tokenizer, [text] * 3, 18, [question, "what about the battery ?", "why ?"]) == [
        "1 of 3 texts have a question that takes up all of the 18 tokens the model was fine-tuned on by itself "
        "([BOS] question [SEP] [EOS]): no word of their text is read, so they get no answer",
        "1 of 3 texts are longer than the 18 tokens the model was fine-tuned on once their question is put before "
        "them ([BOS] question [SEP] text [EOS]): an answer past the cut cannot be found"]
    assert notes("qa", tokenizer, [text], 19, [question])[0].startswith("1 of 1 texts are longer")  # one text token


def test_a_question_too_long_for_any_of_its_text_is_blamed_for_it(tiny, tmp_path, capsys):
    delta = saved(tiny, tmp_path, "qa", "head")[0]  # fine-tuned on 64 tokens
    question = " ".join(["what is the opinion of the battery"] * 10) + " ?"
    assert main(["predict", str(delta), "--question", question, "the battery is good ."]) == 0
    printed = capsys.readouterr().out
    assert "note: 1 of 1 texts have a question that takes up all of the 64 tokens" in printed
    assert "texts are longer" not in printed and "answer: (none)" in printed
    (tmp_path / "texts.txt").write_text("the battery is good .\n")  # one question for a file of texts
    assert main(["predict", str(delta), "--question", "what ?", "--input", str(tmp_path / "texts.txt"),
                 "--text-column", "review"]) == 2
    assert "--text-column review names a column, and " in capsys.readouterr().err


def test_a_classifier_saved_without_label_names_predicts_class_numbers(tiny, tmp_path):
    _, tuned, _, max_len = saved(tiny, tmp_path, "sentiment")
    save_delta(tuned, tmp_path / "unnamed.safetensors", base="tiny", max_len=max_len)
    loaded, tokenizer, fed = load_tuned(tmp_path / "unnamed.safetensors")
    result = predict(loaded, tokenizer, fed, ["good .", "awful ."], true=["1", "0"])
    assert result["labels"] == ["0", "1"] and {row["label"] for row in result["rows"]} <= {"0", "1"}
    assert [row["true"] for row in result["rows"]] == ["1", "0"]


def test_labels_the_model_has_no_class_for_are_predicted_not_scored(tiny, tmp_path, capsys):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    loaded, tokenizer, fed = load_tuned(delta)
    texts = ["good .", "awful .", "it is a film .", "fine .", "so so ."]
    true = ["positive", "negative", "neutral", "positive", "neutral"]
    result = predict(loaded, tokenizer, fed, texts, true=true)
    scored = predict(loaded, tokenizer, fed, texts[:2] + texts[3:4], true=true[:2] + true[3:4])["scores"]
    assert result["scores"] == scored and sum(map(sum, scored["confusion_matrix"])) == 3
    assert [row["true"] for row in result["rows"]] == true and len(result["rows"]) == 5
    assert result["notes"] == ["2 of 5 texts have a label the model has no class for ('neutral' 2): "
                               "they are predicted but left out of the scores"]
    with pytest.raises(ValueError, match=r"none of the file's labels \(1, 0\) is one of the model's classes "
                                         r"\(negative, positive\)"):
        predict(loaded, tokenizer, fed, texts[:3], true=["1", "1", "0"])
    file = write_csv(tmp_path / "t.csv", [["text", "label"]] + [[t, label] for t, label in zip(texts, true)])
    assert main(["predict", str(delta), "--input", str(file), "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "note: 2 of 5 texts have a label" in out
    assert f"on the 3 labelled texts of {file} whose label the model knows:" in out
    written = list(csv.reader(open(tmp_path / "p" / "predictions.csv", newline="")))
    assert [row[-1] for row in written[1:]] == true


def test_the_confusion_matrix_has_a_row_per_true_class_and_a_column_per_predicted_one(tiny, tmp_path):
    """One text's truth is the class the model did not predict, the rest agree: the one mistake sits at
    [true][predicted], not at its mirror image, and each class's support counts its true labels."""
    loaded, tokenizer, fed = load_tuned(saved(tiny, tmp_path, "sentiment")[0])
    texts = ["good .", "awful .", "it is a film .", "the battery is not bad ."]
    predicted = [row["label"] for row in predict(loaded, tokenizer, fed, texts)["rows"]]
    names = loaded.labels
    true = [names[1 - names.index(predicted[0])]] + predicted[1:]
    scores = predict(loaded, tokenizer, fed, texts, true=true)["scores"]
    matrix = [[0, 0], [0, 0]]
    for t, p in zip(true, predicted):
        matrix[names.index(t)][names.index(p)] += 1
    assert scores["confusion_matrix"] == matrix and matrix != [list(column) for column in zip(*matrix)]
    assert [c["support"] for c in scores["per_class"]] == [true.count(name) for name in names]


def test_unknown_labels_are_noted_most_frequent_first_then_in_the_files_order():
    from models.predict import unknown_labels

    assert unknown_labels(["pos", "neg", "pos"], ["neg", "pos"]) == []  # all known: no note
    assert unknown_labels(["c", "pos", "b", "a", "b"], ["neg", "pos"]) == [
        "4 of 5 texts have a label the model has no class for ('b' 2, 'c' 1, 'a' 1): they are predicted but left "
        "out of the scores"]
    with pytest.raises(ValueError, match=r"none of the file's labels \(e, d, c, b, a\) is one of the model's classes"):
        unknown_labels(list("edcba"), ["neg", "pos"])
    with pytest.raises(ValueError, match=r"none of the file's labels \(f, e, d, c, b, \.\.\.\) is one"):
        unknown_labels(list("fedcba"), ["neg", "pos"])


def test_a_file_of_one_class_is_scored_against_the_classes_of_a_delta_without_label_names(tiny, tmp_path, capsys):
    _, tuned, _, max_len = saved(tiny, tmp_path, "sentiment")
    delta = tmp_path / "unnamed.safetensors"
    save_delta(tuned, delta, base="tiny", max_len=max_len)
    file = write_csv(tmp_path / "ones.csv", [["text", "label"], ["good .", "1"], ["fine .", "1"]])
    assert main(["predict", str(delta), "--input", str(file), "--out", str(tmp_path / "p")]) == 0
    scores = json.loads((tmp_path / "p" / "results.json").read_text())["scores"]
    assert [sum(row) for row in scores["confusion_matrix"]] == [0, 2]  # both texts, as class "1"


def test_input_without_out_writes_its_predictions_in_a_new_run_folder(tiny, tmp_path, capsys, monkeypatch):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    file = write_csv(tmp_path / "t.csv", [["text"], ["good ."], ["awful ."]])
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(delta), "--input", str(file)]) == 0
    written, = (tmp_path / "runs").glob("*-predict/predictions.csv")
    assert [row["text"] for row in csv.DictReader(open(written, newline=""))] == ["good .", "awful ."]


def test_predictions_csv_has_each_tasks_columns(tmp_path):
    from models.predict import write_predictions

    def written(result):
        return list(csv.reader(open(write_predictions(result, tmp_path / "p.csv"), newline="")))

    row = {"text": "good", "label": "positive", "probability": 0.87654, "true": "negative"}
    assert written({"task": "classification", "rows": [row]}) == [["text", "label", "probability"],
                                                                  ["good", "positive", "0.8765"]]
    assert written({"task": "classification", "scores": {}, "rows": [row]})[0] == ["text", "label", "probability", "true"]
    assert written({"task": "tagging", "rows": [{"text": "the battery", "tags": [["the", "O"], ["battery", "ASP"]]}]}) == [
        ["text", "tags"], ["the battery", "the/O battery/ASP"]]
    assert written({"task": "qa", "rows": [{"question": "what ?", "text": "the battery is good .", "answer": "good"}]}) \
        == [["text", "question", "answer"], ["the battery is good .", "what ?", "good"]]
    assert written({"task": "tagging", "scores": {}, "rows": [{"text": "a", "tags": [["a", "O"]], "true": ["ASP"]}]}) \
        == [["text", "tags", "true"], ["a", "a/O", "ASP"]]
    assert not (tmp_path / "p.csv.tmp").exists()


def test_read_input_reads_the_text_column_it_is_given(tmp_path):
    reviews = write_csv(tmp_path / "r.csv", [["id", "review"], ["1", "good"], ["2", "bad"]])
    names = ["negative", "positive"]
    assert read_input(reviews, "classification", names, text_column="review") == (["good", "bad"], None, None)
    scored = write_csv(tmp_path / "s.csv", [["review", "stars"], ["good", "positive"]])
    assert read_input(scored, "classification", names, text_column="review", label_column="stars") == (
        ["good"], ["positive"], None)
    no_labels = tmp_path / "n.jsonl"
    no_labels.write_text('{"text": "good"}\n{"text": "bad"}\n')
    assert read_input(no_labels, "classification", names) == (["good", "bad"], None, None)


def test_a_qa_result_records_its_question(tiny, tmp_path):
    loaded, tokenizer, fed = load_tuned(saved(tiny, tmp_path, "qa", "head")[0])
    result = predict(loaded, tokenizer, fed, ["the battery is good ."], questions=["what about the battery ?"])
    assert result["rows"][0]["question"] == "what about the battery ?" and result["task"] == "qa"
    assert set(result["rows"][0]) == {"question", "text", "answer"} and "scores" not in result


def test_generate_refuses_every_delta_but_a_language_models_and_takes_its_base_from_model(tiny, tmp_path, capsys):
    tagger = saved(tiny, tmp_path, "tagging")[0]
    assert main(["generate", "--delta", str(tagger)]) == 2
    assert "fine-tuned the model for tagging, not to write text" in capsys.readouterr().err
    mg.manual_seed(0)
    lm = prepare(tiny, "lora", task="lm")
    save_delta(lm, tmp_path / "moved.safetensors", base=str(tmp_path / "gone.safetensors"))  # its base moved
    args = ["generate", "--delta", str(tmp_path / "moved.safetensors"), "--samples", "1", "--max-new-tokens", "3"]
    assert main(args) == 2 and "pass --model with that checkpoint's path" in capsys.readouterr().err
    assert main(args + ["--model", "tiny"]) == 0 and capsys.readouterr().out.strip()


def test_out_without_input_writes_the_predictions_of_the_texts_given(tiny, tmp_path, capsys):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    assert main(["predict", str(delta), "good .", "awful .", "--out", str(tmp_path / "p")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "p" / "predictions.csv", newline="")))
    assert [row["text"] for row in rows] == ["good .", "awful ."]
    results = json.loads((tmp_path / "p" / "results.json").read_text())
    assert results["command"] == "predict" and results["labels"] == ["negative", "positive"]
    assert "rows" not in results  # they are in predictions.csv


def test_an_unknown_option_among_the_texts_is_an_error_not_a_text(tiny, tmp_path, capsys):
    delta = saved(tiny, tmp_path, "sentiment")[0]
    with pytest.raises(SystemExit):
        main(["predict", str(delta), "--device", "cpu", "good .", "--quiet"])
    assert "unrecognized arguments: good . --quiet" in capsys.readouterr().err


def test_an_empty_answer_is_shown_as_none(tiny, tmp_path, capsys, monkeypatch):
    from models import predict as predicting

    delta = saved(tiny, tmp_path, "qa", "head")[0]
    monkeypatch.setattr(predicting, "answer", lambda model, tokenizer, question, contexts, max_len: [""] * len(contexts))
    assert main(["predict", str(delta), "--question", "what about the price ?", "the battery is good ."]) == 0
    assert "answer: (none)\n  in: the battery is good ." in capsys.readouterr().out


def test_several_deltas_predictions_are_shown_text_by_text():
    from models.predict import scores_by_delta, side_by_side

    def classified(label, p):
        return {"task": "classification", "labels": ["negative", "positive"],
                "rows": [{"text": "not bad", "label": label, "probability": p}],
                "scores": {"accuracy": 1.0 if label == "positive" else 0.0, "macro_f1": 0.5}}

    lines = side_by_side({"head": classified("negative", 0.61), "lora:r=1": classified("positive", 0.8)})
    assert lines == ["head            lora:r=1        text",  # a column per delta, as wide as "positive 0.80"
                     "negative 0.61   positive 0.80   not bad"]
    assert scores_by_delta({"head": classified("negative", 0.61), "lora:r=1": classified("positive", 0.8)}) == [
        "             accuracy  macro F1", "head             0.0%     0.500", "lora:r=1       100.0%     0.500"]
    tagged = {name: {"task": "tagging", "rows": [{"text": "good screen", "tags": [["good", "OPINION"], ["screen", t]]}]}
              for name, t in (("head", "ASPECT"), ("lora", "O"))}
    assert side_by_side(tagged) == ["good screen", "  head  good/OPINION screen/ASPECT", "  lora  good/OPINION screen/O"]
    answered = {name: {"task": "qa", "rows": [{"question": "what is good ?", "text": "the screen is good", "answer": a}]}
                for name, a in (("head", "screen"), ("lora", ""))}
    assert side_by_side(answered, shown=1) == ["what is good ?\n  in: the screen is good", "  head  screen",
                                               "  lora  (none)"]


def test_a_compare_run_folder_is_predicted_from_as_such_whatever_it_holds(tmp_path, capsys):
    kept = tmp_path / "kept"
    assert main(["compare", "--modes", "lora:r=2", "--steps", "2", "--no-baselines", "--save-deltas",
                 "--out", str(kept)]) == 0
    capsys.readouterr()
    assert main(["predict", str(kept), "good ."]) == 0  # one delta: still the table's row, by its name
    assert capsys.readouterr().out.splitlines()[-2].split() == ["lora:r=2", "text"]
    (kept / "results.json").write_text("[1, 2]")  # not compare's: the deltas are named by their files
    assert main(["predict", str(kept), "good ."]) == 0
    assert capsys.readouterr().out.splitlines()[-2].split() == ["lora_r=2", "text"]

    bare = tmp_path / "bare"
    assert main(["compare", "--modes", "head", "--steps", "1", "--no-baselines", "--out", str(bare)]) == 0
    assert main(["predict", str(bare), "good ."]) == 2
    assert "is a `minigrad compare` run that kept no deltas: run it with --save-deltas" in capsys.readouterr().err

    tagger = tmp_path / "tagger"
    assert main(["compare", "--task", "tagging", "--modes", "head", "--steps", "1", "--no-baselines", "--save-deltas",
                 "--out", str(tagger)]) == 0
    (kept / "delta-tagger.safetensors").write_bytes((tagger / "delta-head.safetensors").read_bytes())
    capsys.readouterr()
    assert main(["predict", str(kept), "good ."]) == 2  # gathered from two runs: no one table fits
    assert "holds deltas of different tasks or classes (lora_r=2: classification negative, positive; " \
           "tagger: tagging" in capsys.readouterr().err


def test_a_qa_answer_is_never_a_word_the_cut_left_out(tiny):
    """Past max_len the context's last words have no tokens, and [EOS] is no word of theirs: predicting
    it gives no answer, where it gave the first word the cut removed."""
    from models.tasks import answer_words
    context = "the screen is great , the battery is poor ."
    ids, spans = data.qa_input(tiny.tokenizer, "what about the screen ?", context, 24)
    eos = len(ids) - 1
    assert answer_words(context, spans, eos, eos) == ""
    assert answer_words(context, spans, spans[0][0], eos) == "the screen is great , the"  # the words it saw


def test_a_qa_model_that_points_at_eos_gets_no_word_the_cut_split_from_it(tiny):
    """At max_len 18 the cut splits "screen" (its tokens 16 to 18): [EOS] sits at 17, inside that word's
    span. [EOS] is no token of the context, so the model's peak there is no candidate: the span comes
    from the tokens it saw (all scored 0, so the first word), never "screen" through [EOS]."""
    question, context = "what about the screen ?", "the screen is great , the battery is poor ."
    ids, spans = data.qa_input(tiny.tokenizer, question, context, 18)
    eos = len(ids) - 1
    assert ids[eos] == tiny.tokenizer.eos_id and spans[1][0] < eos < spans[1][1]  # the cut split "screen"
    assert answer(Pointing(eos, eos), tiny.tokenizer, [question], [context], 18) == ["the"]
