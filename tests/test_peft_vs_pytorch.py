"""Prompt tuning, prefix tuning and (IA)^3 against PyTorch: the shipped model's weights, and the
prompt (or the prefix's keys and values) minigrad starts from, put into benchmarks/torch_twin.py's
PyTorch twin; the next-token loss and the gradient of what trains must agree."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import minigrad as mg  # noqa: E402
from minigrad.nn import functional as F  # noqa: E402
from models import data, pretrained  # noqa: E402
from models.finetune import prepare  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "torch_twin", Path(__file__).resolve().parent.parent / "benchmarks" / "torch_twin.py")
torch_twin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_twin)


@pytest.fixture(scope="module")
def tiny_and_ids():
    tiny = pretrained.load("tiny")
    batch = next(data.batches(data.load_task("sentiment").train, tiny.tokenizer, 8, 24, seed=0))
    return tiny, batch["input_ids"].numpy()


@pytest.mark.parametrize("mode", ["prompt", "prefix", "ia3"])
def test_the_loss_and_the_gradient_of_what_trains_agree_with_pytorch(tiny_and_ids, mode):
    tiny, ids = tiny_and_ids
    mg.manual_seed(0)
    ours = prepare(tiny, mode, task="lm")
    if mode == "prompt":
        trained = [ours.body.prompt]
        twin = torch_twin.fine_tuning_twin(tiny, mode, prompt=ours.body.prompt.numpy())
        theirs = [twin.prompt]
    elif mode == "ia3":
        trained = [p for name, p in ours.named_parameters() if name.endswith("ia3_scale")]
        twin = torch_twin.fine_tuning_twin(tiny, mode)
        theirs = [p for name, p in twin.named_parameters() if name.endswith("ia3_scale")]
    else:
        trained = [*ours.body.prefix_keys, *ours.body.prefix_values]
        twin = torch_twin.fine_tuning_twin(tiny, mode, prefix=([k.numpy() for k in ours.body.prefix_keys],
                                                                [v.numpy() for v in ours.body.prefix_values]))
        theirs = [*twin.keys, *twin.values]

    logits = ours(mg.tensor(ids[:, :-1]))
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), mg.tensor(ids[:, 1:].reshape(-1)))
    loss.backward()
    their_logits = twin(torch.tensor(ids[:, :-1]))
    their_loss = torch.nn.functional.cross_entropy(their_logits.reshape(-1, their_logits.shape[-1]),
                                                   torch.tensor(ids[:, 1:].reshape(-1)))
    their_loss.backward()

    assert loss.item() == pytest.approx(their_loss.item(), rel=1e-5)
    for ours_p, theirs_p in zip(trained, theirs, strict=True):
        np.testing.assert_allclose(ours_p.grad.numpy(), theirs_p.grad.numpy(), rtol=1e-3, atol=1e-6)
        assert np.abs(ours_p.grad.numpy()).sum() > 0
