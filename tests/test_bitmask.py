"""`structgen.bitmask`: the bit layout of token masks, judged bit by bit with Python integers."""

import numba as nb
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from structgen.bitmask import allow, n_words, pack, positions, unpack

masks = st.lists(st.booleans(), max_size=200).map(lambda bits: np.array(bits, np.bool_))


def _bit(words: np.ndarray, t: int) -> bool:
    return bool(int(words[t // 32]) >> (t % 32) & 1)


@given(masks)
def test_pack_sets_bit_t_mod_32_of_word_t_div_32(mask):
    words = pack(mask)
    assert words.dtype == np.uint32 and len(words) == n_words(len(mask)) == -(-len(mask) // 32)
    assert [_bit(words, t) for t in range(32 * len(words))] == mask.tolist() + [False] * (32 * len(words) - len(mask))


@given(masks)
def test_unpack_inverts_pack(mask):
    out = unpack(pack(mask), len(mask))
    assert out.dtype == np.bool_ and (out == mask).all()


@nb.njit
def _allow_all(words, tokens):
    for t in tokens:
        allow(words, t)


@given(masks)
def test_allow_sets_the_bits_pack_does(mask):
    words = np.zeros(n_words(len(mask)), np.uint32)
    _allow_all(words, np.flatnonzero(mask))
    assert (words == pack(mask)).all()


@given(masks)
def test_positions_set_the_bits_pack_does(mask):
    words = np.zeros(n_words(len(mask)), np.uint32)
    for word, bit in positions(np.flatnonzero(mask)):
        words[word] |= bit
    assert (words == pack(mask)).all()
