"""The two vocabularies the fuzzers walk: one token per byte, and the real SmolLM2 tokenizer's."""

from __future__ import annotations

from structgen.vocab import Vocabulary


def byte_vocabulary() -> Vocabulary:
    """256 one-byte tokens and an empty end-of-sequence token (id 256): every text has one tokenisation."""
    return Vocabulary([bytes([b]) for b in range(256)] + [b""], eos_token_ids=[256])


def smollm2_vocabulary() -> Vocabulary:
    """The default model's vocabulary (needs the converted cache from `make model`)."""
    from structgen.lm import load_tokenizer

    return Vocabulary.from_tokenizer(load_tokenizer())
