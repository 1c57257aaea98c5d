"""A tiny randomly initialised Llama with a real tokenizer: the fast test model.

Random weights make it an adversary for the samplers: it has no idea of
JSON and proposes arbitrary tokens, so constraints do all the work, and it
still exercises the real vocabulary, key/value caching and batching.
"""

from __future__ import annotations

import torch

from structgen.lm.transformers_lm import TransformersLM

#: Scale of the random weights: large enough that next-token distributions are
#: peaked on arbitrary tokens rather than almost uniform.
INIT_RANGE = 0.5


def tiny_random_model(tokenizer=None, seed: int = 0, **options) -> TransformersLM:
    """2 layers, hidden size 64, the vocabulary size of ``tokenizer`` (default:
    SmolLM2's). The same seed gives the same weights; the global torch RNG is
    left untouched. ``options`` go to `TransformersLM`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    if tokenizer is None:
        from structgen.lm.loading import load_tokenizer

        tokenizer = load_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        initializer_range=INIT_RANGE,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return TransformersLM(model, tokenizer, **options)
