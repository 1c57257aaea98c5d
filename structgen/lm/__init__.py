"""Language models: the protocol the samplers use and the transformers backend."""

from structgen.lm.base import LanguageModel, Prompt, encode_prompt
from structgen.lm.default import DefaultModelMissingError, load_model, load_tokenizer
from structgen.lm.tiny import tiny_random_model
from structgen.lm.transformers_lm import TransformersLM

__all__ = [
    "DefaultModelMissingError",
    "LanguageModel",
    "Prompt",
    "TransformersLM",
    "encode_prompt",
    "load_model",
    "load_tokenizer",
    "tiny_random_model",
]
