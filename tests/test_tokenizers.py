"""Tokenizers: exact round trips, [UNK], special tokens, batches with masks, files, added tokens."""
import json
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from models import data
from models.tokenizers import PRETOKENIZE, SPECIAL_TOKENS, BPETokenizer, CharTokenizer, Tokenizer, merge

CORPUS = data.pretraining_corpus(n_sentences=1000)
BPE = BPETokenizer.train(CORPUS, vocab_size=600)
CHAR = CharTokenizer.train(CORPUS)


def fresh_bpe():
    return BPETokenizer(BPE.merges)


# ---- round trips -------------------------------------------------------------------------------
@given(st.text())
def test_pretokenizer_chunks_join_back_into_the_text(text):
    assert "".join(PRETOKENIZE.findall(text)) == text


@given(st.text())
def test_bpe_round_trips_any_text(text):
    assert BPE.decode(BPE.encode(text)) == text


@pytest.mark.parametrize("text", ["héllo wörld", "emoji 😀👍🏽 and 中文", "tabs\tnew\nlines\r\n\x00\x1b[0m",
                                  "  leading and trailing  ", "snake_case __init__ it's 3.14", ""])
def test_bpe_round_trips_hard_cases(text):
    assert BPE.decode(BPE.encode(text)) == text
    assert BPE.decode(BPE.encode(text, add_special_tokens=True)) == text


def test_bpe_encodes_a_lone_surrogate_as_broken_utf8():
    # a file name decoded with surrogateescape holds one; it has bytes, which decode to U+FFFD
    assert BPE.decode(BPE.encode("a\udcffb")) == "a\ufffd\ufffd\ufffdb"
    assert BPE.token_to_id("\udcff") is None  # three bytes, no one token: asked for, not an error


@given(st.text(alphabet=CHAR.chars))
def test_char_round_trips_over_its_training_alphabet(text):
    assert CHAR.decode(CHAR.encode(text)) == text


def test_char_vocabulary_is_the_specials_then_the_sorted_characters():
    tok = CharTokenizer.train(["cab", "bad"])
    assert tok.chars == ["a", "b", "c", "d"]
    assert tok.vocab_size == len(SPECIAL_TOKENS) + 4
    assert tok.encode("abc") == [7, 8, 9]


def test_char_maps_unknown_characters_to_unk():
    tok = CharTokenizer.train(["abc"])
    assert tok.encode("aZb€") == [tok.token_to_id("a"), tok.unk_id, tok.token_to_id("b"), tok.unk_id]
    assert tok.decode(tok.encode("aZb"), skip_special_tokens=False) == "a[UNK]b"


# ---- byte-pair encoding ------------------------------------------------------------------------
def test_bpe_merges_the_most_frequent_pair_first():
    tok = BPETokenizer.train("ab ab ab cd", vocab_size=264)  # one merge: (a, b) occurs 3 times
    a, b = tok.token_to_id("a"), tok.token_to_id("b")
    assert tok.merges == [(a, b)]
    assert tok.encode("ab") == [263]
    assert tok.id_to_token(263) == "ab"


def test_merge_replaces_left_to_right():
    assert merge([5, 6, 5, 6, 7], (5, 6), 9) == [9, 9, 7]
    assert merge([1, 1, 1], (1, 1), 2) == [2, 1]


def test_bpe_compresses_corpus_text():
    text = data.pretraining_corpus(n_sentences=200, seed=1)
    n_tokens, n_bytes = len(BPE.encode(text)), len(text.encode("utf-8"))
    assert n_tokens < 0.3 * n_bytes
    assert BPE.decode(BPE.encode(text)) == text


def test_bpe_merges_never_cross_a_word_boundary():
    for i in range(BPE._first_merge, BPE.vocab_size):
        piece = BPE.id_to_token(i)
        assert piece.isspace() or " " not in piece[1:], piece  # a space only as the leading one


def test_bpe_training_is_deterministic_and_stops_when_pairs_are_rare():
    assert BPETokenizer.train(CORPUS, vocab_size=600).merges == BPE.merges
    small = BPETokenizer.train("abc abd", vocab_size=1000)  # only (a, b) occurs twice
    assert len(small.merges) == 1


def test_bpe_trains_a_2000_token_vocabulary_on_1_mb_quickly():
    rng = random.Random(0)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(20_000)]
    text = " ".join(rng.choices(words, weights=[1 / (r + 1) for r in range(len(words))], k=190_000))  # Zipf
    assert len(text) > 1_000_000
    start = time.perf_counter()
    tok = BPETokenizer.train(text, vocab_size=2000)
    assert time.perf_counter() - start < 20
    assert tok.vocab_size == 2000


def test_bpe_rejects_a_vocabulary_smaller_than_the_bytes():
    with pytest.raises(ValueError, match="at least 263"):
        BPETokenizer.train("abc", vocab_size=100)


# ---- special tokens ---------------------------------------------------------------------------
def test_special_token_ids_come_first():
    for tok in (CHAR, BPE):
        assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id, tok.cls_id, tok.sep_id, tok.mask_id) == tuple(range(7))


def test_add_special_tokens_wraps_in_bos_eos_and_decode_skips_them():
    ids = BPE.encode("the plot is good .", add_special_tokens=True)
    assert ids[0] == BPE.bos_id and ids[-1] == BPE.eos_id
    assert BPE.decode(ids) == "the plot is good ."
    assert BPE.decode(ids, skip_special_tokens=False) == "[BOS]the plot is good .[EOS]"


def test_special_tokens_are_not_read_from_text():
    assert BPE.cls_id not in BPE.encode("[CLS] hello")
    assert BPE.decode(BPE.encode("[CLS] hello")) == "[CLS] hello"


def test_decode_accepts_a_tensor_and_rejects_unknown_ids():
    ids = BPE.encode("great acting")
    assert BPE.decode(mg.tensor(ids, dtype=mg.int64)) == "great acting"
    with pytest.raises(ValueError, match="out of range"):
        BPE.decode([BPE.vocab_size])


# ---- batches ------------------------------------------------------------------------------------
def test_encode_batch_pads_on_the_right_with_a_mask():
    texts = ["the plot is good .", "bad", "the screen was not very sharp , but the price is cheap ."]
    for tok in (CHAR, BPE):
        ids, mask = tok.encode_batch(texts)
        lengths = [len(tok.encode(t)) for t in texts]
        assert ids.shape == mask.shape == (3, max(lengths))
        assert ids.dtype == mask.dtype == mg.int64
        assert mask.numpy().sum(axis=1).tolist() == lengths
        for row, mask_row, text, n in zip(ids.tolist(), mask.tolist(), texts, lengths):
            assert row[:n] == tok.encode(text) and set(row[n:]) <= {tok.pad_id}
            assert mask_row == [1] * n + [0] * (len(row) - n)


def test_encode_batch_truncates_and_keeps_eos():
    ids, mask = BPE.encode_batch(["the plot is good and the acting is great ."] * 2, max_len=5, add_special_tokens=True)
    assert ids.shape == (2, 5) and mask.tolist() == [[1] * 5] * 2
    assert ids.tolist()[0][0] == BPE.bos_id and ids.tolist()[0][-1] == BPE.eos_id


def test_encode_batch_without_truncation_raises_on_long_text():
    with pytest.raises(ValueError, match="max_len=3.*truncation=True"):
        CHAR.encode_batch(["short", "ab"], max_len=3, truncation=False)


def test_encode_batch_padding_modes():
    ids, mask = CHAR.encode_batch(["ab", "abc"], max_len=8, padding="max_length")
    assert ids.shape == (2, 8) and mask.tolist()[0] == [1, 1] + [0] * 6
    assert CHAR.encode_batch(["ab", "cd"], padding=False)[0].shape == (2, 2)
    with pytest.raises(ValueError, match="padding=True"):
        CHAR.encode_batch(["ab", "abc"], padding=False)
    with pytest.raises(ValueError, match="non-empty list"):
        CHAR.encode_batch([])


# ---- files ---------------------------------------------------------------------------------------
def _saved(tok, tmp_path):
    path = tmp_path / "tokenizer.json"
    tok.save(path)
    return path


@pytest.mark.parametrize("tok", [CHAR, BPE], ids=["char", "bpe"])
def test_save_load_round_trip(tok, tmp_path):
    tok = Tokenizer.load(_saved(tok, tmp_path))  # a copy, so the shared tokenizer keeps no added tokens
    tok.add_tokens(["<3", "minigrad"])
    loaded = Tokenizer.load(_saved(tok, tmp_path))
    assert type(loaded) is type(tok) and loaded.vocab_size == tok.vocab_size
    text = "the plot <3 was not bad , minigrad !"
    assert loaded.encode(text, add_special_tokens=True) == tok.encode(text, add_special_tokens=True)


def test_to_json_from_json_round_trip_names_the_source_in_errors():
    assert Tokenizer.from_json(BPE.to_json()).merges == BPE.merges
    with pytest.raises(ValueError, match="model.safetensors is not a tokenizer file"):
        Tokenizer.from_json("{", source="model.safetensors")


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        Tokenizer.load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "bpe", "merg')
    with pytest.raises(ValueError, match="broken.json.*invalid JSON"):
        Tokenizer.load(broken)
    broken.write_text(json.dumps({"type": "sentencepiece"}))
    with pytest.raises(ValueError, match="broken.json.*'sentencepiece'"):
        Tokenizer.load(broken)
    broken.write_text(json.dumps({"type": "bpe", "specials": list(SPECIAL_TOKENS), "added_tokens": []}))
    with pytest.raises(ValueError, match="broken.json is a corrupt bpe tokenizer file.*merges"):
        Tokenizer.load(broken)
    broken.write_text(json.dumps({"type": "bpe", "specials": [], "added_tokens": [], "merges": [[1, 999]]}))
    with pytest.raises(ValueError, match="corrupt.*does not exist"):
        Tokenizer.load(broken)


# ---- added tokens -------------------------------------------------------------------------------
def test_add_tokens_appends_new_ids_and_matches_them_whole():
    tok = fresh_bpe()
    size = tok.vocab_size
    assert tok.add_tokens(["minigrad", "<3", "minigrad"]) == 2
    assert tok.add_tokens(["<3", "[PAD]", "a"]) == 0  # already there: added, special, a byte
    assert tok.vocab_size == size + 2
    ids = tok.encode("i <3 minigrad!")
    assert size in ids and size + 1 in ids
    assert tok.decode(ids) == "i <3 minigrad!"
    assert tok.encode("xminigrady")[1] == size  # matched even inside a word


WITH_ADDED = BPETokenizer(BPE.merges, added_tokens=["<3", "the plot", "zz"])


@given(st.lists(st.sampled_from(["<", "3", "z", " ", "the plot", "é", "😀"]) | st.text()).map("".join))
def test_bpe_with_added_tokens_still_round_trips(text):
    assert WITH_ADDED.decode(WITH_ADDED.encode(text)) == text


def test_char_add_tokens_skips_known_characters():
    tok = CharTokenizer.train(["abc"])
    assert tok.add_tokens(["a", "[NEWLINE]"]) == 1
    assert tok.encode("a[NEWLINE]b") == [tok.token_to_id("a"), tok.vocab_size - 1, tok.token_to_id("b")]


def test_overlapping_added_tokens_match_the_longest_first():
    tok = BPETokenizer(BPE.merges, added_tokens=["<3", "<3<3"])  # the shorter one added first
    short, long = tok.token_to_id("<3"), tok.token_to_id("<3<3")
    assert tok.encode("<3<3") == [long]
    assert tok.encode("<3<3<3") == [long, short]


def test_id_to_token_of_the_first_base_token():
    tok = CharTokenizer.train(["cab"])
    assert [tok.id_to_token(i) for i in (6, 7, 9)] == ["[MASK]", "a", "c"]  # id 7: the first character, not a special


def test_char_tokenizer_refuses_a_character_twice():
    with pytest.raises(ValueError, match="distinct single characters"):
        CharTokenizer(["a", "b", "a"])
    with pytest.raises(ValueError, match="distinct single characters"):
        CharTokenizer(["ab"])
