"""Metrics against hand-computed cases."""
import math

import pytest

from models.metrics import classification_report, confusion_matrix, perplexity


def test_hand_computed_binary_case():
    # true:  1 1 1 0 0    predicted: 1 0 1 0 1  -> TP=2 FN=1 FP=1 TN=1
    report = classification_report([1, 1, 1, 0, 0], [1, 0, 1, 0, 1], 2)
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["confusion_matrix"] == [[1, 1], [1, 2]]
    positive = report["per_class"][1]
    assert positive["precision"] == pytest.approx(2 / 3) and positive["recall"] == pytest.approx(2 / 3)
    negative = report["per_class"][0]
    assert negative["precision"] == pytest.approx(1 / 2) and negative["recall"] == pytest.approx(1 / 2)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_a_class_never_predicted_has_zero_precision_and_f1():
    report = classification_report([0, 0, 0, 1], [0, 0, 0, 0], 2)  # the majority-class predictor
    assert report["accuracy"] == 0.75
    assert report["per_class"][1] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["macro_f1"] == pytest.approx((2 * 0.75 * 1 / 1.75) / 2)


def test_a_class_in_neither_the_true_nor_the_predicted_labels_is_left_out_of_the_macro_average():
    report = classification_report([0, 0, 0], [0, 0, 0], 2)  # a split without class 1, all predicted right
    assert report["accuracy"] == 1.0
    assert (report["macro_precision"], report["macro_recall"], report["macro_f1"]) == (1.0, 1.0, 1.0)
    assert report["per_class"][1] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    # a class only predicted (a false positive) is present, and counts; class 3 is in neither
    report = classification_report([0, 0, 2], [0, 1, 2], 4)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert report["macro_recall"] == pytest.approx((1 / 2 + 0 + 1) / 3)


def test_three_classes_confusion_matrix():
    assert confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], 3) == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]


def test_bad_labels_and_lengths():
    with pytest.raises(ValueError, match=r"label 3 is outside \[0, 3\)"):
        confusion_matrix([3], [0], 3)
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError, match="no examples"):
        classification_report([], [], 2)


def test_perplexity_of_a_uniform_guess_is_the_vocabulary_size():
    assert perplexity(math.log(50)) == pytest.approx(50)
    assert perplexity(5500.0) == math.inf and math.isnan(perplexity(math.nan))  # a diverged run: no OverflowError
    assert perplexity(709.5) == pytest.approx(math.exp(709.5))  # still a float64: inf only past 709.78
