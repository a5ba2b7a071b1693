"""CPU / GPU parity: the same seed gives the same training run on "cpu" and on "cuda".

The model is built once (on the CPU, from the seeded generator) and copied to each
device; the batches come from Python's seeded `random`, the same everywhere. Then
every step's loss and the final weights must agree to float32 tolerance: the two
backends differ only in the order their kernels add numbers up. Dropout is off,
everywhere (body, attention, the new head's): each device draws its masks from its
own generator (NumPy's PCG64, CuPy's), so runs with dropout agree in distribution,
not mask for mask. The CPU run checks that its steps draw no random number at all.

Each test compares the CPU with `device`: on "cpu" that is a check of the test
itself (it must agree exactly); on "cuda" it is the parity check, skipped without a GPU.
"""
import numpy as np

import minigrad as mg
from minigrad import backend, nn
from models import data, pretrained, tasks
from models.finetune import prepare
from models.train import TrainConfig, make_optimizer, training_step
from models.transformer import SelfAttention

STEPS = 5


def train_on(device, base, batches, mode):
    """STEPS fine-tuning steps of a copy of base on device; (losses, {name: weights})."""
    mg.manual_seed(0)
    model = switch_off_dropout(prepare(base, mode, num_labels=2))  # a copy of base, the head drawn on the CPU
    model.to(device)
    # SGD: a step moves each weight by lr x its gradient, so rounding in the gradients stays rounding in
    # the weights; Adam's m / sqrt(v) turns a near-zero gradient's rounding into a whole +-lr step
    # (the optimizers themselves are checked on each device in test_optim).
    optimizer = make_optimizer(model.param_groups, TrainConfig(optimizer="sgd", lr=0.05))
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    state = backend.generator("cpu").bit_generator.state
    losses = [training_step(model, tasks.loss, [{k: v.to(device) for k, v in batch.items()}], optimizer,
                            trainable, 1.0, step) for step, batch in enumerate(batches)]
    if device == "cpu":
        assert backend.generator("cpu").bit_generator.state == state, "a training step drew random numbers"
    return losses, {name: p.numpy() for name, p in model.named_parameters()}


def switch_off_dropout(model):
    """Every dropout in the model, the body's, the attention's and the head's, set to p = 0."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(module, SelfAttention):
            module.dropout = 0.0
    return model


def check_same_run(device, mode):
    base = pretrained.load("tiny")
    task = data.load_task("sentiment", n_train=STEPS * 16, n_valid=1, n_test=1)
    batches = list(data.batches(task.train, base.tokenizer, 16, 48, seed=0))[:STEPS]
    cpu_losses, cpu_weights = train_on("cpu", base, batches, mode)
    losses, weights = train_on(device, base, batches, mode)
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-4)
    assert cpu_losses[-1] < cpu_losses[0]  # it really trained: the weights moved somewhere
    for name, w in weights.items():
        np.testing.assert_allclose(w, cpu_weights[name], rtol=1e-3, atol=1e-5, err_msg=name)


def test_full_fine_tuning_gives_the_same_run_on_every_device(device):
    check_same_run(device, "full")


def test_lora_gives_the_same_run_on_every_device(device):
    check_same_run(device, "lora")
