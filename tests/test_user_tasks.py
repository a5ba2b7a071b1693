"""The user's own files for the tagging and qa tasks: both tagging formats (JSON objects and
CoNLL-style lines), questions with answers found in their contexts, every mistake named with its
file and place, and the whole path from `finetune` / `compare` to `predict`."""
import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from models import data, pretrained, user_files
from models.cli import main
from models.compare import CompareConfig, data_notes, load_data, with_defaults

OPINIONS = ["good", "bad", "great", "awful", "fine", "poor"]
ASPECTS = ["battery", "screen", "price", "sound", "camera"]


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def jsonl(tmp_path, name, objects):
    return write(tmp_path, name, "".join(json.dumps(o) + "\n" for o in objects))


def conll(tmp_path, name, sentences):
    """sentences: lists of (word, tag); tab-separated, a blank line between sentences."""
    return write(tmp_path, name, "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n")


def review(i):
    """A tagged sentence, in the user's own tag names."""
    aspect, opinion = ASPECTS[i % len(ASPECTS)], OPINIONS[i % len(OPINIONS)]
    negated = i % 3 == 0
    words = ["the", aspect, "is"] + (["not"] if negated else []) + [opinion, "."]
    tags = ["O", "ASP", "O"] + (["NEG"] if negated else []) + ["OPN", "O"]
    return list(zip(words, tags))


def question(i):
    aspect, opinion = ASPECTS[i % len(ASPECTS)], OPINIONS[i % len(OPINIONS)]
    other = ASPECTS[(i + 1) % len(ASPECTS)]
    return {"question": f"what about the {aspect} ?",
            "context": f"the {other} is fine but the {aspect} is {opinion} .", "answer": opinion}


# ---- tagging files ---------------------------------------------------------------------------------------
def test_tagging_from_jsonl_json_array_and_conll_files_is_the_same(tmp_path):
    sentences = [review(i) for i in range(4)]
    objects = [{"words": [w for w, _ in s], "tags": [t for _, t in s]} for s in sentences]
    from_conll = user_files.load_tagged(conll(tmp_path, "train.conll", sentences))
    from_jsonl = user_files.load_tagged(jsonl(tmp_path, "train.jsonl", objects))
    from_array = user_files.load_tagged(write(tmp_path, "train.json", json.dumps(objects, indent=2)))
    assert from_conll == from_jsonl == from_array
    examples, tags = from_conll
    assert tags == ["ASP", "NEG", "O", "OPN"]  # sorted, as classification's labels are
    assert examples[0] == data.TaggedExample(("the", "battery", "is", "not", "good", "."), (2, 0, 2, 1, 3, 2))


def test_conll_lines_may_use_spaces_and_several_blank_lines(tmp_path):
    path = write(tmp_path, "train.txt", "\n\nthe   O\nbattery ASP\n\n\n\nis\tO\n  good   OPN  \n\n")
    examples, tags = user_files.load_tagged(path)
    assert [e.words for e in examples] == [("the", "battery"), ("is", "good")] and tags == ["ASP", "O", "OPN"]


def test_json_tagging_fields_may_have_other_names(tmp_path):
    path = jsonl(tmp_path, "train.jsonl", [{"tokens": ["a", "b"], "ner": ["X", "Y"]}])
    assert user_files.load_tagged(path, words_field="tokens", tags_field="ner")[1] == ["X", "Y"]
    with pytest.raises(ValueError, match=r"train.jsonl, line 1: no field 'words'; its fields are: 'tokens', 'ner'$"):
        user_files.load_tagged(path)
    with pytest.raises(ValueError, match="both read from the field 'ner'"):
        user_files.load_tagged(path, words_field="ner", tags_field="ner")


def test_a_validation_or_test_tag_not_in_training_is_named_with_its_place(tmp_path):
    train = conll(tmp_path, "train.conll", [review(i) for i in range(3)])
    valid = conll(tmp_path, "valid.conll", [review(1), [("the", "O"), ("camera", "ASPECT")]])
    with pytest.raises(ValueError, match=r"valid.conll, line 8: unknown tag 'ASPECT'; allowed tags \(those the model "
                                         r"is trained with\): ASP, NEG, O, OPN$"):
        user_files.load_user_tagging(train, valid)
    test = jsonl(tmp_path, "test.jsonl", [{"words": ["a", "b"], "tags": ["O", "O"]},
                                          {"words": ["a", "b"], "tags": ["O", "B-ASP"]}])
    with pytest.raises(ValueError, match=r"test.jsonl, line 2, tag 2: unknown tag 'B-ASP'"):
        user_files.load_user_tagging(train, test_path=test)
    task = user_files.load_user_tagging(train, train, train)
    assert task.kind == "tagging" and task.labels == ["ASP", "NEG", "O", "OPN"] and len(task.test) == 3


@pytest.mark.parametrize("name, content, message", [
    ("a.jsonl", '{"words": ["the", "battery"], "tags": ["O"]}\n',
     r"a.jsonl, line 1: 2 words but 1 tags; expected one tag per word"),
    ("b.conll", "the O\nbattery ASP\n\nis\ngood OPN\n",
     r"b.conll, line 4: the word 'is' has no tag; expected a word and its tag, separated by a tab or spaces"),
    ("d.jsonl", '{"words": ["a"], "tags": ["O"]}\n{"words": [], "tags": []}\n',
     r"d.jsonl, line 2: empty sentence: 'words' has no words"),
    ("e.json", '[{"words": ["a", 1], "tags": ["O", "X"]}]',
     r"e.json, item 1: word 2 in 'words' is a number; expected a string"),
    ("f.jsonl", '{"words": "the battery", "tags": ["O", "ASP"]}\n',
     r"f.jsonl, line 1: 'words' is a string; expected an array of words, one string per word \(split the sentence"),
    ("g.jsonl", '{"words": ["the", "battery life"], "tags": ["O", "ASP"]}\n',
     r"g.jsonl, line 1: word 2 in 'words', 'battery life', has a space in it"),
    ("h.jsonl", '{"words": ["the", "battery"], "tags": ["O", " "]}\n', r"h.jsonl, line 1: tag 2 in 'tags' is empty"),
    ("i.jsonl", '{"words": ["the", "battery"], "tags": ["O", null]}\n',
     r"i.jsonl, line 1: tag 2 in 'tags' is null; expected a string"),
    ("j.conll", "the O\nbattery O\n", r"j.conll: every word is tagged 'O'; a tagger needs at least two tags"),
    ("k.conll", "\n\n", r"k.conll has no sentences: expected a word and its tag on each line"),
    ("l.jsonl", "", r"l.jsonl has no sentences: expected one object per sentence"),
    ("m.json", '[["the", "O"]]', r"m.json, item 1: expected a JSON object, got list"),
    ("n.jsonl", '{"words": ["the", "battery"], "tags": "O ASP"}\n',
     r"n.jsonl, line 1: 'tags' is a string; expected an array of tags, one string per word$"),  # no hint to split words
    ("o.jsonl", '{"words": ["the", " battery"], "tags": ["O", "ASP"]}\n',
     r"o.jsonl, line 1: word 2 in 'words', ' battery', has a space in it"),
])
def test_tagging_file_mistakes_are_named_with_their_place(tmp_path, name, content, message):
    with pytest.raises(ValueError, match=message):
        user_files.load_tagged(write(tmp_path, name, content))


def test_conll_2003_columns_comments_docstart_lines_and_tag_ids_are_read(tmp_path):
    conll = write(tmp_path, "x.conll", "-DOCSTART- -X- -X- O\n\n# sent_id = 1\nEU NNP B-NP B-ORG\n"
                                       "rejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
    examples, names = user_files.load_tagged(conll)  # the word first, its tag last; the rest skipped
    assert names == ["B-ORG", "B-PER", "O"] and [e.words for e in examples] == [("EU", "rejects"), ("Peter",)]
    assert [e.tags for e in examples] == [(0, 2), (1,)]
    ids = jsonl(tmp_path, "ids.jsonl", [{"words": ["a", "b"], "ner_tags": [0, 3]}, {"words": ["c"], "ner_tags": [10]}])
    examples, names = user_files.load_tagged(ids, tags_field="ner_tags")  # tag ids, as datasets exports them
    assert names == ["0", "3", "10"] and examples[1].tags == (2,)



def test_a_conll_files_header_line_is_skipped_not_read_as_a_sentence(tmp_path):
    body = "the\tO\nbattery\tASP\n\ngood\tOPN\n"
    examples, names = user_files.load_tagged(write(tmp_path, "headed.tsv", "Word\tTag\n" + body))
    assert names == ["ASP", "O", "OPN"] and [e.words for e in examples] == [("the", "battery"), ("good",)]
    assert user_files.looks_tagged(write(tmp_path, "headed2.tsv", "token ner_tags\n" + body), names)
    docstart = write(tmp_path, "docstart.conll", "-DOCSTART- O\n\nword tag\n" + body)  # a header after -DOCSTART-
    assert user_files.looks_tagged(docstart, names) and len(user_files.load_tagged(docstart)[0]) == 2
    # only the first line is a header: further on, "word tag" is a word and its tag
    examples, names = user_files.load_tagged(write(tmp_path, "later.tsv", body + "\nword\ttag\n"))
    assert "tag" in names and examples[-1].words == ("word",)
    # after blank lines, and with columns between the word and the tag, it is a header still
    for name, header in [("blank.tsv", "\n\nword\ttag\n"), ("wide.txt", "token lemma ner\n")]:
        examples, names = user_files.load_tagged(write(tmp_path, name, header + body))
        assert names == ["ASP", "O", "OPN"] and [e.words for e in examples] == [("the", "battery"), ("good",)]
    # a first word that names a column is a word where its tag is not a column's name
    examples, names = user_files.load_tagged(write(tmp_path, "text.tsv", "Text\tO\nmining\tASP\n"))
    assert names == ["ASP", "O"] and examples[0].words == ("Text", "mining")
    assert not user_files.looks_tagged(write(tmp_path, "none.txt", "# a comment, no lines\n"), names)

# ---- question-answering files ------------------------------------------------------------------------------
def test_qa_answers_are_found_as_the_first_run_of_context_words(tmp_path):
    path = jsonl(tmp_path, "qa.jsonl", [
        {"question": "what about the battery ?", "context": "the battery is  not bad , the screen is not bad .",
         "answer": "not bad"},
        {"question": "and the price ?", "context": "cheap", "answer": " cheap "},
    ])
    first, second = user_files.load_qa(path)
    assert first == data.QAExample("what about the battery ?", "the battery is not bad , the screen is not bad .",
                                   3, 4, "not bad")  # the first "not bad"; spaces in the context made single
    assert (second.start, second.end, second.answer) == (0, 0, "cheap")
    array = write(tmp_path, "qa.json", json.dumps([question(0), question(1)]))
    assert [e.answer for e in user_files.load_qa(array)] == ["good", "bad"]


@pytest.mark.parametrize("name, content, message", [
    ("a.jsonl", '{"question": "q ?", "context": "the battery is good .", "answer": "great"}\n',
     r"a.jsonl, line 1: the answer 'great' is not in the context as a run of whole words; expected words of the "
     r"context, in its order"),
    ("b.jsonl", '{"question": "q ?", "context": "The Battery is good .", "answer": "the battery"}\n',
     r"b.jsonl, line 1: the answer 'the battery' is not in .* \(it is there with other capitals"),
    ("c.json", '[{"question": "q ?", "context": "the battery is good.", "answer": "good"}]',
     r"c.json, item 1: the answer 'good' is not in .* \(it is inside other words: .* 'bad.' is not 'bad'"),
    ("d.jsonl", '{"question": "q ?", "context": "good", "Answer": "good"}\n',
     r"d.jsonl, line 1: no field 'answer'; expected the fields question, context, answer, and its fields are: "
     r"'question', 'context', 'Answer'$"),
    ("e.jsonl", '{"question": "q ?", "context": ["good"], "answer": "good"}\n',
     r"e.jsonl, line 1: the text in 'context' is an array; expected a string"),
    ("f.jsonl", '{"question": " ", "context": "good", "answer": "good"}\n', r"f.jsonl, line 1: empty text in .*'question'"),
    ("g.csv", "question,context,answer\nq,good,good\n", r"g.csv: question answering reads .jsonl .* or a .json array"),
    ("h.jsonl", "\n", r"h.jsonl has no questions"),
    ("i.jsonl", '{"question": "q ?", "context": "the battery is not bad.", "answer": "not  bad"}\n',
     r"i.jsonl, line 1: the answer 'not  bad' is not in .* \(it is inside other words"),  # spaces do not count
])
def test_qa_file_mistakes_are_named_with_their_place(tmp_path, name, content, message):
    with pytest.raises(ValueError, match=message):
        user_files.load_qa(write(tmp_path, name, content))


def test_a_qa_file_suffix_may_be_in_capitals(tmp_path):
    path = jsonl(tmp_path, "QA.JSONL", [question(0)])
    assert [e.answer for e in user_files.load_qa(path)] == ["good"]


def test_a_qa_test_file_is_read_for_the_test_set(tmp_path):
    train = jsonl(tmp_path, "train.jsonl", [question(i) for i in range(4)])
    valid = jsonl(tmp_path, "valid.jsonl", [question(i) for i in range(4, 6)])
    test = jsonl(tmp_path, "test.jsonl", [question(i) for i in range(6, 9)])
    task = user_files.load_user_qa(train, valid, test)
    assert [e.question for e in task.test] == [question(i)["question"] for i in range(6, 9)]
    assert len(task.train) == 4 and len(task.valid) == 2
    assert user_files.load_user_qa(train, valid).test == []


# ---- validation without --valid ----------------------------------------------------------------------------
def test_without_a_validation_file_a_seeded_share_is_held_out(tmp_path):
    train = conll(tmp_path, "train.conll", [review(i) for i in range(20)])
    task = user_files.load_user_tagging(train, seed=3)
    assert (len(task.train), len(task.valid), task.test) == (18, 2, [])
    assert user_files.load_user_tagging(train, seed=3).valid == task.valid  # the same seed holds out the same sentences
    qa = user_files.load_user_qa(jsonl(tmp_path, "qa.jsonl", [question(i) for i in range(10)]))
    assert (len(qa.train), len(qa.valid)) == (9, 1) and qa.kind == "qa" and qa.labels == []
    with pytest.raises(ValueError, match=r"one.jsonl has only one question; without --valid FILE at least two"):
        user_files.load_user_qa(jsonl(tmp_path, "one.jsonl", [question(0)]))
    assert len(user_files.load_user_qa(tmp_path / "one.jsonl", tmp_path / "qa.jsonl").train) == 1  # with one, fine


# ---- what the commands check, and note, before training ------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--task", "qa", "--train", "qa.jsonl", "--text-column", "q"], "--text-column q renames a field, and a qa "
                                                                     "file's fields are fixed: question, context, answer"),
    (["--task", "tagging", "--train", "t.conll", "--label-column", "ner"], "--label-column ner names a field of a "
                                                                           ".jsonl / .json file, and t.conll is CoNLL"),
    (["--task", "domain", "--train", "t.csv"], "replaces --task domain"),
])
def test_options_that_do_not_fit_the_file_are_refused(args, message, tmp_path, capsys):
    assert main(["compare", *args, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def tiny():
    return pretrained.load("tiny")


def test_questions_too_long_for_the_model_are_left_out_and_counted(tiny, tmp_path):
    long = {"question": "what about the price ?", "context": "the price is fine . " * 30 + "the battery is good .",
            "answer": "good"}
    train = jsonl(tmp_path, "train.jsonl", [question(i) for i in range(6)] + [long])
    config = CompareConfig(task="qa", train_path=str(train), valid_path=str(train))
    task = load_data(config, tiny)
    assert len(task.train) == len(task.valid) == 6 and task.dropped == {"train": (1, 7), "valid": (1, 7)}
    notes = data_notes(with_defaults(config, "qa", 64), tiny, task)
    assert notes[:1] == ["left out as longer, with their context, than the 64 tokens 'tiny' reads: 1 of 7 training, "
                     "1 of 7 validation questions"]
    only_long = jsonl(tmp_path, "long.jsonl", [long])
    with pytest.raises(ValueError, match=r"none of the 1 validation questions \(.*long.jsonl\) fits in the 64 tokens"):
        load_data(CompareConfig(task="qa", train_path=str(train), valid_path=str(only_long)), tiny)
    short_context = SimpleNamespace(tokenizer=tiny.tokenizer, config=replace(tiny.config, max_len=4))
    with pytest.raises(ValueError, match=r"none of the \d+ training questions \(the bundled task 'qa'\) fits in the 4 "
                                         r"tokens .* use a model pretrained with a longer --max-len"):
        load_data(CompareConfig(task="qa"), short_context)


def test_tagged_sentences_longer_than_max_len_are_counted(tiny, tmp_path):
    long = [("word", "O")] * 30 + [("good", "OPN")]
    train = conll(tmp_path, "train.conll", [review(i) for i in range(5)] + [long])
    config = CompareConfig(task="tagging", train_path=str(train), valid_path=str(train), max_len=16)
    task = load_data(config, tiny)
    notes = data_notes(with_defaults(config, "tagging", 64), tiny, task)
    assert notes[:1] == ["1 of 6 training and 1 of 6 validation sentences are longer than 16 tokens: their words past "
                         "the first 14 tokens get no tag, and are neither trained on nor scored; --max-len up to 64 reads more"]
    assert not any("longer than" in note for note in data_notes(  # the valid file is train's: other notes say so
        with_defaults(CompareConfig(task="tagging", train_path=str(train), max_len=64), "tagging", 64), tiny, task))


def test_a_sentence_one_token_too_long_is_counted_only_in_its_own_split(tiny, tmp_path):
    """63 tokens where [BOS] and [EOS] leave 62; at the model's whole context no longer --max-len is offered."""
    long = [("the", "O")] * 62 + [("good", "OPN")]
    assert len(data.encode_words(tiny.tokenizer, [w for w, _ in long])[0]) == 63
    train = conll(tmp_path, "train.conll", [review(i) for i in range(5)] + [long])
    valid = conll(tmp_path, "valid.conll", [review(i) for i in range(5, 8)])
    config = CompareConfig(task="tagging", train_path=str(train), valid_path=str(valid), max_len=64)
    notes = data_notes(with_defaults(config, "tagging", 64), tiny, load_data(config, tiny))
    assert notes[:1] == ["1 of 6 training sentences are longer than 64 tokens: their words past the first 62 tokens get "
                     "no tag, and are neither trained on nor scored, the most 'tiny' reads"]


# ---- end to end ------------------------------------------------------------------------------------------------
def test_finetune_on_the_users_tagged_sentences_and_predict_with_their_tags(tmp_path, capsys):
    train = conll(tmp_path, "train.conll", [review(i) for i in range(24)])
    valid = jsonl(tmp_path, "valid.jsonl", [{"words": [w for w, _ in review(i)], "tags": [t for _, t in review(i)]}
                                            for i in range(24, 30)])
    out = tmp_path / "run"
    assert main(["finetune", "--mode", "head", "--task", "tagging", "--train", str(train), "--valid", str(valid),
                 "--steps", "2", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == {"name": "train", "kind": "tagging", "labels": ["ASP", "NEG", "O", "OPN"],
                               "scores": {"accuracy": "token accuracy", "macro_f1": "macro F1 over the tags"}}
    [row] = results["rows"]
    assert row["steps_done"] == 2 and 0 <= row["val_accuracy"] <= 1 and len(row["val_per_class"]) == 4
    capsys.readouterr()
    assert main(["predict", str(out / "delta.safetensors"), "the battery is good ."]) == 0
    tagged = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert [pair.split("/")[0] for pair in tagged] == ["the", "battery", "is", "good", "."]
    assert {pair.split("/")[1] for pair in tagged} <= {"ASP", "NEG", "O", "OPN"}


def test_compare_on_the_users_questions(tmp_path, capsys):
    train = jsonl(tmp_path, "qa.jsonl", [question(i) for i in range(20)])
    out = tmp_path / "run"
    assert main(["compare", "--modes", "head", "--no-baselines", "--task", "qa", "--train", str(train),
                 "--steps", "2", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["task"]["kind"] == "qa" and [row["mode"] for row in results["rows"]] == ["head"]
    assert results["config"]["max_len"] == 64  # question + review fill tiny's whole context, as recorded
    row = results["rows"][0]
    assert row["steps_done"] == 2 and 0 <= row["val_accuracy"] <= 1 and 0 <= row["val_macro_f1"] <= 1


def test_lines_end_only_at_line_breaks_not_at_unicode_separators(tmp_path):
    """str.splitlines also ends a line at U+2028, \\x85 (cp1252's ellipsis read as latin-1) or \\x0c: a
    text holding one stays one text, and a JSON string holding one stays valid JSON."""
    texts = write(tmp_path, "lm.txt", "first \u2028 line\nsecond\x0cline\nthird \x85 x\n")
    assert user_files.read_texts(texts) == ["first \u2028 line", "second\x0cline", "third \x85 x"]
    rows = write(tmp_path, "t.jsonl", json.dumps({"text": "a\u2028b", "label": "x"}, ensure_ascii=False) + "\n"
                 + json.dumps({"text": "c", "label": "y"}) + "\n")
    examples, labels = user_files.load_jsonl(rows)
    assert [e.text for e in examples] == ["a\u2028b", "c"] and labels == ["x", "y"]


def test_a_conll_word_with_a_space_in_it_is_named_not_cut(tmp_path):
    """A tab-separated 'New York' (or a word with a non-breaking space) was read as its first part, the
    rest dropped without a word: a sentence is split at spaces, so such a word is refused, as in JSON."""
    with pytest.raises(ValueError, match="line 1: the word 'New York' has a space in it"):
        user_files.load_tagged(write(tmp_path, "t.conll", "New York\tB-LOC\nis\tO\n"))
    with pytest.raises(ValueError, match="line 2: the word 'battery\\\\xa0life' has a space in it"):
        user_files.load_tagged(write(tmp_path, "u.conll", "the O\nbattery\u00a0life ASPECT\n"))
    four_columns = write(tmp_path, "v.conll", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n")  # CoNLL-2003: first, last
    assert user_files.load_tagged(four_columns)[1] == ["B-ORG", "O"]


# ---- mistakes in any user file's format (models/tables.py), as every task reads them ----------------------
@pytest.mark.parametrize("label, written", [(float("nan"), "NaN"), (float("inf"), "Infinity"),
                                            (float("-inf"), "-Infinity")])
def test_a_json_nan_or_infinite_label_is_an_error_as_an_empty_csv_cell_is(tmp_path, label, written):
    """Python's json writes a missing number as NaN, and reads it back; str() would make it a class "nan"."""
    path = jsonl(tmp_path, "nan.jsonl", [{"text": "good", "label": "pos"}, {"text": "bad", "label": label},
                                         {"text": "fine", "label": "neg"}])
    assert f'"label": {written}' in path.read_text()
    with pytest.raises(ValueError, match=f"nan.jsonl, line 2: the label in 'label' is {written}, which names no "
                                         "class; expected a string or a finite number$"):
        user_files.load_jsonl(path)
    with pytest.raises(ValueError, match="empty.csv, line 3: empty label in column 'label'$"):  # as in a CSV file
        user_files.load_csv(write(tmp_path, "empty.csv", "text,label\ngood,pos\nbad,\nfine,neg\n"))
    texts = jsonl(tmp_path, "texts.jsonl", [{"text": label, "label": "pos"}, {"text": "bad", "label": "neg"}])
    with pytest.raises(ValueError, match="texts.jsonl, line 1: the text in 'text' is a number; expected a string$"):
        user_files.load_jsonl(texts)


def test_a_header_too_long_to_list_is_cut_short_and_a_wrong_encoding_is_named(tmp_path):
    """A file without line breaks, or one read in the wrong encoding, has the whole file as its header."""
    one_line = write(tmp_path, "one.csv", "text,label good,pos bad,neg " * 300)
    with pytest.raises(ValueError, match=r"one.csv has no column 'label'; its columns are: 'text', 'label good', "
                                         r"'pos bad', 'neg text', .* 'neg text' and 891 more$"):
        user_files.load_csv(one_line)
    content = "text,label\r\n" + "".join(f"film {i:04} was {['poor,neg', 'fine,pos'][i % 2]}\r\n" for i in range(2000))
    utf8 = write(tmp_path, "utf8.csv", content)  # an even number of bytes, all of which UTF-16 decodes
    with pytest.raises(ValueError) as error:  # its bytes two at a time: one long name of CJK characters
        user_files.load_csv(utf8, encoding="utf-16")
    message = str(error.value)
    assert len(message) < len(str(utf8)) + 250  # not the whole file, 24,006 characters as UTF-16
    assert message.startswith(f"{utf8} has no column 'text'; its columns are: '整瑸氬扡汥")
    assert message.endswith(f"'... ({len(content) // 2:,} characters) (mostly CJK characters, which is how a "
                            "UTF-8 file read as UTF-16 looks: check --encoding, whose default is utf-8)")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("text,label\ngood,pos\nbad,neg\n".encode("utf-16-le"))  # no byte-order mark to say so
    with pytest.raises(ValueError, match=r"its columns are: 't\\x00e\\x00x\\x00t\\x00', .* \(NULs between "
                                         r"the letters: UTF-16 text; pass --encoding utf-16-le\)$"):
        user_files.load_csv(utf16)
    assert user_files.load_csv(utf16, encoding="utf-16-le")[1] == ["neg", "pos"]
    chinese = write(tmp_path, "zh.csv", "文本,标签\n好,正\n差,负\n")  # CJK names, but separated: as written
    with pytest.raises(ValueError, match="zh.csv has no column 'text'; its columns are: '文本', '标签'$"):
        user_files.load_csv(chinese)


def test_a_json_object_over_many_lines_is_named_not_read_as_bad_json_lines(tmp_path):
    rows = [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}]
    for name in ("export.json", "export.jsonl"):
        path = write(tmp_path, name, json.dumps({"version": 2, "data": rows}, indent=2))
        with pytest.raises(ValueError, match=rf"{name}: expected a JSON array of objects \(or JSON Lines: one object "
                                             r"per line\), got a JSON object with the keys 'version', 'data' "
                                             r"\('data' holds an array: to read it, save that array alone as "
                                             r"the file\)$"):
            user_files.load_examples(path)
    with pytest.raises(ValueError, match=r"meta.json: .* got a JSON object with the keys 'name', 'size'$"):
        user_files.load_texts(write(tmp_path, "meta.json", json.dumps({"name": "x", "size": 2}, indent=2)))
    # JSON Lines, an object on each line, is read as ever; a line of it that is not JSON is named
    assert user_files.load_examples(jsonl(tmp_path, "rows.jsonl", rows)) == ([("good", 1), ("bad", 0)], ["neg", "pos"])
    with pytest.raises(ValueError, match=r"broken.jsonl, line 2: not valid JSON \(Expecting ':' delimiter\)$"):
        user_files.load_examples(write(tmp_path, "broken.jsonl", '{"text": "good", "label": "pos"}\n{"text" "bad"}\n'))


@pytest.mark.parametrize("content", ["", "  \n\n\t\n", "\r\n"])
def test_a_blank_csv_file_is_empty_not_a_header_of_no_columns(tmp_path, content):
    with pytest.raises(ValueError, match=r"blank.csv is empty: expected a header row naming the columns "
                                         r"\['text', 'label'\]$"):
        user_files.load_csv(write(tmp_path, "blank.csv", content))
