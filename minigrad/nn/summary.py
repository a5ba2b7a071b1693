"""How many parameters a model has, and how many of them train."""


def count_parameters(module):
    """(trainable, total) numbers of parameter elements; a tied parameter counts once."""
    params = list(module.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def print_trainable_parameters(module):
    """Print and return HF PEFT's line: "trainable params: X || all params: Y || trainable%: Z"."""
    trainable, total = count_parameters(module)
    percent = 100 * trainable / total if total else 0.0
    line = f"trainable params: {trainable:,} || all params: {total:,} || trainable%: {percent:.4f}"
    print(line)
    return line
