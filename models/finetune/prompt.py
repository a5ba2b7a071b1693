"""Prompt tuning (Lester et al. 2021): freeze the whole model and learn n vectors that
are put in front of every input, as if they were the embeddings of n extra tokens.

    x = body.embed(ids)                      (B, T, d)      the input as usual
    [P; x]                                   (B, n + T, d)  P (n, d) is all that trains
    mask = [1 ... 1; attention_mask]         (B, n + T)     every token may look at the prompt
    hidden = body.encode([P; x], mask)[:, n:]  (B, T, d)    prompt positions dropped

Choices made here:
- The prompt positions are dropped before the head, so the hidden states stay
  aligned with the input ids and every head works unchanged ("first" pooling
  still finds [CLS], tagging and spans still have one row per token).
- The prompt gets no position embedding: its vectors are free, so they can learn
  whatever position signal helps. The real tokens keep positions 0..T-1, so an
  input may still be max_len tokens long (attention itself has no length limit).
- In a causal body the prompt comes first, so every real token sees all of it.
- P starts as n random rows of the token embedding, which Lester et al. found
  better than random vectors: the prompt starts among "words" the model knows.
  A body that normalises its embeddings (BERT, MiniLM) gets the rows through that
  LayerNorm too, so they start at the scale of its real inputs (~10x the raw rows).

A causal body computes the same thing more cheaply. There the prompt positions
attend only to each other, so their states in every block are the same for every
input: run P alone through the body once per batch (batch 1, n positions), keep
each block's keys and values in a KV cache, and run the batch on its own T tokens
attending to those cached keys first. Every block then works on T positions, not
n + T, and the gradient reaches P through the cached keys and values. (With
dropout on, the prompt's own pass draws one mask for the whole batch.) A
bidirectional encoder's prompt attends to the input too, so there P is
concatenated as above.

Only n * d numbers train (8 * 384 = 3,072 for MiniLM), yet backward still runs
through every layer: cheaper than full fine-tuning (no weight gradients), not as
cheap as training the head alone. Lester et al. found it competitive only with
billions of parameters; on a small model expect it to lag.
"""
import minigrad as mg
from minigrad import nn


class PromptTuned(nn.Module):
    """A frozen body with n learnable prompt vectors in front of its input; called like the body."""

    def __init__(self, body, n_prompt=8):
        super().__init__()
        if n_prompt < 1:
            raise ValueError(f"prompt: n_prompt must be at least 1, got {n_prompt}")
        self.body = body.requires_grad_(False)
        self.config = body.config
        self.n_prompt = n_prompt
        self.prompt = nn.Parameter(starting_vectors(body, n_prompt))

    def extend_mask(self, attention_mask):
        """(B, T) -> (B, n + T) with ones for the prompt; None (no padding) stays None."""
        if attention_mask is None:
            return None
        B = attention_mask.shape[0]
        ones = mg.ones(B, self.n_prompt, dtype=attention_mask.dtype, device=attention_mask.device)
        return mg.cat([ones, attention_mask], dim=1)

    def new_cache(self):
        return self.body.new_cache()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, cache=None):
        """ids (B, T) -> hidden (B, T, d). cache (causal bodies; generation): the prompt goes in first,
        then the ids continue the positions seen so far (the prompt has none of its own)."""
        if self.config.causal:
            cache = self.body.new_cache() if cache is None else cache
            if not len(cache[0]):
                self.body.encode(self.prompt.unsqueeze(0), cache=cache)  # fills it: (1, H, n, d/H) per block
            x = self.body.embed(input_ids, token_type_ids, start=len(cache[0]) - self.n_prompt)  # (B, T, d)
            return self.body.encode(x, attention_mask, cache=cache)  # (B, T, d)
        if cache is not None:
            raise ValueError("prompt: a KV cache needs a causal body")
        return self.concatenated(input_ids, attention_mask, token_type_ids)

    def concatenated(self, input_ids, attention_mask=None, token_type_ids=None):
        """Lester et al.'s form, for any body: [P; x] through every block, prompt positions dropped."""
        x = self.body.embed(input_ids, token_type_ids)  # (B, T, d)
        B, _, d = x.shape
        prompt = self.prompt.unsqueeze(0).expand(B, self.n_prompt, d)  # (B, n, d), one copy per row
        hidden = self.body.encode(mg.cat([prompt, x], dim=1), self.extend_mask(attention_mask))
        return hidden[:, self.n_prompt:]  # (B, T, d)

    def extra_repr(self):
        return f"n_prompt={self.n_prompt}"


def starting_vectors(body, n):
    """(n, d): n random rows of the token embedding (copies), as the body's blocks see its inputs."""
    table = body.token_embedding.weight  # (vocab, d)
    rows = (mg.rand(n, device=table.device) * table.shape[0]).long()
    with mg.no_grad():
        start = table[rows]
        if body.embedding_norm is not None:  # BERT normalises its inputs: start at their scale too
            start = body.embedding_norm(start)
    return start.detach()


def add_prompt(model, *, n_prompt=8):
    """prompt: wrap the body so n_prompt learnable vectors go in front of every input."""
    model.body = PromptTuned(model.body, n_prompt)
