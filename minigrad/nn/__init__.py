"""minigrad.nn: modules, parameters, layers and their initialisation, PyTorch-shaped.

    from minigrad import nn
    from minigrad.nn import functional as F
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    loss = nn.CrossEntropyLoss()(model(x), y)
"""
from minigrad.nn import functional, init, utils
from minigrad.nn.activation import (
    ELU, GELU, GLU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh,
)
from minigrad.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from minigrad.nn.layers import Dropout, Embedding, Flatten, Identity, Linear, Unflatten
from minigrad.nn.losses import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss,
)
from minigrad.nn.module import Module
from minigrad.nn.normalization import BatchNorm1d, LayerNorm, RMSNorm
from minigrad.nn.parameter import Parameter
from minigrad.nn.summary import count_parameters, print_trainable_parameters
from minigrad.nn.transformer import MultiheadAttention, Transformer, TransformerEncoder, TransformerEncoderLayer
