"""One language-model training step, written for each framework: forward, next-token
cross-entropy, backward, clip to norm 1, AdamW. Used by bench_transformer.py (CPU) and
bench_gpu.py (GPU) so that both time exactly the same work.

    step = minigrad_step(model, ids, device)   # ids: (batch, seq + 1) NumPy token ids
    loss = step()                              # a float: reading it waits for the device
"""
import minigrad as mg
from minigrad import optim
from minigrad.nn import functional as F


def minigrad_step(model, ids, device="cpu"):
    optimizer = optim.AdamW(model.parameters(), lr=1e-4)
    inputs, targets = mg.tensor(ids[:, :-1], device=device), mg.tensor(ids[:, 1:].reshape(-1), device=device)

    def step():
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        loss.backward()
        optim.clip_grad_norm_(list(model.parameters()), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        return loss.item()

    return step


def torch_step(model, ids, device="cpu"):
    import torch  # here, not at the top: bench_gpu.py runs without PyTorch too
    import torch.nn.functional as TF

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01, foreach=False)
    inputs, targets = torch.tensor(ids[:, :-1], device=device), torch.tensor(ids[:, 1:].reshape(-1), device=device)

    def step():
        logits = model(inputs)
        loss = TF.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step
