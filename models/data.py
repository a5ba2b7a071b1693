"""The bundled corpus and tasks, the user's own CSV/JSONL files, and batching.

The bundled data is written by a seeded grammar of short product and movie reviews, so
every label is known exactly, not annotated:

    "honestly , the battery is not bad , but the delivery is slow ."
     sentiment: negative (after "but", "slow" decides; "not bad" alone would be positive)
     tags:      OTHER OTHER OTHER ASPECT OTHER NEGATION OPINION OTHER OTHER OTHER ASPECT ...
     QA:        "what is the opinion of the battery ?" -> "not bad" (words 5 to 6)
     domain:    products

Negation flips an opinion ("not bad" is positive); in a contrast the main clause decides
("good but slow" is negative, and so is "slow , although good"). A bag of words sees the
same words either way, so it cannot get these right: the sentiment task needs word order.

    load_task("sentiment")   -> TaskData: 2,000 train / 500 valid / 500 test examples
    load_task("rt-polarity") -> real movie-review sentences, 3,000 / 500 / 500 (fetched first:
                                `minigrad data fetch rt-polarity`, see models/fetch.py)
    load_task("lm-rt-polarity") -> the same sentences as plain text, for language modelling
    pretraining_corpus()     -> 5,000 newline-separated reviews (about 320 KB of text)
    load_user_task("my.csv") -> TaskData from the user's own file
    load_user_text("my.txt") -> plain text from the user's own file, for language modelling
    load_user_tagging("my.conll"), load_user_qa("my.jsonl") -> the user's tagged sentences, questions
    batches(examples, tokenizer, batch_size=32, max_len=128) -> dicts of int64 tensors
"""
import codecs
import csv
import io
import json
import random
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import minigrad as mg
from models.fetch import read_cached
from models.tokenizers import pad

# ---- the grammar: words --------------------------------------------------------------------
DOMAINS = ["products", "movies"]
SUBJECTS = {
    "products": ["this phone", "the laptop", "this headset", "this tablet", "the kettle", "this watch",
                 "the blender", "this printer"],
    "movies": ["this film", "the movie", "this sequel", "the series", "this thriller", "the comedy",
               "this documentary", "the show"],
}
ASPECTS = {
    "products": ["battery", "battery life", "screen", "price", "delivery", "sound", "camera", "keyboard",
                 "design", "build quality", "customer service", "charger", "speakers", "packaging"],
    "movies": ["plot", "acting", "ending", "music", "pacing", "dialogue", "cast", "script", "soundtrack",
               "visuals", "special effects", "story", "characters", "cinematography"],
}
PLURAL = {"speakers", "visuals", "special effects", "characters"}  # "the speakers are"
UNCOUNTABLE = {"acting", "music", "pacing", "dialogue", "sound", "packaging", "customer service",
               "build quality", "cinematography"}  # "it has great acting", no "a"

# Opinion words by domain and polarity (True = positive); any aspect of the domain takes them.
OPINIONS = {
    "products": {True: ["good", "great", "excellent", "nice", "solid", "superb", "impressive", "decent",
                        "fantastic", "lovely"],
                 False: ["bad", "awful", "poor", "terrible", "weak", "disappointing", "horrible", "mediocre",
                         "annoying", "dreadful"]},
    "movies": {True: ["good", "great", "excellent", "superb", "brilliant", "gripping", "clever", "moving",
                      "wonderful", "original"],
               False: ["bad", "awful", "poor", "terrible", "weak", "boring", "dull", "forgettable", "clumsy",
                       "bland"]},
}
# Some aspects also take words of their own: "cheap" praises a price, "slow" faults a delivery.
ASPECT_OPINIONS = {
    "price": {True: ["cheap", "affordable", "reasonable"], False: ["expensive", "steep", "outrageous"]},
    "delivery": {True: ["fast", "quick", "prompt"], False: ["slow", "late"]},
    "battery life": {True: ["long", "endless"], False: ["short"]},
    "screen": {True: ["sharp", "bright"], False: ["dim", "blurry"]},
    "sound": {True: ["clear", "rich"], False: ["tinny", "muffled"]},
    "pacing": {True: ["tight", "brisk"], False: ["slow", "sluggish", "uneven"]},
    "ending": {True: ["satisfying", "surprising"], False: ["rushed", "predictable"]},
    "acting": {True: ["convincing", "natural"], False: ["wooden", "stiff"]},
    "music": {True: ["catchy", "haunting"], False: ["repetitive", "forgettable"]},
}
POLARITY = {word: positive for table in [*OPINIONS.values(), *ASPECT_OPINIONS.values()]
            for positive, words in table.items() for word in words}
NEGATIONS = ["not", "never", "hardly"]
INTENSIFIERS = ["very", "really", "quite", "so", "pretty", "truly", "extremely", "rather"]
INTENSIFIERS_AFTER_NOT = ["very", "really", "so", "that"]  # "not that good"; never/hardly take none
OPENERS = ["honestly ,", "overall ,", "to be fair ,", "well ,", "in my opinion ,", "frankly ,", "i have to say"]
DOMAIN_OPENERS = {"products": ["after a week of use ,", "for everyday use ,", "as a gift ,"],
                  "movies": ["after watching it twice ,", "for a sunday evening ,", "as a fan of the genre ,"]}
CLOSERS = [".", "!", "...", ", to be honest .", ", if you ask me ."]
QUESTIONS = ["what is the opinion of the {} ?", "what did the reviewer think of the {} ?",
             "what does the review say about the {} ?"]

# ---- the grammar: clauses and sentences ------------------------------------------------------
# A clause says one opinion about one aspect. {opinion} is [negation] [intensifier] word.
CLAUSES = [
    "the {aspect} {is} {opinion}",
    "the {aspect} of {subject} {is} {opinion}",
    "i found the {aspect} {opinion}",
    "i thought the {aspect} {was} {opinion}",
    "the {aspect} {seems} {opinion}",
    "{subject} {has} {a} {opinion} {aspect}",
]
# After the first clause the subject is "it", and "the plot of it" reads badly.
LATER_CLAUSES = [template for template in CLAUSES if "of {subject}" not in template]
# verb slot -> its form for (present singular, present plural, past singular, past plural) aspect
VERBS = {"{is}": ("is", "are", "was", "were"), "{was}": ("was", "were", "was", "were"),
         "{seems}": ("seems", "seem", "seemed", "seemed"), "{has}": ("has", "has", "had", "had")}
# sentence template -> (index of the clause that decides the sentiment, how often it is drawn)
SENTENCES = {
    "{0}": (0, 55),
    "{0} and {1}": (1, 15),  # clauses joined by "and" must agree
    "{0} , but {1}": (1, 10),
    "{0} but {1}": (1, 5),
    "although {0} , {1}": (1, 6),
    "{0} , although {1}": (0, 5),
    "{0} and {1} , but {2}": (2, 4),
}
P_NEGATION, P_INTENSIFIER, P_OPENER = 0.2, 0.3, 0.3

# The pretraining corpus ends some reviews with the reviewer's verdict, as real reviews end
# with stars or a recommendation. To predict it, a language model must work out the review's
# sentiment -- negations and contrasts included -- which is what makes pretraining useful for
# the sentiment task (whose texts never carry a verdict).
VERDICTS = {True: ["i would recommend it .", "highly recommended .", "five stars .", "i loved it .",
                   "worth it ."],
            False: ["i would not recommend it .", "not recommended .", "one star .", "i regret it .",
                    "not worth it ."]}
P_VERDICT = 0.8
TAGS = ["OTHER", "ASPECT", "OPINION", "NEGATION"]
OTHER, ASPECT, OPINION, NEGATION = range(4)
IGNORE = -100  # the label cross_entropy skips: padding, special tokens, a word's other pieces


@dataclass
class Clause:
    words: list
    tags: list
    aspect: str
    opinion: tuple  # (first, last) word index of the opinion phrase, inclusive
    positive: bool  # how the clause reads: the opinion word's polarity, flipped by a negation


@dataclass
class Review:
    words: list
    tags: list
    sentiment: int  # 0 negative, 1 positive
    domain: str
    opinions: dict  # aspect -> (first, last) word index of what is said about it

    @property
    def text(self):
        return " ".join(self.words)


def clause(aspect, opinion, negation=None, intensifier=None, template=CLAUSES[0], past=False, subject="it"):
    """One clause from a template: clause("battery", "bad", "not") -> "the battery is not bad" (positive)."""
    if opinion not in POLARITY:
        raise ValueError(f"unknown opinion word {opinion!r}; known: {sorted(POLARITY)}")
    phrase = [(w, tag) for w, tag in ((negation, NEGATION), (intensifier, OTHER), (opinion, OPINION)) if w]
    words, tags, start = [], [], None
    for slot in template.split():
        if slot == "{opinion}":
            start = len(words)
            pieces = phrase
        elif slot == "{aspect}":
            pieces = [(w, ASPECT) for w in aspect.split()]
        elif slot == "{subject}":
            pieces = [(w, OTHER) for w in subject.split()]
        elif slot == "{a}":
            first_word = phrase[0][0]
            article = "an" if first_word[0] in "aeiou" else "a"
            pieces = [] if aspect in PLURAL | UNCOUNTABLE else [(article, OTHER)]
        else:
            pieces = [(VERBS[slot][2 * past + (aspect in PLURAL)] if slot in VERBS else slot, OTHER)]
        words += [w for w, _ in pieces]
        tags += [tag for _, tag in pieces]
    return Clause(words, tags, aspect, (start, start + len(phrase) - 1), POLARITY[opinion] != bool(negation))


def and_pairs(template):
    """Clauses joined by "and": "{0} and {1} , but {2}" -> [(0, 1)]."""
    return [(int(i), int(j)) for i, j in re.findall(r"\{(\d)\} and \{(\d)\}", template)]


def sentence(template, clauses, domain, opener=None, closer="."):
    """Clauses joined by a template of SENTENCES; the deciding clause gives the label."""
    if template not in SENTENCES:
        raise ValueError(f"unknown sentence template {template!r}; known: {list(SENTENCES)}")
    for i, j in and_pairs(template):
        if clauses[i].positive != clauses[j].positive:
            raise ValueError("clauses joined by 'and' must agree, or the sentence has no single sentiment")
    words, tags, opinions = [], [], {}
    for slot in f"{opener or ''} {template} {closer}".split():
        if re.fullmatch(r"\{\d\}", slot):
            part = clauses[int(slot[1])]
            opinions[part.aspect] = (len(words) + part.opinion[0], len(words) + part.opinion[1])
            words, tags = words + part.words, tags + part.tags
        else:
            words, tags = words + [slot], tags + [OTHER]
    deciding = clauses[SENTENCES[template][0]]
    return Review(words, tags, int(deciding.positive), domain, opinions)


# ---- drawing reviews at random --------------------------------------------------------------
def random_clause(rng, domain, aspect, positive, subject, past, templates):
    """A clause about `aspect` that reads `positive`, with a random negation, wording and template."""
    negation = rng.choice(NEGATIONS) if rng.random() < P_NEGATION else None
    word_positive = positive != bool(negation)  # to read positive under a negation, say "not bad"
    word = rng.choice(OPINIONS[domain][word_positive] + ASPECT_OPINIONS.get(aspect, {}).get(word_positive, []))
    intensifiers = INTENSIFIERS if negation is None else INTENSIFIERS_AFTER_NOT if negation == "not" else []
    intensifier = rng.choice(intensifiers) if intensifiers and rng.random() < P_INTENSIFIER else None
    return clause(aspect, word, negation, intensifier, rng.choice(templates), past, subject)


def random_review(rng, domain):
    """Draw a template, the label, then clauses that agree with the label where they must:
    the deciding clause and any clause joined to it by "and" read as the label, the rest oppose it."""
    template = rng.choices(list(SENTENCES), weights=[weight for _, weight in SENTENCES.values()])[0]
    deciding = SENTENCES[template][0]
    positive, past, subject = rng.random() < 0.5, rng.random() < 0.5, rng.choice(SUBJECTS[domain])
    aspects = rng.sample(ASPECTS[domain], template.count("{"))
    joined = {i for pair in and_pairs(template) if deciding in pair for i in pair}
    clauses = []
    for i, aspect in enumerate(aspects):
        reads_positive = positive == (i == deciding or i in joined)
        who, templates = (subject, CLAUSES) if i == 0 else ("it", LATER_CLAUSES)
        clauses.append(random_clause(rng, domain, aspect, reads_positive, who, past, templates))
    opener = rng.choice(OPENERS + DOMAIN_OPENERS[domain]) if rng.random() < P_OPENER else None
    return sentence(template, clauses, domain, opener, rng.choice(CLOSERS))


def unique_reviews(n, seed, domain=None):
    """n reviews with distinct texts, in a fixed order for a given seed."""
    rng, seen, reviews = random.Random(seed), set(), []
    for _ in range(100 * n + 1000):
        if len(reviews) == n:
            return reviews
        review = random_review(rng, domain or rng.choice(DOMAINS))
        if review.text not in seen:
            seen.add(review.text)
            reviews.append(review)
    raise ValueError(f"the grammar gave only {len(reviews)} distinct reviews; ask for fewer than {n}")


def pretraining_corpus(domain=None, n_sentences=5000, seed=0):
    """Newline-separated reviews for language-model pretraining (about 65 bytes each).

    Drawn from their own random stream, and never a valid or test review of
    load_task(..., seed=seed) with its default sizes and domain, so a model pretrained
    here has not read the texts it is evaluated on.
    """
    held_out = {review.text for review in unique_reviews(N_VALID + N_TEST, seed)}
    rng, lines = random.Random(f"corpus/{seed}"), []
    while len(lines) < n_sentences:
        review = random_review(rng, domain or rng.choice(DOMAINS))
        if review.text not in held_out:
            verdict = rng.choice(VERDICTS[bool(review.sentiment)]) if rng.random() < P_VERDICT else None
            lines.append(review.text + (" " + verdict if verdict else ""))
    return "\n".join(lines) + "\n"


# ---- tasks: views of the same reviews ---------------------------------------------------------
class Example(NamedTuple):  # a text classification example; unpacks as (text, label)
    text: str
    label: int


class TaggedExample(NamedTuple):  # one tag (an index into TAGS) per whitespace word
    words: tuple
    tags: tuple

    @property
    def text(self):
        return " ".join(self.words)


class QAExample(NamedTuple):  # the answer is context words start..end, inclusive
    question: str
    context: str
    start: int
    end: int
    answer: str


class TextExample(NamedTuple):  # plain text for language modelling: every next token is a target
    text: str


class Task(NamedTuple):
    kind: str  # "classification" | "tagging" | "qa" | "lm"
    labels: list
    make_example: callable  # (review, rng) -> an example


def _qa_example(review, rng):
    aspect = rng.choice(list(review.opinions))
    start, end = review.opinions[aspect]
    return QAExample(rng.choice(QUESTIONS).format(aspect), review.text, start, end,
                     " ".join(review.words[start:end + 1]))


TASKS = {
    "sentiment": Task("classification", ["negative", "positive"], lambda r, rng: Example(r.text, r.sentiment)),
    "domain": Task("classification", DOMAINS, lambda r, rng: Example(r.text, DOMAINS.index(r.domain))),
    "tagging": Task("tagging", TAGS, lambda r, rng: TaggedExample(tuple(r.words), tuple(r.tags))),
    "qa": Task("qa", [], _qa_example),
}
N_TRAIN, N_VALID, N_TEST = 2000, 500, 500


@dataclass
class TaskData:
    name: str
    kind: str
    labels: list  # class (or tag) names; label i means labels[i]
    train: list
    valid: list
    test: list
    # split -> (examples left out, examples read): the user's qa examples too long for the model's context
    dropped: dict = field(default_factory=dict)


def load_task(name, seed=0, n_train=N_TRAIN, n_valid=N_VALID, n_test=N_TEST, domain=None):
    """A bundled task with fixed, disjoint splits. The test reviews come first, then valid,
    then train, so changing n_train never changes the valid or test set. domain="products"
    or "movies" keeps one domain (for domain shift: train on one, test on the other).
    A real task (REAL_TASKS, fetched first) has fixed split sizes and one domain; seed picks the split."""
    if name in REAL_TASKS:
        return REAL_TASKS[name](seed)
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted([*TASKS, *REAL_TASKS])}")
    if domain not in (None, *DOMAINS) or (name == "domain" and domain):
        raise ValueError(f"domain must be None or one of {DOMAINS} (None for the domain task), got {domain!r}")
    task, rng = TASKS[name], random.Random(f"{name}/{seed}")
    examples = [task.make_example(r, rng) for r in unique_reviews(n_test + n_valid + n_train, seed, domain)]
    test, valid, train = examples[:n_test], examples[n_test:n_test + n_valid], examples[n_test + n_valid:]
    return TaskData(name, task.kind, list(task.labels), train, valid, test)


# ---- real data: movie-review sentence polarity (Pang & Lee) -------------------------------------
def rt_polarity_examples(raw):
    """Examples from the fetched CSV's bytes: rows of ("1" or "-1", a lower-cased, pre-tokenised
    sentence), the 2,000 positive ones first."""
    rows = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))  # utf-8-sig: the file starts with a BOM
    return [Example(text.strip(), {"-1": 0, "1": 1}[label]) for label, text in rows]


def stratified_split(examples, n_valid, n_test, seed):
    """(train, valid, test) with each class in the same proportion in every split.

    Each class is shuffled by one seeded generator and dealt out test first, then valid,
    then train; each split is then shuffled so the classes are mixed. The same seed gives
    the same splits on every machine (random.Random does not depend on the platform)."""
    rng = random.Random(f"split/{seed}")
    train, valid, test = [], [], []
    for label in sorted({e.label for e in examples}):
        group = [e for e in examples if e.label == label]
        rng.shuffle(group)
        share = len(group) / len(examples)
        k_test, k_valid = round(n_test * share), round(n_valid * share)
        test += group[:k_test]
        valid += group[k_test:k_test + k_valid]
        train += group[k_test + k_valid:]
    for split in (train, valid, test):
        rng.shuffle(split)
    return train, valid, test


def load_rt_polarity(seed=0, n_valid=500, n_test=500):
    """Pang & Lee's 4,000 Rotten Tomatoes sentences (half positive) as a TaskData with stratified,
    disjoint 3,000 / 500 / 500 splits. Needs `minigrad data fetch rt-polarity` once."""
    examples = rt_polarity_examples(read_cached("rt-polarity"))
    train, valid, test = stratified_split(examples, n_valid, n_test, seed)
    return TaskData("rt-polarity", "classification", ["negative", "positive"], train, valid, test)


def load_lm_rt_polarity(seed=0):
    """rt-polarity's sentences as plain text (the same splits, labels dropped): real movie reviews,
    a genuine domain shift for a language model pretrained on the bundled grammar's reviews."""
    task = load_rt_polarity(seed)
    train, valid, test = ([TextExample(e.text) for e in split] for split in (task.train, task.valid, task.test))
    return TaskData("lm-rt-polarity", "lm", [], train, valid, test)


REAL_TASKS = {"rt-polarity": load_rt_polarity, "lm-rt-polarity": load_lm_rt_polarity}


# ---- the user's own files ----------------------------------------------------------------------
# Python's csv module refuses a field over 131,072 characters (a guard against runaway quotes), but
# a whole document in one cell is a fair thing to fine-tune on. Not sys.maxsize: on platforms where
# a C long is 32 bits, field_size_limit(sys.maxsize) overflows.
CSV_FIELD_LIMIT = 2**31 - 1


# The byte-order marks that Windows tools (Notepad's "Unicode", PowerShell's redirection, Excel's
# "Unicode Text") put at the start of UTF-16 and UTF-32 files. UTF-32's come first: its little-endian
# mark, FF FE 00 00, starts with UTF-16's FF FE.
WIDE_BYTE_ORDER_MARKS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _marked_encoding(raw):
    """"utf-16" or "utf-32" where the bytes start with that encoding's byte-order mark, else None."""
    return next((name for mark, name in WIDE_BYTE_ORDER_MARKS if raw.startswith(mark)), None)


def _read_text(path, encoding):
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a data file (CSV, JSONL or plain text)")
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    raw = path.read_bytes()
    try:
        codec = codecs.lookup(encoding).name  # the canonical name: "UTF16" and "utf_16" are "utf-16"
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} for {path}") from None
    # Read as UTF-8 such a file fails on its first byte, and as latin-1 it "works", giving a header
    # of letters with NULs between them; either way the mark says what the encoding is.
    marked = _marked_encoding(raw)
    if marked and not codec.startswith(marked):  # "utf-16-le" is fine: the mark is then removed below
        raise ValueError(f"{path} is {marked.upper()} text (it starts with a {marked.upper()} byte-order mark), "
                         f"not {encoding}; pass --encoding {marked}")
    try:
        return raw.decode(encoding).removeprefix("\ufeff")  # a byte-order mark (Excel) is not text
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} for {path}") from None
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ValueError(f"{path} is not valid {encoding}: byte {raw[error.start]:#04x} on line {line} cannot be "
                         f"decoded; pass the file's encoding, e.g. --encoding latin-1") from None


# Commas first; then tabs (.tsv) and semicolons (what spreadsheets write where the decimal mark is a comma)
DELIMITERS = (",", "\t", ";")


def _delimiter(text, columns):
    """The delimiter under which the header row names every one of `columns`; failing that, the one
    that splits the header into the most fields (so an error lists the columns as the file has them)."""
    first_line = text.split("\n", 1)[0]
    headers = {d: next(csv.reader([first_line], delimiter=d), []) for d in DELIMITERS}
    for delimiter, header in headers.items():
        if all(column in header for column in columns):
            return delimiter
    return max(DELIMITERS, key=lambda d: len(headers[d]))  # the first of equals: a comma


def _csv_rows(text, path, columns):
    """(line number, row dict) for each record, after checking the header names `columns`.
    A short row's missing fields are "" (so they read as empty, not as a missing value)."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    delimiter = _delimiter(text, columns)
    reader = csv.DictReader(io.StringIO(text, newline=""), restval="", delimiter=delimiter)
    try:
        _check_header(reader.fieldnames, path, columns)
        for row in reader:
            extra = row.pop(None, [])  # fields past the header's: a text with an unquoted separator in it
            if any(field.strip() for field in extra):
                raise ValueError(f"{path}, line {reader.line_num}: {len(reader.fieldnames) + len(extra)} fields, but "
                                 f"the header names {len(reader.fieldnames)}; put a text that contains "
                                 f"{delimiter!r} in double quotes (\"good{delimiter} really good\")")
            yield reader.line_num, row
    except csv.Error as error:
        # reader.reader counts every line read, so this is the line the parser stopped on
        raise ValueError(f"{path}, line {reader.reader.line_num}: not valid CSV ({error})") from None


# The options that name the columns, in the order the loaders pass them: [text_column, label_column]
COLUMN_OPTIONS = ("--text-column", "--label-column")


def _near_miss_hint(column, names, columns):
    """"; did you mean --label-column ' label'?" where one of `names` is `column` but for case or
    spaces around it ("Label", or " label" from a header written "text, label"), else "". Such a
    name looks right in a list, so the hint gives the option exactly as it must be typed."""
    near = [name for name in names if name.strip().casefold() == column.strip().casefold()]
    if not near:
        return ""
    return f"; did you mean {COLUMN_OPTIONS[columns.index(column)]} {shlex.quote(near[0])}?"


def _check_header(header, path, columns):
    """The header row names each of `columns` exactly once. Only those: a repeated column that is
    not read (often blank names, from empty cells at the end of a spreadsheet's header) does no harm."""
    if header is None:
        raise ValueError(f"{path} is empty: expected a header row naming the columns {columns}")
    for column in columns:
        if column not in header:
            hint = _near_miss_hint(column, header, columns)
            if not hint and len(header) == 1 and len(columns) > 1:
                # one column where a text and a label were asked for: most likely a plain-text file
                hint = " (one column: for plain text, one example per line, use --task lm)"
            # quoted, so a stray space or an empty name shows
            raise ValueError(f"{path} has no column {column!r}; its columns are: "
                             f"{', '.join(map(repr, header))}{hint}")
        if header.count(column) > 1:  # csv.DictReader would quietly read the last one
            raise ValueError(f"{path} has {header.count(column)} columns named {column!r}; rename all but one, "
                             "so it is clear which to read")


def _place(position):
    """Where a row is, for messages: "line 3" for a line number, as _csv_rows and _jsonl_rows give
    for lines; a JSON array's "item 3" as it is."""
    return f"line {position}" if isinstance(position, int) else position


def _json_lines(text, path):
    """(line number, value) for each non-blank line of JSON Lines."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {number}: not valid JSON ({error.msg})") from None


def _json_array(text, path):
    """("item N", value) for each element of a JSON array, counting from 1. The array may span
    many lines, so an element has no line of its own; its place in the array names it instead."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}, line {error.lineno}: not valid JSON ({error.msg})") from None
    for number, item in enumerate(items, 1):
        yield f"item {number}", item


def _jsonl_rows(text, path, columns):
    """(position, object) for each record, each checked to have `columns`. A record is a line (the
    position a line number) of a JSON Lines file, or, where a .json file holds one JSON array (as
    many tools export), an element of it (the position "item N"; see _place)."""
    is_array = text.lstrip().startswith("[")
    if is_array and Path(path).suffix.lower() == ".jsonl":  # JSON Lines is one object per line
        raise ValueError(f"{path} looks like a JSON array (it starts with '['), not JSON Lines (one object per "
                         "line, as .jsonl says); rename it to .json to read it as an array of objects")
    for position, row in (_json_array if is_array else _json_lines)(text, path):
        if not isinstance(row, dict):
            raise ValueError(f"{path}, {_place(position)}: expected a JSON object, got {type(row).__name__}")
        for column in columns:
            if column not in row:
                raise ValueError(f"{path}, {_place(position)}: no field {column!r}; its fields are: "
                                 f"{', '.join(map(repr, row))}{_near_miss_hint(column, row, columns)}")
        yield position, row


def _label_order(name):
    """Numeric label names in numeric order ("2" before "10"), then the rest alphabetically.
    The name breaks a tie ("01" and "1"), or the order would change from run to run with the set's."""
    return (0, int(name), name) if re.fullmatch(r"-?\d+", name) else (1, 0, name)


def _json_kind(value):
    """What JSON calls a value's type, for saying what a field holds."""
    kinds = {dict: "an object", list: "an array", type(None): "null", bool: "true/false", str: "a string"}
    return kinds.get(type(value), "a number")


def _text_field(value, path, line, column):
    """A text field's value, checked to be a string that is not blank."""
    if not isinstance(value, str):  # a JSON number or array; str() would make up a text
        raise ValueError(f"{path}, {_place(line)}: the text in {column!r} is {_json_kind(value)}; expected a string")
    if not value.strip():
        raise ValueError(f"{path}, {_place(line)}: empty text in column {column!r}")
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


def _examples(rows, path, text_column, label_column, labels):
    found = []  # (line, text, label name)
    for line, row in rows:
        text, label = _text_field(row[text_column], path, line, text_column), row[label_column]
        if not isinstance(label, (str, int, float)):  # a JSON object, array or null names no class
            raise ValueError(f"{path}, {_place(line)}: the label in {label_column!r} is {_json_kind(label)}; "
                             "expected a string or a number")
        label = _label_name(label)
        if not label:
            raise ValueError(f"{path}, {_place(line)}: empty label in column {label_column!r}")
        found.append((line, text, label))
    if not found:
        raise ValueError(f"{path} has no rows of data")
    if labels:
        names = [_label_name(name) for name in labels]
    else:
        names = sorted({label for *_, label in found}, key=_label_order)
    index = {name: i for i, name in enumerate(names)}
    for line, _, label in found:
        if label not in index:
            raise ValueError(f"{path}, {_place(line)}: unknown label {label!r}; allowed labels: {', '.join(names)}")
    if len(names) < 2:
        raise ValueError(f"{path}: only one class ({names[0]!r}); a classifier needs at least two")
    return [Example(text, index[label]) for _, text, label in found], names


def load_csv(path, text_column="text", label_column="label", encoding="utf-8", labels=None):
    """Read (text, label index) examples and the label names from a CSV file with a header row.
    Without `labels`, the names are the labels found, sorted; with it, any other label is an error."""
    rows = _csv_rows(_read_text(path, encoding), path, [text_column, label_column])
    return _examples(rows, path, text_column, label_column, labels)


def load_jsonl(path, text_column="text", label_column="label", encoding="utf-8", labels=None):
    """Like load_csv, for a file of one JSON object per line."""
    rows = _jsonl_rows(_read_text(path, encoding), path, [text_column, label_column])
    return _examples(rows, path, text_column, label_column, labels)


def load_examples(path, **options):
    """load_jsonl for .jsonl/.json files, load_csv for anything else."""
    return (load_jsonl if Path(path).suffix.lower() in (".jsonl", ".json") else load_csv)(path, **options)


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
    train, valid, _ = stratified_split(examples, n_valid, 0, seed)
    # Each class's share is rounded on its own, so on a few rows all of them can round down (two
    # rows of two classes: half a row each) or all up (many classes of one row each).
    if not valid:
        valid.append(train.pop())
    if not train:
        train.append(valid.pop())
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


TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")  # files with named columns; any other is plain text


def read_texts(path, text_column="text", encoding="utf-8"):
    """The texts of a file: the text column of a .csv or .tsv (with a header row) or a .jsonl
    file; any other file is plain text, one text per non-blank line."""
    suffix = Path(path).suffix.lower()
    text = _read_text(path, encoding)
    if suffix not in TABLE_SUFFIXES:
        return [line for line in text.splitlines() if line.strip()]
    rows = (_jsonl_rows if suffix in (".jsonl", ".json") else _csv_rows)(text, path, [text_column])
    return [_text_field(row[text_column], path, line, text_column) for line, row in rows]


def has_column(path, column, encoding="utf-8"):
    """Whether a .csv / .tsv file's header row, or a JSON file's first object, names `column`
    (a file that is not valid is left to the reader that follows, which says where)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return False
    text = _read_text(path, encoding)
    if suffix in (".jsonl", ".json"):
        try:
            _, first = next(_jsonl_rows(text, path, []), (None, None))
        except ValueError:
            return False
        return isinstance(first, dict) and column in first
    return column in next(csv.reader([text.split("\n", 1)[0]], delimiter=_delimiter(text, [column])), [])


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
JSON_SUFFIXES = (".jsonl", ".json")
TAGGING_FIELDS = ("words", "tags")  # a JSON tagging file's fields, unless --text-column / --label-column say others
QA_FIELDS = ("question", "context", "answer")


def _token_list(value, where, field_name, noun):
    """A JSON field holding one string per word (the words, or their tags), checked. Each must be one
    whitespace-free token: the sentence is its words joined by spaces, and split at spaces again."""
    if not isinstance(value, list):
        hint = " (split the sentence into its words)" if isinstance(value, str) and noun == "word" else ""
        raise ValueError(f"{where}: {field_name!r} is {_json_kind(value)}; expected an array of {noun}s, one string "
                         f"per word{hint}")
    for number, item in enumerate(value, 1):
        if not isinstance(item, str):
            raise ValueError(f"{where}: {noun} {number} in {field_name!r} is {_json_kind(item)}; expected a string")
        if not item.strip():
            raise ValueError(f"{where}: {noun} {number} in {field_name!r} is empty")
        if len(item.split()) > 1 or item != item.strip():
            raise ValueError(f"{where}: {noun} {number} in {field_name!r}, {item!r}, has a space in it; expected one "
                             f"{noun} without spaces (a sentence is split into words at its spaces)")
    return value


def _json_tagged(text, path, words_field, tags_field):
    """(words, tags, where each tag is) for each object of a JSON tagging file."""
    for position, row in _jsonl_rows(text, path, [words_field, tags_field]):
        where = f"{path}, {_place(position)}"
        words = _token_list(row[words_field], where, words_field, "word")
        tags = _token_list(row[tags_field], where, tags_field, "tag")
        if not words:
            raise ValueError(f"{where}: empty sentence: {words_field!r} has no words")
        if len(words) != len(tags):
            raise ValueError(f"{where}: {len(words)} words but {len(tags)} tags; expected one tag per word")
        yield words, tags, [f"{_place(position)}, tag {number}" for number in range(1, len(tags) + 1)]


def _conll_tagged(text, path):
    """(words, tags, the line of each tag) for each sentence of a CoNLL-style file: a word and its tag on
    each line, separated by a tab or spaces; a blank line (or several) ends a sentence."""
    words, tags, lines = [], [], []
    for number, line in enumerate(text.splitlines() + [""], 1):  # the "" ends the last sentence
        fields = line.split()
        if not fields:
            if words:
                yield words, tags, lines
            words, tags, lines = [], [], []
            continue
        if len(fields) != 2:
            found = (f"the word {fields[0]!r} has no tag" if len(fields) == 1
                     else f"{len(fields)} fields ({line.strip()!r})")
            raise ValueError(f"{path}, line {number}: {found}; expected a word and its tag, separated by a tab or "
                             "spaces (a blank line between sentences)")
        words.append(fields[0])
        tags.append(fields[1])
        lines.append(f"line {number}")


def load_tagged(path, words_field="words", tags_field="tags", encoding="utf-8", tags=None):
    """(TaggedExamples, tag names) from a .jsonl / .json file of {words_field: [...], tags_field: [...]}
    objects, or any other file CoNLL-style (see above). Without `tags`, the names are the tags found,
    sorted; with it (the training file's), any other tag is an error."""
    if words_field == tags_field:
        raise ValueError(f"the words and the tags are both read from the field {words_field!r}; name two fields")
    text = _read_text(path, encoding)
    is_json = Path(path).suffix.lower() in JSON_SUFFIXES
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
                raise ValueError(f"{path}, {place}: unknown tag {tag!r}; allowed tags (the training file's): "
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
    if Path(path).suffix.lower() not in JSON_SUFFIXES:
        raise ValueError(f"{path}: question answering reads .jsonl (one object per line) or a .json array of "
                         f"objects with the fields {', '.join(QA_FIELDS)}")
    examples = []
    for position, row in _jsonl_rows(_read_text(path, encoding), path, []):
        missing = [name for name in QA_FIELDS if name not in row]
        if missing:  # checked here, not by _jsonl_rows: these names are fixed, no --text-column renames them
            raise ValueError(f"{path}, {_place(position)}: no field {missing[0]!r}; expected the fields "
                             f"{', '.join(QA_FIELDS)}, and its fields are: {', '.join(map(repr, row))}")
        question, context, answer = (_text_field(row[name], path, position, name) for name in QA_FIELDS)
        context_words = context.split()
        span = answer_span(context_words, answer.split())
        if span is None:
            raise ValueError(f"{path}, {_place(position)}: the answer {answer!r} is not in the context as a run of "
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


# ---- augmentation ------------------------------------------------------------------------------
def augment(text, rng, p_drop=0.1, p_swap=0.1, keep=()):
    """Token dropout and swap: drop each word with probability p_drop, then swap each
    neighbouring pair with probability p_swap. A cheap remedy for overfitting (the model
    sees a slightly different text each epoch), with a cost made visible by this task:
    dropping "not" or moving "but" can flip the true label -- so the words in `keep` are
    never dropped or moved (e.g. NEGATIONS and "but"). Words are compared whole and exactly:
    "Not" and "not," are not "not"."""
    words = [w for w in text.split() if w in keep or rng.random() >= p_drop] or text.split()[:1]
    for i in range(len(words) - 1):
        if words[i] not in keep and words[i + 1] not in keep and rng.random() < p_swap:
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def augment_examples(examples, p, seed, keep=()):
    """A new augmented copy of classification examples (same labels), seeded per epoch."""
    rng = random.Random(f"augment/{seed}")
    return [Example(augment(e.text, rng, p, p, keep), e.label) for e in examples]


# ---- batching ------------------------------------------------------------------------------------
def encode_words(tokenizer, words):
    """Encode whitespace-separated words: (ids, spans), spans[i] = (first, last) index of word i's tokens.

    Each word after the first is encoded with its leading space, so the ids are those of
    tokenizer.encode(" ".join(words)) (the BPE pre-tokenizer splits at exactly those spaces).
    A piece that is only that space (always, for the char tokenizer) is not part of the word.
    """
    ids, spans = [], []
    for i, word in enumerate(words):
        pieces = tokenizer.encode(word if i == 0 else " " + word)
        skip = 1 if len(pieces) > 1 and tokenizer.id_to_token(pieces[0]) == " " else 0
        spans.append((len(ids) + skip, len(ids) + len(pieces) - 1))
        ids += pieces
    return ids, spans


def _fit(sequence, max_len, add_special_tokens, first, last):
    """Cut a sequence to max_len; with add_special_tokens keep room for `first` and `last`
    ([BOS] and [EOS] for ids, IGNORE for labels)."""
    if max_len is not None and max_len < (3 if add_special_tokens else 1):
        raise ValueError(f"max_len={max_len} leaves no room for a token"
                         + (" between [BOS] and [EOS]" if add_special_tokens else ""))
    if not add_special_tokens:
        return sequence[:max_len]
    return [first] + sequence[:max_len - 2 if max_len else None] + [last]


def pad_rows(tokenizer, rows, device, **targets):
    """{"input_ids", "attention_mask", *targets}: the rows of ids padded on the right into (B, T)
    int64 tensors, the mask 1 on real tokens; targets are lists of labels."""
    batch = {"input_ids": pad(rows, tokenizer.pad_id), "attention_mask": pad([[1] * len(r) for r in rows], 0)}
    batch.update(targets)
    return {name: mg.tensor(values, dtype=mg.int64, device=device) for name, values in batch.items()}


def _classification_batch(examples, tokenizer, max_len, add_special_tokens, device):
    ids, mask = tokenizer.encode_batch([e.text for e in examples], max_len, add_special_tokens=add_special_tokens)
    labels = mg.tensor([e.label for e in examples], dtype=mg.int64, device=device)
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels}


def tagging_input(tokenizer, words, max_len, add_special_tokens=True, tag_position="first"):
    """(ids, positions): the words' tokens ([BOS] ... [EOS]) cut to max_len, and the position of the
    token that carries each word's tag, its first (or last) piece; None for a word that has no
    token (only characters the tokenizer drops) or whose token was cut off."""
    ids, spans = encode_words(tokenizer, words)
    shift = 1 if add_special_tokens else 0
    ids = _fit(ids, max_len, add_special_tokens, tokenizer.bos_id, tokenizer.eos_id)
    end = len(ids) - shift  # the words' tokens that were kept end here ([EOS] follows)
    positions = [shift + (first if tag_position == "first" else last) for first, last in spans]
    return ids, [p if first <= last and p < end else None for p, (first, last) in zip(positions, spans)]


def _tagging_batch(examples, tokenizer, max_len, add_special_tokens, device, tag_position):
    """Each word's tag sits on one token, its first (or last) piece; every other position is IGNORE."""
    rows, label_rows = [], []
    for example in examples:
        ids, positions = tagging_input(tokenizer, example.words, max_len, add_special_tokens, tag_position)
        labels = [IGNORE] * len(ids)
        for position, tag in zip(positions, example.tags):
            if position is not None:
                labels[position] = tag
        rows.append(ids)
        label_rows.append(labels)
    return pad_rows(tokenizer, rows, device, labels=pad(label_rows, IGNORE))


def qa_input(tokenizer, question, context, max_len, add_special_tokens=True):
    """(ids, spans): [BOS] question [SEP] context [EOS] cut to max_len, and where each context word's
    tokens sit in it: spans[w] = (first, last) position (first > last: a word without tokens)."""
    if tokenizer.sep_id is None:
        raise ValueError("question answering needs a [SEP] token in the tokenizer")
    prefix = tokenizer.encode(question) + [tokenizer.sep_id]
    context_ids, spans = encode_words(tokenizer, context.split())
    offset = len(prefix) + (1 if add_special_tokens else 0)
    ids = _fit(prefix + context_ids, max_len, add_special_tokens, tokenizer.bos_id, tokenizer.eos_id)
    return ids, [(offset + first, offset + last) for first, last in spans]


def _qa_batch(examples, tokenizer, max_len, add_special_tokens, device):
    """Input: [BOS] question [SEP] context [EOS]; targets: the token positions of the answer's
    first piece (start) and last piece (end), inclusive."""
    rows, starts, ends = [], [], []
    for example in examples:
        ids, spans = qa_input(tokenizer, example.question, example.context, max_len, add_special_tokens)
        # the answer's words that have tokens (a word of only characters the tokenizer drops has none)
        answer = [spans[w] for w in range(example.start, example.end + 1) if spans[w][0] <= spans[w][1]]
        if not answer:
            raise ValueError(f"the answer {example.answer!r} has no tokens: the tokenizer drops every character of it")
        start, end = answer[0][0], answer[-1][1]
        if end >= len(ids) - (1 if add_special_tokens else 0):
            raise ValueError(f"the answer {example.answer!r} ends at token {end}, past max_len={max_len}; "
                             "raise max_len")
        rows.append(ids)
        starts.append(start)
        ends.append(end)
    return pad_rows(tokenizer, rows, device, start=starts, end=ends)


def _lm_batch(examples, tokenizer, max_len, add_special_tokens, device):
    """Each text as [BOS] text [EOS], in windows of max_len tokens that overlap by one token, so a
    text longer than the model's context is not cut short: every token after [BOS] is a target
    exactly once (a window's first token is only context)."""
    rows = []
    for example in examples:
        ids = tokenizer.encode(example.text)
        ids = [tokenizer.bos_id] + ids + [tokenizer.eos_id] if add_special_tokens else ids
        length = max_len or len(ids)
        rows += [ids[start:start + length] for start in range(0, max(len(ids) - 1, 1), max(length - 1, 1))]
    rows = [row for row in rows if len(row) > 1]  # one token alone has no next token to predict
    if not rows:
        raise ValueError("language modelling: every text in this batch is a single token, so there is no "
                         "next token to predict (add_special_tokens=True gives each text [BOS] and [EOS])")
    return pad_rows(tokenizer, rows, device)


def batches(examples, tokenizer, batch_size, max_len=None, shuffle=True, seed=0, add_special_tokens=True,
            tag_position="first", device="cpu"):
    """Yield batches (the last may be smaller) as dicts of int64 tensors:

        classification  input_ids (B, T), attention_mask (B, T), labels (B,)
        tagging         input_ids, attention_mask, labels (B, T): IGNORE (-100) except one token per word
        qa              input_ids, attention_mask, start (B,), end (B,)
        lm (TextExample) input_ids, attention_mask: windows of max_len tokens, so B >= the texts in the batch

    Padding is on the right with [PAD] (mask 0); texts longer than max_len are cut.
    A tagging word's label sits on its first piece (tag_position="first", as BERT does) or
    its last (tag_position="last": a causal model has then read the whole word).
    Pass a new seed each epoch for a new order.
    """
    # a size of 0 stops range(), and a negative one yields no batch: a loop counting steps would never end
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if tag_position not in ("first", "last"):
        raise ValueError(f'tag_position must be "first" or "last", got {tag_position!r}')
    order = list(range(len(examples)))
    if shuffle:
        random.Random(seed).shuffle(order)
    for begin in range(0, len(order), batch_size):
        chunk = [examples[i] for i in order[begin:begin + batch_size]]
        if isinstance(chunk[0], TaggedExample):
            yield _tagging_batch(chunk, tokenizer, max_len, add_special_tokens, device, tag_position)
        elif isinstance(chunk[0], QAExample):
            yield _qa_batch(chunk, tokenizer, max_len, add_special_tokens, device)
        elif isinstance(chunk[0], TextExample):
            yield _lm_batch(chunk, tokenizer, max_len, add_special_tokens, device)
        else:
            yield _classification_batch([Example(*e) for e in chunk], tokenizer, max_len, add_special_tokens, device)
