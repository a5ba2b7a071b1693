"""Language models built on minigrad: tokenizers, data, the transformer, heads, fine-tuning."""
