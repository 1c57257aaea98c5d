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
