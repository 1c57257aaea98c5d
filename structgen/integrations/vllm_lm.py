"""`VLLMLanguageModel`: the `LanguageModel` protocol on a vLLM engine, so that structgen's samplers
(``structgen.sample(..., sampler="awrs" | "smc")``) draw from a model that vLLM serves.

::

    from vllm import LLM

    llm = LLM(model=..., dtype="float32", max_logprobs=-1, enable_prefix_caching=True)
    lm = VLLMLanguageModel(llm)
    constraint = structgen.compile_json_schema(schema, lm.vocabulary)
    samples = structgen.sample(lm, constraint, "A person, as JSON.", sampler="smc", particles=4)

Design
------
AWRS and SMC need the model's whole next-token distribution for every particle at every step:
AWRS draws from the unconstrained row and its weight is the mass the constraint leaves, which a
masked or top-k row cannot give. vLLM is a generation engine, so a distribution is obtained as the
by-product of generating one token:

- *One request per context, one token each.* Each context (prompt plus the particle's tokens so
  far) is a token-id prompt with ``SamplingParams(max_tokens=1, logprobs=-1)``; all of a call's
  distinct contexts go to vLLM in one `LLM.generate`, which runs them as one batch. ``logprobs=-1``
  asks for the log-probabilities of every token, computed by vLLM's sampler from the raw logits (before
  temperature and any logits processor) in float32, and returned with their token ids; the row is
  written back by id (so vLLM's rank order does not matter), checked to cover the whole vocabulary
  and renormalised in float64. The token vLLM samples along the way is discarded (greedy, so no
  random numbers are drawn).
- *Prefix caching shares particles' key/values.* SMC particles share the prompt and, after
  resampling, most of their tokens; with ``enable_prefix_caching=True`` (vLLM's default) a request
  reuses every full KV block of an earlier request with the same prefix, so each step computes only
  the tokens after the last full block it shares (below one block per context: vLLM's CPU build
  uses blocks of 128 tokens unless ``block_size`` says otherwise, and a multiple of 32 is
  required there). Identical contexts (particles after resampling) are sent once.
- *Why these logprobs and not another channel.* The row crosses from the engine process as
  arrays, but vLLM's front end turns each position's logprobs into Python lists: that is the
  cost of this path, 10 to 15 ms per context for a 49k vocabulary (``flat_logprobs=True`` keeps it
  to four flat lists instead of a dict of 49k ``Logprob`` objects; ``detokenize=False`` skips
  decoding each id). ``prompt_logprobs`` goes through the same conversion, and vLLM's array-valued
  ``prompt_logprob_token_ids`` needs the V2 model runner (not in the CPU build). A logits
  processor that copied the rows out would run in the engine's process, with no way back to the
  caller but a side channel of our own.

The engine must be built with ``max_logprobs=-1`` (or at least the vocabulary's size), and its
``logprobs_mode`` must be one of the raw modes (the default).

Calls are not thread-safe (neither is `vllm.LLM`): concurrent samplers share one instance through
`structgen.lm.batching.BatchingLM`, which makes one call of their contexts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vllm import SamplingParams

from ..errors import InvalidArgumentError, StructgenError
from ..lm.base import renormalised
from ..lm.transformers_lm import TransformersLM
from ..vocab import Vocabulary

__all__ = ["VLLMLanguageModel", "engine_vocabulary"]

#: vLLM's ``logprobs_mode`` values whose logprobs are the model's own distribution (raw_logits is
#: renormalised into it like any row).
RAW_MODES = ("raw_logprobs", "raw_logits")


def engine_vocabulary(model_config, tokenizer) -> Vocabulary:
    """The vocabulary of a vLLM engine's model: ``tokenizer``'s tokens, as wide as the model's logits, its
    end-of-sequence ids including those of the model's generation config.

    Parameters
    ----------
    model_config : vllm.config.ModelConfig
        The engine's model configuration (the logits' width, the generation config).
    tokenizer
        The engine's Hugging Face tokenizer.

    Raises
    ------
    UnsupportedTokenizerError
        A token of the tokenizer has no byte meaning, or it names no end-of-sequence token.
    ValueError
        The tokenizer has more ids than the model's logits.
    """
    eos = model_config.try_get_generation_config().get("eos_token_id")
    return Vocabulary.from_tokenizer(tokenizer, model_config.get_vocab_size(), extra_eos_token_ids=eos)


class VLLMLanguageModel:
    """Next-token log-probabilities from a `vllm.LLM` engine, for structgen's samplers.

    Parameters
    ----------
    llm : vllm.LLM
        The engine, built with ``max_logprobs=-1`` (every token's logprob may be asked for), a
        tokenizer, and ideally ``enable_prefix_caching=True`` (the default) so that particles share
        their key/values.
    vocabulary : Vocabulary or None
        The vocabulary to use (e.g. the one a constraint was compiled against); None builds it from
        the engine's tokenizer, as wide as the model's logits, its end-of-sequence ids including
        those of the model's generation config.

    Raises
    ------
    InvalidArgumentError
        The engine has no tokenizer (``skip_tokenizer_init``), returns fewer logprobs than the
        vocabulary has tokens (``max_logprobs``), returns processed logprobs (``logprobs_mode``), or
        ``vocabulary`` is not as wide as the model's logits.
    UnsupportedTokenizerError
        A token of the tokenizer has no byte meaning, or it names no end-of-sequence token.
    """

    #: The same prompts as the in-process model (chat template, BOS for an empty document): they read
    #: only ``self.tokenizer``.
    encode_prompt = TransformersLM.encode_prompt
    encode_text = TransformersLM.encode_text

    def __init__(self, llm, *, vocabulary: Vocabulary | None = None):
        model = llm.llm_engine.model_config
        if model.skip_tokenizer_init:
            raise InvalidArgumentError("llm", "the engine has no tokenizer (skip_tokenizer_init is set)")
        width = model.get_vocab_size()
        if model.max_logprobs != -1 and model.max_logprobs < width:
            raise InvalidArgumentError("llm", f"the engine returns at most {model.max_logprobs} logprobs per "
                                              f"token; build it with max_logprobs=-1 to get all {width}")
        if model.logprobs_mode not in RAW_MODES:
            raise InvalidArgumentError("llm", f"the engine's logprobs_mode is {model.logprobs_mode!r}; the "
                                              f"model's own distribution needs one of {', '.join(RAW_MODES)}")
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        if vocabulary is None:
            vocabulary = engine_vocabulary(model, self.tokenizer)
        elif len(vocabulary) != width:
            raise InvalidArgumentError("vocabulary", f"has {len(vocabulary)} tokens but the model's logits "
                                                     f"have {width}")
        self.vocabulary = vocabulary
        self.max_model_len = model.max_model_len
        self._params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=-1, flat_logprobs=True,
                                      detokenize=False)
        self.prompt_tokens = 0  # tokens of the contexts sent to the engine
        self.cached_tokens = 0  # of those, how many vLLM's prefix cache served (not computed again)

    def next_token_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """Natural log-probabilities of the next token, one row per context (float64, rows normalised).

        Raises
        ------
        InvalidArgumentError
            A context is empty (use `encode_prompt` (None) for an empty document) or leaves no room
            for a token within the engine's ``max_model_len``.
        StructgenError
            The engine returned a row that does not cover the vocabulary.
        """
        keys = [tuple(int(t) for t in c) for c in contexts]
        for key in keys:
            if not key:
                raise InvalidArgumentError("contexts", "a context must hold at least one token: use "
                                                       "encode_prompt(None) for an empty document")
            if len(key) >= self.max_model_len:
                raise InvalidArgumentError("contexts", f"a context of {len(key)} tokens leaves no room for "
                                                       f"one more within the engine's max_model_len "
                                                       f"({self.max_model_len})")
        wanted = list(dict.fromkeys(keys))
        outputs = self.llm.generate([{"prompt_token_ids": list(k)} for k in wanted], self._params, use_tqdm=False)
        rows = {key: self._row(out.outputs[0].logprobs) for key, out in zip(wanted, outputs)}
        self.prompt_tokens += sum(len(k) for k in wanted)
        self.cached_tokens += sum(out.num_cached_tokens or 0 for out in outputs)
        return np.stack([rows[k] for k in keys])

    def _row(self, logprobs) -> np.ndarray:
        """The full row from one generated position's `vllm.logprobs.FlatLogprobs` (the sampled token
        first, then every token in rank order), normalised in float64."""
        ids = np.asarray(logprobs.token_ids[1:], np.int64)
        width = len(self.vocabulary)
        if ids.size != width:
            raise StructgenError(f"vLLM returned {ids.size} logprobs for a vocabulary of {width} tokens")
        row = np.empty(width, np.float64)
        row[ids] = np.asarray(logprobs.logprobs[1:], np.float64)
        return renormalised(row)
