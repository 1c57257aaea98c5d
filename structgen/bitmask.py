"""Token masks as bits: the form the kernels write and the constraints cache.

A bitmask over a vocabulary of n tokens is `uint32[ceil(n / 32)]`, token t
being bit `t % 32` of word `t // 32` (the layout of xgrammar's and
llguidance's bitmasks: `.view(np.int32)` is one of theirs). Why bits rather
than one bool per token: a fresh bool array (48 KB for SmolLM2's 49,152
tokens, 151 KB for Qwen's) cost about a microsecond to allocate, zero and
fault in, a tenth of a typical cold mask; and a constraint's cache of 1,024
masks is eight times smaller.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["allow", "n_words", "pack", "positions", "unpack"]


def n_words(n_tokens: int) -> int:
    """The words of a bitmask over `n_tokens` tokens."""
    return (n_tokens + 31) // 32


@nb.njit(cache=True, nogil=True, inline="always")
def allow(bits, t):
    """Set token t's bit (inside the kernels)."""
    bits[t >> 5] |= np.uint32(1) << np.uint32(t & 31)


def positions(tokens) -> list[tuple[int, np.uint32]]:
    """(word, bit) of each token: `bits[word] |= bit` allows it (for a few tokens, such as end-of-sequence)."""
    return [(t >> 5, np.uint32(1 << (t & 31))) for t in sorted(int(t) for t in tokens)]


def pack(mask: np.ndarray) -> np.ndarray:
    """The bitmask of a boolean mask."""
    packed = np.packbits(np.asarray(mask, np.bool_), bitorder="little")
    words = np.zeros(4 * n_words(len(mask)), np.uint8)
    words[:len(packed)] = packed
    return words.view("<u4").astype(np.uint32, copy=False)


def unpack(bits: np.ndarray, n_tokens: int) -> np.ndarray:
    """The boolean mask over `n_tokens` tokens of a bitmask."""
    return np.unpackbits(np.ascontiguousarray(bits, "<u4").view(np.uint8), count=n_tokens,
                         bitorder="little").view(np.bool_)
