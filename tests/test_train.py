"""The training loop: schedules, early stopping, the NaN guard, Ctrl-C, checkpoints, logs."""
import itertools
import json
import math
from dataclasses import replace

import numpy as np
import pytest

import minigrad as mg
from minigrad.io import load_metadata
from minigrad import nn
from models.train import TrainConfig, TrainResult, make_optimizer, make_schedule, train


def quadratic_model():
    model = nn.Linear(1, 1, bias=False)
    with mg.no_grad():
        model.weight.fill_(5.0)
    return model


def distance_to_two(model, batch):
    return ((model.weight - 2) ** 2).sum()


def test_plain_sgd_reproduces_the_seed_step():
    model = quadratic_model()
    train(model, distance_to_two, itertools.repeat(None),
          TrainConfig(steps=1, lr=0.1, optimizer="sgd", momentum=0.0, schedule="constant", clip_grad_norm=0,
                      progress=False))
    assert model.weight.item() == pytest.approx(4.4)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        TrainConfig(optimizer="adagrad")
    with pytest.raises(ValueError, match="unknown schedule"):
        TrainConfig(schedule="exp")
    with pytest.raises(ValueError, match="nothing to train"):
        make_optimizer([mg.zeros(2)], TrainConfig())


def test_early_stopping_restores_the_best_weights(tmp_path):
    model = quadratic_model()
    # w: 5 -> 4.4 -> 3.92 -> 3.536 -> ...: validation loss |w - 4| is best at step 2, then worse
    evaluations = []

    def evaluate(m):
        evaluations.append(m.weight.item())
        return {"loss": abs(m.weight.item() - 4.0)}

    result = train(model, distance_to_two, itertools.repeat(None),
                   TrainConfig(steps=50, lr=0.1, optimizer="sgd", momentum=0.0, schedule="constant",
                               clip_grad_norm=0, eval_every=1, patience=2, progress=False),
                   evaluate=evaluate, log_path=tmp_path / "log.jsonl")
    assert result.stopped == "early stopping" and result.steps_done == 4
    best = min(evaluations, key=lambda w: abs(w - 4.0))
    assert model.weight.item() == pytest.approx(3.92) == best and result.best_step == 2
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4]


def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    model = quadratic_model()
    losses = iter([1.0, 0.5, float("nan")])

    def loss_fn(m, batch):
        return distance_to_two(m, batch) * 0 + next(losses)

    checkpoint = tmp_path / "best.safetensors"
    improving = itertools.count(0, -1)  # every evaluation is the best so far
    result = train(model, loss_fn, itertools.repeat(None),
                   TrainConfig(steps=10, lr=0.1, eval_every=1, progress=False),
                   evaluate=lambda m: {"loss": next(improving)}, checkpoint_path=checkpoint)
    assert result.stopped == "non-finite loss" and result.steps_done == 2
    assert "the loss is nan" in capsys.readouterr().out
    saved = mg.load(checkpoint)
    np.testing.assert_array_equal(saved["weight"].numpy(), model.weight.numpy())
    assert mg.io.load_metadata(checkpoint)["step"] == "2"


@pytest.mark.parametrize("patience", [0, 5])
def test_a_diverged_run_goes_back_to_the_weights_of_its_last_evaluation(patience, capsys):
    model, seen = quadratic_model(), []

    def loss_fn(m, batch):  # d/dw (-w) = -1: sgd at lr 1 moves w up by one a step; the 4th loss is NaN
        seen.append(m.weight.item())
        return -m.weight.sum() * (1.0 if len(seen) < 4 else float("nan"))

    result = train(model, loss_fn, itertools.repeat(None),
                   TrainConfig(steps=10, lr=1.0, optimizer="sgd", momentum=0.0, schedule="constant", clip_grad_norm=0,
                               eval_every=2, patience=patience, progress=False),
                   evaluate=lambda m: {"loss": 0.0})
    assert result.stopped == "non-finite loss" and result.steps_done == 3
    assert result.weights_step == 2 and model.weight.item() == seen[2]  # the weights evaluated at step 2
    assert "the loss is nan; stopping (try a lower lr); back to the weights of step 2" in capsys.readouterr().out


@pytest.mark.parametrize("patience", [0, 5])
def test_a_non_finite_validation_loss_is_divergence_too(patience, tmp_path, capsys):
    """The training loss is taken before each update, so the last updates show only in an evaluation:
    a NaN there stops the run and goes back to the last finite evaluation (step 2), not keep NaN weights."""
    model = quadratic_model()
    losses = iter([0.5, float("nan")])
    result = train(model, distance_to_two, itertools.repeat(None),
                   TrainConfig(steps=10, lr=0.1, optimizer="sgd", clip_grad_norm=0, eval_every=2, patience=patience,
                               progress=False),
                   evaluate=lambda m: {"loss": next(losses)}, log_path=tmp_path / "log.jsonl")
    assert result.stopped == "non-finite loss" and result.steps_done == 4 and result.weights_step == 2
    assert "step 4: the validation loss is nan; stopping (try a lower lr); back to the weights of step 2" in \
        capsys.readouterr().out
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]  # strict JSON: null
    assert [entry["loss"] for entry in logged] == [0.5, None]


def test_a_run_that_diverges_before_any_evaluation_says_it_has_no_weights_to_go_back_to(capsys):
    model = quadratic_model()
    result = train(model, distance_to_two, itertools.repeat(None),
                   TrainConfig(steps=20, lr=1e20, optimizer="sgd", clip_grad_norm=0, eval_every=10, progress=False),
                   evaluate=lambda m: {"loss": 0.0})
    assert result.stopped == "non-finite loss" and result.weights_step is None
    assert "no finite evaluation came before it, so there are no good weights to go back to" in capsys.readouterr().out


def test_a_diverging_run_is_stopped_by_the_guard_without_numpys_overflow_warnings(capsys):
    """w -> w - lr * 2 (w - 2) with lr 1e20 overflows float32 within a few steps."""
    import warnings

    model = quadratic_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning would fail the test
        result = train(model, distance_to_two, itertools.repeat(None),
                       TrainConfig(steps=20, lr=1e20, optimizer="sgd", clip_grad_norm=0, progress=False))
    assert result.stopped == "non-finite loss" and result.steps_done == 1  # w = 5 - 1e20 * 6: its square overflows
    assert "step 2: the loss is inf" in capsys.readouterr().out


def test_ctrl_c_stops_cleanly_after_the_current_step():
    model = quadratic_model()

    def batches():
        yield None
        yield None
        raise KeyboardInterrupt

    result = train(model, distance_to_two, batches(), TrainConfig(steps=10, lr=0.1, progress=False))
    assert result.stopped == "interrupted" and result.steps_done == 2


def test_ctrl_c_between_the_batches_of_a_step_leaves_no_half_summed_gradient():
    model, calls = quadratic_model(), itertools.count(1)

    def interrupted_in_the_second_batch(model, batch):
        if next(calls) == 2:
            raise KeyboardInterrupt
        return distance_to_two(model, batch)

    result = train(model, interrupted_in_the_second_batch, itertools.repeat(None),
                   TrainConfig(steps=10, accumulate=2, progress=False))
    assert result.stopped == "interrupted" and result.steps_done == 0
    assert model.weight.grad is None and model.weight.item() == 5.0  # the first batch's backward ran, and was dropped


def learning_rates(config):
    """The lr of each of config.steps steps under its schedule, and the one after the last step."""
    optimizer = make_optimizer([mg.zeros(1, requires_grad=True)], config)
    schedule = make_schedule(optimizer, config)
    rates = []
    for _ in range(config.steps):
        rates.append(optimizer.param_groups[0]["lr"])
        schedule.step()
    return rates, optimizer.param_groups[0]["lr"]


def test_warmup_then_cosine_schedule():
    rates, _ = learning_rates(TrainConfig(steps=10, lr=1.0, warmup_steps=2))
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1.0)
    assert rates[2] > rates[5] > rates[9] >= 0


def test_the_cosine_reaches_zero_right_after_the_last_step():
    rates, after = learning_rates(TrainConfig(steps=10, lr=1.0, warmup_steps=2))
    expected = [0.0, 0.5] + [0.5 * (1 + math.cos(math.pi * (t - 2) / 8)) for t in range(2, 10)]
    np.testing.assert_allclose(rates, expected, atol=1e-12)
    assert after == pytest.approx(0.0, abs=1e-12)  # the steps end where the cosine does


def test_the_constant_schedule_warms_up_first():
    rates, _ = learning_rates(TrainConfig(steps=6, lr=1.0, warmup_steps=3, schedule="constant"))
    np.testing.assert_allclose(rates, [1 / 3, 2 / 3, 1, 1, 1, 1])


def test_gradients_are_clipped_before_the_step():
    # dL/dw = 6 at w = 5; clipped to norm 1, plain SGD with lr 0.1 moves w by 0.1, not by 0.6
    model = quadratic_model()
    train(model, distance_to_two, itertools.repeat(None),
          TrainConfig(steps=1, lr=0.1, optimizer="sgd", momentum=0.0, schedule="constant", clip_grad_norm=1.0,
                      progress=False))
    assert model.weight.item() == pytest.approx(4.9, abs=1e-6)


def test_an_infinite_loss_stops_training_too():
    model = quadratic_model()
    losses = iter([1.0, float("inf")])
    result = train(model, lambda m, batch: distance_to_two(m, batch) * 0 + next(losses), itertools.repeat(None),
                   TrainConfig(steps=10, lr=0.1, progress=False))
    assert result.stopped == "non-finite loss" and result.steps_done == 1


def test_the_last_step_is_always_evaluated_and_evaluation_sees_the_model_in_eval_mode():
    model, seen = small_mlp(0), []

    def evaluate(m):
        seen.append(m.training)
        return {"loss": 1.0}

    result = train(model, squared_error, regression_batches(), TrainConfig(steps=5, eval_every=2, progress=False),
                   evaluate=evaluate)
    assert [m["step"] for m in result.history] == [2, 4, 5]  # 5: the end, though not a multiple of 2
    assert seen == [False, False, False]  # dropout off while evaluating


def test_patience_counts_evaluations_without_improvement_since_the_last_best():
    # losses 1.0 (best), 2.0 (1 without improvement), 0.5 (best again: the count restarts), 0.6 (1), 0.7 (2): stop
    validation = iter([1.0, 2.0, 0.5, 0.6, 0.7, 0.8, 0.9])
    result = train(quadratic_model(), distance_to_two, itertools.repeat(None),
                   TrainConfig(steps=20, lr=0.1, eval_every=1, patience=2, progress=False),
                   evaluate=lambda m: {"loss": next(validation)})
    assert result.stopped == "early stopping" and result.steps_done == 5 and result.best_step == 3


def test_seconds_per_step_counts_only_the_steps_this_call_ran():
    assert TrainResult(seconds=6.0, steps_done=12, first_step=7).seconds_per_step == pytest.approx(1.0)
    assert TrainResult(steps_done=0, first_step=1).seconds_per_step is None  # the first loss was inf: no step to time


def regression_batches(seed=0):
    """An endless, seeded stream of (x, y) batches for a small MLP."""
    rng = np.random.default_rng(seed)
    while True:
        x = rng.standard_normal((8, 3)).astype(np.float32)
        yield mg.tensor(x), mg.tensor(np.sin(x).sum(axis=1, keepdims=True))


def ctrl_c_at(number):
    """regression_batches(), with Ctrl-C (KeyboardInterrupt) where batch `number` (from 1) would come."""
    for i, batch in enumerate(regression_batches(), start=1):
        if i == number:
            raise KeyboardInterrupt
        yield batch


def squared_error(model, batch):
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def small_mlp(seed):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 16), nn.GELU(), nn.Dropout(0.2), nn.Linear(16, 1))  # dropout draws too


@pytest.mark.parametrize("optimizer, accumulate", [("adamw", 1), ("sgd", 1), ("rmsprop", 1), ("adamw", 3)])
def test_resuming_a_checkpoint_continues_exactly_where_training_stopped(tmp_path, optimizer, accumulate):
    config = TrainConfig(steps=12, lr=0.05, optimizer=optimizer, warmup_steps=3, eval_every=2, accumulate=accumulate,
                         progress=False)
    improving = itertools.count(0, -1)  # every evaluation is the best so far, so each one checkpoints

    uninterrupted = small_mlp(0)
    train(uninterrupted, squared_error, regression_batches(), config, evaluate=lambda m: {"loss": next(improving)})

    interrupted, checkpoint = small_mlp(0), tmp_path / "checkpoint.safetensors"

    stopped = train(interrupted, squared_error, ctrl_c_at(7 * accumulate + 1), config,  # step 8's first batch
                    evaluate=lambda m: {"loss": next(improving)}, checkpoint_path=checkpoint)
    assert stopped.stopped == "interrupted" and mg.io.load_metadata(checkpoint)["step"] == "6"

    other = 2 if accumulate != 2 else 1
    with pytest.raises(ValueError, match=f"took {accumulate} batches a step .accumulate., and this one takes {other}"):
        train(small_mlp(1), squared_error, regression_batches(), replace(config, accumulate=other),
              resume=checkpoint)  # another grouping of the batches could not continue where it stopped
    resumed = small_mlp(1)  # other weights: all of them come from the checkpoint
    result = train(resumed, squared_error, regression_batches(), config,
                   evaluate=lambda m: {"loss": next(improving)}, resume=checkpoint)
    assert result.first_step == 7 and result.steps_done == 12
    for ours, theirs in zip(resumed.parameters(), uninterrupted.parameters()):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # the same steps, bit for bit


def test_a_resumed_run_with_no_step_left_keeps_the_checkpoints_time_per_step(tmp_path):
    # Ctrl-C after the last step's checkpoint, while the run was scored: resumed, it times no step of its own
    config, checkpoint = TrainConfig(steps=4, eval_every=2, progress=False), tmp_path / "checkpoint.safetensors"
    first = train(small_mlp(0), squared_error, regression_batches(), config, evaluate=lambda m: {"loss": 1.0},
                  checkpoint_path=checkpoint)
    resumed = train(small_mlp(0), squared_error, regression_batches(), config, evaluate=lambda m: {"loss": 1.0},
                    resume=checkpoint)
    assert resumed.first_step == 5 and resumed.steps_done == 4
    assert resumed.seconds_per_step == first.seconds_per_step > 0


def test_a_checkpoint_without_optimizer_state_cannot_be_resumed(tmp_path):
    model = small_mlp(0)
    mg.save(model.state_dict(), tmp_path / "weights.safetensors")
    with pytest.raises(ValueError, match="no optimizer state"):
        train(model, squared_error, regression_batches(), TrainConfig(steps=2, progress=False),
              resume=tmp_path / "weights.safetensors")


def test_weight_decay_spares_biases_and_layer_norm_gains():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 1))
    optimizer = make_optimizer(model.parameters(), TrainConfig(weight_decay=0.1))
    decay = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert [decay[id(p)] for p in model.parameters()] == [0.1 if p.ndim == 2 else 0.0 for p in model.parameters()]
    assert len(make_optimizer(model.parameters(), TrainConfig()).param_groups) == 1  # no decay: no split


def test_early_stopping_after_a_resume_can_go_back_to_the_checkpoints_weights(tmp_path):
    config = TrainConfig(steps=10, lr=0.05, eval_every=2, patience=2, progress=False)
    checkpoint = tmp_path / "checkpoint.safetensors"

    model = small_mlp(0)
    train(model, squared_error, ctrl_c_at(5), config, evaluate=lambda m: {"loss": 1.0},
          checkpoint_path=checkpoint)  # the step-2 evaluation is the best; step 4's (no better) the latest
    weights = mg.load(checkpoint)
    assert load_metadata(checkpoint)["step"] == "4" and load_metadata(checkpoint)["waited"] == "1"
    resumed = small_mlp(1)
    result = train(resumed, squared_error, regression_batches(), config, evaluate=lambda m: {"loss": 2.0},
                   resume=checkpoint)  # step 6 is worse too: patience 2 runs out there, counting step 4
    assert result.stopped == "early stopping" and result.best_step == 2 and result.steps_done == 6
    for name, p in resumed.named_parameters():
        np.testing.assert_array_equal(p.numpy(), weights[f"best.{name}"].numpy())  # back at step 2's weights
        assert not np.array_equal(p.numpy(), weights[name].numpy())  # not step 4's


def test_the_checkpoint_is_the_latest_evaluation_even_when_it_is_not_the_best(tmp_path):
    """A run past its best validation loss must not lose its later steps to Ctrl-C: --resume continues from
    the latest evaluation, bit for bit as if it had not stopped, and still knows which was the best."""
    config = TrainConfig(steps=12, lr=0.05, warmup_steps=3, eval_every=2, progress=False)
    worse_after_step_2 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]

    uninterrupted = small_mlp(0)
    full = train(uninterrupted, squared_error, regression_batches(), config,
                 evaluate=lambda m, losses=iter(worse_after_step_2): {"loss": next(losses)})

    checkpoint, losses = tmp_path / "checkpoint.safetensors", iter(worse_after_step_2)
    train(small_mlp(0), squared_error, ctrl_c_at(9), config, evaluate=lambda m: {"loss": next(losses)},
          checkpoint_path=checkpoint)
    assert load_metadata(checkpoint)["step"] == "8" and load_metadata(checkpoint)["best_step"] == "2"
    resumed = small_mlp(1)
    result = train(resumed, squared_error, regression_batches(), config, evaluate=lambda m: {"loss": next(losses)},
                   resume=checkpoint)
    assert (result.first_step, result.best_step) == (9, full.best_step) == (9, 2)
    assert result.history == full.history and result.best_eval == full.best_eval == full.history[0]
    for ours, theirs in zip(resumed.parameters(), uninterrupted.parameters()):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_the_progress_bar_says_which_run_it_is_of(capsys):
    for progress, label in (("lora:r=2-seed1", "lora:r=2-seed1: "), (True, "training: ")):
        train(quadratic_model(), distance_to_two, itertools.repeat(None), TrainConfig(steps=2, progress=progress))
        assert label in capsys.readouterr().err
    train(quadratic_model(), distance_to_two, itertools.repeat(None), TrainConfig(steps=2, progress=False))
    assert capsys.readouterr().err == ""


def test_a_training_step_wants_the_list_of_its_batches():
    from models.train import training_step

    model = quadratic_model()
    optimizer = make_optimizer(list(model.parameters()), TrainConfig())
    with pytest.raises(TypeError, match=r"batches must be a non-empty list of the step's batches \(\[batch\] for one\), "
                                        "got dict"):
        training_step(model, distance_to_two, {"input_ids": None}, optimizer, [model.weight], 1.0, 0)
    with pytest.raises(TypeError, match="got an empty list"):
        training_step(model, distance_to_two, [], optimizer, [model.weight], 1.0, 0)
    assert model.weight.item() == 5.0


def test_batches_that_run_out_are_a_clear_error():
    model = quadratic_model()
    with pytest.raises(ValueError, match="the batches ran out after 2 steps, and 5 were asked for; expected a batch"):
        train(model, distance_to_two, [None, None], TrainConfig(steps=5, progress=False))
    with pytest.raises(ValueError, match="ran out after 1 steps, and 5 were asked for; expected 2 batches .accumulate"):
        train(model, distance_to_two, [None] * 3, TrainConfig(steps=5, accumulate=2, progress=False))


def test_accumulating_the_halves_of_a_batch_takes_the_step_of_the_whole_batch():
    x = mg.tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))
    whole = (x, mg.tensor(np.sin(x.numpy()).sum(axis=1, keepdims=True)))
    halves = [(whole[0][:4], whole[1][:4]), (whole[0][4:], whole[1][4:])]
    config = dict(steps=2, lr=0.1, optimizer="sgd", momentum=0.0, schedule="constant", clip_grad_norm=0,
                  progress=False)  # no clipping: it would hide a gradient twice too large
    models = []
    for batches, accumulate in ((itertools.repeat(whole), 1), (itertools.cycle(halves), 2)):
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 16), nn.GELU(), nn.Linear(16, 1))  # no dropout: one function for both
        result = train(model, squared_error, batches, TrainConfig(**config, accumulate=accumulate))
        models.append((model, result))
    (whole_model, whole_run), (halves_model, halves_run) = models
    for ours, theirs in zip(halves_model.parameters(), whole_model.parameters()):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-7)
    # the loss a step reports is the mean of its batches' (the whole batch's, for halves of one size)
    np.testing.assert_allclose(halves_run.train_losses, whole_run.train_losses, rtol=1e-5)
    assert halves_run.train_losses[0] != halves_run.train_losses[1]  # two steps were taken, not one


def test_accumulated_token_losses_are_weighed_by_their_tokens():
    """A loss that is a mean over tokens: a batch of 3 tokens and one of 1 make one step of 4 tokens only if
    each is weighed by its tokens (3/4, 1/4), not by 1/2 each (the 2024 bug of Hugging Face's Trainer)."""
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    y = mg.tensor(np.sin(x.numpy()).sum(axis=1, keepdims=True))
    whole, parts = (x, y), [(x[:3], y[:3]), (x[3:], y[3:])]  # squared_error: a mean over the rows (the "tokens")

    def rows(batch):
        return len(batch[0])

    config = dict(steps=1, lr=0.1, optimizer="sgd", momentum=0.0, schedule="constant", clip_grad_norm=0,
                  progress=False)
    weights = {}
    for name, batches, accumulate, loss_items in (("whole", [whole], 1, None), ("weighed", parts, 2, rows),
                                                  ("1 / k", parts, 2, None)):
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 16), nn.GELU(), nn.Linear(16, 1))
        result = train(model, squared_error, iter(batches), TrainConfig(**config, accumulate=accumulate),
                       loss_items=loss_items)
        weights[name] = ([p.numpy() for p in model.parameters()], result.train_losses[0])
    for ours, theirs in zip(weights["weighed"][0], weights["whole"][0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    assert weights["weighed"][1] == pytest.approx(weights["whole"][1], rel=1e-6)  # the step's loss, too
    assert not all(np.allclose(ours, theirs, rtol=1e-3) for ours, theirs in zip(weights["1 / k"][0], weights["whole"][0]))


def test_an_accumulating_step_holds_one_batchs_activations_at_a_time():
    from minigrad import backend
    from models.train import training_step

    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 512), nn.GELU(), nn.Linear(512, 1))  # activations ~40x the weights
    batch = (mg.randn(256, 16), mg.randn(256, 1))
    optimizer = make_optimizer(list(model.parameters()), TrainConfig(optimizer="sgd"))
    peaks = {}
    for k in (1, 4, 1):  # the first k = 1 step allocates the momentum buffers
        with backend.PeakMemory("cpu") as memory:
            training_step(model, squared_error, [batch] * k, optimizer, list(model.parameters()), 1.0, 0)
        peaks[k] = memory.peak_bytes
    assert peaks[4] < 1.2 * peaks[1], f"4 batches a step peak at {peaks[4]:,} bytes, 1 batch at {peaks[1]:,}"


def test_every_batch_of_a_step_is_checked_for_nan_before_its_backward():
    model = quadratic_model()
    losses = iter([1.0, math.nan])

    def second_batch_diverges(model, batch):
        return distance_to_two(model, batch) * next(losses)

    result = train(model, second_batch_diverges, itertools.repeat(None),
                   TrainConfig(steps=3, accumulate=2, progress=False))
    assert result.stopped == "non-finite loss" and result.steps_done == 0
    assert model.weight.grad is None  # neither the NaN nor the first batch's gradient is left for a later step
    assert model.weight.item() == 5.0  # and no step was taken


@pytest.mark.parametrize("setting, message", [
    (dict(clip_grad_norm=-1.0), "clip_grad_norm must be a finite number >= 0"),  # would climb the loss
    (dict(eval_every=0), "eval_every must be a whole number >= 1, got 0"),
    (dict(steps=3.5), "steps must be a whole number >= 1, got 3.5"),
    (dict(patience=-1), "patience must be a whole number >= 0"),
    (dict(accumulate=0), "accumulate must be a whole number >= 1, got 0"),
    (dict(weight_decay=float("inf")), "weight_decay must be a finite number >= 0"),
])
def test_train_config_refuses_settings_that_would_train_wrong(setting, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**setting)


def test_a_resumed_run_compares_with_the_best_loss_not_the_latest(tmp_path):
    """Checkpointed at step 4 (loss 3.0) after its best at step 2 (loss 1.0): a resumed evaluation of
    2.0 is no improvement, as it would not have been in the uninterrupted run."""
    config = TrainConfig(steps=6, lr=0.05, eval_every=2, patience=5, progress=False)
    checkpoint = tmp_path / "checkpoint.safetensors"

    losses = iter([1.0, 3.0, 2.0])
    train(small_mlp(0), squared_error, ctrl_c_at(5), config, evaluate=lambda m: {"loss": next(losses)},
          checkpoint_path=checkpoint)
    result = train(small_mlp(0), squared_error, regression_batches(), config,
                   evaluate=lambda m: {"loss": next(losses)}, resume=checkpoint)
    assert result.steps_done == 6 and result.best_step == 2 and result.best_eval["loss"] == 1.0
    assert result.weights_step == 2  # early stopping's patience did not run out, but the best is step 2's
