"""Classification metrics from predicted and true labels, answer overlap, and perplexity.

For class c, counting over the examples:
    precision_c = TP / (TP + FP)   of those predicted c, how many are c
    recall_c    = TP / (TP + FN)   of those that are c, how many were found
    F1_c        = 2 P R / (P + R)  their harmonic mean
Macro F1 averages F1_c over classes, so a rare class counts as much as a common
one: a model that always predicts the majority class gets a high accuracy on
unbalanced data but a poor macro F1. A class never predicted has precision 0
by convention (as scikit-learn's zero_division=0). The average is over the
classes present, in the true or the predicted labels (as scikit-learn's): a class
absent from both was neither missed nor confused, and counting it as F1 = 0 would
give a perfect model on a split without it a macro F1 of 0.5.
"""
import math
import string
from collections import Counter


def confusion_matrix(y_true, y_pred, num_classes):
    """matrix[t][p] = how many examples of true class t were predicted as p."""
    matrix = [[0] * num_classes for _ in range(num_classes)]
    for t, p in zip(y_true, y_pred, strict=True):
        if not (0 <= t < num_classes and 0 <= p < num_classes):
            raise ValueError(f"label {t if not 0 <= t < num_classes else p} is outside [0, {num_classes})")
        matrix[t][p] += 1
    return matrix


def safe_divide(a, b):
    return a / b if b else 0.0


def classification_report(y_true, y_pred, num_classes):
    """accuracy, per-class precision / recall / F1 (for every class), their macro averages (over the
    classes present), and the confusion matrix."""
    y_true, y_pred = list(y_true), list(y_pred)
    if not y_true:
        raise ValueError("classification_report: no examples")
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    per_class = []
    for c in range(num_classes):
        true_positive = matrix[c][c]
        predicted = sum(matrix[t][c] for t in range(num_classes))
        actual = sum(matrix[c])
        precision, recall = safe_divide(true_positive, predicted), safe_divide(true_positive, actual)
        per_class.append({"precision": precision, "recall": recall,
                          "f1": safe_divide(2 * precision * recall, precision + recall), "support": actual})
    present = sorted(set(y_true) | set(y_pred))
    macro = {k: sum(per_class[c][k] for c in present) / len(present) for k in ("precision", "recall", "f1")}
    return {
        "accuracy": sum(matrix[c][c] for c in range(num_classes)) / len(y_true),
        "macro_precision": macro["precision"], "macro_recall": macro["recall"], "macro_f1": macro["f1"],
        "per_class": per_class, "confusion_matrix": matrix,
    }


def normalized_answer(text):
    """An answer's words as SQuAD v1.1's evaluation compares them (its normalize_answer): lowercased,
    punctuation deleted (not made a space: "U.S." is "us", "well-known" one word), the articles a, an
    and the dropped. "The battery." and "battery" are one answer."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return [word for word in text.split() if word not in ("a", "an", "the")]


def answer_scores(predicted, gold):
    """{"exact_match", "f1"} of answer texts, averaged over the questions, as SQuAD scores them on words
    (normalized_answer): exact match of the words, and F1 of the words the two share (as bags: a word twice
    counts twice)."""
    if not gold:
        raise ValueError("answer_scores: no questions")
    exact, f1 = 0, 0.0
    for p, g in zip(predicted, gold, strict=True):
        p, g = normalized_answer(p), normalized_answer(g)
        exact += p == g
        shared = sum((Counter(p) & Counter(g)).values())
        f1 += safe_divide(2 * shared, len(p) + len(g))  # = 2 P R / (P + R), P = shared / |p|, R = shared / |g|
    return {"exact_match": exact / len(gold), "f1": f1 / len(gold)}


def perplexity(mean_cross_entropy):
    """exp(mean negative log-likelihood per token): the effective number of equally likely next tokens.
    A diverging model's loss can pass ln(1.8e308) = 709.78, where exp overflows a float: its perplexity
    is then inf."""
    try:
        return math.exp(mean_cross_entropy)  # NaN stays NaN
    except OverflowError:
        return math.inf
