"""Fused ops (being written): softmax, log_softmax, cross_entropy, layer_norm, dropout,
embedding, scaled_dot_product_attention."""


def _todo(*args, **kwargs):
    raise NotImplementedError


softmax = log_softmax = cross_entropy = layer_norm = dropout = embedding = _todo
scaled_dot_product_attention = _todo
