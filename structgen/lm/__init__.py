"""Language models: the protocol the samplers use and the transformers backend."""

from structgen.lm.base import LanguageModel, Prompt, encode_prompt
from structgen.lm.default import DefaultModelMissingError, check_model_dir, load_model, load_tokenizer
from structgen.lm.tiny import tiny_random_model
from structgen.lm.transformers_lm import TransformersLM

__all__ = [
    "DefaultModelMissingError",
    "LanguageModel",
    "Prompt",
    "TransformersLM",
    "check_model_dir",
    "encode_prompt",
    "load_model",
    "load_tokenizer",
    "tiny_random_model",
]
