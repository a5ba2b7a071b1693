"""What fine-tuning minimises and measures, for each kind of task.

    classification  one label per text: cross-entropy; accuracy and macro F1
    tagging         one tag per word: cross-entropy over the tagged tokens (IGNORE elsewhere);
                    token accuracy and macro F1 over the tags
    qa              an answer span in the context: cross-entropy of the start position plus
                    that of the end position; exact match (both right) and span-overlap F1
"""
from minigrad import no_grad
from minigrad.nn import functional as F
from models import data
from models.metrics import classification_report

KINDS = ("classification", "tagging", "qa")


def loss(model, batch):
    """The task's training loss; the kind is read off the batch's targets."""
    logits = model(batch["input_ids"], batch["attention_mask"])
    if "start" in batch:  # qa: logits (B, T, 2)
        return (F.cross_entropy(logits[..., 0], batch["start"]) + F.cross_entropy(logits[..., 1], batch["end"])) / 2
    if batch["labels"].ndim == 2:  # tagging: logits (B, T, tags), labels (B, T)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["labels"].reshape(-1),
                               ignore_index=data.IGNORE)
    return F.cross_entropy(logits, batch["labels"])  # classification: (B, C), (B,)


def fitting(examples, tokenizer, max_len):
    """The QA examples whose [BOS] question [SEP] context [EOS] fits in max_len tokens
    (the rest cannot be answered by a model of that context length)."""
    return [e for e in examples
            if len(tokenizer.encode(e.question)) + len(tokenizer.encode(e.context)) + 3 <= max_len]


def span_f1(predicted, gold):
    """Overlap F1 of two inclusive token spans (start, end)."""
    overlap = max(0, min(predicted[1], gold[1]) - max(predicted[0], gold[0]) + 1)
    if not overlap:
        return 0.0
    precision, recall = overlap / (predicted[1] - predicted[0] + 1), overlap / (gold[1] - gold[0] + 1)
    return 2 * precision * recall / (precision + recall)


def evaluate(model, examples, tokenizer, num_labels, batch_options):
    """{"loss", "accuracy", "macro_f1"} over examples, in eval mode without a graph
    (for qa: accuracy = exact match, macro_f1 = mean span-overlap F1)."""
    model.eval()
    total, predicted, true = 0.0, [], []
    with no_grad():
        for batch in data.batches(examples, tokenizer, 256, shuffle=False, **batch_options):
            logits = model(batch["input_ids"], batch["attention_mask"])
            total += loss(model, batch).item() * len(batch["input_ids"])
            if "start" in batch:
                starts, ends = logits[..., 0].argmax(-1).tolist(), logits[..., 1].argmax(-1).tolist()
                predicted += [(s, max(s, e)) for s, e in zip(starts, ends)]  # an end before the start: empty->1 token
                true += list(zip(batch["start"].tolist(), batch["end"].tolist()))
            elif batch["labels"].ndim == 2:
                for row_logits, row_labels in zip(logits.argmax(-1).tolist(), batch["labels"].tolist()):
                    pairs = [(p, t) for p, t in zip(row_logits, row_labels) if t != data.IGNORE]
                    predicted += [p for p, _ in pairs]
                    true += [t for _, t in pairs]
            else:
                predicted += logits.argmax(-1).tolist()
                true += batch["labels"].tolist()
    mean_loss = total / len(examples)
    if predicted and isinstance(predicted[0], tuple):
        return {"loss": mean_loss, "accuracy": sum(p == t for p, t in zip(predicted, true)) / len(true),
                "macro_f1": sum(span_f1(p, t) for p, t in zip(predicted, true)) / len(true)}
    report = classification_report(true, predicted, num_labels)
    return {"loss": mean_loss, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
