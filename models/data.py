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
    pretraining_corpus()     -> 5,000 newline-separated reviews (about 390 KB of text)
    (the user's own files: models/user_files.py)
    batches(examples, tokenizer, batch_size, max_len=None) -> dicts of int64 tensors
"""
import csv
import io
import math
import random
import re
from dataclasses import dataclass, field
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


def pretraining_corpus(domain=None, n_sentences=5000, seed=0, held_out_seeds=None):
    """Newline-separated reviews for language-model pretraining (about 77 bytes each).

    Drawn from their own random stream, and never a valid or test review of
    load_task(..., seed=s) with its default sizes and domain, for s in held_out_seeds (default:
    seed alone), so a model pretrained here has not read the texts it is evaluated on.
    """
    held_out = {review.text for s in (held_out_seeds or (seed,)) for review in unique_reviews(N_VALID + N_TEST, s)}
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


def shares(n, sizes):
    """n split in proportion to sizes, in whole numbers that add up to n: each gets its exact share
    rounded down, and what is left goes one each to the largest remainders (Hamilton's method).
    Rounding each share on its own would not add up: 40 classes of 5 rows, 10 % held out, is half
    a row each, and rounding half to even gives every class 0."""
    total = sum(sizes)
    exact = [n * size / total if total else 0 for size in sizes]
    counts = [math.floor(share) for share in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: counts[i] - exact[i])  # largest remainder first
    for i in by_remainder[:n - sum(counts)]:
        counts[i] += 1
    return counts


def stratified_split(examples, n_valid, n_test, seed):
    """(train, valid, test) with each class in the same proportion in every split.

    Each class is shuffled by one seeded generator and dealt out test first, then valid,
    then train; each split is then shuffled so the classes are mixed. The same seed gives
    the same splits on every machine (random.Random does not depend on the platform)."""
    rng = random.Random(f"split/{seed}")
    labels = sorted({e.label for e in examples})
    sizes = [sum(e.label == label for e in examples) for label in labels]
    train, valid, test = [], [], []
    k_tests = shares(n_test, sizes)
    k_valids = shares(n_valid, [size - k for size, k in zip(sizes, k_tests)])  # from what test left
    for label, k_test, k_valid in zip(labels, k_tests, k_valids):
        group = [e for e in examples if e.label == label]
        rng.shuffle(group)
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


def text_room(max_len):
    """How many of a sequence's max_len tokens its text may fill: [BOS] and [EOS] ([CLS] and [SEP]) take two."""
    return max_len - 2


def _fit(sequence, max_len, add_special_tokens, first, last):
    """Cut a sequence to max_len; with add_special_tokens keep room for `first` and `last`
    ([BOS] and [EOS] for ids, IGNORE for labels)."""
    if max_len is not None and max_len < (3 if add_special_tokens else 1):
        raise ValueError(f"max_len={max_len} leaves no room for a token"
                         + (" between [BOS] and [EOS]" if add_special_tokens else ""))
    if not add_special_tokens:
        return sequence[:max_len]
    return [first] + sequence[:text_room(max_len) if max_len else None] + [last]


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
    tokens sit in it: spans[w] = (first, last) position. first > last: a word without tokens, or one
    the cut left out entirely (its first position is then where [EOS] sits, or past it)."""
    if tokenizer.sep_id is None:
        raise ValueError("question answering needs a [SEP] token in the tokenizer")
    prefix = tokenizer.encode(question) + [tokenizer.sep_id]
    context_ids, spans = encode_words(tokenizer, context.split())
    offset = len(prefix) + (1 if add_special_tokens else 0)
    ids = _fit(prefix + context_ids, max_len, add_special_tokens, tokenizer.bos_id, tokenizer.eos_id)
    kept = context_kept(ids, add_special_tokens)
    return ids, [(offset + first, offset + last if offset + first < kept else offset + first - 1)
                 for first, last in spans]


def context_kept(ids, add_special_tokens=True):
    """The first position of a qa_input row that holds no kept token of the text ([EOS], or the end)."""
    return len(ids) - (1 if add_special_tokens else 0)


def _qa_batch(examples, tokenizer, max_len, add_special_tokens, device):
    """Input: [BOS] question [SEP] context [EOS]; targets: the token positions of the answer's
    first piece (start) and last piece (end), inclusive."""
    rows, starts, ends = [], [], []
    for example in examples:
        ids, spans = qa_input(tokenizer, example.question, example.context, max_len, add_special_tokens)
        kept = context_kept(ids, add_special_tokens)
        # the answer's words that have tokens (a word of only characters the tokenizer drops has none)
        answer = [spans[w] for w in range(example.start, example.end + 1) if spans[w][0] <= spans[w][1]]
        reach = max([last for _, last in answer] + [spans[example.end][0]])  # a word cut out entirely: its first
        if reach >= kept:
            raise ValueError(f"the answer {example.answer!r} ends at token {reach}, past max_len={max_len}; "
                             "raise max_len")
        if not answer:
            raise ValueError(f"the answer {example.answer!r} has no tokens: the tokenizer drops every character of it")
        start, end = answer[0][0], answer[-1][1]
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
