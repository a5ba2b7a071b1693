"""One language-model training step, written for each framework: forward, next-token
cross-entropy, backward, clip to norm 1, AdamW on the parameters that require grad. Used by
bench_transformer.py (CPU), bench_gpu.py (GPU) and bench_modes.py (frozen models) so that they
time exactly the same work in both frameworks.

    step = minigrad_step(model, ids, device)   # ids: (batch, seq + 1) NumPy token ids
    loss = step()                              # a float: reading it waits for the device
"""
import minigrad as mg
from minigrad import optim
from minigrad.nn import functional as F


def minigrad_step(model, ids, device="cpu"):
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = optim.AdamW(trainable, lr=1e-4)
    inputs, targets = mg.tensor(ids[:, :-1], device=device), mg.tensor(ids[:, 1:].reshape(-1), device=device)

    def step():
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        loss.backward()
        optim.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        return loss.item()

    return step


def torch_step(model, ids, device="cpu"):
    import torch  # here, not at the top: bench_gpu.py runs without PyTorch too
    import torch.nn.functional as TF

    trainable = [p for p in model.parameters() if p.requires_grad]
    # PyTorch's default AdamW: a loop over the parameters on the CPU (as minigrad's), multi-tensor
    # (foreach) kernels on CUDA, where it launches a few kernels for all parameters instead of ~10 each
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.01)
    inputs, targets = torch.tensor(ids[:, :-1], device=device), torch.tensor(ids[:, 1:].reshape(-1), device=device)

    def step():
        logits = model(inputs)
        loss = TF.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step
