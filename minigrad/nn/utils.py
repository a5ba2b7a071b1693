"""minigrad.nn.utils: where PyTorch code looks for gradient clipping (torch.nn.utils.clip_grad_norm_).
The functions live with the optimizers (minigrad/optim/clip_grad.py); both names reach the same ones."""
from minigrad.optim.clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401  (re-exported)
