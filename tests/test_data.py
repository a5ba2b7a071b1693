"""The bundled grammar and tasks (labels checked independently), the user-file loaders'
errors, and batching."""
import collections
import csv
import json
import math

import pytest

from models import data, tables, user_files
from models.data import ASPECT, IGNORE, NEGATION, OPINION, OTHER, clause, sentence
from models.tokenizers import BPETokenizer, CharTokenizer

TASKS = {name: data.load_task(name) for name in data.TASKS}
ALL_SENTIMENT = TASKS["sentiment"].train + TASKS["sentiment"].valid + TASKS["sentiment"].test
NEGATION_WORDS = {"not", "never", "hardly"}


# ---- an independent reading of the labels ---------------------------------------------------------
def rule_sentiment(text):
    """Read the label off the words: each opinion word, flipped by a negation up to two words
    before it; after "but" the clause after it decides; with "although" the other clause does."""
    words = text.split()
    opinions = [(i, data.POLARITY[w] != any(n in NEGATION_WORDS for n in words[max(0, i - 2):i]))
                for i, w in enumerate(words) if w in data.POLARITY]
    if "although" in words:
        conceded = next(o for o in opinions if o[0] > words.index("although"))
        opinions.remove(conceded)
    elif "but" in words:
        opinions = [o for o in opinions if o[0] > words.index("but")]
    readings = {positive for _, positive in opinions}
    assert len(readings) == 1, text  # the clauses that decide agree
    return int(readings.pop())


def test_hand_checked_sentences():
    products = lambda template, *clauses: sentence(template, list(clauses), "products")
    not_bad = products("{0}", clause("battery", "bad", "not"))
    assert (not_bad.text, not_bad.sentiment) == ("the battery is not bad .", 1)
    good_but_slow = products("{0} but {1}", clause("screen", "good"), clause("delivery", "slow"))
    assert (good_but_slow.text, good_but_slow.sentiment) == ("the screen is good but the delivery is slow .", 0)
    bad_but_cheap = products("{0} , but {1}", clause("screen", "bad"), clause("price", "cheap"))
    assert bad_but_cheap.sentiment == 1
    concede_first = sentence("although {0} , {1}", [clause("plot", "great", past=True),
                                                     clause("ending", "awful", past=True)], "movies")
    assert (concede_first.text, concede_first.sentiment) == ("although the plot was great , the ending was awful .", 0)
    concede_last = sentence("{0} , although {1}", [clause("ending", "awful"), clause("plot", "great")], "movies")
    assert concede_last.sentiment == 0  # the same words as above, the same label, in the other order
    not_very = products("{0}", clause("speakers", "good", "not", "very", "{subject} {has} {a} {opinion} {aspect}",
                                      subject="this phone"))
    assert (not_very.text, not_very.sentiment) == ("this phone has not very good speakers .", 0)
    an = products("{0}", clause("camera", "excellent", template="{subject} {has} {a} {opinion} {aspect}", subject="it"))
    assert an.text == "it has an excellent camera ."


def test_the_docstring_example():
    review = sentence("{0} , but {1}", [clause("battery", "bad", "not"), clause("delivery", "slow")], "products",
                      opener="honestly ,")
    assert review.text == "honestly , the battery is not bad , but the delivery is slow ."
    assert review.sentiment == 0
    assert review.tags[:12] == [OTHER, OTHER, OTHER, ASPECT, OTHER, NEGATION, OPINION,
                                OTHER, OTHER, OTHER, ASPECT, OTHER]
    assert review.opinions == {"battery": (5, 6), "delivery": (12, 12)}


def test_clauses_joined_by_and_must_agree():
    with pytest.raises(ValueError, match="must agree"):
        sentence("{0} and {1}", [clause("plot", "good"), clause("cast", "bad")], "movies")


def test_every_generated_label_matches_the_independent_rules():
    assert all(rule_sentiment(e.text) == e.label for e in ALL_SENTIMENT)


def test_every_generated_tag_matches_the_word_lists():
    aspect_words = {w for aspects in data.ASPECTS.values() for a in aspects for w in a.split()}
    expected = lambda w: (ASPECT if w in aspect_words else OPINION if w in data.POLARITY
                          else NEGATION if w in NEGATION_WORDS else OTHER)
    task = TASKS["tagging"]
    assert task.labels == ["OTHER", "ASPECT", "OPINION", "NEGATION"]
    for example in task.train + task.valid + task.test:
        assert list(example.tags) == [expected(w) for w in example.words], example.text


def test_word_lists_do_not_overlap():
    positive = {w for table in [*data.OPINIONS.values(), *data.ASPECT_OPINIONS.values()] for w in table[True]}
    negative = {w for table in [*data.OPINIONS.values(), *data.ASPECT_OPINIONS.values()] for w in table[False]}
    assert not positive & negative  # one polarity per word, so labels and tags are exact
    aspect_words = {w for aspects in data.ASPECTS.values() for a in aspects for w in a.split()}
    glue = " ".join(data.CLAUSES + data.OPENERS + data.CLOSERS + data.QUESTIONS + data.INTENSIFIERS
                    + [s for lists in [*data.SUBJECTS.values(), *data.DOMAIN_OPENERS.values()] for s in lists])
    glue_words = set(glue.split()) | {form for forms in data.VERBS.values() for form in forms}
    for group in (positive | negative, aspect_words, NEGATION_WORDS):
        assert not group & glue_words
    assert not (positive | negative) & aspect_words and not (positive | negative | aspect_words) & NEGATION_WORDS


def test_qa_answers_are_the_opinion_phrase_of_the_asked_aspect():
    task = TASKS["qa"]
    assert task.kind == "qa"
    for example in task.train + task.valid + task.test:
        words = example.context.split()
        answer = words[example.start:example.end + 1]
        assert " ".join(answer) == example.answer
        assert answer[-1] in data.POLARITY and all(w not in data.POLARITY for w in answer[:-1])
        aspect = next(a for aspects in data.ASPECTS.values() for a in aspects if example.question.endswith(f" {a} ?"))
        assert f" {aspect} " in f" {example.context} "


def test_domain_labels_match_the_aspects():
    task = TASKS["domain"]
    assert task.labels == ["products", "movies"]
    for text, label in task.train[:300]:
        aspects = data.ASPECTS[task.labels[label]]
        assert any(f" {a} " in f" {text} " for a in aspects), text


# ---- splits -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(data.TASKS))
def test_splits_are_fixed_sized_deterministic_and_disjoint(name):
    task = TASKS[name]
    assert (len(task.train), len(task.valid), len(task.test)) == (2000, 500, 500)
    assert data.load_task(name) == task
    text = lambda e: e.context if name == "qa" else e.text
    train, valid, test = ({text(e) for e in split} for split in (task.train, task.valid, task.test))
    assert len(train) == 2000 and len(valid) == 500 and len(test) == 500
    assert not train & valid and not train & test and not valid & test


def test_changing_the_train_size_keeps_valid_and_test():
    small = data.load_task("sentiment", n_train=100)
    assert (small.valid, small.test) == (TASKS["sentiment"].valid, TASKS["sentiment"].test)
    assert data.load_task("sentiment", seed=1, n_train=10).test != small.test


def test_labels_are_balanced_and_one_domain_can_be_chosen():
    counts = collections.Counter(e.label for e in ALL_SENTIMENT)
    assert 0.45 < counts[1] / len(ALL_SENTIMENT) < 0.55
    movies = data.load_task("sentiment", domain="movies", n_train=200)
    assert all(any(f" {a} " in f" {e.text} " for a in data.ASPECTS["movies"]) for e in movies.train)


def test_unknown_task_or_domain_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown task 'sentiments'.*sentiment"):
        data.load_task("sentiments")
    with pytest.raises(ValueError, match="domain"):
        data.load_task("domain", domain="movies")


# ---- bag of words is not enough ----------------------------------------------------------------------
def test_bag_of_words_is_clearly_below_the_exact_labels():
    """Naive Bayes on word presence: it learns which words are positive, but not what "not",
    "but" and "although" do to them."""
    train, test = TASKS["sentiment"].train, TASKS["sentiment"].test
    docs = collections.Counter(label for _, label in train)
    word_docs = {label: collections.Counter() for label in (0, 1)}
    for text, label in train:
        word_docs[label].update(set(text.split()))

    def log_score(words, label):  # log P(label) + sum of log P(word | label), add-one smoothed
        return math.log(docs[label]) + sum(math.log((word_docs[label][w] + 1) / (docs[label] + 2)) for w in words)

    predict = lambda text: max((0, 1), key=lambda label: log_score(set(text.split()), label))
    accuracy = sum(predict(text) == label for text, label in test) / len(test)
    print(f"bag-of-words accuracy {accuracy:.3f} (exact labels: 1.000)")
    assert 0.55 < accuracy < 0.80


# ---- the pretraining corpus ----------------------------------------------------------------------------
def test_pretraining_corpus_is_large_deterministic_and_holds_out_evaluation_texts():
    corpus = data.pretraining_corpus()
    lines = corpus.splitlines()
    assert len(lines) == 5000 and len(corpus) > 250_000
    assert corpus == data.pretraining_corpus()
    held_out = {e.text for e in TASKS["sentiment"].valid + TASKS["sentiment"].test}
    assert not held_out & set(lines)
    assert len(set(lines)) > 3000  # varied, not a few sentences repeated
    products = data.pretraining_corpus("products", n_sentences=300).splitlines()
    assert not any(f" {a} " in f" {line} " for line in products for a in data.ASPECTS["movies"])


# ---- the user's own files --------------------------------------------------------------------------------
def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def test_load_csv_and_jsonl(tmp_path):
    csv_path = write(tmp_path, "reviews.csv", '\ufefftext,label\n"great, really",pos\nawful,neg\nfine,pos\n')
    examples, labels = user_files.load_csv(csv_path)
    assert labels == ["neg", "pos"]
    assert examples == [("great, really", 1), ("awful", 0), ("fine", 1)]
    rows = [{"review": "good", "stars": 10}, {"review": "bad", "stars": 2}]
    jsonl_path = write(tmp_path, "reviews.jsonl", "\n".join(map(json.dumps, rows)) + "\n\n")
    examples, labels = user_files.load_jsonl(jsonl_path, "review", "stars")
    assert labels == ["2", "10"] and examples == [("good", 1), ("bad", 0)]  # numeric order



def test_tab_and_semicolon_separated_files_load_too(tmp_path):
    """The delimiter is the one under which the header names the columns asked for: tabs (.tsv) and
    semicolons (spreadsheets where the decimal mark is a comma) as well as commas."""
    tsv = write(tmp_path, "reviews.tsv", "text\tlabel\ngreat, really\tpos\nawful; truly\tneg\n")
    assert user_files.load_examples(tsv)[0] == [("great, really", 1), ("awful; truly", 0)]
    semicolons = write(tmp_path, "excel.csv", 'review;stars\n"good; fine";5\nbad, sadly;1\n')
    assert user_files.load_csv(semicolons, "review", "stars")[0] == [("good; fine", 1), ("bad, sadly", 0)]
    assert [t.text for t in user_files.load_texts(tsv)] == ["great, really", "awful; truly"]
    commas = write(tmp_path, "commas.csv", "text,label\nfirst; then second,pos\nno;,neg\n")  # the header decides
    assert user_files.load_csv(commas)[0] == [("first; then second", 1), ("no;", 0)]
    with pytest.raises(ValueError, match="excel.csv has no column 'text'; its columns are: 'review', 'stars'$"):
        user_files.load_csv(semicolons)


def test_a_row_with_more_fields_than_the_header_is_an_error_unless_they_are_empty(tmp_path):
    """An unquoted comma in a text would otherwise make its second half the label."""
    path = write(tmp_path, "comma.csv", "text,label\nfine,pos\nthe film was good, really good,pos\n")
    with pytest.raises(ValueError, match="comma.csv, line 3: 3 fields, but the header names 2; put a text that "
                                         "contains ',' in double quotes"):
        user_files.load_csv(path)
    trailing = write(tmp_path, "sheet.csv", "text,label\ngood,pos,,\nbad,neg, \n")  # a spreadsheet's empty cells
    assert user_files.load_csv(trailing)[0] == [("good", 1), ("bad", 0)]


def test_texts_from_jsonl_and_json_files_are_not_read_as_csv(tmp_path):
    for name in ("texts.jsonl", "texts.json"):
        path = write(tmp_path, name, '{"text": "hi, there"}\n{"text": "bye"}\n')
        assert [t.text for t in user_files.load_texts(path)] == ["hi, there", "bye"]


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        user_files.load_csv(tmp_path / "nope.csv")
    path = write(tmp_path, "a.csv", "sentence,label\nhi,pos\n")
    with pytest.raises(ValueError, match="a.csv has no column 'text'; its columns are: 'sentence', 'label'$"):
        user_files.load_csv(path)
    path = write(tmp_path, "b.csv", "text,label\nhi,pos\n  ,neg\n")
    with pytest.raises(ValueError, match="b.csv, line 3: empty text"):
        user_files.load_csv(path)
    path = write(tmp_path, "c.csv", "text,label\nhi,pos\nho,meh\n")
    with pytest.raises(ValueError, match="c.csv, line 3: unknown label 'meh'; allowed labels: neg, pos"):
        user_files.load_csv(path, labels=["neg", "pos"])
    path = write(tmp_path, "d.csv", "text,label\ncafé,pos\nok,neg\n", encoding="latin-1")
    with pytest.raises(ValueError, match="d.csv is not valid utf-8: byte 0xe9 on line 2.*--encoding latin-1"):
        user_files.load_csv(path)
    assert user_files.load_csv(path, encoding="latin-1")[0][0].text == "café"
    path = write(tmp_path, "e.csv", "text,label\nhi,pos\nho,pos\n")
    with pytest.raises(ValueError, match="e.csv: only one class \\('pos'\\)"):
        user_files.load_csv(path)
    path = write(tmp_path, "f.jsonl", '{"text": "hi", "label": "a"}\n{"text": "ho"\n')
    with pytest.raises(ValueError, match="f.jsonl, line 2: not valid JSON"):
        user_files.load_jsonl(path)
    path = write(tmp_path, "g.jsonl", '{"text": "hi", "label": "a"}\n{"txt": "ho", "label": "b"}\n')
    with pytest.raises(ValueError, match="g.jsonl, line 2: no field 'text'; its fields are: 'txt', 'label'$"):
        user_files.load_jsonl(path)
    path = write(tmp_path, "h.jsonl", '{"text": "", "label": "a"}\n')
    with pytest.raises(ValueError, match="h.jsonl, line 1: empty text"):
        user_files.load_jsonl(path)
    with pytest.raises(ValueError, match="unknown encoding 'utf-9'"):
        user_files.load_csv(tmp_path / "a.csv", encoding="utf-9")


def test_a_csv_field_past_the_csv_modules_limit_loads_and_csv_errors_name_the_line(tmp_path, monkeypatch):
    long_text = "word " * 40_000  # 200,000 characters; Python's csv module stops at 131,072 by default
    path = write(tmp_path, "long.csv", f'text,label\nshort,neg\n"{long_text}",pos\n')
    assert user_files.load_csv(path)[0] == [("short", 0), (long_text, 1)]
    limit = csv.field_size_limit()
    monkeypatch.setattr(tables, "CSV_FIELD_LIMIT", 1000)  # any other csv.Error takes the same way out
    try:
        with pytest.raises(ValueError, match=r"long.csv, line 3: a double quote opens a quoted text here .* "
                                             r"\(the CSV reader: field larger than field limit"):
            user_files.load_csv(path)
    finally:
        csv.field_size_limit(limit)  # the limit is the whole process's


def test_a_stray_double_quote_is_named_where_it_opens_rather_than_swallowing_the_rows_after_it(tmp_path):
    rows = [f"text {i},{'pos' if i % 2 else 'neg'}" for i in range(12)]

    def with_lines(changes, name="q.csv"):
        return write(tmp_path, name, "\n".join(["text,label"] + [changes.get(i, r) for i, r in enumerate(rows)]) + "\n")

    never_closed = with_lines({3: '"the best,pos'})
    with pytest.raises(ValueError, match=r"q.csv, line 5: a double quote opens a quoted text here \('\"the best,pos'\) "
                                         r"that does not close where it should \(the CSV reader: unexpected end"):
        user_files.load_csv(never_closed)
    closed_by_another = with_lines({3: '"the best,pos', 8: 'a 5" screen,neg'})
    with pytest.raises(ValueError, match=r"q.csv, line 5: a double quote opens .* \(the CSV reader: ',' expected"):
        user_files.load_csv(closed_by_another)
    closed_at_a_field_end = with_lines({3: '"the best,pos', 8: 'a 5",neg'})  # valid CSV: one text of 6 lines
    with pytest.raises(ValueError, match=r"q.csv, line 5: a double quote opens .* that runs over 6 lines, taking in "
                                         r"rows such as 'the best,pos' as its text; inside a quoted text write"):
        user_files.load_csv(closed_at_a_field_end)
    # quoted texts over several lines, commas and quotes in them, are still read as they should be
    fine = with_lines({3: '"first line, ""quoted""\nsecond, line\nthird",pos'})
    examples, _ = user_files.load_csv(fine)
    assert len(examples) == 12 and examples[3].text == 'first line, "quoted"\nsecond, line\nthird'
    # errors name the line a record starts on, after blank lines
    with pytest.raises(ValueError, match=r"q.csv, line 8: empty text"):
        user_files.load_csv(with_lines({3: '"a\nb",pos\n\n,neg'}))
    with pytest.raises(ValueError, match=r"crlf.csv, line 5: empty text"):  # Windows line ends too
        user_files.load_csv(write(tmp_path, "crlf.csv", "text,label\r\nfoo,pos\r\n\r\n\r\n,neg\r\n"))
    # a line separator that is not a line end (U+2028, inside a text) leaves the lines named as they are
    with pytest.raises(ValueError, match=r"sep.csv, line 5: a double quote opens a quoted text here \('\"the best"):
        user_files.load_csv(with_lines({1: "one\u2028two,pos", 3: '"the best,pos'}, "sep.csv"))


def test_a_stray_quote_in_the_header_is_named_on_line_1(tmp_path):
    with pytest.raises(ValueError, match=r"h.csv, line 1: a double quote opens a quoted text here \('\"text,label'\)"):
        user_files.load_csv(write(tmp_path, "h.csv", '"text,label\nfoo,pos\nbar,neg\n'))


def test_only_a_line_that_reads_as_a_row_with_a_label_in_the_label_column_is_a_swallowed_row(tmp_path):
    one_line = write(tmp_path, "one.csv", 'text,label\n"so good,pos",neg\nfine,pos\n')  # a quoted text on one line
    assert user_files.load_csv(one_line)[0] == [("so good,pos", 0), ("fine", 1)]
    three = write(tmp_path, "three.csv", 'id,text,label\n1,"first\nsecond,pos",pos\n2,dull,neg\n')  # 2 fields of 3
    assert [e.text for e in user_files.load_csv(three)[0]] == ["first\nsecond,pos", "dull"]
    label_first = write(tmp_path, "first.csv", 'label,text\npos,"the best\nneg,dull\npos,fine"\nneg,bad\npos,ok\n')
    with pytest.raises(ValueError, match=r"first.csv, line 2: a double quote opens .* that runs over 3 lines"):
        user_files.load_csv(label_first)


def test_an_old_mac_csv_of_lone_carriage_returns_reads_and_names_its_lines(tmp_path):
    path = write(tmp_path, "mac.csv", "text,label\rgood,pos\rbad,neg\r\"oops,pos\rfine,pos\r")
    with pytest.raises(ValueError, match=r"mac.csv, line 4: a double quote opens a quoted text here \('\"oops,pos'\)"):
        user_files.load_csv(path)
    assert user_files.load_csv(write(tmp_path, "ok.csv", "text,label\rgood,pos\rbad,neg\r"))[0] == [("good", 1),
                                                                                                    ("bad", 0)]


def test_a_tab_separated_files_quotes_are_read_as_text_where_they_open_no_quoted_field(tmp_path):
    lines = ["text\tlabel", '" the best film\tpos', "dull\tneg", 'she said "wow"\tpos', "fine\tpos"]
    examples, _ = user_files.load_csv(write(tmp_path, "glue.tsv", "\n".join(lines) + "\n"))  # GLUE's .tsv style
    assert [e.text for e in examples] == ['" the best film', "dull", 'she said "wow"', "fine"]
    quoted = write(tmp_path, "pandas.tsv", 'text\tlabel\n"tab\there, ""quoted"""\tpos\nok\tneg\n')  # pandas' style
    assert [e.text for e in user_files.load_csv(quoted)[0]] == ['tab\there, "quoted"', "ok"]
    # a quote closed at a field's end rows later: the rows it took in are read, its quotes as text
    closed = write(tmp_path, "closed.tsv", 'text\tlabel\n"the best\tpos\ndull\tneg\nfine"\tpos\nbad\tneg\n')
    assert [e.text for e in user_files.load_csv(closed)[0]] == ['"the best', "dull", 'fine"', "bad"]


def test_a_directory_is_not_a_data_file(tmp_path):
    for load in (user_files.load_csv, user_files.load_texts):
        with pytest.raises(IsADirectoryError, match="is a directory; expected a data file"):
            load(tmp_path)


def test_a_column_named_twice_in_the_header_is_an_error(tmp_path):
    path = write(tmp_path, "twice.csv", "text,text,label\nfirst,second,pos\nthird,fourth,neg\n")
    with pytest.raises(ValueError, match="twice.csv has 2 columns named 'text'; rename all but one"):
        user_files.load_csv(path)
    path = write(tmp_path, "notes.csv", "text,label,note,note\nhi,pos,a,b\nho,neg,c,d\n")
    assert user_files.load_csv(path)[0] == [("hi", 1), ("ho", 0)]  # a repeated column not read does no harm


def test_a_plain_text_file_for_classification_points_to_the_lm_task(tmp_path):
    path = write(tmp_path, "reviews.txt", "great phone\nawful battery\n")
    with pytest.raises(ValueError, match=r"no column 'text'; its columns are: 'great phone' "
                                         r"\(one column: .*--task lm; "):
        user_files.load_examples(path)
    with pytest.raises(ValueError) as two_columns:  # a CSV naming other columns gets no hint
        user_files.load_csv(write(tmp_path, "a.csv", "sentence,label\nhi,pos\n"))
    with pytest.raises(ValueError) as asked_for_text:  # nor does a CSV read for its text alone
        user_files.load_texts(write(tmp_path, "b.csv", "sentence\nhi\nho\n"))
    assert "--task lm" not in str(two_columns.value) + str(asked_for_text.value)


def test_a_whole_number_is_one_label_however_it_is_written(tmp_path):
    rows = [{"text": "a", "label": 1}, {"text": "b", "label": 1.0}, {"text": "c", "label": 0},
            {"text": "d", "label": "0.0"}]
    path = write(tmp_path, "numbers.jsonl", "\n".join(map(json.dumps, rows)))
    examples, labels = user_files.load_jsonl(path)
    assert labels == ["0", "1"] and [e.label for e in examples] == [1, 1, 0, 0]
    assert user_files.load_jsonl(path, labels=["0", "1.0"]) == (examples, labels)
    path = write(tmp_path, "numbers.csv", "text,label\na,1\nb,1.0\nc,0\nd,01\ne,2.5\n")
    examples, labels = user_files.load_csv(path)
    assert labels == ["0", "01", "1", "2.5"]  # "01" is a code, not the number 1
    assert [e.label for e in examples] == [2, 2, 0, 1, 3]


@pytest.mark.parametrize("field, value, kind", [("label", None, "null"), ("label", [1], "an array"),
                                                ("label", {"stars": 4}, "an object"), ("text", 5, "a number"),
                                                ("text", ["a", "b"], "an array"), ("text", None, "null")])
def test_jsonl_fields_of_the_wrong_json_type_are_errors(tmp_path, field, value, kind):
    rows = [{"text": "fine", "label": "pos"}, {"text": "also fine", "label": "neg", field: value}]
    path = write(tmp_path, "types.jsonl", "\n".join(map(json.dumps, rows)))
    expected = "a string or a number" if field == "label" else "a string"
    message = f"types.jsonl, line 2: the {field} in '{field}' is {kind}; expected {expected}$"
    with pytest.raises(ValueError, match=message):
        user_files.load_jsonl(path)
    if field == "text":  # language modelling reads the same texts
        with pytest.raises(ValueError, match=f"types.jsonl, line 2: the text in 'text' is {kind}"):
            user_files.load_texts(path)


def test_the_held_out_validation_set_has_each_class_in_proportion(tmp_path):
    rows = "".join(f"review {i},{'rare' if i % 4 == 0 else 'common'}\n" for i in range(40))  # 10 rare, 30 common
    path = write(tmp_path, "skewed.csv", "text,label\n" + rows)
    valid_sets = set()
    for seed in range(10):
        task = user_files.load_user_task(path, valid_fraction=0.2, seed=seed)
        assert collections.Counter(task.labels[e.label] for e in task.valid) == {"common": 6, "rare": 2}
        assert collections.Counter(task.labels[e.label] for e in task.train) == {"common": 24, "rare": 8}
        assert user_files.load_user_task(path, valid_fraction=0.2, seed=seed) == task
        valid_sets.add(frozenset(task.valid))
    assert len(valid_sets) == 10  # the seed still picks which rows


@pytest.mark.parametrize("rows, valid_fraction", [("a,x\nb,y\n", 0.1), ("a,x\nb,y\nc,z\n", 0.5)])
def test_a_tiny_file_still_gives_both_parts_an_example(tmp_path, rows, valid_fraction):
    # every class's share of the validation set rounds down (half a row each), or up (two thirds)
    task = user_files.load_user_task(write(tmp_path, "tiny.csv", "text,label\n" + rows), valid_fraction=valid_fraction)
    assert task.train and task.valid
    assert sorted(task.train + task.valid) == sorted(user_files.load_csv(tmp_path / "tiny.csv")[0])


def test_load_user_task_splits_off_a_fixed_validation_set(tmp_path):
    rows = "".join(f"review number {i},{'pos' if i % 2 else 'neg'}\n" for i in range(50))
    path = write(tmp_path, "mine.csv", "text,label\n" + rows)
    task = user_files.load_user_task(path, valid_fraction=0.2)
    assert (task.name, task.kind, task.labels) == ("mine", "classification", ["neg", "pos"])
    assert (len(task.train), len(task.valid), task.test) == (40, 10, [])
    assert not {e.text for e in task.train} & {e.text for e in task.valid}
    assert user_files.load_user_task(path, valid_fraction=0.2) == task
    valid = write(tmp_path, "valid.jsonl", json.dumps({"text": "x", "label": "maybe"}))
    with pytest.raises(ValueError, match="unknown label 'maybe'; allowed labels: neg, pos"):
        user_files.load_user_task(path, valid_path=valid)


# ---- batches ------------------------------------------------------------------------------------------------
CORPUS = data.pretraining_corpus(n_sentences=1000)
TOKENIZERS = {"char": CharTokenizer.train(CORPUS + "?"), "bpe": BPETokenizer.train(CORPUS, vocab_size=600)}


@pytest.mark.parametrize("kind", sorted(TOKENIZERS))
def test_classification_batches(kind):
    tok, examples = TOKENIZERS[kind], TASKS["sentiment"].train[:10]
    batch_list = list(data.batches(examples, tok, batch_size=4, seed=3))
    assert [b["labels"].shape for b in batch_list] == [(4,), (4,), (2,)]
    seen = []
    for batch in batch_list:
        assert batch["input_ids"].shape == batch["attention_mask"].shape
        for row, mask_row, label in zip(*(batch[k].tolist() for k in ("input_ids", "attention_mask", "labels"))):
            n = sum(mask_row)
            assert mask_row == [1] * n + [0] * (len(row) - n)
            assert row[0] == tok.bos_id and row[n - 1] == tok.eos_id and set(row[n:]) <= {tok.pad_id}
            seen.append((tok.decode(row), label))
    assert sorted(seen) == sorted(examples)  # each example once, with its label
    again = list(data.batches(examples, tok, batch_size=4, seed=3))
    assert all(a["input_ids"].tolist() == b["input_ids"].tolist() for a, b in zip(batch_list, again))
    assert next(data.batches(examples, tok, batch_size=4, max_len=12))["input_ids"].shape[1] <= 12


@pytest.mark.parametrize("kind", sorted(TOKENIZERS))
@pytest.mark.parametrize("position", ["first", "last"])
def test_tagging_batches_label_one_token_per_word(kind, position):
    tok, examples = TOKENIZERS[kind], TASKS["tagging"].train[:8]
    batch = next(data.batches(examples, tok, batch_size=8, shuffle=False, tag_position=position))
    ids, labels, mask = batch["input_ids"].tolist(), batch["labels"].tolist(), batch["attention_mask"].tolist()
    assert batch["labels"].shape == batch["input_ids"].shape
    for example, row, label_row, mask_row in zip(examples, ids, labels, mask):
        real = [(i, label) for i, label, m in zip(row, label_row, mask_row) if label != IGNORE]
        assert [label for _, label in real] == list(example.tags)  # one label per word, in order
        for (i, _), word in zip(real, example.words):  # the labelled piece is the word's first (last) one
            piece = tok.id_to_token(i).strip()
            assert word.startswith(piece) if position == "first" else word.endswith(piece)
        assert all(label == IGNORE for label, m in zip(label_row, mask_row) if m == 0)
        assert label_row[0] == IGNORE and row[0] == tok.bos_id


@pytest.mark.parametrize("kind", sorted(TOKENIZERS))
def test_qa_batches_point_at_the_answer(kind):
    tok, examples = TOKENIZERS[kind], TASKS["qa"].train[:8]
    batch = next(data.batches(examples, tok, batch_size=8, shuffle=False, max_len=256))
    rows, starts, ends = (batch[key].tolist() for key in ("input_ids", "start", "end"))
    for example, row, start, end in zip(examples, rows, starts, ends):
        assert tok.decode(row[start:end + 1]).strip() == example.answer
        assert tok.sep_id in row[:start]
    with pytest.raises(ValueError, match="raise max_len"):
        next(data.batches(examples, tok, batch_size=8, max_len=12))


def test_a_qa_answer_whose_last_token_the_cut_removes_is_an_error_not_a_span_ending_on_eos():
    """[BOS] q ? [SEP] aa bb cc [EOS]: 14 tokens, "cc" at 11-12. At max_len 13 its second "c" is cut,
    and position 12 holds [EOS]: training the end on [EOS] would teach the model nothing true."""
    tok = CharTokenizer.train(["q ? aa bb cc"])
    example = data.QAExample("q ?", "aa bb cc", 2, 2, "cc")
    batch = next(data.batches([example], tok, 1, max_len=14))  # the answer just fits
    assert (batch["start"].item(), batch["end"].item()) == (11, 12) and batch["input_ids"][0, 13].item() == tok.eos_id
    with pytest.raises(ValueError, match=r"the answer 'cc' ends at token 12, past max_len=13"):
        next(data.batches([example], tok, 1, max_len=13))


def test_encode_words_agrees_with_encoding_the_whole_text():
    for tok in TOKENIZERS.values():
        for example in TASKS["tagging"].train[:50]:
            assert data.encode_words(tok, example.words)[0] == tok.encode(example.text)


def test_batches_accept_plain_tuples_and_user_examples(tmp_path):
    tok = TOKENIZERS["bpe"]
    batch = next(data.batches([("good", 1), ("bad", 0)], tok, batch_size=2, shuffle=False, add_special_tokens=False))
    assert batch["labels"].tolist() == [1, 0] and batch["input_ids"].shape[0] == 2
    with pytest.raises(ValueError, match="tag_position"):
        next(data.batches(TASKS["tagging"].train, tok, 2, tag_position="middle"))


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batch_size_must_be_positive(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {batch_size}"):
        next(data.batches([("good", 1), ("bad", 0)], TOKENIZERS["char"], batch_size))


def test_augmentation_drops_and_swaps_words_reproducibly():
    import random

    from models.data import Example, augment, augment_examples

    text = "the battery is not bad but the screen is awful ."
    assert augment(text, random.Random(0), 0.0, 0.0) == text
    changed = augment(text, random.Random(0), 0.3, 0.3)
    assert changed != text and set(changed.split()) <= set(text.split())
    a = augment_examples([Example(text, 1)] * 3, 0.2, seed=5)
    assert a == augment_examples([Example(text, 1)] * 3, 0.2, seed=5) and all(e.label == 1 for e in a)
    assert augment("word", random.Random(0), 1.0, 0.0) == "word"  # never empty


def test_augmentation_never_drops_or_moves_the_words_it_keeps():
    import random

    from models.data import augment

    words = "one two not three four but five six".split()  # every word once, so positions are unambiguous
    for seed in range(50):
        kept = augment(" ".join(words), random.Random(seed), 0.5, 0.5, keep={"not", "but"}).split()
        assert "not" in kept and "but" in kept
        for word in ("not", "but"):  # no word crosses a kept one: those before it were before it
            assert {w for w in kept[:kept.index(word)]} <= set(words[:words.index(word)])


def test_negative_whole_numbers_are_labels_in_numeric_order(tmp_path):
    path = write(tmp_path, "stars.csv", "text,label\na,1\nb,-1\nc,-2\nd,10\ne,1.00\n")
    examples, labels = user_files.load_csv(path)
    assert labels == ["-2", "-1", "1", "10"]  # "1.00" is 1 too
    assert [e.label for e in examples] == [2, 1, 0, 3, 2]


def test_a_csv_row_short_of_a_column_that_is_read_is_named(tmp_path):
    path = write(tmp_path, "short.csv", "text,label\nhi,pos\nho\n")
    with pytest.raises(ValueError, match=r"short.csv, line 3: 1 field, but the header names 2: no 'label' "
                                         r"\(a separator ',' missing\?\)"):
        user_files.load_csv(path)
    with pytest.raises(ValueError, match=r"three.csv, line 3: 2 fields, but the header names 3: no 'label'"):
        user_files.load_csv(write(tmp_path, "three.csv", "id,text,label\n1,hi,pos\n2,ho\n"))
    unread = write(tmp_path, "notes.csv", "text,label,notes\nhi,pos,seen twice\nho,neg\n")  # a blank last cell
    assert user_files.load_csv(unread)[0] == [("hi", 1), ("ho", 0)]
    with pytest.raises(ValueError, match="line 3: empty label in column 'label'"):  # there but empty: said so
        user_files.load_csv(write(tmp_path, "empty.csv", "text,label\nhi,pos\nho,\n"))


def test_with_keep_unknown_the_labels_not_given_follow_the_given_ones_sorted(tmp_path):
    rows = [("a", "pos"), ("b", "meh"), ("c", "awful"), ("d", "neg")]
    csv_path = write(tmp_path, "k.csv", "text,label\n" + "".join(f"{text},{label}\n" for text, label in rows))
    jsonl_path = write(tmp_path, "k.jsonl", "".join(json.dumps({"text": text, "label": label}) + "\n"
                                                    for text, label in rows))
    for path in (csv_path, jsonl_path):
        examples, names = user_files.load_examples(path, labels=["neg", "pos"], keep_unknown=True)
        assert names == ["neg", "pos", "awful", "meh"] and [e.label for e in examples] == [1, 3, 2, 0]
        with pytest.raises(ValueError, match="unknown label 'meh'"):  # without it, an error
            user_files.load_examples(path, labels=["neg", "pos"])


def test_a_jsonl_line_that_is_not_an_object_is_named(tmp_path):
    path = write(tmp_path, "list.jsonl", '{"text": "hi", "label": "a"}\n["ho", "b"]\n')
    with pytest.raises(ValueError, match="list.jsonl, line 2: expected a JSON object, got list"):
        user_files.load_jsonl(path)


def test_json_files_of_any_case_are_read_as_jsonl(tmp_path):
    rows = '{"text": "good", "label": "pos"}\n{"text": "bad", "label": "neg"}\n'
    for name in ("a.json", "b.JSONL"):
        assert user_files.load_examples(write(tmp_path, name, rows)) == ([("good", 1), ("bad", 0)], ["neg", "pos"])


def test_a_test_file_is_labelled_with_the_training_files_classes(tmp_path):
    train = write(tmp_path, "train.csv", "text,label\na,neg\nb,pos\nc,neutral\n")
    test = write(tmp_path, "test.csv", "text,label\nd,pos\ne,pos\n")  # one class only: fine for a test set
    task = user_files.load_user_task(train, test_path=test)
    assert task.labels == ["neg", "neutral", "pos"] and [e.label for e in task.test] == [2, 2]
    with pytest.raises(ValueError, match="unknown label 'meh'"):
        user_files.load_user_task(train, test_path=write(tmp_path, "bad.csv", "text,label\nd,meh\ne,pos\n"))


def test_each_class_gets_its_rounded_share_of_the_validation_set():
    examples = [data.Example(f"a{i}", 0) for i in range(7)] + [data.Example(f"b{i}", 1) for i in range(3)]
    train, valid, test = data.stratified_split(examples, n_valid=3, n_test=0, seed=0)
    assert sorted(e.label for e in valid) == [0, 0, 1]  # 2.1 rows of class 0, 0.9 of class 1
    assert len(train) == 7 and test == []


def test_many_small_classes_still_hold_out_the_asked_share_in_all():
    examples = [data.Example(f"text {c} {k}", c) for c in range(40) for k in range(5)]  # 40 classes of 5
    train, valid, test = data.stratified_split(examples, n_valid=20, n_test=10, seed=0)
    assert (len(train), len(valid), len(test)) == (170, 20, 10)  # rounded class by class: 0 each
    assert max(collections.Counter(e.label for e in valid).values()) == 1  # spread over 20 classes
    assert data.shares(5, [4] * 12) == [1] * 5 + [0] * 7 and data.shares(3, [7, 3]) == [2, 1]
    one_row_classes = [data.Example(f"text {c}", c) for c in range(6)]
    train, valid, test = data.stratified_split(one_row_classes, n_valid=2, n_test=2, seed=0)
    assert (len(train), len(valid), len(test)) == (2, 2, 2)  # valid's shares come from what test left


def test_user_text_keeps_a_text_for_training_and_reads_a_validation_file(tmp_path):
    two = write(tmp_path, "two.txt", "first line\nsecond line\n")
    task = user_files.load_user_text(two, valid_fraction=0.9)
    assert len(task.train) == 1 and len(task.valid) == 1
    valid = write(tmp_path, "valid.txt", "held out one\nheld out two\n")
    task = user_files.load_user_text(two, valid_path=valid)
    assert [e.text for e in task.train] == ["first line", "second line"]
    assert [e.text for e in task.valid] == ["held out one", "held out two"]


def test_an_uncountable_aspect_takes_no_article():
    it_has = "{subject} {has} {a} {opinion} {aspect}"
    review = sentence("{0}", [clause("acting", "great", template=it_has, subject="it")], "movies")
    assert review.text == "it has great acting ."
    review = sentence("{0}", [clause("camera", "great", template=it_has, subject="it")], "products")
    assert review.text == "it has a great camera ."


def test_augmentation_never_swaps_a_word_into_a_kept_ones_place():
    import random

    from models.data import augment

    # swapping always, but "not" stays second: neither of its neighbours may trade places with it
    assert augment("a not b", random.Random(0), 0.0, 1.0, keep={"not"}) == "a not b"


def test_augmented_examples_are_both_dropped_and_swapped():
    from models.data import Example, augment_examples

    words = "one two three four five six seven eight nine ten".split()
    out = [e.text.split() for e in augment_examples([Example(" ".join(words), 1)] * 20, 0.3, seed=0)]
    assert any(len(o) < len(words) for o in out)  # dropped
    assert any(o != sorted(o, key=words.index) for o in out)  # swapped: out of the original order


def test_a_json_file_holding_an_array_of_objects_loads_and_errors_name_the_item(tmp_path):
    """A JSON array of objects, often spread over many lines, is what many tools export as .json."""
    rows = [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg"}]
    path = write(tmp_path, "export.json", "\n" + json.dumps(rows, indent=2))
    assert user_files.load_examples(path) == ([("good", 1), ("bad", 0)], ["neg", "pos"])
    assert [t.text for t in user_files.load_texts(path)] == ["good", "bad"]
    wrong = {"item 2: empty text in column 'text'": [rows[0], {"text": " ", "label": "neg"}],
             "item 2: expected a JSON object, got list": [rows[0], ["bad", "neg"]],
             "item 3: no field 'label'; its fields are: 'text'$": rows + [{"text": "meh"}],
             "item 2: the label in 'label' is null": [rows[0], {"text": "bad", "label": None}]}
    for message, items in wrong.items():
        path = write(tmp_path, "wrong.json", json.dumps(items, indent=2))
        with pytest.raises(ValueError, match=f"wrong.json, {message}"):
            user_files.load_examples(path)
    path = write(tmp_path, "c.json", json.dumps(rows, indent=2))
    with pytest.raises(ValueError, match="c.json, item 1: unknown label 'pos'; allowed labels: neg, bad"):
        user_files.load_examples(path, labels=["neg", "bad"])
    with pytest.raises(ValueError, match="empty.json has no rows of data"):
        user_files.load_examples(write(tmp_path, "empty.json", "[]"))
    with pytest.raises(ValueError, match="broken.json, line 3: not valid JSON"):  # a line, where there is one
        user_files.load_examples(write(tmp_path, "broken.json", '[\n  {"text": "good", "label": "pos"},\n  {"text": }\n]'))
    with pytest.raises(ValueError, match="texts.json, item 2: the text in 'text' is a number"):
        user_files.load_texts(write(tmp_path, "texts.json", '[{"text": "one"}, {"text": 2}]'))


def test_a_jsonl_file_holding_a_json_array_is_told_to_be_renamed(tmp_path):
    path = write(tmp_path, "export.jsonl", '  [{"text": "good", "label": "pos"},\n {"text": "bad", "label": "neg"}]')
    with pytest.raises(ValueError, match=r"export.jsonl looks like a JSON array \(it starts with '\['\), not JSON "
                                         r"Lines .*; rename it to .json"):
        user_files.load_examples(path)
    renamed = path.rename(tmp_path / "export.json")
    assert user_files.load_examples(renamed) == ([("good", 1), ("bad", 0)], ["neg", "pos"])


def test_a_column_named_but_for_case_or_spaces_is_suggested_as_the_option_to_pass(tmp_path):
    """" label" (from a header written "text, label") lists as an unremarkable label unless quoted."""
    spaced = write(tmp_path, "spaced.csv", "text, label\ngood,pos\nbad,neg\n")
    with pytest.raises(ValueError, match="spaced.csv has no column 'label'; its columns are: 'text', ' label'; "
                                         "did you mean --label-column ' label'\\?$"):
        user_files.load_csv(spaced)
    assert user_files.load_csv(spaced, label_column=" label")[0] == [("good", 1), ("bad", 0)]  # the suggestion works
    capitals = write(tmp_path, "capitals.csv", "Text,Label\ngood,pos\nbad,neg\n")
    with pytest.raises(ValueError, match="no column 'text'; its columns are: 'Text', 'Label'; "
                                         "did you mean --text-column Text\\?$"):
        user_files.load_csv(capitals)
    with pytest.raises(ValueError, match="no column 'label'; .*; did you mean --label-column Label\\?$"):
        user_files.load_csv(capitals, text_column="Text")
    with pytest.raises(ValueError, match="did you mean --text-column Text\\?$"):
        user_files.load_texts(capitals)
    # a lone near miss is a column to name, not a sign of plain text
    with pytest.raises(ValueError, match="its columns are: 'Text'; did you mean --text-column Text\\?$"):
        user_files.load_csv(write(tmp_path, "one.csv", "Text\ngood\nbad\n"))
    # a column option written with other capitals than the file's header: the header's spelling is suggested
    with pytest.raises(ValueError, match="no column 'Label'; .*; did you mean --label-column label\\?$"):
        user_files.load_csv(write(tmp_path, "lower.csv", "text,label\ngood,pos\n"), label_column="Label")
    jsonl = write(tmp_path, "fields.jsonl", '{"Text": "good", "label": "pos"}\n')
    with pytest.raises(ValueError, match="fields.jsonl, line 1: no field 'text'; its fields are: 'Text', 'label'; "
                                         "did you mean --text-column Text\\?$"):
        user_files.load_jsonl(jsonl)


def test_a_utf16_file_is_named_as_such_and_reads_with_encoding_utf16(tmp_path):
    """Windows tools write UTF-16 with a byte-order mark; latin-1 is the wrong advice for it."""
    content = "text,label\ncafé,pos\nok,neg\n"
    path = write(tmp_path, "wide.csv", content, encoding="utf-16")  # the mark, then the text
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    for encoding in ("utf-8", "latin-1"):
        with pytest.raises(ValueError, match=f"wide.csv is UTF-16 text \\(it starts with a UTF-16 byte-order "
                                             f"mark\\), not {encoding}; pass --encoding utf-16$"):
            user_files.load_csv(path, encoding=encoding)
    expected = ([("café", 1), ("ok", 0)], ["neg", "pos"])
    assert user_files.load_csv(path, encoding="utf-16") == expected
    big_endian = tmp_path / "big.csv"
    big_endian.write_bytes(b"\xfe\xff" + content.encode("utf-16-be"))
    assert user_files.load_csv(big_endian, encoding="utf-16") == expected
    assert user_files.load_csv(big_endian, encoding="UTF-16BE") == expected  # the mark is not read as text
    wider = write(tmp_path, "wider.csv", content, encoding="utf-32")  # FF FE 00 00 starts like UTF-16
    with pytest.raises(ValueError, match="wider.csv is UTF-32 text .*; pass --encoding utf-32$"):
        user_files.load_csv(wider, encoding="utf-16")
    assert user_files.load_csv(wider, encoding="utf-32") == expected


def test_a_big_endian_utf32_file_is_named_as_such(tmp_path):
    """UTF-32's big-endian mark, 00 00 FE FF, starts like neither UTF-16 mark."""
    path = tmp_path / "big32.csv"
    path.write_bytes(b"\x00\x00\xfe\xff" + "text,label\ngood,pos\nbad,neg\n".encode("utf-32-be"))
    with pytest.raises(ValueError, match="big32.csv is UTF-32 text .*; pass --encoding utf-32$"):
        user_files.load_csv(path)
    assert user_files.load_csv(path, encoding="utf-32") == ([("good", 1), ("bad", 0)], ["neg", "pos"])


def test_has_column_looks_at_the_header_or_the_first_object_and_leaves_a_bad_file_to_its_reader(tmp_path):
    assert tables.has_column(write(tmp_path, "a.csv", "text,label\ngood,pos\n"), "label")
    assert tables.has_column(write(tmp_path, "b.tsv", "text\tlabel\ngood\tpos\n"), "label")
    assert not tables.has_column(write(tmp_path, "c.csv", "text,stars\ngood,5\n"), "label")
    assert tables.has_column(write(tmp_path, "d.jsonl", '{"text": "good", "label": "pos"}\n'), "label")
    assert not tables.has_column(write(tmp_path, "e.jsonl", '{"text": "good"}\n'), "label")
    assert not tables.has_column(write(tmp_path, "f.txt", "label\n"), "label")  # plain text has no columns
    assert not tables.has_column(write(tmp_path, "g.jsonl", '{"text": "good", "label": \n'), "label")  # not JSON
    assert not tables.has_column(write(tmp_path, "h.jsonl", '["good", "pos"]\n'), "label")  # not an object
