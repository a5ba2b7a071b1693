"""The shipped checkpoint and loading by name or path."""
import pytest

import minigrad as mg
from minigrad.nn import functional as F
from models import data, pretrained


@pytest.fixture(scope="module")
def tiny():
    return pretrained.load("tiny")


def verdict_log_prob(model, text, verdict):
    tokenizer = model.tokenizer
    continuation = tokenizer.encode(" " + verdict)
    ids = [tokenizer.bos_id] + tokenizer.encode(text) + continuation
    with mg.no_grad():
        log_probs = F.log_softmax(model(mg.tensor([ids]))[0], -1).numpy()
    start = len(ids) - len(continuation)
    return sum(log_probs[start - 1 + i, token] for i, token in enumerate(continuation))


def test_the_pretrained_model_knows_sentiment_without_fine_tuning(tiny):
    """Pretraining on reviews that end with verdicts taught it to read negation and contrast."""
    reviews = [e for e in data.load_task("sentiment").valid if len(tiny.tokenizer.encode(e.text)) < 50][:100]
    correct = sum((verdict_log_prob(tiny, e.text, "five stars .") > verdict_log_prob(tiny, e.text, "one star ."))
                  == bool(e.label) for e in reviews)
    assert correct >= 90


def test_loaded_model_carries_its_tokenizer_and_config(tiny):
    assert tiny.tokenizer.vocab_size == tiny.config.vocab_size
    assert tiny.config.causal and not tiny.training
    assert float(tiny.metadata["valid_loss"]) < 1.0


def test_unknown_names_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no pretrained model 'huge': expected one of \['tiny', 'minilm'\]"):
        pretrained.load("huge")
    mg.save({"w": mg.zeros(2)}, tmp_path / "bare.safetensors")
    with pytest.raises(ValueError, match="no model config or tokenizer in its metadata"):
        pretrained.load(tmp_path / "bare.safetensors")
    (tmp_path / "broken.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        pretrained.load(tmp_path / "broken.safetensors")
    with pytest.raises(FileNotFoundError, match="or the folder of its run"):
        pretrained.load(tmp_path)  # a folder without a model.safetensors


def test_a_pretraining_runs_folder_names_its_model(tiny, tmp_path):
    pretrained.save_pretrained(tiny, tiny.tokenizer, tmp_path / "model.safetensors")
    assert pretrained.resolve(tmp_path) == tmp_path / "model.safetensors"
    assert pretrained.load(tmp_path).config == tiny.config
