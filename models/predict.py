"""`minigrad predict`: a fine-tuned model, rebuilt from its saved delta, on new text.

A delta (models/finetune/delta.py) names its base model and holds what training changed, so

    minigrad predict runs/<...>-finetune/delta.safetensors "not bad at all ." "good , but far too slow ."

rebuilds the fine-tuned model and says what it makes of each text, in the terms of its task:

    classification  the most likely label and its probability (the softmax of the head's logits)
    tagging         each word with its tag
    qa              the answer to --question: the context's words from start to end of the likeliest
                    span (start <= end, on the context: tasks.best_span)

Given the run folder of `minigrad compare --save-deltas`, every mode's delta predicts the same texts,
side by side (and, with --input, each is scored). A language-model delta writes text instead:
`minigrad generate --delta DELTA`. With --input FILE
the texts come from a file, in the formats finetune reads; where the file holds the truth it is
scored: a classifier's label column (accuracy, macro F1, each class, the confusion matrix; labels
the model has no class for are predicted, not scored), a tagger's tags (token accuracy), QA
answers (exact match and word F1, as SQuAD scores them).
"""
import csv
import io
import json
from collections import Counter
from pathlib import Path

import minigrad as mg
from minigrad.nn import functional as F
from models import data, pretrained, tables, user_files
from models.finetune import load_delta
from models.finetune.delta import read_metadata
from models.metrics import answer_scores, classification_report
from models.tasks import EVAL_BATCH, answer_words, best_span, fits


def delta_files(path):
    """{name: delta file} that path names: itself; the delta.safetensors of finetune's run folder; or
    every delta-*.safetensors of a `compare --save-deltas` run folder, named as compare's table names
    their rows (lora:r=4, lora-seed1; the file names can't hold every character a row name does)."""
    path = Path(path)
    if not compare_run(path):
        return {path.name: path / "delta.safetensors" if path.is_dir() else path}
    deltas = {delta.name: delta for delta in sorted(path.glob("delta-*.safetensors"))}
    if not deltas:
        raise FileNotFoundError(f"{path} is a `minigrad compare` run that kept no deltas: run it with --save-deltas "
                                "to keep every mode's fine-tuned model")
    named = {}  # in the table's order, where the folder's results.json is compare's
    for row in compare_rows(path / "results.json"):
        for run in row.get("runs") or [row]:
            if run.get("delta") in deltas:
                named[row["mode"] + (f"-seed{run['seed']}" if row.get("runs") else "")] = deltas.pop(run["delta"])
    named |= {file.removesuffix(".safetensors").removeprefix("delta-"): delta for file, delta in deltas.items()}
    return named


def compare_run(path):
    """Whether path is the run folder of `minigrad compare` (not finetune's, which holds delta.safetensors)."""
    path = Path(path)
    if not path.is_dir() or (path / "delta.safetensors").is_file():
        return False
    return any(path.glob("delta-*.safetensors")) or bool(compare_rows(path / "results.json"))


def compare_rows(record):
    """The rows of a compare run's results.json, or [] where there is none or it is not compare's."""
    try:
        recorded = json.loads(Path(record).read_text())
        rows = recorded.get("rows") if recorded.get("command") == "compare" else None
        return [row for row in rows if isinstance(row.get("mode"), str)] if isinstance(rows, list) else []
    except (OSError, ValueError, AttributeError):  # missing, not JSON, not a dict of dict rows
        return []


def load_tuned(delta_path, model=None, device="cpu"):
    """(tuned model, tokenizer, max_len) from a delta: its base model (the one it names, or `model`,
    a name or checkpoint path) with the delta put back on it. delta_path: a file, or a run folder
    that holds one (delta_files)."""
    deltas = delta_files(delta_path)
    if len(deltas) > 1:  # the run folder of `compare --save-deltas`: one delta per mode
        raise ValueError(f"{delta_path} holds a delta for each mode `minigrad compare` ran: "
                         f"{', '.join(d.name for d in deltas.values())}; pass one of them")
    (delta_path,) = deltas.values()
    if not Path(delta_path).is_file():
        raise FileNotFoundError(f"no delta file {delta_path}: expected the delta.safetensors that `minigrad finetune` "
                                "wrote in its output folder")
    base_name = model or read_metadata(delta_path).get("base", "None")
    try:
        base = pretrained.load(base_name, device=device)
    except FileNotFoundError:
        raise FileNotFoundError(f"{delta_path} was fine-tuned from {base_name!r}, which is not found here; pass "
                                "--model with that checkpoint's path") from None
    tuned = load_delta(base, delta_path)
    tuned.tokenizer, tuned.base_name = base.tokenizer, base_name
    return tuned, base.tokenizer, tuned.max_len or base.config.max_len  # an older delta: the model's context


def in_batches(items):
    for begin in range(0, len(items), EVAL_BATCH):
        yield items[begin:begin + EVAL_BATCH]


def padded(rows, tokenizer, device):
    """Rows of ids -> (input_ids, attention_mask), (B, T) int64 tensors, padded on the right."""
    batch = data.pad_rows(tokenizer, rows, device)
    return batch["input_ids"], batch["attention_mask"]


def classify(model, tokenizer, texts, max_len):
    """Each text's class probabilities, a list of floats per text (the head's softmax)."""
    device = next(model.parameters()).device
    probabilities = []
    with mg.no_grad():
        for chunk in in_batches(texts):
            ids, mask = tokenizer.encode_batch(chunk, max_len, add_special_tokens=True)
            probabilities += F.softmax(model(ids.to(device), mask.to(device)), dim=-1).tolist()
    return probabilities


def tag(model, tokenizer, texts, max_len):
    """Each text's words with the index of their tag (None for a word cut off or without tokens)."""
    device = next(model.parameters()).device
    position = "last" if model.config.causal else "first"  # where training put each word's tag (batch_options)
    tagged = []
    with mg.no_grad():
        for chunk in in_batches([text.split() for text in texts]):
            rows = [data.tagging_input(tokenizer, words, max_len, tag_position=position) for words in chunk]
            predicted = model(*padded([ids for ids, _ in rows], tokenizer, device)).argmax(-1).tolist()
            tagged += [[(word, None if p is None else row_tags[p]) for word, p in zip(words, positions)]
                       for words, (_, positions), row_tags in zip(chunk, rows, predicted)]
    return tagged


def answer(model, tokenizer, questions, contexts, max_len):
    """Each context's answer to its question: the words whose tokens fall in its likeliest span
    (tasks.best_span; "" where the cut left no context word)."""
    device = next(model.parameters()).device
    answers = []
    with mg.no_grad():
        for chunk in in_batches(list(zip(questions, contexts))):
            rows = [data.qa_input(tokenizer, question, context, max_len) for question, context in chunk]
            logits = model(*padded([ids for ids, _ in rows], tokenizer, device))  # (B, T, 2)
            starts, ends = logits[..., 0].tolist(), logits[..., 1].tolist()
            for (_, context), (ids, spans), start_logits, end_logits in zip(chunk, rows, starts, ends):
                span = best_span(start_logits, end_logits, spans, data.context_kept(ids))
                answers.append(answer_words(context, spans, *span))
    return answers


def read_input(path, task, labels=None, text_column=None, label_column=None, encoding="utf-8"):
    """(texts, truth or None, questions or None) from a file, in the formats finetune reads:
        classification  the text column; truth: the label names, where the file has the label column
                        (label_column given: it must be there), labels the model lacks too
        tagging         tagged sentences (CoNLL lines, or JSON objects of words and tags, the fields
                        text_column and label_column, default "words" and "tags"): the words joined,
                        truth: the indices of each word's tag in `labels`; or plain texts
        qa              {"question", "context"(, "answer")} objects: contexts, questions, truth: the answers
    `labels`: the delta's class names (class_names). predict() scores the truth."""
    if task == "qa":
        named = first_column_named(text_column, label_column)
        if named:
            raise ValueError(f"a question-answering --input has fixed fields (question, context and, to be scored, "
                             f"answer): there is no column {named[1]!r} to name")
        questions, contexts, answers = user_files.read_questions(path, encoding)
        return contexts, answers, questions
    refuse_columns_of_plain_text(path, task, text_column, label_column)
    if task == "tagging":
        words_field, tags_field = (text_column or user_files.TAGGING_FIELDS[0],
                                   label_column or user_files.TAGGING_FIELDS[1])
        if user_files.looks_tagged(path, labels, words_field, encoding):
            examples, _ = user_files.load_tagged(path, words_field, tags_field, encoding, tags=labels)
            return [e.text for e in examples], [e.tags for e in examples], None
    text_field, label_field = text_column or "text", label_column or "label"
    scored = task == "classification" and (label_column is not None or tables.has_column(path, "label", encoding))
    if scored and text_field == label_field:  # every text would be scored against itself
        default = "" if label_column else " (--label-column's default, and the file has that column)"
        raise ValueError(f"--text-column and --label-column are both {text_field!r}{default}: the label would be "
                         "read from the text itself")
    if scored:
        examples, names = user_files.load_examples(path, text_column=text_field, label_column=label_field,
                                                   encoding=encoding, labels=labels, keep_unknown=True)
        return [e.text for e in examples], [names[e.label] for e in examples], None
    return user_files.read_texts(path, text_field, encoding), None, None


def first_column_named(text_column, label_column):
    """(flag, name) of the first column the user named, or None."""
    return next(((flag, name) for flag, name in (("--text-column", text_column), ("--label-column", label_column))
                 if name), None)


def refuse_columns_of_plain_text(path, task, text_column, label_column):
    """A column named for a file without columns would go unread: say so instead."""
    named = first_column_named(text_column, label_column)
    if named and Path(path).suffix.lower() not in tables.TABLE_SUFFIXES:
        raise ValueError(f"{named[0]} {named[1]} names a column, and {path} is plain text (one text per line"
                         + (", or CoNLL-style: a word and its tag on each line" if task == "tagging" else "")
                         + "; no columns)")


def class_names(tuned):
    """The names of a delta's classes (or tags), in the order of its head's outputs: "0", "1", ...
    where it saved none."""
    return tuned.labels or [str(i) for i in range(tuned.num_labels or 0)]


def unknown_labels(true, names):
    """The true labels that are none of the model's classes (names), most frequent first, as a note
    (their texts are predicted but cannot be scored); an error where no label is a class at all:
    then the file most likely writes its classes another way. Labels as frequent keep the file's order."""
    unknown = Counter(label for label in true if label not in names).most_common()  # ties: the file's order
    if len(unknown) == len(set(true)):
        listed = [label for label, _ in unknown[:5]]
        raise ValueError(f"none of the file's labels ({', '.join(listed)}{', ...' * (len(unknown) > 5)}) is one of "
                         f"the model's classes ({', '.join(names)}): are the labels written another way, or is "
                         "--label-column another column?")
    counts = ", ".join(f"{label!r} {n}" for label, n in unknown)
    return [f"{sum(n for _, n in unknown)} of {len(true)} texts have a label the model has no class "
            f"for ({counts}): they are predicted but left out of the scores"] if unknown else []


def unfinished(training):
    """A note where the delta's training did not run its course: Ctrl-C, or a loss that blew up."""
    if not training or training["stopped"] not in ("interrupted", "non-finite loss"):
        return []
    how = "was interrupted" if training["stopped"] == "interrupted" else "diverged (a non-finite loss)"
    weights = training.get("weights_step")  # deltas saved before it was recorded lack it
    diverged = training["stopped"] == "non-finite loss"
    kept = f"; it holds the weights of step {weights}, its last evaluation" if weights and diverged else ""
    return [f"this delta's training {how} after {training['steps_done']} of {training['steps']} steps{kept}"]


def notes(task, tokenizer, texts, max_len, questions=None):
    """What the user should know about the texts: how many are longer than the model reads (and cut).
    A QA model reads [BOS] question [SEP] text [EOS] (data.qa_input), so what is too long is the question
    and the text together, or the question alone where it leaves no room for a word of the text."""
    limit = f"the {max_len} tokens the model was fine-tuned on"
    if task != "qa":
        cut = sum(len(tokenizer.encode(text)) > data.text_room(max_len) for text in texts)
        lost = {"classification": "only their first tokens are read",
                "tagging": "their last words get no tag (shown as ?)"}[task]
        return [f"{cut} of {len(texts)} texts are longer than {limit}: {lost}"] if cut else []
    crowded = [len(tokenizer.encode(question)) + 1 >= data.text_room(max_len) for question in questions]  # + [SEP]
    cut = sum(not full and not fits(tokenizer, question, text, max_len)
              for question, text, full in zip(questions, texts, crowded))
    lines = []
    if any(crowded):
        lines.append(f"{sum(crowded)} of {len(texts)} texts have a question that takes up all of {limit} by "
                     "itself ([BOS] question [SEP] [EOS]): no word of their text is read, so they get no answer")
    if cut:
        lines.append(f"{cut} of {len(texts)} texts are longer than {limit} once their question is put before "
                     "them ([BOS] question [SEP] text [EOS]): an answer past the cut cannot be found")
    return lines


def predict(tuned, tokenizer, max_len, texts, questions=None, true=None, source="the delta"):
    """Predictions of a tuned model (from load_tuned) for texts, as a dict: "task", "mode", "labels",
    "max_len", "notes", "rows" (one dict per text: the text and, by task, "label", "probability" and
    "probabilities", one per class; "tags", [word, TAG] pairs; or "question" and "answer") and, given
    `true` (see read_input), "scores": classification_report for a classifier (over the texts whose
    label it knows) or a tagger (over words), models.metrics.answer_scores for qa. questions: qa's,
    one per text."""
    if tuned.task == "lm":
        raise ValueError(f"{source} adapted a language model: it writes text rather than labelling it; "
                         f"use `minigrad generate --delta {source}`")
    if (questions is not None) != (tuned.task == "qa"):
        raise ValueError(f"{source} answers questions about a text: pass --question, or --input a file of "
                         "question / context objects" if tuned.task == "qa" else
                         f"--question is for a question-answering delta; {source} does {tuned.task}")
    if not texts:
        raise ValueError("no texts to predict: give them after the delta, or --input FILE")
    blank = next((n for n, text in enumerate(texts, 1) if not text.strip()), None)
    if blank:
        raise ValueError(f"text {blank} is empty: there is nothing to predict from")
    names = class_names(tuned)
    result = {"task": tuned.task, "mode": tuned.mode, "labels": names, "max_len": max_len,
              "notes": unfinished(tuned.how_trained) + notes(tuned.task, tokenizer, texts, max_len, questions)}
    if tuned.task == "classification" and true is not None:
        result["notes"] += unknown_labels(true, names)
    predictor = {"classification": class_rows, "tagging": tag_rows, "qa": answer_rows}[tuned.task]
    result["rows"], scores = predictor(tuned, tokenizer, max_len, texts, questions, true)
    if scores is not None:
        result["scores"] = scores
    return result


def class_rows(tuned, tokenizer, max_len, texts, questions, true):
    """A classifier's rows (label, probability, every class's probability) and, given the true label
    names, its scores over the texts whose label is one of its classes."""
    names = class_names(tuned)
    probabilities = classify(tuned, tokenizer, texts, max_len)
    best = [max(range(len(p)), key=p.__getitem__) for p in probabilities]
    rows = [{"text": t, "label": names[b], "probability": p[b], "probabilities": p}
            for t, b, p in zip(texts, best, probabilities)]
    if true is None:
        return rows, None
    index = {name: i for i, name in enumerate(names)}
    pairs = [(index[label], b) for label, b in zip(true, best) if label in index]
    for row, label in zip(rows, true):
        row["true"] = label
    return rows, classification_report([t for t, _ in pairs], [b for _, b in pairs], tuned.num_labels)


def tag_rows(tuned, tokenizer, max_len, texts, questions, true):
    """A tagger's rows ([word, TAG] pairs, "?" for a word past the cut) and, given the true tags'
    indices, its scores over the words that got a tag (those cut off are in the notes)."""
    names = class_names(tuned)
    per_word = tag(tuned, tokenizer, texts, max_len)  # [(word, tag index or None), ...] per text
    rows = [{"text": t, "tags": [[word, "?" if i is None else names[i]] for word, i in words]}
            for t, words in zip(texts, per_word)]
    if true is None:
        return rows, None
    pairs = [(t, p) for words, tags in zip(per_word, true) for (_, p), t in zip(words, tags) if p is not None]
    for row, tags in zip(rows, true):
        row["true"] = [names[t] for t in tags]
    return rows, classification_report([t for t, _ in pairs], [p for _, p in pairs], tuned.num_labels)


def answer_rows(tuned, tokenizer, max_len, texts, questions, true):
    """A QA model's rows (question, context, answer) and, given the true answers, SQuAD's scores."""
    answers = answer(tuned, tokenizer, questions, texts, max_len)
    rows = [{"question": q, "text": t, "answer": a} for q, t, a in zip(questions, texts, answers)]
    if true is None:
        return rows, None
    for row, gold in zip(rows, true):
        row["true"] = gold
    return rows, answer_scores(answers, true)


def tagged(pairs):
    """A tagger's [word, TAG] pairs as one line: word/TAG word/TAG ..."""
    return " ".join(f"{word}/{tag}" for word, tag in pairs)


def one_line(text):
    """A text as one line of a printed table: a line break inside it (a quoted CSV field may hold one)
    is shown as \\n; predictions.csv keeps the text as it is."""
    return "\\n".join(text.splitlines())


def side_by_side(results, shown=None):
    """Lines that put several deltas' predictions ({name: predict()'s dict}, one task) text by text:
    a classifier's label and probability in a column per delta, then the text; a tagger's tags or
    qa's answer on a line per delta under each text. shown: how many texts (default: all)."""
    names, first = list(results), next(iter(results.values()))
    width = max(len(name) for name in names)
    texts = range(len(first["rows"]) if shown is None else min(shown, len(first["rows"])))
    if first["task"] == "classification":
        cell = max(max(len(label) for label in first["labels"]) + 6, *(len(name) for name in names))  # "label 0.97"

        def predicted(result, i):
            return f"{result['rows'][i]['label']} {result['rows'][i]['probability']:.2f}".ljust(cell)

        header = "  ".join(name.ljust(cell) for name in names) + "  text"
        return [header] + ["  ".join(predicted(result, i) for result in results.values())
                           + f"  {one_line(first['rows'][i]['text'])}" for i in texts]
    lines = []
    for i in texts:
        row = first["rows"][i]
        lines.append(row["text"] if first["task"] == "tagging" else
                     f"{one_line(row['question'])}\n  in: {one_line(row['text'])}")
        for name, result in results.items():
            got = result["rows"][i]
            shown_as = (tagged(got["tags"]) if first["task"] == "tagging"
                        else got["answer"] or "(none)")
            lines.append(f"  {name:<{width}}  {shown_as}")
    return lines


def scores_by_delta(results):
    """A line per delta with its scores against the truth an --input file held: exact match and word F1
    (qa), else accuracy (a tagger's over words) and macro F1."""
    width = max(len(name) for name in results)
    qa = next(iter(results.values()))["task"] == "qa"
    lines = [f"{'':<{width}}  {'exact match' if qa else 'accuracy':>11}  {'word F1' if qa else 'macro F1':>8}"]
    for name, result in results.items():
        scores = result["scores"]
        first, second = (scores["exact_match"], scores["f1"]) if qa else (scores["accuracy"], scores["macro_f1"])
        lines.append(f"{name:<{width}}  {100 * first:>10.1f}%  {second:>8.3f}")
    return lines


def write_predictions(result, path):
    """The rows as a CSV file (text, then the prediction's columns), written atomically."""
    columns = {"classification": ["label", "probability"], "tagging": ["tags"], "qa": ["question", "answer"]}[
        result["task"]] + (["true"] if "scores" in result else [])
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["text"] + columns)
    for row in result["rows"]:
        true = row.get("true")
        cells = {"label": row.get("label"), "probability": f"{row.get('probability', 0):.4f}",
                 "tags": tagged(row.get("tags", [])), "question": row.get("question"),
                 "answer": row.get("answer"), "true": " ".join(true) if isinstance(true, list) else true}
        writer.writerow([row["text"]] + [cells[c] for c in columns])
    mg.io.write_atomically(path, text.getvalue().encode("utf-8"))
    return path

