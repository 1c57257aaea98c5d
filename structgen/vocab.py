"""The vocabulary as the automata see it: token id -> the exact bytes it adds.

Constraints work on bytes, so every tokenizer family is reduced to one
table. What a token *means* is fixed by the tokenizer's decoder, not by how
its encoder splits text:

* byte-level BPE (GPT-2 style): each character of a token stands for one
  byte through the GPT-2 byte alphabet (``Ġ`` = space, ``Ċ`` = newline, ...);
* SentencePiece style: ``▁`` is a space and ``<0xNN>`` byte-fallback pieces
  are single raw bytes;
* tiktoken rank files: the ranks are already bytes.

Tokens are taken raw: the leading space that a SentencePiece token such as
``▁Hello`` carries is part of its bytes, even though ``tokenizer.decode``
strips it at the very start of a text (the ``Strip`` decoder). Normalisers
(NFC, NFKC, lower-casing) only change how a tokenizer *encodes* a prompt;
they do not change what a generated token adds, so they play no part here.

Special, control and added tokens add nothing to the structured text: their
bytes are ``b""`` and they are never allowed, except the end-of-sequence
ids, which are allowed (the constraint decides *when*, via its accepting
states). Ids past the tokenizer's table (the model's embedding padding)
are ``b""`` and never allowed.
"""

from __future__ import annotations

import bisect
import functools

import base64
import json
import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from structgen.errors import StructgenError

#: Names of tokens that end a turn or a document in common chat formats.
END_OF_TURN_NAMES = frozenset(
    {
        "<|im_end|>",
        "<|endoftext|>",
        "<|eot_id|>",
        "<|eom_id|>",
        "<|end_of_text|>",
        "<|end|>",
        "<end_of_turn>",
        "</s>",
    }
)


class UnsupportedTokenizerError(StructgenError):
    """A tokenizer whose tokens cannot be mapped to exact bytes (e.g. WordPiece)."""


def _gpt2_unicode_to_byte() -> dict[str, int]:
    """Inverse of GPT-2's byte alphabet: printable bytes stand for themselves,
    the others are shifted to code points 256 and up, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {chr(b): b for b in printable}
    shifted = 0
    for b in range(256):
        if b not in mapping.values():
            mapping[chr(256 + shifted)] = b
            shifted += 1
    return mapping


_GPT2_UNICODE_TO_BYTE = _gpt2_unicode_to_byte()


def _byte_level_bytes(piece: str) -> bytes | None:
    """Bytes of a byte-level BPE token, or None if it is not in the byte alphabet."""
    try:
        return bytes(_GPT2_UNICODE_TO_BYTE[ch] for ch in piece)
    except KeyError:
        return None


def _byte_fallback_value(piece: str) -> int | None:
    """The byte of a ``<0xNN>`` piece, else None."""
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        try:
            return int(piece[3:5], 16)
        except ValueError:
            return None
    return None


def _metaspace_bytes(piece: str, byte_fallback: bool) -> bytes:
    if byte_fallback:
        value = _byte_fallback_value(piece)
        if value is not None:
            return bytes([value])
    return piece.replace("\u2581", " ").encode("utf-8")


class Vocabulary:
    """Token id -> bytes, end-of-sequence ids, and which ids may appear in output.

    ``tokens[i]`` is what token ``i`` adds to the text; ``len(self)`` is the
    model's vocabulary size (the width of its logits), which may exceed the
    tokenizer's. ``allowed[i]`` is False for ids that must never be sampled
    inside structured output. When ``allowed`` is not given, every id with
    non-empty bytes and every end-of-sequence id is allowed.
    """

    def __init__(
        self,
        tokens: Sequence[bytes],
        eos_token_ids: Iterable[int],
        allowed: Sequence[bool] | np.ndarray | None = None,
    ):
        self.tokens: list[bytes] = [bytes(t) for t in tokens]
        n = len(self.tokens)
        self.eos_token_ids: tuple[int, ...] = tuple(sorted({int(i) for i in eos_token_ids}))
        for i in self.eos_token_ids:
            if not 0 <= i < n:
                raise ValueError(f"end-of-sequence id {i} is outside the vocabulary (size {n})")
        if allowed is None:
            mask = np.fromiter((len(t) > 0 for t in self.tokens), dtype=bool, count=n)
            mask[list(self.eos_token_ids)] = True
        else:
            mask = np.array(allowed, dtype=bool)
            if mask.shape != (n,):
                raise ValueError(f"allowed has shape {mask.shape}, expected ({n},)")
        mask.flags.writeable = False
        self.allowed: np.ndarray = mask

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens, {int(self.allowed.sum())} allowed, eos={list(self.eos_token_ids)})"

    def decode(self, ids: Iterable[int]) -> bytes:
        """The bytes a sequence of token ids adds to the text."""
        tokens = self.tokens
        return b"".join(tokens[i] for i in ids)

    def extensions(self, data: bytes) -> np.ndarray:
        """The ids of the tokens whose bytes start with `data` and are longer."""
        order, keys = self._by_bytes
        start = bisect.bisect_right(keys, data)  # past the tokens equal to `data`
        above = data.rstrip(b"\xff")  # the least byte string after every one that starts with `data`
        end = bisect.bisect_left(keys, above[:-1] + bytes([above[-1] + 1]), start) if above else len(keys)
        return order[start:end]

    @functools.cached_property
    def _by_bytes(self) -> tuple[np.ndarray, list[bytes]]:
        order = np.array(sorted(range(len(self.tokens)), key=self.tokens.__getitem__), dtype=np.int64)
        return order, [self.tokens[i] for i in order]

    # ------------------------------------------------------------------ builders

    @classmethod
    def bytes_only(cls) -> Vocabulary:
        """The 256 single bytes and end-of-sequence (id 256): enough to compile and check text without a
        model, and every byte string has exactly one tokenisation."""
        return cls([bytes([b]) for b in range(256)] + [b""], eos_token_ids=[256])

    @classmethod
    def from_tokenizer(
        cls,
        tokenizer,
        vocab_size: int | None = None,
        *,
        extra_eos_token_ids: int | Iterable[int] | None = (),
    ) -> Vocabulary:
        """Build from a Hugging Face tokenizer (fast or SentencePiece-backed).

        ``vocab_size`` is the model's (its logits' width); ids past the
        tokenizer's table become disallowed padding. End-of-sequence ids are
        the tokenizer's eos token, every special token named like a chat
        end-of-turn (``<|im_end|>``, ``<|eot_id|>``, ...), and
        ``extra_eos_token_ids``: a model's generation config's ``eos_token_id``
        as it is written there (one id, a list of ids, or None).
        """
        pieces, special_ids = _tokenizer_pieces(tokenizer)
        to_bytes = _piece_decoder(tokenizer)
        size = max(pieces, default=-1) + 1
        if vocab_size is not None:
            if vocab_size < size:
                raise ValueError(f"vocab_size {vocab_size} is smaller than the tokenizer's {size} ids")
            size = vocab_size

        tokens = [b""] * size
        allowed = np.zeros(size, dtype=bool)
        for i, piece in pieces.items():
            if i in special_ids:
                continue
            data = to_bytes(i, piece)
            if data is None:
                raise UnsupportedTokenizerError(f"token {i} ({piece!r}) has no byte meaning in this tokenizer")
            tokens[i] = data
            allowed[i] = len(data) > 0

        if extra_eos_token_ids is None:
            extra_eos_token_ids = ()
        elif isinstance(extra_eos_token_ids, int):
            extra_eos_token_ids = (extra_eos_token_ids,)
        eos = {int(i) for i in extra_eos_token_ids if 0 <= i < size}
        if getattr(tokenizer, "eos_token_id", None) is not None:
            eos.add(int(tokenizer.eos_token_id))
        eos |= {i for i in special_ids if pieces.get(i) in END_OF_TURN_NAMES}
        sp_model = getattr(tokenizer, "sp_model", None)
        if sp_model is not None and sp_model.eos_id() >= 0:
            eos.add(sp_model.eos_id())
        if not eos:
            raise UnsupportedTokenizerError("the tokenizer names no end-of-sequence token")
        for i in eos:  # ending the text adds nothing to it, whatever the token's name
            tokens[i] = b""
            allowed[i] = True
        return cls(tokens, eos, allowed)

    @classmethod
    def from_tiktoken(
        cls,
        path_or_ranks: str | os.PathLike | Mapping[bytes, int],
        special_tokens: Mapping[str, int],
        eos_tokens: Iterable[str],
        vocab_size: int | None = None,
    ) -> Vocabulary:
        """Build from a tiktoken rank file (``base64-token rank`` per line) or a
        ``{token bytes: rank}`` mapping, plus the special tokens by id.

        ``eos_tokens`` names the special tokens that end generation."""
        if isinstance(path_or_ranks, Mapping):
            ranks = dict(path_or_ranks)
        else:
            ranks = _read_tiktoken_ranks(path_or_ranks)
        eos_names = list(eos_tokens)
        missing = [name for name in eos_names if name not in special_tokens]
        if missing:
            raise ValueError(f"end-of-sequence tokens {missing} are not among the special tokens")
        size = max([*ranks.values(), *special_tokens.values()], default=-1) + 1
        if vocab_size is not None:
            if vocab_size < size:
                raise ValueError(f"vocab_size {vocab_size} is smaller than the tokenizer's {size} ids")
            size = vocab_size
        tokens = [b""] * size
        for data, rank in ranks.items():
            tokens[rank] = data
        for rank in special_tokens.values():
            tokens[rank] = b""
        eos = [special_tokens[name] for name in eos_names]
        return cls(tokens, eos)  # the default mask: non-empty bytes, plus EOS


def _read_tiktoken_ranks(path: str | os.PathLike) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _tokenizer_pieces(tokenizer) -> tuple[dict[int, str], set[int]]:
    """Every id's piece string, and the ids of special, control and added tokens."""
    pieces = {int(i): piece for piece, i in tokenizer.get_vocab().items()}
    special = {int(i) for i in getattr(tokenizer, "all_special_ids", ())}
    special |= {int(i) for i in getattr(tokenizer, "added_tokens_decoder", {})}
    sp_model = getattr(tokenizer, "sp_model", None)
    if sp_model is not None:
        special |= {
            i
            for i in range(sp_model.get_piece_size())
            if sp_model.is_control(i) or sp_model.is_unknown(i) or sp_model.is_unused(i)
        }
    return pieces, special


def _piece_decoder(tokenizer):
    """A function (id, piece) -> bytes | None for this tokenizer's family."""
    sp_model = getattr(tokenizer, "sp_model", None)
    if sp_model is not None:

        def sentencepiece_bytes(i: int, piece: str) -> bytes:
            if i < sp_model.get_piece_size() and sp_model.is_byte(i):
                return bytes([_byte_fallback_value(sp_model.id_to_piece(i))])
            return _metaspace_bytes(piece, byte_fallback=False)

        return sentencepiece_bytes

    if hasattr(tokenizer, "byte_decoder"):
        return lambda i, piece: _byte_level_bytes(piece)

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise UnsupportedTokenizerError(f"cannot tell how {type(tokenizer).__name__} maps tokens to text")
    # The decoder alone, not the whole tokenizer JSON (megabytes of merges).
    decoder = json.loads(backend.decoder.__getstate__()) if backend.decoder is not None else None
    decoders = _flatten_decoders(decoder)
    kinds = {d.get("type") for d in decoders}
    model_type = type(backend.model).__name__
    if "ByteLevel" in kinds:
        return lambda i, piece: _byte_level_bytes(piece)
    metaspace = "Metaspace" in kinds or any(
        d.get("type") == "Replace" and (d.get("pattern") or {}).get("String") == "\u2581" for d in decoders
    )
    if metaspace:
        byte_fallback = "ByteFallback" in kinds or bool(getattr(backend.model, "byte_fallback", False))
        return lambda i, piece: _metaspace_bytes(piece, byte_fallback)
    if "WordPiece" in kinds or model_type == "WordPiece":
        raise UnsupportedTokenizerError("WordPiece tokenizers do not map tokens to exact text")
    raise UnsupportedTokenizerError(f"unrecognised tokenizer decoder {sorted(k for k in kinds if k)} ({model_type})")


def _flatten_decoders(decoder: dict | None) -> list[dict]:
    if not decoder:
        return []
    if decoder.get("type") == "Sequence":
        return [d for inner in decoder.get("decoders", []) for d in _flatten_decoders(inner)]
    return [decoder]
