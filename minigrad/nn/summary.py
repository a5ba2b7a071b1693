"""How many parameters a model has, and how many of them train."""


def count_parameters(module):
    """(trainable, total) numbers of parameter elements; a tied parameter counts once."""
    params = list(module.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def trainable_line(trainable, total):
    """HF PEFT's line, which users of parameter-efficient fine-tuning know:
    "trainable params: X || all params: Y || trainable%: Z"."""
    percent = 100 * trainable / total if total else 0.0
    return f"trainable params: {trainable:,} || all params: {total:,} || trainable%: {percent:.4f}"


def print_trainable_parameters(module):
    """Print and return HF PEFT's line for module (see trainable_line)."""
    line = trainable_line(*count_parameters(module))
    print(line)
    return line
