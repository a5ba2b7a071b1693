"""The user's own data files, read into the same examples and TaskData as the bundled tasks
(models/data.py), with errors that name the file, the line and what was expected.

    load_user_task("my.csv")      labelled sentences: .csv / .tsv (commas, tabs or semicolons),
                                  .jsonl (one object per line) or a .json array of objects
    load_user_text("my.txt")      plain text for language modelling: one text per line (or a
                                  text column of the formats above)
    load_user_tagging("my.conll") tagged sentences: JSON {"words": [...], "tags": [...]}, or
                                  CoNLL-style word-tag lines with a blank line between sentences
    load_user_qa("my.jsonl")      questions: {"question", "context", "answer"}, the answer a run
                                  of the context's words

Without a validation file, a seeded share of the training file is held out for validation.
Reading a file's text and its rows (CSV, TSV, JSON): models/tables.py.
"""
import json
import math
import random
import re
from collections import Counter
from pathlib import Path

from models import tables
from models.data import Example, QAExample, TaggedExample, TaskData, TextExample, stratified_split


def _label_order(name):
    """Numeric label names in numeric order ("2" before "10"), then the rest alphabetically.
    The name breaks a tie ("01" and "1"), or the order would change from run to run with the set's."""
    return (0, int(name), name) if re.fullmatch(r"-?\d+", name) else (1, 0, name)


def _text_field(value, path, line, column):
    """A text field's value, checked to be a string that is not blank."""
    if not isinstance(value, str):  # a JSON number or array; str() would make up a text
        raise ValueError(f"{path}, {tables.place(line)}: the text in {column!r} is {tables.json_kind(value)}; expected a string")
    if not value.strip():
        raise ValueError(f"{path}, {tables.place(line)}: empty text in column {column!r}")
    return value


def _label_name(value):
    """A label as the name of its class: its text, but a whole number written with a zero fraction
    is the integer, so 1, 1.0 and "1.0" are all class "1".

    This holds in a CSV file too, where every label is text: a "1.0" there almost always means the
    number 1 (pandas writes an integer column with a missing value as floats), and a validation file
    saved that way should not be full of "unknown" labels. "01" stays "01": a code, not a number."""
    name = str(value).strip()
    whole_number = re.fullmatch(r"(-?\d+)\.0+", name)
    return whole_number[1] if whole_number else name


def _label_field(value, path, line, column):
    """A label field's class name (see _label_name), checked to name one."""
    where = f"{path}, {tables.place(line)}"
    if not isinstance(value, (str, int, float)):  # a JSON object, array or null names no class
        raise ValueError(f"{where}: the label in {column!r} is {tables.json_kind(value)}; "
                         "expected a string or a number")
    # a missing number (a float NaN) is NaN in JSON as Python writes it, where a CSV file has an empty cell
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: the label in {column!r} is {json.dumps(value)}, which names no class; "
                         "expected a string or a finite number")
    name = _label_name(value)
    if not name:
        raise ValueError(f"{where}: empty label in column {column!r}")
    return name


SHOWN_PLACES = 5  # an error about many rows names this many of them


def _and_more(places, what):
    """" (and 41 more rows {what}: lines 9, 17, ... and 36 more)" for the places after the first, else "": one
    bad row and a whole bad column are different fixes, and a file of 50,000 rows should not take a run per
    bad row to find them all."""
    others = places[1:]
    if not others:
        return ""
    unit = "line" if isinstance(others[0], int) else "item"  # a JSON array's "item 3"
    shown = ", ".join(str(position).removeprefix("item ") for position in others[:SHOWN_PLACES])
    left = len(others) - SHOWN_PLACES
    return (f" (and {len(others):,} more {plural('row', len(others))} {what}: {plural(unit, len(others))} {shown}"
            + (f" and {left:,} more)" if left > 0 else ")"))


def plural(noun, count):
    return noun if count == 1 else noun + "s"


def _examples(rows, path, text_column, label_column, labels, keep_unknown=False):
    found, bad = [], []  # (line, text, label name); (line, the error of its first bad field)
    for line, row in rows:
        try:
            found.append((line, _text_field(row[text_column], path, line, text_column),
                          _label_field(row[label_column], path, line, label_column)))
        except ValueError as error:
            bad.append((line, error))
    if bad:
        raise ValueError(f"{bad[0][1]}{_and_more([line for line, _ in bad], 'with an empty or invalid field')}")
    if not found:
        raise ValueError(f"{path} has no rows of data")
    if labels:
        names = [_label_name(name) for name in labels]
        if keep_unknown:  # a file scored against a model's classes: its other labels follow them
            names += sorted({label for *_, label in found} - set(names), key=_label_order)
    else:
        names = sorted({label for *_, label in found}, key=_label_order)
    index = {name: i for i, name in enumerate(names)}
    unknown = [(line, label) for line, _, label in found if label not in index]
    if unknown:
        counts = Counter(label for _, label in unknown)
        tally = "; the unknown labels: " + ", ".join(f"{name!r} ({n:,} {plural('row', n)})"
                                                     for name, n in counts.most_common()) if len(unknown) > 1 else ""
        more = _and_more([line for line, _ in unknown], "with a label not allowed")
        raise ValueError(f"{path}, {tables.place(unknown[0][0])}: unknown label {unknown[0][1]!r}; allowed labels: "
                         f"{', '.join(names)}{more}{tally}")
    if len(names) < 2:
        raise ValueError(f"{path}: only one class ({names[0]!r}); a classifier needs at least two")
    return [Example(text, index[label]) for _, text, label in found], names


def load_csv(path, text_column="text", label_column="label", encoding="utf-8", labels=None, keep_unknown=False):
    """Read (text, label index) examples and the label names from a CSV file with a header row.
    Without `labels`, the names are the labels found, sorted; with it, any other label is an error,
    or with keep_unknown, the names are `labels` followed by the others found, sorted."""
    rows = tables.csv_rows(tables.read_text(path, encoding), path, [text_column, label_column])
    return _examples(rows, path, text_column, label_column, labels, keep_unknown)


def load_jsonl(path, text_column="text", label_column="label", encoding="utf-8", labels=None, keep_unknown=False):
    """Like load_csv, for a file of one JSON object per line."""
    rows = tables.jsonl_rows(tables.read_text(path, encoding), path, [text_column, label_column])
    return _examples(rows, path, text_column, label_column, labels, keep_unknown)


def load_examples(path, **options):
    """load_jsonl for .jsonl/.json files, load_csv for anything else."""
    return (load_jsonl if Path(path).suffix.lower() in tables.JSON_SUFFIXES else load_csv)(path, **options)


def _hold_out(examples, valid_fraction, seed):
    """(train, valid): about valid_fraction of at least 2 examples (the same ones for the same seed)
    held out for validation, at least one in each part. Classification examples are held out
    class by class (stratified_split), so each class has its share of the validation set: drawn
    at random, a small one could hold a single class, and its accuracy would say little."""
    n_valid = min(max(1, round(valid_fraction * len(examples))), len(examples) - 1)
    if not isinstance(examples[0], Example):  # plain texts: no classes to keep in proportion
        examples = examples[:]
        random.Random(seed).shuffle(examples)
        return examples[n_valid:], examples[:n_valid]
    train, valid, _ = stratified_split(examples, n_valid, 0, seed)  # exactly n_valid: both parts have some
    return train, valid


def load_user_task(train_path, valid_path=None, test_path=None, text_column="text", label_column="label",
                   encoding="utf-8", labels=None, valid_fraction=0.1, seed=0):
    """A classification TaskData from the user's files. Without a validation file, about valid_fraction
    of the training rows, each class in proportion (the same rows for the same seed), becomes the
    validation set."""
    options = dict(text_column=text_column, label_column=label_column, encoding=encoding)
    train, names = load_examples(train_path, labels=labels, **options)
    if valid_path:
        valid = load_examples(valid_path, labels=names, **options)[0]
    else:  # two classes mean at least two rows, so both parts get one
        train, valid = _hold_out(train, valid_fraction, seed)
    test = load_examples(test_path, labels=names, **options)[0] if test_path else []
    return TaskData(Path(train_path).stem, "classification", names, train, valid, test)


def read_texts(path, text_column="text", encoding="utf-8"):
    """The texts of a file: the text column of a .csv or .tsv (with a header row) or a .jsonl
    file; any other file is plain text, one text per non-blank line."""
    suffix = Path(path).suffix.lower()
    text = tables.read_text(path, encoding)
    if suffix not in tables.TABLE_SUFFIXES:
        return [line for line in tables.text_lines(text) if line.strip()]
    rows = (tables.jsonl_rows if suffix in tables.JSON_SUFFIXES else tables.csv_rows)(text, path, [text_column])
    return [_text_field(row[text_column], path, line, text_column) for line, row in rows]


def load_texts(path, text_column="text", encoding="utf-8"):
    """TextExamples for language modelling from a file (see read_texts), at least two."""
    texts = read_texts(path, text_column, encoding)
    if len(texts) < 2:
        raise ValueError(f"{path} has {len(texts)} text(s); language modelling needs at least 2 "
                         "(one to train on, one to validate on)")
    return [TextExample(t) for t in texts]


def load_user_text(train_path, valid_path=None, text_column="text", encoding="utf-8", valid_fraction=0.1, seed=0):
    """A language-modelling TaskData (kind "lm") from the user's text (see load_texts). Without a
    validation file, a shuffled valid_fraction of the texts (the same for the same seed) is held out."""
    train = load_texts(train_path, text_column, encoding)
    if valid_path:
        valid = load_texts(valid_path, text_column, encoding)
    else:
        train, valid = _hold_out(train, valid_fraction, seed)
    return TaskData(Path(train_path).stem, "lm", [], train, valid, [])


# ---- the user's own tagged sentences and questions ------------------------------------------------
# A tagging file is either JSON (one object per sentence, the words and the tags as two arrays):
#
#     {"words": ["the", "battery", "is", "good", "."], "tags": ["O", "ASPECT", "O", "OPINION", "O"]}
#
# or, with any other suffix, CoNLL-style: a word and its tag on each line, a blank line between sentences:
#
#     the       O
#     battery   ASPECT
#
# A question-answering file is JSON, one object per question, the answer a run of the context's words:
#
#     {"question": "what about the battery ?", "context": "the battery is not bad .", "answer": "not bad"}
TAGGING_FIELDS = ("words", "tags")  # a JSON tagging file's fields, unless --text-column / --label-column say others
QA_FIELDS = ("question", "context", "answer")


def _token_list(value, where, field_name, noun):
    """A JSON field holding one string per word (the words, or their tags), checked. Each must be one
    whitespace-free token: the sentence is its words joined by spaces, and split at spaces again."""
    if not isinstance(value, list):
        hint = " (split the sentence into its words)" if isinstance(value, str) and noun == "word" else ""
        raise ValueError(f"{where}: {field_name!r} is {tables.json_kind(value)}; expected an array of {noun}s, one string "
                         f"per word{hint}")
    for number, item in enumerate(value, 1):
        if noun == "tag" and isinstance(item, int) and not isinstance(item, bool):
            item = value[number - 1] = str(item)  # a tag id, as datasets exports them ("ner_tags": [0, 3, ...])
        if not isinstance(item, str):
            raise ValueError(f"{where}: {noun} {number} in {field_name!r} is {tables.json_kind(item)}; expected a string")
        if not item.strip():
            raise ValueError(f"{where}: {noun} {number} in {field_name!r} is empty")
        if len(item.split()) > 1 or item != item.strip():
            raise ValueError(f"{where}: {noun} {number} in {field_name!r}, {item!r}, has a space in it; expected one "
                             f"{noun} without spaces (a sentence is split into words at its spaces)")
    return value


def _json_tagged(text, path, words_field, tags_field):
    """(words, tags, where each tag is) for each object of a JSON tagging file."""
    for position, row in tables.jsonl_rows(text, path, [words_field, tags_field]):
        where = f"{path}, {tables.place(position)}"
        words = _token_list(row[words_field], where, words_field, "word")
        tags = _token_list(row[tags_field], where, tags_field, "tag")
        if not words:
            raise ValueError(f"{where}: empty sentence: {words_field!r} has no words")
        if len(words) != len(tags):
            raise ValueError(f"{where}: {len(words)} words but {len(tags)} tags; expected one tag per word")
        yield words, tags, [f"{tables.place(position)}, tag {number}" for number in range(1, len(tags) + 1)]


CONLL_HEADER_WORDS = {"word", "words", "token", "tokens", "form", "text"}
CONLL_HEADER_TAGS = {"tag", "tags", "label", "labels", "ner", "ner_tag", "ner_tags", "pos", "pos_tag", "chunk"}


def _is_header(fields):
    """Whether a CoNLL file's first line names its columns rather than tagging a word."""
    return fields[0].lower() in CONLL_HEADER_WORDS and fields[-1].lower() in CONLL_HEADER_TAGS


def _conll_tagged(text, path):
    """(words, tags, the line of each tag) for each sentence of a CoNLL-style file: a word and its tag on
    each line, separated by a tab or spaces; a blank line (or several) ends a sentence. A line of more
    fields is read as CoNLL-2003's (word, part of speech, chunk, tag): the first is the word, the last
    its tag. Comment lines (CoNLL-U's "# sent_id = 1") and CoNLL-2003's -DOCSTART- lines are skipped,
    and so is a header line ("word<TAB>tag", as a spreadsheet or pandas writes one)."""
    words, tags, lines = [], [], []
    first = True
    for number, line in enumerate(tables.text_lines(text) + [""], 1):  # the "" ends the last sentence
        fields = conll_fields(line)
        if fields and (line.startswith("#") or fields[0] == "-DOCSTART-" or first and _is_header(fields)):
            continue
        first = first and not fields
        if not fields:
            if words:
                yield words, tags, lines
            words, tags, lines = [], [], []
            continue
        if len(fields) == 1:
            raise ValueError(f"{path}, line {number}: the word {fields[0]!r} has no tag; expected a word and its tag, "
                             "separated by a tab or spaces (a blank line between sentences)")
        if len(fields[0].split()) > 1:  # a tab-separated word with a space: the words are split at spaces later
            raise ValueError(f"{path}, line {number}: the word {fields[0]!r} has a space in it; expected one word "
                             "per line (a sentence is split into words at its spaces)")
        words.append(fields[0])
        tags.append(fields[-1])
        lines.append(f"line {number}")


def conll_fields(line):
    """A CoNLL line's fields: split at tabs where it has one, else at runs of spaces (not at other
    whitespace: 'battery\u00a0life' is one field, as a word with a non-breaking space in it)."""
    separator = "\t" if "\t" in line else " "
    return [field.strip() for field in line.split(separator) if field.strip()]


def load_tagged(path, words_field="words", tags_field="tags", encoding="utf-8", tags=None):
    """(TaggedExamples, tag names) from a .jsonl / .json file of {words_field: [...], tags_field: [...]}
    objects, or any other file CoNLL-style (see above). Without `tags`, the names are the tags found,
    sorted; with it (those the model is trained with: the training file's), any other tag is an error."""
    if words_field == tags_field:
        raise ValueError(f"the words and the tags are both read from the field {words_field!r}; name two fields")
    text = tables.read_text(path, encoding)
    is_json = Path(path).suffix.lower() in tables.JSON_SUFFIXES
    sentences = list(_json_tagged(text, path, words_field, tags_field) if is_json else _conll_tagged(text, path))
    if not sentences:
        raise ValueError(f"{path} has no sentences: expected " + (
            f'one object per sentence, {{"{words_field}": [...], "{tags_field}": [...]}}' if is_json else
            "a word and its tag on each line, a blank line between sentences"))
    names = list(tags) if tags else sorted({tag for _, sentence_tags, _ in sentences for tag in sentence_tags},
                                           key=_label_order)
    if len(names) < 2:
        raise ValueError(f"{path}: every word is tagged {names[0]!r}; a tagger needs at least two tags to choose from")
    index = {name: i for i, name in enumerate(names)}
    for _, sentence_tags, places in sentences:
        for tag, place in zip(sentence_tags, places):
            if tag not in index:
                raise ValueError(f"{path}, {place}: unknown tag {tag!r}; allowed tags (those the model is trained with): "
                                 f"{', '.join(names)}")
    examples = [TaggedExample(tuple(words), tuple(index[tag] for tag in sentence_tags))
                for words, sentence_tags, _ in sentences]
    return examples, names


def answer_span(context_words, answer_words):
    """(start, end), the inclusive word indices of the first run of context words that are the answer's
    words, or None where there is none."""
    n = len(answer_words)
    return next(((start, start + n - 1) for start in range(len(context_words) - n + 1)
                 if context_words[start:start + n] == answer_words), None)


def _missing_answer_hint(context, answer):
    """Why an answer that is not a run of the context's words is not found, where it is nearly one."""
    if answer_span(context.casefold().split(), answer.casefold().split()):
        return " (it is there with other capitals: the answer must be written as the context writes it)"
    if " ".join(answer.split()) in " ".join(context.split()):
        return (" (it is inside other words: the context is split into words at its spaces, so 'bad.' is not "
                "'bad'; answer with whole words, or put spaces around the punctuation in both)")
    return "; expected words of the context, in its order"


def load_qa(path, encoding="utf-8"):
    """QAExamples from a .jsonl / .json file of {"question", "context", "answer"} objects (all three
    strings). The answer is the first run of the context's words (split at spaces) that are its words."""
    if Path(path).suffix.lower() not in tables.JSON_SUFFIXES:
        raise ValueError(f"{path}: question answering reads .jsonl (one object per line) or a .json array of "
                         f"objects with the fields {', '.join(QA_FIELDS)}")
    examples = []
    for position, row in tables.jsonl_rows(tables.read_text(path, encoding), path, []):
        missing = [name for name in QA_FIELDS if name not in row]
        if missing:  # checked here, not by tables.jsonl_rows: these names are fixed, no --text-column renames them
            raise ValueError(f"{path}, {tables.place(position)}: no field {missing[0]!r}; expected the fields "
                             f"{', '.join(QA_FIELDS)}, and its fields are: {tables.name_list(list(row))}")
        question, context, answer = (_text_field(row[name], path, position, name) for name in QA_FIELDS)
        context_words = context.split()
        span = answer_span(context_words, answer.split())
        if span is None:
            raise ValueError(f"{path}, {tables.place(position)}: the answer {answer!r} is not in the context as a run of "
                             f"whole words{_missing_answer_hint(context, answer)}")
        start, end = span
        examples.append(QAExample(question.strip(), " ".join(context_words), start, end,
                                  " ".join(context_words[start:end + 1])))
    if not examples:
        raise ValueError(f"{path} has no questions: expected one object per question, with the fields "
                         f"{', '.join(QA_FIELDS)}")
    return examples


def _split_off_valid(train, train_path, valid_fraction, seed, noun):
    """(train, valid) without a validation file: a shuffled hold-out (tags and answers have no classes
    to keep in proportion), which needs two examples."""
    if len(train) < 2:
        raise ValueError(f"{train_path} has only one {noun}; without --valid FILE at least two are needed "
                         "(one to train on, one to validate on)")
    return _hold_out(train, valid_fraction, seed)


def load_user_tagging(train_path, valid_path=None, test_path=None, words_field="words", tags_field="tags",
                      encoding="utf-8", valid_fraction=0.1, seed=0):
    """A tagging TaskData from the user's files (see load_tagged): the tags are those of the training
    file; without a validation file, a shuffled valid_fraction of its sentences is held out."""
    options = dict(words_field=words_field, tags_field=tags_field, encoding=encoding)
    train, names = load_tagged(train_path, **options)
    if valid_path:
        valid = load_tagged(valid_path, tags=names, **options)[0]
    else:
        train, valid = _split_off_valid(train, train_path, valid_fraction, seed, "sentence")
    test = load_tagged(test_path, tags=names, **options)[0] if test_path else []
    return TaskData(Path(train_path).stem, "tagging", names, train, valid, test)


def load_user_qa(train_path, valid_path=None, test_path=None, encoding="utf-8", valid_fraction=0.1, seed=0):
    """A question-answering TaskData from the user's files (see load_qa); without a validation file, a
    shuffled valid_fraction of the training questions is held out."""
    train = load_qa(train_path, encoding)
    if valid_path:
        valid = load_qa(valid_path, encoding)
    else:
        train, valid = _split_off_valid(train, train_path, valid_fraction, seed, "question")
    test = load_qa(test_path, encoding) if test_path else []
    return TaskData(Path(train_path).stem, "qa", [], train, valid, test)


def looks_tagged(path, tags, words_field="words", encoding="utf-8"):
    """Whether a file holds tagged sentences rather than plain texts (`minigrad predict`, a tagger's
    --input): a JSON file whose first object has words_field, or a CoNLL-style file: every non-blank,
    non-comment line has a word and a tag, and at least half of them end in one of `tags` (plain
    sentences that end in a tag name on half their lines are unlikely). Not all: a tag the model was
    not trained with must reach load_tagged, which names it, rather than turn the file into texts."""
    if Path(path).suffix.lower() in tables.JSON_SUFFIXES:
        return tables.has_column(path, words_field, encoding)
    lines = [conll_fields(line) for line in tables.text_lines(tables.read_text(path, encoding))
             if line.strip() and not line.startswith("#") and line.split()[0] != "-DOCSTART-"]
    lines = lines[1:] if lines and _is_header(lines[0]) else lines
    return (bool(lines) and all(len(fields) >= 2 for fields in lines)
            and 2 * sum(fields[-1] in tags for fields in lines) >= len(lines))


def read_questions(path, encoding="utf-8"):
    """(questions, contexts, answers or None) from a .jsonl / .json file of {"question", "context"}
    objects, each with an "answer" (then scored) or none."""
    rows = list(tables.jsonl_rows(tables.read_text(path, encoding), path, ["question", "context"]))
    if not rows:
        raise ValueError(f"{path} has no questions: expected one object per question, with the fields question, "
                         "context (and answer, to be scored)")
    fields = [[_text_field(row[name], path, position, name) for name in ("question", "context")]
              for position, row in rows]
    answered = [("answer" in row) for _, row in rows]
    if any(answered) and not all(answered):
        position = rows[answered.index(False)][0]
        raise ValueError(f"{path}, {tables.place(position)}: no field 'answer', which the rows before have; give every "
                         "question its answer (to be scored) or none")
    answers = [_text_field(row["answer"], path, position, "answer") for position, row in rows] if all(answered) \
        else None
    return [q for q, _ in fields], [c for _, c in fields], answers

