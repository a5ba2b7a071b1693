"""What fine-tuning minimises and measures, for each kind of task.

    classification  one label per text: cross-entropy; accuracy and macro F1
    tagging         one tag per word: cross-entropy over the tagged tokens (IGNORE elsewhere);
                    token accuracy and macro F1 over the tags
    qa              an answer span in the context: the mean of the cross-entropy of the start
                    position and that of the end position; exact match and F1 of the answer's words, as
                    SQuAD scores them (the context words the predicted tokens fall in)
    lm              plain text (domain adaptation): the mean cross-entropy of every next token;
                    that loss and the perplexity exp(loss), the number of equally likely tokens
                    the model is as unsure as
"""

import math

from minigrad import no_grad
from minigrad.nn import functional as F
from models import data
from models.metrics import answer_scores, classification_report, perplexity

EVAL_BATCH = 32  # examples per evaluation batch; larger ones are slower per example on a CPU (MiniLM: 2x at 256)


def loss(model, batch):
    """The task's training loss; the kind is read off the batch's targets."""
    if "labels" not in batch and "start" not in batch:  # lm: the text is its own target
        return model.lm_loss(batch["input_ids"], batch["attention_mask"])
    return loss_of(model(batch["input_ids"], batch["attention_mask"]), batch)


def loss_items(batch):
    """How many terms the batch's loss is the mean of: its texts (classification, qa), its tagged tokens
    (tagging: IGNORE elsewhere), its predicted tokens (lm: every real token after a row's first). Batches'
    losses weighed by it make the mean over all of their terms, as one batch would have given."""
    if "labels" not in batch and "start" not in batch:
        return int(batch["attention_mask"][:, 1:].sum().item())
    if "labels" in batch and batch["labels"].ndim == 2:
        return int((batch["labels"] != data.IGNORE).sum().item())
    return len(batch["input_ids"])


def loss_of(logits, batch):
    """The loss of the logits a classification, tagging or qa model gave for batch."""
    if "start" in batch:  # qa: logits (B, T, 2)
        return (F.cross_entropy(logits[..., 0], batch["start"]) + F.cross_entropy(logits[..., 1], batch["end"])) / 2
    if batch["labels"].ndim == 2:  # tagging: logits (B, T, tags), labels (B, T)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1),
                               ignore_index=data.IGNORE)
    return F.cross_entropy(logits, batch["labels"])  # classification: (B, C), (B,)


def fits(tokenizer, question, context, max_len):
    """Whether [BOS] question [SEP] context [EOS] fits in max_len tokens (else an answer may be cut off)."""
    return len(tokenizer.encode(question)) + len(tokenizer.encode(context)) + 3 <= max_len


def fitting(examples, tokenizer, max_len):
    """The QA examples that fit in max_len tokens (the rest cannot be answered by a model of that context)."""
    return [e for e in examples if fits(tokenizer, e.question, e.context, max_len)]


def best_span(start_logits, end_logits, spans, kept):
    """(start, end): the token positions of the likeliest answer, start <= end and both on the context's
    tokens the model saw (before position kept: data.context_kept; a word the cut split keeps its first
    tokens), by start logit + end logit. (The likeliest start and end taken apart may cross, or fall on
    the question.) One pass: for each end, the best start is the best one at or before it."""
    positions = sorted(p for first, last in spans for p in range(first, min(last + 1, kept)))
    best, pair, top = -math.inf, (0, 0), None  # (0, 0): [BOS], no word, where no context token is left
    for p in positions:
        if top is None or start_logits[p] > start_logits[top]:
            top = p
        if start_logits[top] + end_logits[p] > best:
            best, pair = start_logits[top] + end_logits[p], (top, p)
    return pair


def answer_words(context, spans, start, end):
    """The answer a predicted start and end token give: the context words whose tokens fall between
    them, inclusive (spans: each word's (first, last) token, from data.qa_input). An end before the
    start: the start token alone."""
    end = max(start, end)
    return " ".join(word for word, (first, last) in zip(context.split(), spans)
                    if first <= last and first <= end and last >= start)


def by_length(examples):
    """The examples shortest first: a batch of texts of about one length needs little padding
    (evaluation scores do not depend on the order)."""
    return sorted(examples, key=lambda e: len(e.question) + len(e.context) if isinstance(e, data.QAExample)
                  else len(e.text))


def evaluate_lm(model, examples, tokenizer, batch_options):
    """{"loss", "perplexity"}: the mean next-token loss over every predicted token of the texts."""
    total, count = 0.0, 0
    for batch in data.batches(by_length(examples), tokenizer, EVAL_BATCH, shuffle=False, **batch_options):
        predicted = loss_items(batch)  # every real token after a row's first
        total += loss(model, batch).item() * predicted
        count += predicted
    return {"loss": total / count, "perplexity": perplexity(total / count)}


def evaluate(model, examples, tokenizer, num_labels, batch_options, details=False):
    """{"loss", "accuracy", "macro_f1"} over examples, in eval mode without a graph
    (for qa: accuracy = exact match, macro_f1 = mean word F1 of the answers, as `minigrad predict`
    scores them; for lm: {"loss", "perplexity"}).
    details (classification, tagging): also "per_class" precision / recall / F1 / support and the
    "confusion_matrix" (rows: true class, columns: predicted)."""
    model.eval()
    total, count, predicted, true = 0.0, 0, [], []
    with no_grad():
        if isinstance(examples[0], data.TextExample):
            return evaluate_lm(model, examples, tokenizer, batch_options)
        ordered = by_length(examples)
        special = batch_options.get("add_special_tokens", True)  # qa: where the context's tokens end
        for number, batch in enumerate(data.batches(ordered, tokenizer, EVAL_BATCH, shuffle=False, **batch_options)):
            logits = model(batch["input_ids"], batch["attention_mask"])
            # the batch's loss is a mean over its examples, or over its tagged tokens (tagging):
            # weigh it by that count, so the total is a mean over all of them, whatever EVAL_BATCH is
            weight = loss_items(batch)
            if weight:  # a batch with no tagged token left (all cut off by max_len) has no loss to count
                total += loss_of(logits, batch).item() * weight  # the same logits: one forward pass
                count += weight
            if "start" in batch:
                starts, ends = logits[..., 0].tolist(), logits[..., 1].tolist()
                for e, start_logits, end_logits in zip(ordered[number * EVAL_BATCH:], starts, ends):
                    ids, spans = data.qa_input(tokenizer, e.question, e.context, batch_options.get("max_len"), special)
                    span = best_span(start_logits, end_logits, spans, data.context_kept(ids, special))
                    predicted.append(answer_words(e.context, spans, *span))
                    true.append(" ".join(e.context.split()[e.start:e.end + 1]))
            elif batch["labels"].ndim == 2:
                for row_logits, row_labels in zip(logits.argmax(-1).tolist(), batch["labels"].tolist()):
                    pairs = [(p, t) for p, t in zip(row_logits, row_labels) if t != data.IGNORE]
                    predicted += [p for p, _ in pairs]
                    true += [t for _, t in pairs]
            else:
                predicted += logits.argmax(-1).tolist()
                true += batch["labels"].tolist()
    mean_loss = total / count
    if isinstance(examples[0], data.QAExample):
        scores = answer_scores(predicted, true)
        return {"loss": mean_loss, "accuracy": scores["exact_match"], "macro_f1": scores["f1"]}
    report = classification_report(true, predicted, num_labels)
    scores = {"loss": mean_loss, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
    if details:
        scores.update(per_class=report["per_class"], confusion_matrix=report["confusion_matrix"])
    return scores
