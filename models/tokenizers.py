"""Tokenizers: text <-> lists of integer ids, the only thing a model can read.

Three schemes share one interface (the `Tokenizer` base class):

    CharTokenizer   one id per character seen in training. A character never seen
                    maps to [UNK], so decode(encode(text)) is exact over the training
                    alphabet only. Tiny vocabulary, long sequences.
    BPETokenizer    byte-level byte-pair encoding, as in GPT-2. The base vocabulary is
                    the 256 byte values, so *any* text (emoji, accents, control
                    characters) encodes and decodes back exactly. Training repeatedly
                    merges the most frequent adjacent pair of tokens into a new token,
                    so frequent words become one token: shorter sequences.
    WordPieceTokenizer  BERT's: lower-case, split off punctuation, then cut each word into
                    the longest pieces of a fixed vocabulary ("unaffable" -> un ##aff
                    ##able). Not trained here: it reads the vocab.txt that comes with
                    imported BERT weights, whose ids the weights expect.

Ids are laid out as [special tokens][base vocabulary][learned merges][added tokens]
(WordPiece keeps the imported file's order, specials included),
so [PAD] is id 0 and tokens added later get the highest ids (the model side grows its
embedding with `model.resize_token_embeddings(tokenizer.vocab_size)`).

Special tokens are never read from text: a literal "[CLS]" in a text is just
characters. They enter only by id, or as [BOS] ... [EOS] with add_special_tokens=True.
Tokens added with add_tokens() are ordinary text, matched whole before anything else.
"""
import heapq
import json
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import minigrad as mg
from minigrad.io import write_atomically

PAD, UNK, BOS, EOS, CLS, SEP, MASK = "[PAD]", "[UNK]", "[BOS]", "[EOS]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, CLS, SEP, MASK)

# GPT-2's pre-tokenizer, written for Python's `re`: a contraction, or a run of letters, of
# digits or of other symbols (each with at most one leading space), or whitespace. BPE merges
# never cross these chunks, so a token never spans two words. Every character falls in one
# class (\w = letters + digits + "_"), so the chunks always join back into the text.
PRETOKENIZE = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def pad(sequences, value, length=None):
    """Right-pad lists to one length (the longest, or `length`): [[1, 2], [3]] -> [[1, 2], [3, value]]."""
    length = max(map(len, sequences), default=0) if length is None else length
    return [list(s) + [value] * (length - len(s)) for s in sequences]


class Tokenizer:
    """The shared interface. A subclass supplies the base vocabulary through the hooks
    `_encode_plain`, `_decode_plain`, `_base_size`, `_base_id`, `_base_token`, `_state`."""

    type = None  # "char", "bpe" or "wordpiece": the "type" field of the saved JSON file

    def __init__(self, specials=SPECIAL_TOKENS, added_tokens=()):
        self.specials = list(specials)
        if len(set(self.specials)) != len(self.specials):
            raise ValueError(f"special tokens must be distinct, got {self.specials}")
        ids = {token: i for i, token in enumerate(self.specials)}
        self.pad_id, self.unk_id, self.bos_id = ids.get(PAD), ids.get(UNK), ids.get(BOS)
        self.eos_id, self.cls_id, self.sep_id, self.mask_id = ids.get(EOS), ids.get(CLS), ids.get(SEP), ids.get(MASK)
        self.added_tokens, self._added_ids, self._added_pattern = [], {}, None
        self.add_tokens(added_tokens)

    @property
    def vocab_size(self):
        return self._base_size() + len(self.added_tokens)

    def __repr__(self):
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, added_tokens={len(self.added_tokens)})"

    # ---- text -> ids -> text ----------------------------------------------------------
    def encode(self, text, add_special_tokens=False):
        """Token ids of `text`; with add_special_tokens, wrapped as [BOS] ... [EOS]."""
        ids = []
        # re.split with one capturing group alternates: plain text, added token, plain text, ...
        for i, part in enumerate(self._added_pattern.split(text) if self._added_pattern else [text]):
            ids += [self._added_ids[part]] if i % 2 else self._encode_plain(part)
        return self._wrap(ids) if add_special_tokens else ids

    def decode(self, ids, skip_special_tokens=True):
        """Text of a list (or 1-D tensor) of ids; special tokens are dropped unless asked for."""
        ids = ids.tolist() if isinstance(ids, mg.Tensor) else ids
        parts, run = [], []  # run: consecutive base-vocabulary ids, decoded together
        for i in map(int, ids):
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is out of range for a vocabulary of {self.vocab_size}")
            if len(self.specials) <= i < self._base_size():
                run.append(i)
                continue
            parts.append(self._decode_plain(run))
            run = []
            if i >= self._base_size():
                parts.append(self.added_tokens[i - self._base_size()])
            elif not skip_special_tokens:
                parts.append(self.specials[i])
        return "".join(parts) + self._decode_plain(run)

    def _wrap(self, ids):
        if self.bos_id is None or self.eos_id is None:
            raise ValueError(f"add_special_tokens needs {BOS} and {EOS} among the special tokens {self.specials}")
        return [self.bos_id] + ids + [self.eos_id]

    def encode_batch(self, texts, max_len=None, padding=True, truncation=True, add_special_tokens=False):
        """Encode texts as one batch: (input_ids, attention_mask), int64 tensors of shape (B, T).

        padding=True pads on the right to the longest text, padding="max_length" to max_len;
        the mask is 1 on real tokens and 0 on padding. A text longer than max_len is cut
        (truncation=True, the [EOS] is kept) or is an error (truncation=False).
        """
        if isinstance(texts, str) or not texts:
            raise ValueError("encode_batch needs a non-empty list of texts")
        reserve = 2 if add_special_tokens else 0  # room for [BOS] and [EOS]
        if max_len is not None and max_len <= reserve:
            raise ValueError(f"max_len={max_len} leaves no room for text")
        rows = []
        for n, text in enumerate(texts):
            ids = self.encode(text)
            if max_len is not None and len(ids) + reserve > max_len:
                if not truncation:
                    raise ValueError(f"text {n} has {len(ids) + reserve} tokens, more than max_len={max_len}; "
                                     "pass truncation=True to cut it, or raise max_len")
                ids = ids[:max_len - reserve]
            rows.append(self._wrap(ids) if add_special_tokens else ids)
        length = self._padded_length(rows, max_len, padding)
        if self.pad_id is None:
            raise ValueError(f"padding needs {PAD} among the special tokens {self.specials}")
        ids = mg.tensor(pad(rows, self.pad_id, length), dtype=mg.int64)
        mask = mg.tensor(pad([[1] * len(r) for r in rows], 0, length), dtype=mg.int64)
        return ids, mask

    @staticmethod
    def _padded_length(rows, max_len, padding):
        lengths = sorted({len(r) for r in rows})
        if padding == "max_length":
            if max_len is None:
                raise ValueError('padding="max_length" needs max_len')
            return max_len
        if not padding and len(lengths) > 1:
            raise ValueError(f"texts have different lengths ({lengths[0]} to {lengths[-1]} tokens) and "
                             "padding=False; pass padding=True to pad them into one batch")
        return lengths[-1]

    # ---- the vocabulary -----------------------------------------------------------------
    def token_to_id(self, token):
        """The id of a special, added or base-vocabulary token, or None."""
        if token in self.specials:
            return self.specials.index(token)
        return self._added_ids[token] if token in self._added_ids else self._base_id(token)

    def id_to_token(self, i):
        """The text of one token (a partial UTF-8 byte shows as U+FFFD)."""
        if i < len(self.specials):
            return self.specials[i]
        return self.added_tokens[i - self._base_size()] if i >= self._base_size() else self._base_token(i)

    def add_tokens(self, tokens):
        """Append new tokens at the end of the vocabulary; return how many were new.

        Added tokens are matched whole in the text before the base tokenizer sees it (the
        longest first when they overlap): an added "<3" is one token wherever it appears.
        """
        tokens = [tokens] if isinstance(tokens, str) else list(tokens)
        if not all(isinstance(t, str) and t for t in tokens):
            raise ValueError(f"tokens to add must be non-empty strings, got {tokens!r}")
        before = len(self.added_tokens)
        for token in tokens:
            if self.token_to_id(token) is None:
                self._added_ids[token] = self.vocab_size
                self.added_tokens.append(token)
        longest_first = sorted(self.added_tokens, key=len, reverse=True)
        self._added_pattern = re.compile(f"({'|'.join(map(re.escape, longest_first))})") if longest_first else None
        return len(self.added_tokens) - before

    # ---- files --------------------------------------------------------------------------
    def to_json(self):
        """Everything needed to rebuild the tokenizer, as JSON text (a "type" field picks the class)."""
        return json.dumps({"type": self.type, "specials": self.specials, "added_tokens": self.added_tokens,
                           **self._state()})

    def save(self, path):
        """Write to_json() to a file, atomically (a crash keeps the file that was there); `Tokenizer.load(path)`
        reads it back."""
        write_atomically(Path(path), self.to_json().encode("utf-8"))

    @staticmethod
    def load(path):
        """Read a tokenizer saved by `save`."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"no tokenizer file at {path}") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"{path} is not a tokenizer file: not UTF-8 text ({error})") from None
        return Tokenizer.from_json(text, source=str(path))

    @staticmethod
    def from_json(text, source="the tokenizer JSON"):
        """Rebuild a tokenizer from to_json()'s text; errors name `source` (a file, a checkpoint)."""
        try:
            state = json.loads(text)
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{source} is not a tokenizer file: invalid JSON ({error})") from None
        kind = state.get("type") if isinstance(state, dict) else None
        if kind not in TOKENIZERS:
            raise ValueError(f"{source} is not a tokenizer file: its \"type\" is {kind!r}, "
                             f"expected one of {sorted(TOKENIZERS)}")
        try:
            return TOKENIZERS[kind].from_state(state)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{source} is a corrupt {kind} tokenizer file: {error!r}") from None


class CharTokenizer(Tokenizer):
    """One token per character. Characters outside the training alphabet become [UNK]."""

    type = "char"

    def __init__(self, chars, specials=SPECIAL_TOKENS, added_tokens=()):
        self.chars = list(chars)
        if UNK not in specials:
            raise ValueError(f"CharTokenizer needs {UNK} among the special tokens: unseen characters map to it")
        if any(len(c) != 1 for c in self.chars) or len(set(self.chars)) != len(self.chars):
            raise ValueError("chars must be distinct single characters")
        self._char_ids = {c: len(specials) + i for i, c in enumerate(self.chars)}
        super().__init__(specials, added_tokens)

    @classmethod
    def train(cls, texts, specials=SPECIAL_TOKENS):
        """The vocabulary: the special tokens, then every character seen, sorted."""
        texts = [texts] if isinstance(texts, str) else texts
        return cls(sorted(set("".join(texts))), specials)

    @classmethod
    def from_state(cls, state):
        return cls(state["chars"], state["specials"], state["added_tokens"])

    def _state(self):
        return {"chars": self.chars}

    def _base_size(self):
        return len(self.specials) + len(self.chars)

    def _base_id(self, token):
        return self._char_ids.get(token)

    def _base_token(self, i):
        return self.chars[i - len(self.specials)]

    def _encode_plain(self, text):
        return [self._char_ids.get(c, self.unk_id) for c in text]

    def _decode_plain(self, ids):
        return "".join(self._base_token(i) for i in ids)


def merge(ids, pair, new_id):
    """Replace each occurrence of `pair` in ids, left to right, by new_id:
    merge([5, 6, 5, 6, 7], (5, 6), 9) -> [9, 9, 7]."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPETokenizer(Tokenizer):
    """Byte-level BPE: bytes, plus one token per learned merge of two tokens."""

    type = "bpe"

    def __init__(self, merges, specials=SPECIAL_TOKENS, added_tokens=()):
        self.merges = [tuple(pair) for pair in merges]  # (left id, right id), in the order learned
        self._first_byte = len(specials)  # byte b has id first_byte + b
        self._first_merge = len(specials) + 256  # merge number r made id first_merge + r
        self._pieces = [bytes([b]) for b in range(256)]  # the bytes of each base token
        for r, (left, right) in enumerate(self.merges):
            existing = range(self._first_byte, self._first_merge + r)  # bytes and earlier merges
            if left not in existing or right not in existing:
                raise ValueError(f"merge {r} {(left, right)} refers to a token that does not exist yet")
            self._pieces.append(self._piece(left) + self._piece(right))
        self._piece_ids = {piece: self._first_byte + i for i, piece in enumerate(self._pieces)}
        self._ranks = {pair: r for r, pair in enumerate(self.merges)}
        self._cache = {}  # chunk -> ids; review text repeats words a lot
        super().__init__(specials, added_tokens)

    @classmethod
    def train(cls, texts, vocab_size, specials=SPECIAL_TOKENS, min_frequency=2):
        """Learn merges until the vocabulary (specials + 256 bytes + merges) has vocab_size
        tokens, or no pair of tokens occurs min_frequency times any more.

        Works on the distinct chunks (words) and their counts, not the raw text: a word
        seen 1,000 times is merged once, and the pair counts carry the weight 1,000.
        After each merge only the words that contained the pair are re-counted.
        """
        texts = [texts] if isinstance(texts, str) else texts
        first_merge = len(specials) + 256
        if vocab_size < first_merge:
            raise ValueError(f"vocab_size must be at least {first_merge} (the special tokens and 256 bytes)")
        chunk_counts = Counter(chunk for text in texts for chunk in PRETOKENIZE.findall(text))
        words = [[len(specials) + b for b in chunk.encode("utf-8", errors="surrogatepass")] for chunk in chunk_counts]
        counts = list(chunk_counts.values())
        pair_counts, words_with, changed = Counter(), defaultdict(set), set()

        def count_pairs(w, sign):
            for pair in zip(words[w], words[w][1:]):
                pair_counts[pair] += sign * counts[w]
                words_with[pair].add(w)  # may go stale after a merge; a stale word merges to itself
                changed.add(pair)

        for w in range(len(words)):
            count_pairs(w, +1)
        # The most frequent pair comes from a heap of (-count, pair); ties go to the smallest
        # ids, so training is deterministic. A changed count is pushed anew, and an entry
        # whose count is out of date is dropped when it reaches the top ("lazy deletion").
        heap, merges = [], []
        while first_merge + len(merges) < vocab_size:
            for pair in changed:
                heapq.heappush(heap, (-pair_counts[pair], pair))
            changed.clear()
            while heap and -heap[0][0] != pair_counts[heap[0][1]]:
                heapq.heappop(heap)
            if not heap or -heap[0][0] < min_frequency:
                break
            pair = heap[0][1]
            for w in words_with.pop(pair):
                count_pairs(w, -1)
                words[w] = merge(words[w], pair, first_merge + len(merges))
                count_pairs(w, +1)
            merges.append(pair)
        return cls(merges, specials)

    @classmethod
    def from_state(cls, state):
        return cls(state["merges"], state["specials"], state["added_tokens"])

    def _state(self):
        return {"merges": self.merges}

    def _piece(self, i):
        return self._pieces[i - self._first_byte]

    def _base_size(self):
        return self._first_merge + len(self.merges)

    def _base_id(self, token):
        return self._piece_ids.get(token.encode("utf-8", errors="surrogatepass"))  # as _encode_chunk reads it

    def _base_token(self, i):
        return self._piece(i).decode("utf-8", errors="replace")

    def _encode_plain(self, text):
        return [i for chunk in PRETOKENIZE.findall(text) for i in self._encode_chunk(chunk)]

    def _encode_chunk(self, chunk):
        """Bytes of the chunk, then the learned merges in the order they were learned."""
        if chunk not in self._cache:
            # surrogatepass: a lone surrogate (from a file name decoded with surrogateescape) is
            # still some bytes to encode; decoding them gives U+FFFD, like any broken UTF-8
            ids = [self._first_byte + b for b in chunk.encode("utf-8", errors="surrogatepass")]
            while len(ids) > 1:
                pair = min(zip(ids, ids[1:]), key=lambda p: self._ranks.get(p, len(self._ranks)))
                if pair not in self._ranks:
                    break  # no adjacent pair was ever merged
                ids = merge(ids, pair, self._first_merge + self._ranks[pair])
            self._cache[chunk] = ids
        return self._cache[chunk]

    def _decode_plain(self, ids):
        # join the bytes first: one character's UTF-8 bytes may sit in several tokens
        return b"".join(self._piece(i) for i in ids).decode("utf-8", errors="replace")


# ---- WordPiece (BERT) ----------------------------------------------------------------------
# BERT's character classes, as its reference tokenizer defines them.
def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):  # tab and newlines count as whitespace, not control
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    """Unicode punctuation, and every ASCII character that is not a letter, digit or space
    ("$", "+", "^", "`" too), so that each becomes a word of its own."""
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
        unicodedata.category(ch).startswith("P")


def is_cjk(ch):
    """A CJK ideograph: Chinese is written without spaces, so each ideograph is a word."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                             (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
                                             (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


class CharTable(dict):
    """A str.translate table that works out a character's replacement the first time it meets it, with
    rule(character) -> the replacement ("" drops it), and keeps it. Asking unicodedata about every
    character of every text, in Python, took 90 % of WordPiece's time on a large file (about 90 us a review);
    the same few hundred characters come back in every text, and str.translate runs in C."""

    def __init__(self, rule):
        super().__init__()
        self.rule = rule

    def __missing__(self, code):
        self[code] = replacement = self.rule(chr(code))
        return replacement


def _clean(ch):
    """BERT's clean-up of a character: control characters dropped, whitespace a plain space, a CJK ideograph
    a word of its own."""
    if ch in "\x00\ufffd" or is_control(ch):
        return ""
    return " " if is_whitespace(ch) else f" {ch} " if is_cjk(ch) else ch


CLEAN = CharTable(_clean)
STRIP_ACCENTS = CharTable(lambda ch: "" if unicodedata.category(ch) == "Mn" else ch)  # after NFD: the accents
SPLIT_PUNCTUATION = CharTable(lambda ch: f" {ch} " if is_punctuation(ch) else ch)


def wordpiece(word, vocab, max_chars=100):
    """Greedy longest-match-first: the longest prefix of word in vocab, then the longest
    "##"-prefixed piece of the rest, and so on. None when some part matches nothing
    (or the word is absurdly long): the caller makes the whole word [UNK].

        wordpiece("unaffable", ...) -> ["un", "##aff", "##able"]
    """
    if len(word) > max_chars:
        return None
    pieces, start = [], 0
    while start < len(word):
        prefix = "##" if start else ""  # "##": this piece continues a word
        end = len(word)
        while end > start and prefix + word[start:end] not in vocab:
            end -= 1
        if end == start:
            return None
        pieces.append(prefix + word[start:end])
        start = end
    return pieces


class WordPieceTokenizer(Tokenizer):
    """BERT's tokenizer over a fixed vocabulary (one token per line of vocab.txt, id = line number).

    encode: normalize (drop control characters, spaces around CJK ideographs; lower-case and
    strip accents when lowercase=True: "Zürich" -> "zurich") -> split on whitespace and at
    every punctuation character -> wordpiece() on each word, a word with no split -> [UNK].

    The special tokens are wherever the file puts them (BERT: [PAD] 0, [UNK] 100, [CLS] 101,
    [SEP] 102, [MASK] 103). With add_special_tokens a text is wrapped as [CLS] text [SEP]:
    [CLS] and [SEP] play the parts of [BOS] and [EOS], so the batching code serves both.
    Like the other tokenizers (and unlike Hugging Face's), a literal "[SEP]" in a text is
    plain characters, never the special token.
    """

    type = "wordpiece"

    def __init__(self, vocab, lowercase=True, specials=(PAD, UNK, CLS, SEP, MASK), added_tokens=()):
        self.vocab, self.lowercase = list(vocab), lowercase
        self._ids = {token: i for i, token in enumerate(self.vocab)}
        if len(self._ids) != len(self.vocab):
            raise ValueError("the WordPiece vocabulary has a token twice")
        missing = [token for token in specials if token not in self._ids]
        if missing or UNK not in specials:
            raise ValueError(f"the WordPiece vocabulary needs the special tokens {list(specials)} (and {UNK}); "
                             f"missing: {missing or [UNK]}")
        self._cache = {}  # word -> ids
        super().__init__(specials, added_tokens)
        # the base class numbers the specials 0, 1, 2, ...; here they keep their ids in the vocabulary
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = map(self._ids.get, (PAD, UNK, CLS, SEP, MASK))
        self.bos_id, self.eos_id = self.cls_id, self.sep_id

    @classmethod
    def from_vocab_file(cls, path, lowercase=True):
        """Read a BERT vocab.txt: one token per line, in id order."""
        with open(path, encoding="utf-8") as file:
            return cls([line.rstrip("\n") for line in file], lowercase)

    @classmethod
    def from_state(cls, state):
        return cls(state["vocab"], state["lowercase"], state["specials"], state["added_tokens"])

    def _state(self):
        return {"vocab": self.vocab, "lowercase": self.lowercase}

    def normalize(self, text):
        """The text as BERT sees it: "Héllo,\tWORLD" -> "hello, world" (lowercase=True)."""
        text = text.translate(CLEAN)
        if self.lowercase:  # NFD splits "ü" into "u" + a combining mark (category Mn), which is dropped
            return unicodedata.normalize("NFD", text.lower()).translate(STRIP_ACCENTS)
        return unicodedata.normalize("NFC", text)  # cased: "e" + U+0301 is the vocabulary's "é", as Hugging Face's

    def words(self, text):
        """Normalized words, each punctuation character a word: "Don't!" -> ["don", "'", "t", "!"]."""
        return self.normalize(text).translate(SPLIT_PUNCTUATION).split()  # no punctuation character is a space

    def _encode_plain(self, text):
        return [i for word in self.words(text) for i in self._encode_word(word)]

    def _encode_word(self, word):
        if word not in self._cache:
            pieces = wordpiece(word, self._ids)
            self._cache[word] = [self.unk_id] if pieces is None else [self._ids[p] for p in pieces]
        return self._cache[word]

    def _base_size(self):
        return len(self.vocab)

    def _base_id(self, token):
        return self._ids.get(token)

    def _base_token(self, i):
        return self.vocab[i]

    def token_to_id(self, token):
        return self._added_ids.get(token, self._ids.get(token))

    def id_to_token(self, i):
        return self.vocab[i] if i < len(self.vocab) else self.added_tokens[i - len(self.vocab)]

    def decode(self, ids, skip_special_tokens=True):
        """Words of the ids, "##" pieces glued back on: [CLS] un ##aff ##able [SEP] -> "unaffable".
        What normalize() changed stays changed: "Héllo, World" comes back as "hello , world"."""
        ids = ids.tolist() if isinstance(ids, mg.Tensor) else ids
        specials = {self._ids[token] for token in self.specials}
        words = []
        for i in map(int, ids):
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is out of range for a vocabulary of {self.vocab_size}")
            if skip_special_tokens and i in specials:
                continue
            token = self.id_to_token(i)
            if token.startswith("##") and words:
                words[-1] += token[2:]
            else:
                words.append(token)
        return " ".join(words)


TOKENIZERS = {"char": CharTokenizer, "bpe": BPETokenizer, "wordpiece": WordPieceTokenizer}
