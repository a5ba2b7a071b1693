"""A practitioner's own, larger files: every bad row counted in one error (not one run per row), and
WordPiece's per-character work done once per character, with ids identical to before on the bundled data."""
import json
import unicodedata

import pytest

from models import data, minilm, tokenizers, user_files
from models.tokenizers import WordPieceTokenizer, is_cjk, is_control, is_punctuation, is_whitespace

from tests.test_wordpiece import VOCAB


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# ---- every bad row of a file in one error ---------------------------------------------------------
def test_an_error_about_one_bad_row_counts_the_others(tmp_path):
    """Missing values tend to come in dozens (a column exported with gaps); naming only the first made
    fixing a file of 50,000 rows one run per row."""
    rows = ["good,pos", "bad,", "fine,neg", "meh,", ",pos", "okay,neg"] + [f"text {i}," for i in range(10)]
    path = write(tmp_path, "gaps.csv", "text,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"gaps.csv, line 3: empty label in column 'label' \(and 12 more rows with an "
                                         r"empty or invalid field: lines 5, 6, 8, 9, 10 and 7 more\)$"):
        user_files.load_csv(path)


def test_a_single_bad_row_keeps_its_message(tmp_path):
    path = write(tmp_path, "one.csv", "text,label\ngood,pos\nbad,\nfine,neg\n")
    with pytest.raises(ValueError, match=r"one.csv, line 3: empty label in column 'label'$"):
        user_files.load_csv(path)


def test_the_rows_of_a_json_array_are_counted_as_items(tmp_path):
    items = [{"text": "good", "label": "pos"}, {"text": " ", "label": "neg"}, {"text": "bad", "label": None}]
    path = write(tmp_path, "export.json", json.dumps(items, indent=2))
    with pytest.raises(ValueError, match=r"export.json, item 2: empty text in column 'text' \(and 1 more row with an "
                                         r"empty or invalid field: item 3\)$"):
        user_files.load_examples(path)


def test_labels_the_training_file_lacks_are_all_named_with_their_counts(tmp_path):
    """A class that appears only in the validation file (or is spelled differently there): the error says
    which labels, and on how many rows, so the user can tell a typo from a missing class."""
    write(tmp_path, "train.csv", "text,label\n" + "".join(f"text {i},{'pos' if i % 2 else 'neg'}\n" for i in range(20)))
    write(tmp_path, "valid.csv", "text,label\nv0,pos\nv1,neutral\nv2,neg\nv3,neutral\nv4,Pos\nv5,neutral\n")
    with pytest.raises(ValueError, match=r"valid.csv, line 3: unknown label 'neutral'; allowed labels: neg, pos "
                                         r"\(and 3 more rows with a label not allowed: lines 5, 6, 7\); the unknown "
                                         r"labels: 'neutral' \(3 rows\), 'Pos' \(1 row\)$"):
        user_files.load_user_task(tmp_path / "train.csv", tmp_path / "valid.csv")


# ---- WordPiece: the same words as before, faster ----------------------------------------------------
def reference_words(text, lowercase):
    """WordPiece's normalize() and words() as they were, a character at a time: the ids must not change."""
    text = "".join(" " if is_whitespace(ch) else f" {ch} " if is_cjk(ch) else ch
                   for ch in text if ch not in "\x00\ufffd" and not is_control(ch))
    if lowercase:
        text = "".join(ch for ch in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(ch) != "Mn")
    else:
        text = unicodedata.normalize("NFC", text)
    words = []
    for chunk in text.split():
        word = ""
        for ch in chunk:
            if is_punctuation(ch):
                words += [word, ch] if word else [ch]
                word = ""
            else:
                word += ch
        words += [word] if word else []
    return words


def bundled_texts():
    texts = [e.text for name in ("sentiment", "domain", "tagging") for e in data.load_task(name).train[:500]]
    texts += [e.question + " " + e.context for e in data.load_task("qa").train[:300]]
    return texts + data.pretraining_corpus(n_sentences=300).splitlines()


# every character of the planes in use (surrogates too: a file name decoded with surrogateescape), in texts
# of 64, then sequences where order matters: accents to strip after NFD, CJK, spaces and punctuation together
EVERY_CHARACTER = [chr(c) for c in range(0x32000)]
TRICKY = ["Héllo,\tWORLD\r\n", "Z\u00fcrich e\u0301 \u1e9e\u00df \u0130 \u212b", "\u6771\u4eac\u90fd, 'ok'!",
          "a\u00a0b\u2003c\u2028d\x85e\x0cf\u200bg", "don't--stop...now?!", "\ufb01ne \u2460 \u00bd \u037e\u0387",
          "x\x00y\ufffdz\x07", "\ud800 lone", "ＦＵＬＬ　ｗｉｄｔｈ！"]


@pytest.mark.parametrize("lowercase", [True, False])
def test_wordpiece_words_and_ids_are_those_of_before(lowercase):
    tok = WordPieceTokenizer(VOCAB, lowercase=lowercase)
    texts = bundled_texts() + TRICKY + ["".join(EVERY_CHARACTER[i:i + 64]) for i in range(0, len(EVERY_CHARACTER), 64)]
    for text in texts:
        assert tok.words(text) == reference_words(text, lowercase), repr(text)
    reference_ids = [[i for word in reference_words(t, lowercase) for i in tok._encode_word(word)] for t in texts]
    assert [tok.encode(t) for t in texts] == reference_ids


def test_wordpiece_asks_unicodedata_about_a_character_once(monkeypatch):
    """Per character and text, in Python, these questions took most of WordPiece's time on a large file."""
    asked = []
    for name in ("is_control", "is_whitespace", "is_cjk", "is_punctuation"):
        monkeypatch.setattr(tokenizers, name, lambda ch, f=getattr(tokenizers, name): asked.append(ch) or f(ch))
    monkeypatch.setattr(tokenizers.unicodedata, "category",
                        lambda ch, f=unicodedata.category: asked.append(ch) or f(ch))
    tok = WordPieceTokenizer(VOCAB)
    text = "the \u0100\u0101 \u0102! q\u0103 \u0104, \u0105?"  # letters no other test has shown the tables yet
    for _ in range(50):
        tok.encode(text)
    assert len(asked) < 10 * len(set(text))  # a few questions about each character, once: not 50 times


@pytest.mark.skipif(not minilm.is_installed(), reason=f"all-MiniLM-L6-v2 is not installed (optional): {minilm.INSTALL}")
def test_minilm_ids_of_the_bundled_tasks_are_those_of_before():
    """The README's MiniLM tables are reproduced from these ids, on the real 30,522-token vocabulary."""
    tok = WordPieceTokenizer.from_vocab_file(minilm.model_dir() / "vocab.txt", lowercase=True)
    texts = bundled_texts() + TRICKY
    assert [tok.encode(t) for t in texts] == [
        [i for word in reference_words(t, True) for i in tok._encode_word(word)] for t in texts]


@pytest.mark.parametrize("name, content, what", [
    ("one.csv", "the film was good\nthe film was bad\n", "one column"),
    ("reviews.txt", "good, funny and warm\nbad, dull and long\n", "a .txt file"),  # its commas made columns
])
def test_plain_text_given_for_labelled_examples_points_at_task_lm(tmp_path, name, content, what):
    path = write(tmp_path, name, content)
    with pytest.raises(ValueError, match=rf"has no column 'text'.*\({what}: for plain text, one example per line, "
                                         r"use --task lm; labelled examples need a header row"):
        user_files.load_examples(path)


def test_a_tokenizer_is_saved_atomically(tmp_path, monkeypatch):
    import os
    path = tmp_path / "tokenizer.json"
    tokenizer = tokenizers.CharTokenizer.train(["abc"])
    tokenizer.save(path)
    before = path.read_text()
    monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError, match="tokenizer.json: No space left on device; the file there, if any, is as it was"):
        tokenizer.save(path)
    assert path.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["tokenizer.json"]
