"""minigrad.optim: optimizers, learning-rate schedules and gradient clipping, PyTorch-shaped.

    opt = optim.AdamW(model.parameters(), lr=1e-3)
    loss.backward(); optim.clip_grad_norm_(model.parameters(), 1.0); opt.step(); opt.zero_grad()
"""
from minigrad.optim import lr_scheduler
from minigrad.optim.adagrad import Adagrad
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.adamax import Adamax
from minigrad.optim.clip_grad import clip_grad_norm_, clip_grad_value_
from minigrad.optim.nadam import NAdam
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.radam import RAdam
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD
