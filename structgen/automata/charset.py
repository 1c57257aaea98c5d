"""Sets of Unicode code points, and their lowering to UTF-8 byte sequences.

Regular expressions and JSON Schema keywords speak about characters; the
automata speak about bytes. A `CharSet` is the bridge: front ends build
character sets (classes, negations, `.`), and `utf8_sequences` turns one into
a small list of byte-range sequences that match exactly the UTF-8 encodings
of its members. Surrogates (U+D800..U+DFFF) are not Unicode scalar values,
have no UTF-8 encoding, and are never members.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)


@dataclass(frozen=True)
class CharSet:
    """An immutable set of code points as sorted, disjoint, non-adjacent ranges."""

    ranges: tuple[tuple[int, int], ...] = ()

    @staticmethod
    def of(*items: int | str | tuple[int, int]) -> "CharSet":
        """Build from code points, strings (each character a member) or inclusive (lo, hi) pairs."""
        ranges = []
        for item in items:
            if isinstance(item, str):
                ranges.extend((ord(c), ord(c)) for c in item)
            elif isinstance(item, int):
                ranges.append((item, item))
            else:
                lo, hi = (ord(x) if isinstance(x, str) else x for x in item)
                ranges.append((lo, hi))
        return CharSet._normalise(ranges)

    @staticmethod
    def _normalise(ranges) -> "CharSet":
        merged: list[list[int]] = []
        for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return CharSet(tuple((lo, hi) for lo, hi in merged))

    def __or__(self, other: "CharSet") -> "CharSet":
        return CharSet._normalise(self.ranges + other.ranges)

    def __and__(self, other: "CharSet") -> "CharSet":
        out = []
        i = j = 0
        a, b = self.ranges, other.ranges
        while i < len(a) and j < len(b):
            lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return CharSet(tuple(out))

    def __invert__(self) -> "CharSet":
        out, nxt = [], 0
        for lo, hi in self.ranges:
            if lo > nxt:
                out.append((nxt, lo - 1))
            nxt = hi + 1
        if nxt <= MAX_CODE_POINT:
            out.append((nxt, MAX_CODE_POINT))
        return CharSet(tuple(out))

    def __sub__(self, other: "CharSet") -> "CharSet":
        return self & ~other

    def __contains__(self, c: int | str) -> bool:
        cp = ord(c) if isinstance(c, str) else c
        return any(lo <= cp <= hi for lo, hi in self.ranges)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def without_surrogates(self) -> "CharSet":
        return self - CharSet.of(SURROGATES)


ANY_CHAR = CharSet.of((0, MAX_CODE_POINT)).without_surrogates()

# Boundaries of the UTF-8 encoding lengths: 1, 2, 3 and 4 bytes.
_LENGTH_BOUNDS = ((0, 0x7F), (0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, MAX_CODE_POINT))


def _encode(cp: int, length: int) -> list[int]:
    if length == 1:
        return [cp]
    out = []
    for _ in range(length - 1):
        out.append(0x80 | (cp & 0x3F))
        cp >>= 6
    lead = {2: 0xC0, 3: 0xE0, 4: 0xF0}[length]
    out.append(lead | cp)
    return out[::-1]


def _split(lo: int, hi: int, length: int) -> list[list[tuple[int, int]]]:
    """Byte-range sequences for [lo, hi], all of one encoded length.

    Splits the range until every position is an independent byte range: a
    range is regular when, below some byte position, it spans every
    continuation byte (0x80..0xBF) on both ends.
    """
    if length == 1:
        return [[(lo, hi)]]
    for i in range(1, length):
        m = (1 << (6 * i)) - 1  # mask of the low i continuation bytes
        if lo & ~m != hi & ~m:
            if lo & m != 0:
                return _split(lo, lo | m, length) + _split((lo | m) + 1, hi, length)
            if hi & m != m:
                return _split(lo, (hi & ~m) - 1, length) + _split(hi & ~m, hi, length)
    a, b = _encode(lo, length), _encode(hi, length)
    return [list(zip(a, b))]


def utf8_sequences(chars: CharSet) -> list[list[tuple[int, int]]]:
    """Sequences of inclusive byte ranges whose union matches the UTF-8 of `chars`."""
    out: list[list[tuple[int, int]]] = []
    for lo, hi in chars.without_surrogates().ranges:
        for blo, bhi in _LENGTH_BOUNDS:
            a, b = max(lo, blo), min(hi, bhi)
            if a <= b:
                length = _LENGTH_BOUNDS.index((blo, bhi)) + 1
                out.extend(_split(a, b, length))
    return out
