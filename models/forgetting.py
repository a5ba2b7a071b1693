"""How much of its pretraining a fine-tuned body forgot, measured on text apart from the fine-tuning's.

The probe text is 200 reviews from the bundled grammar, drawn from a random stream of their
own (pretraining_corpus with seed + 1, which also keeps out the validation and test reviews of
the task with seed + 1). None is a validation or test review of the task; the
grammar is small, so one may repeat a training review's sentence, which before-minus-after
hardly notices. For the shipped model that is its pretraining domain;
for MiniLM it is simply plain English that is not the task's own data, so what changes
there is not the adaptation we asked for. Each measure is 0 for the pretrained body.

    decoders (tiny, `minigrad pretrain` checkpoints)    LM loss after - before
        the next-token loss on the probe text, i.e. the pretraining task itself, again:
        > 0 means the body got worse at it.
    encoders (minilm)                                   embedding drift
        1 - mean_i cos(e_before(x_i), e_after(x_i)), e = the body's last hidden states
        averaged over a sentence's tokens (sentence-transformers' mean pooling).
        all-MiniLM-L6-v2 has no language-model head -- it was trained to make sentence
        embeddings -- so there is no pretraining loss to measure again; instead we measure
        how far each sentence's embedding moved. 0 = unchanged, 1 = orthogonal on average.
        It measures change, not harm: a rotation of the whole embedding space would score
        high and lose nothing. Judging harm would need a labelled similarity benchmark
        (such as STS-B), which is not shipped.
"""
import minigrad as mg
from models import data
from models.heads import LanguageModel, pool
from models.pretraining import encode_lines, lm_loss_on

N_PROBE = 200  # sentences: enough for a stable mean, a few seconds for MiniLM on one CPU thread


def probe_texts(seed):
    """The reviews every measure uses (see the top: apart from the task's validation and test sets)."""
    return data.pretraining_corpus(n_sentences=N_PROBE, seed=seed + 1, held_out_seeds=(seed, seed + 1)).splitlines()


def forgetting_probe(base, seed=0, device="cpu"):
    """The measure that fits the pretrained model: LMLossIncrease for a decoder, EmbeddingDrift for an encoder.
    A decoder pretrained on other text (`pretrain --corpus shakespeare`, as its checkpoint's metadata says)
    is measured on the reviews all the same, and the measure's description says so."""
    if not base.config.causal:
        return EmbeddingDrift(base, probe_texts(seed), device)
    corpus = getattr(base, "metadata", {}).get("corpus", "reviews")  # the shipped model's predates the field
    return LMLossIncrease(base, probe_texts(seed), device, own_domain=corpus == "reviews")


class LMLossIncrease:
    """forgetting(body) = next-token loss on the probe text after fine-tuning - before."""

    def __init__(self, base, texts, device, own_domain=True):
        self.tokenizer, self.device = base.tokenizer, device
        self.rows = encode_lines(base.tokenizer, texts, base.config.max_len)
        self.before = self.loss(base.body)
        domain = "pretraining-domain" if own_domain else "bundled-review (not this model's pretraining text)"
        self.measure = (f"{domain} next-token loss after - before fine-tuning (before: {self.before:.3f}), "
                        f"on {len(texts)} held-out reviews")

    def loss(self, body):
        """The next-token loss in eval mode (no dropout), whatever mode body is in; its mode is kept."""
        was_training = body.training
        body.eval()
        try:
            return lm_loss_on(LanguageModel(body), self.rows, self.tokenizer, self.device)
        finally:
            body.train(was_training)

    def __call__(self, body):
        return self.loss(body) - self.before


class EmbeddingDrift:
    """forgetting(body) = 1 - mean cosine similarity of each probe sentence's embedding before and after."""

    def __init__(self, base, texts, device, max_len=64):
        ids, mask = base.tokenizer.encode_batch(texts, max_len=max_len, add_special_tokens=True)  # [CLS] text [SEP]
        self.ids, self.mask = ids.to(device), mask.to(device)
        self.before = self.embed(base.body)
        self.measure = (f"embedding drift, 1 - mean cosine of each sentence's mean-pooled embedding before and "
                        f"after fine-tuning, on {len(texts)} held-out reviews (0 = unchanged)")

    def embed(self, body):
        """(N, d) unit vectors: the mean of the last hidden states over real tokens, without dropout."""
        training = body.training
        body.eval()
        try:
            with mg.no_grad():
                mean = pool(body(self.ids, self.mask), self.mask, "mean")  # (N, d)
        finally:
            body.train(training)
        return mean / (mean * mean).sum(-1, keepdim=True).sqrt().clamp(min=1e-12)

    def __call__(self, body):
        return 1.0 - (self.embed(body) * self.before).sum(-1).mean().item()  # a dot of unit vectors = their cosine
