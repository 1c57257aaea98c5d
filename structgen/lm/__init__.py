"""Language models: the protocol the samplers use, loading, and the transformers backend."""

from structgen.lm.base import LanguageModel, Prompt, encode_prompt, next_token_logprobs_among
from structgen.lm.default import DefaultModelMissingError
from structgen.lm.loading import (
    ModelFiles,
    as_language_model,
    check_model_dir,
    default_device,
    load_model,
    load_tokenizer,
    load_vocabulary,
    locate_model,
)
from structgen.lm.tiny import tiny_random_model
from structgen.lm.transformers_lm import TransformersLM

__all__ = [
    "DefaultModelMissingError",
    "LanguageModel",
    "ModelFiles",
    "Prompt",
    "TransformersLM",
    "as_language_model",
    "check_model_dir",
    "default_device",
    "encode_prompt",
    "load_model",
    "load_tokenizer",
    "load_vocabulary",
    "locate_model",
    "next_token_logprobs_among",
    "tiny_random_model",
]
