"""Every textual form a model can write for a JSON value, and values near a schema's boundary.

Why texts and not values: the engine constrains *text*. One value has many
spellings (`1`, `1.0`, `1e0`, `10e-1`, `"\\u00e9"`, keys in any order, a
duplicate key that `json.loads` overwrites); a compiler that decides on
spelling instead of value is unsound on exactly these. Some spellings here
also change the exact value while keeping the float (`1.0000000000000000001`),
which is how the float judge and the exact judge come to disagree.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

from hypothesis import strategies as st

from .schemas import NAMES, NUMBERS, json_literals

WHITESPACE = [" ", "\n", "\t", "\r", "  "]


def compact(value) -> bytes:
    """The engine's output form: `json.dumps` without spaces, UTF-8 (not ASCII-escaped)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def number_spellings(x) -> list[str]:
    """Spellings of the number `x`: the same value, and the same float but another exact value."""
    if isinstance(x, bool):
        return [json.dumps(x)]
    if isinstance(x, int):
        s = str(x)
        out = [s, s + ".0", s + "e0", s + "E+0", s + ".000", f"{x * 10}e-1"]
        if x == 0:
            out += ["-0", "-0.0", "0e5", "-0E-3"]
        if x % 100 == 0 and x:
            out.append(f"{x // 100}e2")
        if x:
            out.append(s + ".0000000000000000001")  # same float, not an integer
        return out
    r = repr(x)
    if "inf" in r or "nan" in r:
        return [r]
    d = Decimal(x)
    mantissa, _, exp = f"{x:.17e}".partition("e")
    out = [r, f"{d:f}", f"{x:.17g}", f"{mantissa}e{int(exp)}", r.upper()]
    if "e" not in r:
        out.append(r + "0000000000000000001")  # same float, another exact value
    return out


def _string(s: str, rng: random.Random, p_escape: float) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\' or ord(ch) < 0x20:
            out.append(json.dumps(ch)[1:-1])
        elif rng.random() < p_escape:
            o = ord(ch)
            if ch == "/":
                out.append("\\/")
            elif o > 0xFFFF:
                hi, lo = 0xD800 + ((o - 0x10000) >> 10), 0xDC00 + ((o - 0x10000) & 0x3FF)
                out.append(f"\\u{hi:04x}\\u{lo:04X}")
            else:
                out.append(f"\\u{o:04x}" if rng.random() < 0.5 else f"\\u{o:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class Style:
    """One way of writing: whitespace, key order, number spelling, escapes, duplicate keys."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.p_space = rng.choice([0.0, 0.0, 0.3, 1.0])
        self.shuffle = rng.random() < 0.5
        self.p_number = rng.choice([0.0, 0.5, 1.0])
        self.p_escape = rng.choice([0.0, 0.0, 0.3, 1.0])
        self.p_duplicate = rng.choice([0.0, 0.0, 0.3])

    def ws(self) -> str:
        return self.rng.choice(WHITESPACE) if self.rng.random() < self.p_space else ""

    def write(self, v) -> str:
        rng = self.rng
        if isinstance(v, dict):
            items = list(v.items())
            if self.shuffle:
                rng.shuffle(items)
            parts = []
            for k, x in items:
                if rng.random() < self.p_duplicate:  # an earlier occurrence that the last one overwrites
                    parts.append(self._member(k, rng.choice(NUMBERS + [None, "x", [], {}])))
                parts.append(self._member(k, x))
            return "{" + self.ws() + ("," + self.ws()).join(parts) + self.ws() + "}"
        if isinstance(v, list):
            return "[" + self.ws() + ("," + self.ws()).join(self.write(x) for x in v) + self.ws() + "]"
        if isinstance(v, str):
            return _string(v, rng, self.p_escape)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and rng.random() < self.p_number:
            return rng.choice(number_spellings(v))
        return json.dumps(v)

    def _member(self, k: str, x) -> str:
        return _string(k, self.rng, self.p_escape) + self.ws() + ":" + self.ws() + self.write(x)


def spellings(value, rng: random.Random, n: int) -> list[bytes]:
    """The compact form, the ASCII-escaped form, and `n` random styles of `value` (duplicates dropped)."""
    out = [compact(value), json.dumps(value, allow_nan=False).encode()]
    for _ in range(n):
        style = Style(rng)
        out.append((style.ws() + style.write(value) + style.ws()).encode("utf-8", "surrogatepass"))
    return list(dict.fromkeys(out))


def mutations(value, rng: random.Random, n: int) -> list:
    """Values one small edit away from `value`: the neighbours on which bounds and exclusions are decided."""
    out = []
    for _ in range(n):
        out.append(_mutate(value, rng))
    return out


def _mutate(v, rng: random.Random):
    if isinstance(v, dict) and v and rng.random() < 0.7:
        k = rng.choice(list(v))
        w = dict(v)
        r = rng.random()
        if r < 0.3:
            del w[k]
        elif r < 0.5:
            w[rng.choice(NAMES)] = rng.choice(NUMBERS + ["x", None])
        else:
            w[k] = _mutate(v[k], rng)
        return w
    if isinstance(v, list) and v and rng.random() < 0.7:
        w = list(v)
        i = rng.randrange(len(w))
        r = rng.random()
        if r < 0.25:
            del w[i]
        elif r < 0.5:
            w.append(w[i])
        else:
            w[i] = _mutate(w[i], rng)
        return w
    if isinstance(v, bool) or v is None:
        return rng.choice([True, False, None, 0, "", [], {}])
    if isinstance(v, (int, float)):
        return rng.choice([v + 1, v - 1, v + 0.5, v * 2, -v, float(v), v / 10, 0, v + 1e-9, 9007199254740993])
    if isinstance(v, str):
        r = rng.random()
        if r < 0.3 or not v:
            return v + rng.choice(["a", "é", "\ufeff", "😀", "0", " ", "\u0663"])
        if r < 0.6:
            return v[1:]
        return rng.choice([1, None, v.upper()])
    return v


def json_values() -> st.SearchStrategy:
    """Free JSON values with the schema pools' names and numbers, plus any text and float."""
    return json_literals(12) | st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=6),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=3),
                                                                   inner, max_size=3),
        max_leaves=8,
    )
