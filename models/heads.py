"""Task heads: small modules that turn hidden states (B, T, d) into a task's outputs,
and the two model shapes built from a body and a head.

    LanguageModel      body + LM head            -> next-token logits (B, T, vocab)
    TransformerWithHead body + any head below    -> class logits, tag logits or span logits
"""
import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from models.transformer import SelfAttention, Transformer, TransformerConfig, resized_rows

POOLINGS = ("first", "last", "mean", "pooled")


class LMHead(nn.Module):
    """hidden (B, T, d) -> logits (B, T, vocab). Tied: reuses the token embedding matrix
    E (vocab, d) as the output projection, logits = h E^T (fewer parameters, better LMs)."""

    def __init__(self, body):
        super().__init__()
        self.tied = body.config.tie_weights
        if not self.tied:
            self.proj = nn.Linear(body.config.d_model, body.config.vocab_size, bias=False)
        object.__setattr__(self, "body", body)  # a reference, not a submodule: no duplicate parameters

    def forward(self, hidden, attention_mask=None):
        return F.linear(hidden, self.body.token_embedding.weight) if self.tied else self.proj(hidden)


def pool(hidden, attention_mask, how):
    """(B, T, d) -> (B, d): the first token, the last real token, or the mean over real tokens.
    The last real token is the last position the mask holds 1 (the tokenizers pad on the right, but a
    left-padded batch finds it too)."""
    if how == "first":
        return hidden[:, 0]
    mask = (mg.ones(hidden.shape[:2], device=hidden.device) if attention_mask is None
            else attention_mask.to(hidden.dtype))  # (B, T)
    if how == "last":
        positions = mg.arange(1, hidden.shape[1] + 1, device=hidden.device)  # 1..T, so padding (0) never wins
        last = (mask * positions).argmax(1)  # (B,): each row's last real token
        return hidden[mg.arange(hidden.shape[0], device=hidden.device), last]
    return (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)


class SequenceClassificationHead(nn.Module):
    """hidden (B, T, d) -> class logits (B, num_labels), from one pooled vector per sequence.

    "pooled" is BERT's pooler: tanh(W h_first + b) before the classifier. A decoder should
    pool "last" (only the last token has seen the whole sentence) or "mean"."""

    def __init__(self, d_model, num_labels, pooling="mean", dropout=0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
        self.pooling = pooling
        if pooling == "pooled":
            self.pooler = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_labels)

    def forward(self, hidden, attention_mask=None):
        pooled = pool(hidden, attention_mask, "first" if self.pooling == "pooled" else self.pooling)
        if self.pooling == "pooled":
            pooled = self.pooler(pooled).tanh()
        return self.classifier(self.drop(pooled))


class TokenTaggingHead(nn.Module):
    """hidden (B, T, d) -> tag logits (B, T, num_tags), one prediction per token."""

    def __init__(self, d_model, num_tags, dropout=0.1):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_model, num_tags)

    def forward(self, hidden, attention_mask=None):
        return self.classifier(self.drop(hidden))


class SpanHead(nn.Module):
    """hidden (B, T, d) -> (B, T, 2): start and end logits of an answer span per token
    (extractive QA); padding positions get -1e9 so they are never chosen."""

    def __init__(self, d_model):
        super().__init__()
        self.classifier = nn.Linear(d_model, 2)

    def forward(self, hidden, attention_mask=None):
        logits = self.classifier(hidden)  # (B, T, 2)
        if attention_mask is None:
            return logits
        return mg.where((attention_mask != 0).unsqueeze(-1), logits, -1e9)


class TransformerWithHead(nn.Module):
    """body + head: token ids (B, T) -> the head's outputs."""

    def __init__(self, body, head):
        super().__init__()
        self.body, self.head = body, head
        self.config = body.config

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, cache=None):
        return self.head(self.body(input_ids, attention_mask, token_type_ids, cache=cache), attention_mask)

    def new_cache(self):
        """An empty KV cache for forward(..., cache=) on a causal body (see models/generate.py)."""
        return self.body.new_cache()

    def set_dropout(self, p):
        """Every dropout of the body (embeddings, attention weights, residual branches) and of the
        head at rate p: a pretrained model is often fine-tuned with more (or less) dropout than it
        was pretrained with. LoRA's own dropout (lora_dropout, an option of its mode) is left alone."""
        if not 0 <= p < 1:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        for name, module in self.named_modules():
            if isinstance(module, nn.Dropout) and not name.endswith("lora_dropout"):
                module.p = p
            elif isinstance(module, SelfAttention):  # its dropout acts on the attention weights
                module.dropout = p
        return self


class LanguageModel(TransformerWithHead):
    """A transformer with its (tied) LM head: ids (B, T) -> next-token logits (B, T, vocab)."""

    def __init__(self, config_or_body):
        body = Transformer(config_or_body) if isinstance(config_or_body, TransformerConfig) else config_or_body
        super().__init__(body, LMHead(body))

    def resize_token_embeddings(self, vocab_size):
        """The vocabulary grown (or shrunk) on both ends: the token embedding and, untied, the output
        layer's rows (one per token it can predict); old rows kept, new ones drawn like the originals."""
        self.body.resize_token_embeddings(vocab_size)
        if not self.head.tied:
            self.head.proj.weight = resized_rows(self.head.proj.weight, vocab_size)
            self.head.proj.out_features = vocab_size

    def generate(self, prompt="", max_new_tokens=50, temperature=1.0, top_k=None):
        """Continue a text prompt (needs .tokenizer, as models.pretrained.load attaches)."""
        from models.generate import generate_text

        return generate_text(self, prompt, max_new_tokens, temperature, top_k)

    def lm_loss(self, input_ids, attention_mask=None):
        """Mean cross-entropy of predicting token t+1 from tokens <= t (padding ignored)."""
        if input_ids.ndim != 2 or input_ids.shape[1] < 2:
            raise ValueError(f"lm_loss: input_ids must be (batch, tokens) with at least 2 tokens (one to predict "
                             f"the next from), got shape {tuple(input_ids.shape)}")
        logits = self(input_ids[:, :-1], None if attention_mask is None else attention_mask[:, :-1])
        targets = input_ids[:, 1:]
        if attention_mask is not None:
            targets = mg.where(attention_mask[:, 1:] != 0, targets, -100)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
