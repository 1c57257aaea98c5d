"""The character sets that ECMA-262 names: `.`, `\\d \\w \\s`, and `\\p{...}`.

ECMA-262 defines these differently from Python's `re` (`\\s` includes U+FEFF
and the Unicode space separators but `\\d` and `\\w` stay ASCII; `.` excludes
all four line terminators), so they are spelled out here rather than borrowed.
Unicode properties are derived from `unicodedata` once, on first use.

`unicodedata` lags behind the Unicode version of an ECMA-262 engine (Python
3.11 has Unicode 14; `regress`, the judge, a later one), and a code point
unassigned in the older tables may be a letter in the newer. Whatever a
property says about such a code point is unknown here, so a set built from
property escapes keeps only the code points `unicodedata` knows (`ASSIGNED`
in `known`): never a match the newer tables would refuse, at the price of
never matching a character newer than Python's tables.
"""

from __future__ import annotations

import itertools
import sys
import unicodedata
from functools import cache

from ..automata.charset import ANY_CHAR, CharSet

DIGIT = CharSet.of(("0", "9"))
WORD = CharSet.of(("a", "z"), ("A", "Z"), ("0", "9"), "_")
LINE_TERMINATORS = CharSet.of("\n\r\u2028\u2029")
# ECMA-262 WhiteSpace (TAB VT FF SP NBSP ZWNBSP and category Zs) plus LineTerminator.
SPACE = LINE_TERMINATORS | CharSet.of(
    "\t\v\f \u00a0\u1680\u202f\u205f\u3000\ufeff", ("\u2000", "\u200a")
)
DOT = ANY_CHAR - LINE_TERMINATORS

CLASS_ESCAPES = {
    "d": DIGIT,
    "D": ~DIGIT,
    "w": WORD,
    "W": ~WORD,
    "s": SPACE,
    "S": ~SPACE,
}

_CATEGORY_NAMES = {
    "Cased_Letter": "LC",
    "Close_Punctuation": "Pe",
    "Connector_Punctuation": "Pc",
    "Control": "Cc",
    "Currency_Symbol": "Sc",
    "Dash_Punctuation": "Pd",
    "Decimal_Number": "Nd",
    "Enclosing_Mark": "Me",
    "Final_Punctuation": "Pf",
    "Format": "Cf",
    "Initial_Punctuation": "Pi",
    "Letter": "L",
    "Letter_Number": "Nl",
    "Line_Separator": "Zl",
    "Lowercase_Letter": "Ll",
    "Mark": "M",
    "Math_Symbol": "Sm",
    "Modifier_Letter": "Lm",
    "Modifier_Symbol": "Sk",
    "Nonspacing_Mark": "Mn",
    "Number": "N",
    "Open_Punctuation": "Ps",
    "Other": "C",
    "Other_Letter": "Lo",
    "Other_Number": "No",
    "Other_Punctuation": "Po",
    "Other_Symbol": "So",
    "Paragraph_Separator": "Zp",
    "Private_Use": "Co",
    "Punctuation": "P",
    "Separator": "Z",
    "Space_Separator": "Zs",
    "Spacing_Mark": "Mc",
    "Surrogate": "Cs",
    "Symbol": "S",
    "Titlecase_Letter": "Lt",
    "Unassigned": "Cn",
    "Uppercase_Letter": "Lu",
    "digit": "Nd",
    "punct": "P",
    "Combining_Mark": "M",
}
_CATEGORIES = {
    "Cc", "Cf", "Cn", "Co", "Cs", "Ll", "Lm", "Lo", "Lt", "Lu", "Mc", "Me", "Mn", "Nd", "Nl",
    "No", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "Sc", "Sk", "Sm", "So", "Zl", "Zp", "Zs",
}  # fmt: skip


@cache
def _category_table() -> dict[str, CharSet]:
    """Every general category as a CharSet (one pass over all code points)."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    categories = map(unicodedata.category, map(chr, range(sys.maxunicode + 1)))
    start = 0
    for cat, run in itertools.groupby(categories):
        end = start + sum(1 for _ in run)
        ranges.setdefault(cat, []).append((start, end - 1))
        start = end
    return {cat: CharSet.of(*rs) for cat, rs in ranges.items()}


@cache
def general_category(value: str) -> CharSet | None:
    """The set for a General_Category value (`Lu`, `L`, `LC`, `Letter`, ...), or None."""
    value = _CATEGORY_NAMES.get(value, value)
    table = _category_table()
    if value in _CATEGORIES:
        return table.get(value, CharSet())
    if value == "LC":
        return table["Lu"] | table["Ll"] | table["Lt"]
    if len(value) == 1 and value in "CLMNPSZ":
        out = CharSet()
        for cat in _CATEGORIES:
            if cat[0] == value:
                out |= table.get(cat, CharSet())
        return out
    return None


def known(charset: CharSet) -> CharSet:
    """`charset` without the code points this Python's Unicode tables leave unassigned."""
    return charset - general_category("Cn")


def unicode_property(body: str) -> CharSet | None:
    """The set named by the inside of `\\p{...}`, or None when unsupported.

    Supported: general categories (short or long names, optionally written
    `gc=`/`General_Category=`), `Any`, `ASCII` and `Assigned`. Scripts and
    the binary properties would need tables `unicodedata` does not have.
    """
    if "=" in body:
        name, _, value = body.partition("=")
        return general_category(value) if name in ("gc", "General_Category") else None
    if body == "Any":
        return ANY_CHAR
    if body == "ASCII":
        return CharSet.of((0, 0x7F))
    if body == "Assigned":
        return ANY_CHAR - general_category("Cn")
    return general_category(body)
