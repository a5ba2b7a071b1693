"""WordPiece (BERT's tokenizer) on a vocabulary written here, so it is tested without the MiniLM
package; tests/test_minilm.py checks it against the original on the real 30,522-token vocabulary."""
import json

import pytest

import minigrad as mg
from models.tokenizers import Tokenizer, WordPieceTokenizer, wordpiece

# BERT's layout in miniature: [PAD] first, unused slots, then the other specials, then the pieces
VOCAB = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world",
         ",", "!", "'", "s", "t", "don", "zurich", "cafe", "a", "##b", "3", ".", "14", "$", "[", "]", "sep",
         "\u6771", "\u4eac", "is", "x"]
ID = {token: i for i, token in enumerate(VOCAB)}


@pytest.fixture
def tok():
    return WordPieceTokenizer(VOCAB)


def ids(*tokens):
    return [ID[t] for t in tokens]


def test_greedy_longest_match_first():
    vocab = {"un", "##aff", "##able", "##b"}
    assert wordpiece("unaffable", vocab) == ["un", "##aff", "##able"]
    assert wordpiece("unx", vocab) is None  # a part with no piece: the whole word is unknown
    # greedy, no backtracking: "una" is taken first, and then "##ffable" has no pieces
    assert wordpiece("unaffable", vocab | {"una"}) is None
    assert wordpiece("unab", vocab | {"una"}) == ["una", "##b"]
    assert wordpiece("a" * 101, {"a", "##a"}) is None  # too long to try


def test_normalize_lowercases_strips_accents_and_cleans_whitespace(tok):
    assert tok.normalize("H\u00e9llo,\tWORLD\r\n") == "hello, world  "
    assert tok.normalize("Z\u00fcrich caf\u00e9") == "zurich cafe"  # NFD, then the combining marks dropped
    assert tok.normalize("zero\x00width\u200b\ufffdx\x07") == "zerowidthx"  # control and format characters
    assert tok.normalize("\u6771\u4eac") == " \u6771  \u4eac "  # each CJK ideograph is a word


def test_cased_vocabulary_keeps_case_and_accents():
    assert WordPieceTokenizer(VOCAB, lowercase=False).normalize("Z\u00fcrich") == "Z\u00fcrich"
    # a decomposed accent (u + U+0308) is composed again, so it matches the vocabulary's "ü"
    assert WordPieceTokenizer(VOCAB, lowercase=False).normalize("Zu\u0308rich") == "Z\u00fcrich"


def test_words_split_at_every_punctuation_character(tok):
    assert tok.words("Don't!") == ["don", "'", "t", "!"]
    assert tok.words("3.14$ a+b ^_^") == ["3", ".", "14", "$", "a", "+", "b", "^", "_", "^"]  # ASCII symbols too
    assert tok.words("  ") == []


def test_encode(tok):
    assert tok.encode("Unaffable") == ids("un", "##aff", "##able")
    assert tok.encode("Hello, World!") == ids("hello", ",", "world", "!")
    assert tok.encode("Caf\u00e9 in Z\u00fcrich") == ids("cafe", "[UNK]", "zurich")  # "in" is not in the vocabulary
    assert tok.encode("unx ab") == ids("[UNK]", "a", "##b")  # one unknown part makes the whole word [UNK]
    assert tok.encode("\u6771\u4eac is x") == ids("\u6771", "\u4eac", "is", "x")


def test_specials_keep_their_vocabulary_ids(tok):
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 2, 3, 4, 5)
    assert tok.encode("hello", add_special_tokens=True) == ids("[CLS]", "hello", "[SEP]")
    assert tok.encode("[SEP]") == ids("[", "sep", "]")  # never read from text


def test_encode_batch_pads_with_pad_and_truncation_keeps_sep(tok):
    batch, mask = tok.encode_batch(["hello world !", "hello"], add_special_tokens=True)
    assert batch.tolist() == [ids("[CLS]", "hello", "world", "!", "[SEP]"),
                              ids("[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]")]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    cut, _ = tok.encode_batch(["hello world ! hello"], max_len=4, add_special_tokens=True)
    assert cut.tolist() == [ids("[CLS]", "hello", "world", "[SEP]")]


def test_decode_glues_pieces_and_drops_specials(tok):
    encoded = tok.encode("Unaffable, world!", add_special_tokens=True)
    assert tok.decode(encoded) == "unaffable , world !"
    assert tok.decode(encoded, skip_special_tokens=False) == "[CLS] unaffable , world ! [SEP]"
    assert tok.decode(mg.tensor(ids("hello", "##b"))) == "hellob"
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([len(VOCAB)])


def test_vocabulary_lookups_and_added_tokens(tok):
    assert tok.vocab_size == len(VOCAB)
    assert tok.token_to_id("[CLS]") == 3 and tok.id_to_token(7) == "##aff" and tok.token_to_id("nope") is None
    assert tok.add_tokens(["<3", "hello"]) == 1  # "hello" exists already
    assert tok.token_to_id("<3") == len(VOCAB) and tok.id_to_token(len(VOCAB)) == "<3"
    assert tok.encode("hello <3 world") == ids("hello") + [len(VOCAB)] + ids("world")


def test_json_round_trip(tok, tmp_path):
    tok.add_tokens("<3")
    path = tmp_path / "wordpiece.json"
    tok.save(path)
    again = Tokenizer.load(path)
    assert isinstance(again, WordPieceTokenizer) and json.loads(again.to_json()) == json.loads(tok.to_json())
    assert again.encode("Unaffable <3", add_special_tokens=True) == tok.encode("Unaffable <3", add_special_tokens=True)


def test_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    assert WordPieceTokenizer.from_vocab_file(path).vocab == VOCAB


def test_bad_vocabularies_are_clear_errors():
    with pytest.raises(ValueError, match=r"missing: \['\[MASK\]'\]"):
        WordPieceTokenizer([t for t in VOCAB if t != "[MASK]"])
    with pytest.raises(ValueError, match="twice"):
        WordPieceTokenizer(VOCAB + ["hello"])


def test_a_word_the_tokenizer_drops_entirely_gets_no_tag_and_moves_no_other(tok):
    """A soft hyphen (or zero-width space, BOM...) alone is a word with no token: its tag has nowhere
    to go, and must not land on a neighbour's token."""
    from models.data import IGNORE, QAExample, TaggedExample, batches

    tagged = TaggedExample(("hello", "\u00ad", "world"), (2, 0, 1))
    for position in ("first", "last"):
        batch = next(batches([tagged], tok, 1, shuffle=False, tag_position=position))
        assert batch["labels"][0].tolist() == [IGNORE, 2, 1, IGNORE]  # [CLS] hello world [SEP]
    at_the_end = TaggedExample(("hello", "world", "\ufeff"), (2, 1, 0))
    assert next(batches([at_the_end], tok, 1, shuffle=False))["labels"][0].tolist() == [IGNORE, 2, 1, IGNORE]
    question = QAExample("is", "hello \u00ad world", 0, 2, "hello \u00ad world")
    batch = next(batches([question], tok, 1, shuffle=False))  # [CLS] is [SEP] hello world [SEP]
    assert (batch["start"].item(), batch["end"].item()) == (3, 4)
    with pytest.raises(ValueError, match="has no tokens"):
        next(batches([QAExample("is", "hello \u00ad world", 1, 1, "\u00ad")], tok, 1, shuffle=False))


def test_a_word_of_exactly_max_chars_is_still_split():
    vocab = {"a", "##a"}
    assert wordpiece("a" * 100, vocab) == ["a"] + ["##a"] * 99  # BERT's limit: more than 100 is [UNK]
    assert wordpiece("a" * 5, vocab, max_chars=5) == ["a"] + ["##a"] * 4
    assert wordpiece("a" * 6, vocab, max_chars=5) is None


def test_unicode_spaces_become_plain_spaces(tok):
    # no-break space, ideographic space, en space (category Zs): BERT's whitespace
    assert tok.normalize("hello\u00a0world\u3000x\u2002!") == "hello world x !"


def test_every_ascii_symbol_is_a_word_of_its_own(tok):
    assert tok.words("a^b`c[d]e\\f") == ["a", "^", "b", "`", "c", "[", "d", "]", "e", "\\", "f"]


def test_decode_keeps_a_leading_continuation_piece(tok):
    # a window cut mid-word starts with a "##" piece: there is no word before it to glue it to
    assert tok.decode(ids("##b", "hello", "##b")) == "##b hellob"


def test_decode_drops_every_special_token_and_keeps_unused_slots(tok):
    assert tok.decode(ids("[CLS]", "hello", "[MASK]", "[unused0]", "[PAD]", "[SEP]")) == "hello [unused0]"
    assert tok.decode(ids("hello", "[MASK]"), skip_special_tokens=False) == "hello [MASK]"
