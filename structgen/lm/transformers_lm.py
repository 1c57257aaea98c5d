"""Any Hugging Face causal LM as a `LanguageModel`, with key/value reuse.

Samplers call the model once per generated token with contexts that extend
the previous ones by a token (SMC: one context per particle, forked and
resampled between steps). Recomputing each context from scratch would make
generation quadratic, so the key/value states of recent contexts are kept,
keyed by their token ids. A new context starts from the cached context that
shares the longest prefix with it (cropping that cache when the contexts
diverge) and feeds only the remaining tokens; with no shared prefix it is a
full recompute. Cached tensors are never modified in place (the cache layer
appends by concatenation and crops are slices), so one cached prefix can
serve several diverging contexts.

Contexts computed from scratch run as one batch, their tokens right-padded,
which is sound without an attention mask because attention is causal: real
positions never see the padding. Contexts that resume from a cached prefix
and feed the same number of new tokens also run as one batch; when their
prefixes differ in length (the prompts of a batch, particles after a
resampling) the cached states are left-padded to the longest, the padding
masked out and every row given its own positions.

The output layer runs apart from the decoder when the model's logits are
exactly its output embedding applied to the decoder's last state (checked
once, on a two-token input: softcapped or scaled logits keep the whole
model's forward). Then a context keeps that state, and
`next_token_logprobs_among` computes the logits of only the tokens a mask
allows: the output layer is about a sixth of a small model's time per token,
and most masks in structured output allow a few hundred tokens.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from structgen.lm.base import Prompt, renormalised
from structgen.vocab import Vocabulary

KeyValues = tuple[tuple[torch.Tensor, torch.Tensor], ...]  # per layer, shapes (1, heads, length, head_dim)


#: Above this share of the vocabulary, `next_token_logprobs_among` computes the whole row
#: (gathering the rows of the output layer then costs about as much as using all of them).
SPARSE_SHARE = 0.125


@dataclass
class _Cached:
    key_values: KeyValues
    hidden: torch.Tensor  # what `_logits` maps to the next token's logits: the decoder's last state, or the logits
    logprobs: np.ndarray | None = None  # the whole row, once something asked for it


class TransformersLM:
    """Wraps ``model`` (an ``AutoModelForCausalLM``) and its ``tokenizer``.

    ``cache_size`` is how many contexts' key/value states are kept besides
    those of the latest call (which are always kept, so every particle can be
    extended); 0 disables reuse entirely (every call recomputes).
    ``max_batch_size`` bounds how many contexts run in one forward pass.
    """

    def __init__(self, model, tokenizer, *, vocabulary: Vocabulary | None = None, cache_size: int = 16,
                 max_batch_size: int = 32):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        width = model.get_output_embeddings().weight.shape[0]
        if vocabulary is None:
            vocabulary = model_vocabulary(model, tokenizer)
        elif len(vocabulary) != width:
            raise ValueError(f"vocabulary has {len(vocabulary)} tokens but the model's logits have {width}")
        self.vocabulary = vocabulary
        self.cache_size = cache_size
        self.max_batch_size = max_batch_size
        self._cache: OrderedDict[tuple[int, ...], _Cached] = OrderedDict()
        self._head = model.get_output_embeddings()
        self._decoder = self._split_decoder()
        parameters = inspect.signature((self._decoder or model).forward).parameters
        self._cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self._can_keep_last_logits = "logits_to_keep" in parameters

    # ----------------------------------------------------------------- prompts

    def encode_prompt(self, prompt: Prompt) -> list[int]:
        """Token ids for ``prompt``.

        Text goes through the chat template when the tokenizer has one (one
        user message, then the assistant's turn opened), else it is encoded
        with the tokenizer's usual special tokens (e.g. BOS). None is an empty
        document: the BOS token, or the EOS token for tokenizers without BOS,
        since the model needs at least one token to predict from.
        """
        tokenizer = self.tokenizer
        if prompt is None:
            start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
            if start is None:
                raise ValueError("the tokenizer has neither a BOS nor an EOS token to start an empty context")
            return [int(start)]
        if isinstance(prompt, str):
            if getattr(tokenizer, "chat_template", None):
                text = tokenizer.apply_chat_template(
                    [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
                )
                return list(tokenizer.encode(text, add_special_tokens=False))
            return list(tokenizer.encode(prompt))
        return [int(t) for t in prompt]

    def encode_text(self, text: str) -> list[int]:
        """The tokenizer's ids for ``text`` alone, without special tokens (fast-forward re-tokenises with it)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    # ----------------------------------------------------------------- scoring

    def next_token_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """Natural log-probabilities of the next token, one row per context."""
        keys = [_key(c) for c in contexts]
        states = self._states(keys)
        missing = [k for k in dict.fromkeys(keys) if states[k].logprobs is None]
        if missing:
            with torch.inference_mode():
                logits = self._logits(torch.stack([states[k].hidden for k in missing]))
                rows = torch.log_softmax(logits.double(), dim=-1).cpu().numpy()  # float64: rows sum to 1 to ~1e-12
            for key, row in zip(missing, rows):
                states[key].logprobs = row
        return np.stack([states[k].logprobs for k in keys])

    def next_token_logprobs_among(self, context: Sequence[int], ids: np.ndarray) -> np.ndarray:
        """Log-probabilities of the next token given that it is one of ``ids``.

        The same numbers as the whole row restricted to ``ids`` and
        renormalised, but when ``ids`` are few (at most `SPARSE_SHARE` of the
        vocabulary) and the output layer runs apart, only their logits are
        computed. Locally constrained decoding needs nothing more.

        Raises
        ------
        ValueError
            ``ids`` is empty, or the context is.
        """
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            raise ValueError("no token to choose among")
        key = _key(context)
        state = self._states([key])[key]
        if state.logprobs is None and self._decoder is not None and len(ids) <= SPARSE_SHARE * len(self.vocabulary):
            with torch.inference_mode():
                row = self._logits(state.hidden[None], torch.from_numpy(ids).to(self.device))[0]
                scores = row.double().cpu().numpy()
        else:
            scores = self.next_token_logprobs([key])[0][ids]
        return renormalised(scores)

    def _states(self, keys: list[tuple[int, ...]]) -> dict[tuple[int, ...], _Cached]:
        """The cached state after each context, running the model for those not cached."""
        if any(len(k) == 0 for k in keys):
            raise ValueError("a context must hold at least one token: use encode_prompt(None) for an empty document")
        wanted = list(dict.fromkeys(keys))
        results: dict[tuple[int, ...], _Cached] = {}
        # Group the contexts to compute: from scratch, or by how many new tokens they feed.
        groups: dict[int, list[tuple[tuple[int, ...], int, KeyValues | None]]] = {}
        for key in wanted:
            hit = self._cache.get(key)
            if hit is not None:
                results[key] = hit
                continue
            resume, prefix = self._resume_point(key)
            groups.setdefault(0 if resume == 0 else len(key) - resume, []).append((key, resume, prefix))
        for jobs in groups.values():
            for start in range(0, len(jobs), self.max_batch_size):
                results.update(self._forward(jobs[start:start + self.max_batch_size]))
        self._remember(wanted, results)
        return results

    def _logits(self, hidden: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for the states ``hidden`` (rows), of every token or of ``ids`` only."""
        if self._decoder is None:  # the states are the logits
            return hidden if ids is None else hidden[:, ids]
        weight, bias = self._head.weight, self._head.bias
        if ids is not None:
            weight, bias = weight[ids], None if bias is None else bias[ids]
        return torch.nn.functional.linear(hidden.to(weight.dtype), weight, bias)

    def _split_decoder(self):
        """The model's decoder when its logits are `_head` applied to the decoder's last state, else None."""
        head, get = self._head, getattr(self.model, "get_decoder", None)
        decoder = get() if get is not None else None
        if head is None or decoder is None or decoder is self.model or not hasattr(head, "weight"):
            return None
        probe = torch.tensor([[0, 1]], device=self.device)
        try:
            with torch.inference_mode():
                whole = self.model(input_ids=probe, use_cache=False).logits[0, -1]
                split = torch.nn.functional.linear(decoder(input_ids=probe, use_cache=False).last_hidden_state[0, -1],
                                                   head.weight, head.bias)
        except (TypeError, ValueError, AttributeError):
            return None
        scale = whole.abs().max().clamp(min=1.0)
        return decoder if bool(((whole - split).abs().max() <= 1e-5 * scale)) else None

    def clear_cache(self) -> None:
        """Forget every cached key/value state (the next call recomputes)."""
        self._cache.clear()

    def _resume_point(self, key: tuple[int, ...]) -> tuple[int, KeyValues | None]:
        """The longest cached prefix usable for ``key``: its length and states.

        At least the last token of ``key`` must be fed, to get its logits."""
        best, best_values = 0, None
        for cached_key, cached in self._cache.items():
            shared = min(_common_prefix_length(key, cached_key), len(key) - 1)
            if shared > best:
                best, best_values = shared, cached.key_values
        if best_values is None:
            return 0, None
        return best, tuple((k[:, :, :best], v[:, :, :best]) for k, v in best_values)

    def _forward(self, jobs) -> dict[tuple[int, ...], _Cached]:
        """One forward pass. ``jobs``: (context, resume, cached states of its first ``resume`` tokens);
        either every resume is 0 (feeds right-padded) or every feed has the same length."""
        from transformers import DynamicCache

        resumes = [resume for _, resume, _ in jobs]
        longest = max(resumes)
        feeds = [key[resume:] for key, resume, _ in jobs]
        lengths = [len(f) for f in feeds]
        width = max(lengths)
        input_ids = torch.tensor([f + (f[-1],) * (width - len(f)) for f in feeds], device=self.device)
        cache = DynamicCache()
        kwargs = {self._cache_argument: cache, "use_cache": True}
        if longest:
            for layer, per_row in enumerate(zip(*(prefix for _, _, prefix in jobs))):
                keys = _stacked([_left_pad(k, longest) for k, _ in per_row])
                values = _stacked([_left_pad(v, longest) for _, v in per_row])
                cache.update(keys, values, layer)
            if min(resumes) != longest:
                mask = torch.ones(len(jobs), longest + width, dtype=torch.long, device=self.device)
                for row, resume in enumerate(resumes):
                    mask[row, :longest - resume] = 0
                kwargs["attention_mask"] = mask
                kwargs["position_ids"] = (torch.tensor(resumes, device=self.device)[:, None]
                                          + torch.arange(width, device=self.device))
        same_length = all(n == width for n in lengths)
        if same_length and self._can_keep_last_logits:
            kwargs["logits_to_keep"] = 1
        with torch.inference_mode():
            if self._decoder is None:
                states = self.model(input_ids=input_ids, **kwargs).logits
            else:
                states = self._decoder(input_ids=input_ids, **kwargs).last_hidden_state
            rows = torch.arange(len(jobs), device=states.device)
            last = states[:, -1] if same_length else states[rows, torch.tensor(lengths, device=states.device) - 1]
        layers = _layer_key_values(cache)
        out = {}
        for row, ((key, resume, _), n) in enumerate(zip(jobs, lengths)):
            begin, end = longest - resume, longest + n
            values = tuple((k[row:row + 1, :, begin:end], v[row:row + 1, :, begin:end]) for k, v in layers)
            out[key] = _Cached(values, last[row].clone())
        return out

    def _remember(self, latest: list[tuple[int, ...]], results: dict[tuple[int, ...], _Cached]) -> None:
        """Keep the latest call's contexts plus the ``cache_size`` most recent others."""
        if self.cache_size <= 0:
            self._cache.clear()
            return
        for key in latest:
            self._cache.pop(key, None)
            self._cache[key] = results[key]
        while len(self._cache) > max(self.cache_size, len(latest)):
            self._cache.popitem(last=False)


def _key(context: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(t) for t in context)


def _common_prefix_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Length of the longest common prefix (binary search on C-speed slice compares)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _stacked(rows: list[torch.Tensor]) -> torch.Tensor:
    """The rows as one batch; a single row as it is (the cache appends by concatenation, so it
    is never written to, and copying it would cost a copy of the whole prefix per step)."""
    return rows[0] if len(rows) == 1 else torch.cat(rows)


def _left_pad(states: torch.Tensor, length: int) -> torch.Tensor:
    """``states`` (1, heads, n, head_dim) with zeros before it up to ``length`` positions (masked out)."""
    missing = length - states.shape[2]
    if missing == 0:
        return states
    return torch.cat([states.new_zeros(*states.shape[:2], missing, states.shape[3]), states], dim=2)


def _layer_key_values(cache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache))


def model_vocabulary(model, tokenizer) -> Vocabulary:
    """The vocabulary of a loaded transformers ``model``: as wide as its logits, ending with the
    tokenizer's end-of-sequence ids and those of the model's ``generation_config``.

    Raises
    ------
    UnsupportedTokenizerError
        A token of ``tokenizer`` has no byte meaning, or it names no end-of-sequence token.
    """
    width = model.get_output_embeddings().weight.shape[0]
    generation = getattr(model, "generation_config", None)
    return Vocabulary.from_tokenizer(tokenizer, width, extra_eos_token_ids=getattr(generation, "eos_token_id", None))
