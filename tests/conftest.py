"""Session fixtures shared by the test suite: the real SmolLM2 tokenizer and a
tiny random model that uses it (the fast stand-in for the default model)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    """The default model's tokenizer, from the converted cache (`make model`)."""
    import torch

    from structgen.lm import load_tokenizer

    # Every model in the tests is tiny: one thread is faster than several, and
    # far faster on a busy 2-core machine, where threads wait on each other.
    torch.set_num_threads(1)

    return load_tokenizer()


@pytest.fixture(scope="session")
def smollm2_vocab(smollm2_tokenizer):
    from structgen.vocab import Vocabulary

    return Vocabulary.from_tokenizer(smollm2_tokenizer)


@pytest.fixture(scope="session")
def tiny_lm(smollm2_tokenizer):
    """A 2-layer random Llama with SmolLM2's tokenizer and vocabulary size."""
    from structgen.lm import tiny_random_model

    return tiny_random_model(smollm2_tokenizer, seed=0)


@pytest.fixture(scope="session")
def byte_vocab():
    """A hand-written vocabulary of about 500 byte tokens (fast, offline).

    Ids 0-255 are the single bytes (so any byte string has a tokenisation:
    byte ``b`` is token ``b``), then multi-byte pieces of JSON, arithmetic and
    words, one end-of-sequence id (``b""``) and one special token whose bytes
    (``{"``) would fit many outputs but which is never allowed.
    """
    from structgen.vocab import Vocabulary

    pieces = ['{"', '"}', '":', '",', '":"', '"]', '"],', '},', '}]', '[{', '[]', '{}', 'true', 'false', 'null',
              ' + ', ' - ', ' * ', ' / ', '^-', '(-', ' )', '0.', '.5', '.com', '.org', 'com', 'café', 'é"',
              '"name":"', '"age":', '"value":', '"children":[', '"tags":["', '-1', '1e', 'E+', '\\u00', '\\"']
    pieces += [f"{i:02d}" for i in range(100)]
    pieces += [a + b for a in "abcdefghijklmnopqrstuvwxyz" for b in "aeiou"]
    tokens = [bytes([b]) for b in range(256)] + [p.encode() for p in pieces] + [b"", b'{"']
    eos, special = len(tokens) - 2, len(tokens) - 1
    allowed = [i != special for i in range(len(tokens))]
    return Vocabulary(tokens, [eos], allowed)
