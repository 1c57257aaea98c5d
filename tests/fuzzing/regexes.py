"""Random ECMA-262 patterns and strings, judged by `regress` (an ECMA-262 engine) in unicode mode.

Why these pieces: the compiler's regex front end translates classes (`\\d`,
`\\w`, `\\s` and their negations, `.`, `[^...]`) into UTF-8 byte sets, where
the dialects differ (`\\s` includes U+FEFF in ECMA-262, `\\d` and `\\w` are
ASCII); quantifiers `{m,n}` unroll; anchors inside alternatives are rare but
legal. The strings mix the pattern's own characters with ASCII, non-ASCII,
U+FEFF and astral characters so that both matches and near misses occur.
"""

from __future__ import annotations

from hypothesis import strategies as st

ATOMS = ["a", "b", "x", "é", "😀", "\\d", "\\D", "\\w", "\\W", "\\s", "\\S", ".", "[a-c]", "[^a]", "[\\d\\s]",
         "[^\\w]", "\\.", "\\u00e9", "[é-ü]", "-", " ", "\\ufeff", "[😀-😂]", "0", "\\t"]
QUANTIFIERS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}", "{2,}", "*?", "+?"]
# Groups take `?` at most: `regress` backtracks, and a repeated group that can match empty
# (`((?:b*?|\\D?|\\S{2})?){2}` against "xxxxxxxxxx") makes it abort the process (a 5 GB allocation).
GROUP_QUANTIFIERS = ["", "", "?", "??"]
CHARS = "abx0 9-.é\u00fc\u0663\ufeff\u00a0\u2028\t😀😁A_ZЖ"


def patterns(max_leaves: int = 8) -> st.SearchStrategy:
    """Patterns in the supported subset: atoms, quantifiers, groups, alternation, optional anchors."""
    atom = st.builds(lambda a, q: a + q, st.sampled_from(ATOMS), st.sampled_from(QUANTIFIERS))
    body = st.recursive(
        atom,
        lambda inner: st.builds(lambda xs: "".join(xs), st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda xs: "|".join(xs), st.lists(inner, min_size=2, max_size=3))
        | st.builds(lambda x, q, cap: ("(" if cap else "(?:") + x + ")" + q, inner, st.sampled_from(GROUP_QUANTIFIERS),
                    st.booleans()),
        max_leaves=max_leaves,
    )
    return st.builds(lambda pre, b, post: pre + b + post, st.sampled_from(["", "", "^"]), body,
                     st.sampled_from(["", "", "$"]))


def strings(pattern: str) -> st.SearchStrategy:
    """Strings over the pattern's characters and a fixed mix of ASCII, non-ASCII, U+FEFF and astral ones."""
    alphabet = sorted(set(CHARS) | {c for c in pattern if c not in "\\[]()^$|*+?{}"})
    return st.text(st.sampled_from(alphabet), max_size=8)
