"""Parse the ECMA-262 regular expressions of JSON Schema into a small syntax tree.

The tree keeps only what decides the *language* of a pattern: character
sets, concatenation, alternation, counted repetition and the two anchors.
Groups (capturing, named or not) vanish, and lazy quantifiers read like greedy
ones: they change which match is found, never whether one exists.

The dialect is ECMA-262 with the web-compatibility rules of its Annex B
where JSON Schema authors rely on them (a `{` that starts no quantifier is a
literal, `]` and `}` are literals, `-` next to `\\d` in a class is a literal)
and the `u`-flag reading of code points (`\\u{...}`, `\\p{...}`, surrogate
pairs join). A lookahead right after a branch's leading `^` is kept (`Look`:
it asserts about the whole input, a regular language); one anywhere else,
like other constructs that make the language non-regular or that structgen
does not model, raises `UnsupportedRegexError`; malformed patterns raise
`RegexSyntaxError`. Identity escapes of letters (`\\a`, `\\Z`, ...) are refused
as unsupported: Annex B reads them as the bare letter, which is rarely what
their author meant.

Groups nest at most `MAX_GROUP_DEPTH` deep (`NestingTooDeepError`): the
parser, the lowering and the automaton construction all recurse on the tree,
and a named limit far below Python's recursion limit keeps a deep pattern
inside a deep schema from ending in a `RecursionError`. The parser counts the
depth before it descends, so even 10,000 levels fail at once.

A lone surrogate in the pattern's text (not an escape such as `\\uD800`, which
reads as a code point that UTF-8 text never holds) is refused as unsupported:
it is not Unicode text, and structgen's output is UTF-8.

ECMA-262 reads a pattern either with the `u` flag or with Annex B, and the two
disagree on `\\p{L}` (a property, or `p{L}`) and `\\u{41}` (a code point, or
41 `u`s). A pattern that uses such an escape *and* Annex B syntax that the `u`
grammar forbids is valid in neither reading as structgen means it, so it is
refused (`UnsupportedRegexError`) rather than read one way while the judge
(`structgen.judge`, which tries `u` first) reads it the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..automata.charset import ANY_CHAR, MAX_CODE_POINT, CharSet
from ..errors import NestingTooDeepError, RegexSyntaxError, UnsupportedRegexError
from .classes import CLASS_ESCAPES, DOT, known, unicode_property


class Syntax:
    """Base class of syntax-tree nodes."""

    __slots__ = ()


@dataclass(frozen=True)
class Chars(Syntax):
    """One character out of a set."""

    charset: CharSet


@dataclass(frozen=True)
class Concat(Syntax):
    items: tuple[Syntax, ...]


@dataclass(frozen=True)
class Union(Syntax):
    options: tuple[Syntax, ...]


@dataclass(frozen=True)
class Repeat(Syntax):
    """`item{lo,hi}`; `hi=None` means unbounded."""

    item: Syntax
    lo: int
    hi: int | None


@dataclass(frozen=True)
class Anchor(Syntax):
    """`^` (kind "^": start of input) or `$` (kind "$": end of input)."""

    kind: str


@dataclass(frozen=True)
class Look(Syntax):
    """`(?=inner)` (positive) or `(?!inner)`: only right after a top-level branch's leading `^`
    (`_misplaced_look` finds any other), where it asserts about the whole input, which is how the
    lowering reads it."""

    positive: bool
    inner: Syntax
    offset: int


_CONTROL_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "v": "\v", "f": "\f"}
_HEX = set("0123456789abcdefABCDEF")
_MODIFIERS = re.compile(r"[ims]*(?:-[ims]*)?:")  # `(?i:...)`, `(?-s:...)` (ES2025)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SYNTAX_CHARACTERS = frozenset("^$\\.*+?()[]{}|/")  # the identity escapes of the `u` grammar
MAX_GROUP_DEPTH = 50


def parse(pattern: str) -> Syntax:
    """The syntax tree of `pattern`.

    Raises
    ------
    RegexSyntaxError
        `pattern` is not an ECMA-262 regular expression.
    UnsupportedRegexError
        A construct structgen does not model, or a lone surrogate in `pattern`.
    NestingTooDeepError
        Groups nested deeper than `MAX_GROUP_DEPTH`.
    """
    surrogate = _LONE_SURROGATE.search(pattern)
    if surrogate:
        raise UnsupportedRegexError(f"lone surrogate U+{ord(surrogate.group()):04X}", pattern, surrogate.start())
    return _Parser(pattern).parse()


def _misplaced_look(tree: Syntax) -> "Look | None":
    """The first lookahead anywhere but right after the leading `^`s of a top-level branch (or
    nested in one), else None."""
    for option in tree.options if isinstance(tree, Union) else (tree,):
        items = option.items if isinstance(option, Concat) else (option,)
        head = 0
        while head < len(items) and items[head] == Anchor("^"):
            head += 1
        looks = head
        while head and looks < len(items) and isinstance(items[looks], Look):
            looks += 1
        inside = [look.inner for look in items[head:looks]] + list(items[looks:])
        found = next((look for look in map(_looks_inside, inside) if look is not None), None)
        if found is not None:
            return found
    return None


def _looks_inside(tree: Syntax) -> "Look | None":
    """The first lookahead in `tree`, else None."""
    if isinstance(tree, Look):
        return tree
    parts = tree.items if isinstance(tree, Concat) else tree.options if isinstance(tree, Union) else \
        (tree.item,) if isinstance(tree, Repeat) else ()
    return next((found for found in map(_looks_inside, parts) if found is not None), None)


class _Parser:
    """Recursive descent over the ECMA-262 `Pattern` grammar."""

    def __init__(self, pattern: str):
        self.src = pattern
        self.pos = 0
        self.group_names: set[str] = set()
        self.depth = 0
        self.unicode_at: int | None = None  # first `\p{..}` / `\u{..}`: `u`-flag syntax
        self.annex_b_at: int | None = None  # first syntax that only Annex B allows
        self.properties = 0  # `\p{..}` escapes read so far (see `classes.known`)

    # ------------------------------------------------------------ helpers

    def error(self, message: str, at: int | None = None) -> RegexSyntaxError:
        return RegexSyntaxError(message, self.src, self.pos if at is None else at)

    def unsupported(self, construct: str, at: int) -> UnsupportedRegexError:
        return UnsupportedRegexError(construct, self.src, at)

    def incomplete(self, what: str, at: int) -> UnsupportedRegexError:
        """An escape that the `u` grammar rejects and Annex B reads as literal
        text (`\\x4` is `x4`): valid ECMA-262, but rarely what was meant."""
        return self.unsupported(f"{what} (Annex B reads the escape as literal text)", at)

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.src[i] if i < len(self.src) else ""

    def startswith(self, text: str) -> bool:
        return self.src.startswith(text, self.pos)

    def take(self) -> str:
        c = self.peek()
        if not c:
            raise self.error("unexpected end of pattern")
        self.pos += 1
        return c

    # ------------------------------------------------------------ structure

    def parse(self) -> Syntax:
        node = self.disjunction()
        if self.pos < len(self.src):
            raise self.error("unmatched ')'")
        misplaced = _misplaced_look(node)
        if misplaced is not None:
            raise self.unsupported("lookahead other than right after a leading ^", misplaced.offset)
        if self.unicode_at is not None and self.annex_b_at is not None:
            raise self.unsupported(f"Unicode-mode escape together with Annex B syntax (at offset {self.annex_b_at})",
                                   self.unicode_at)
        return node

    def mark_unicode(self, at: int) -> None:
        if self.unicode_at is None:
            self.unicode_at = at

    def mark_annex_b(self, at: int) -> None:
        if self.annex_b_at is None:
            self.annex_b_at = at

    def disjunction(self) -> Syntax:
        options = [self.alternative()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.alternative())
        return options[0] if len(options) == 1 else Union(tuple(options))

    def alternative(self) -> Syntax:
        items: list[Syntax] = []
        while self.peek() not in ("", "|", ")"):
            term = self.term()
            items.extend(term.items if isinstance(term, Concat) else (term,))
        return items[0] if len(items) == 1 else Concat(tuple(items))

    def term(self) -> Syntax:
        c = self.peek()
        if c and c in "^$":
            self.pos += 1
            return Anchor(c)
        atom = self.atom()
        bounds = self.quantifier()
        if bounds is None:
            return atom
        if isinstance(atom, Look):
            raise self.unsupported("quantified lookahead", atom.offset)
        if self.peek() == "?":  # lazy: same language
            self.pos += 1
        return Repeat(atom, *bounds)

    def quantifier(self) -> tuple[int, int | None] | None:
        c = self.peek()
        if c and c in "*+?":
            self.pos += 1
            return {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        if c == "{":
            braced = self.braced_quantifier()
            if braced is not None:
                return braced
        return None

    def braced_quantifier(self) -> tuple[int, int | None] | None:
        """`{m}`, `{m,}` or `{m,n}` at the cursor (consumed), else None (Annex B literal)."""
        start = self.pos
        self.pos += 1
        lo = self.digits()
        if lo is None:
            self.pos = start
            return None
        hi: int | None = lo
        if self.peek() == ",":
            self.pos += 1
            hi = self.digits()
        if self.peek() != "}":
            self.pos = start
            return None
        self.pos += 1
        if hi is not None and hi < lo:
            raise self.error("numbers out of order in {} quantifier", start)
        return lo, hi

    def digits(self) -> int | None:
        start = self.pos
        while self.peek().isascii() and self.peek().isdigit():
            self.pos += 1
        return int(self.src[start : self.pos]) if self.pos > start else None

    # ------------------------------------------------------------ atoms

    def atom(self) -> Syntax:
        start = self.pos
        c = self.take()
        if c == ".":
            return Chars(DOT)
        if c == "(":
            return self.group(start)
        if c == "[":
            return Chars(self.char_class(start))
        if c == "\\":
            return self.atom_escape(start)
        if c in "*+?":
            raise self.error("nothing to repeat", start)
        if c == "{":
            self.pos = start
            if self.braced_quantifier() is not None:
                raise self.error("nothing to repeat", start)
            self.pos = start + 1
        if c in "{}]":
            self.mark_annex_b(start)
        return Chars(CharSet.of(c))

    def group(self, start: int) -> Syntax:
        if self.depth >= MAX_GROUP_DEPTH:
            shown = self.src if len(self.src) <= 40 else self.src[:40] + "..."
            raise NestingTooDeepError(f"the groups of regex {shown!r} (at offset {start})", MAX_GROUP_DEPTH)
        look = None  # a lookahead: whether it is positive
        if self.peek() == "?":
            if self.startswith("?:"):
                self.pos += 2
            elif self.startswith("?=") or self.startswith("?!"):
                look = self.startswith("?=")
                self.pos += 2
            elif self.startswith("?<=") or self.startswith("?<!"):
                raise self.unsupported("lookbehind", start)
            elif self.startswith("?<"):
                self.pos += 2
                self.group_name(start)
            elif _MODIFIERS.match(self.src, self.pos + 1):
                raise self.unsupported("modifier group", start)
            else:
                raise self.error("invalid group", start)
        self.depth += 1
        inner = self.disjunction()
        self.depth -= 1
        if self.peek() != ")":
            raise self.error("missing ')'", start)
        self.pos += 1
        return inner if look is None else Look(look, inner, start)

    def group_name(self, start: int) -> None:
        end = self.src.find(">", self.pos)
        name = self.src[self.pos : end] if end >= 0 else ""
        if not name or not (name.replace("$", "_")).isidentifier():
            raise self.error("invalid group name", start)
        if name in self.group_names:
            raise self.error(f"duplicate group name {name!r}", start)
        self.group_names.add(name)
        self.pos = end + 1

    def atom_escape(self, start: int) -> Syntax:
        c = self.peek()
        if c == "b":
            raise self.unsupported("word boundary \\b", start)
        if c == "B":
            raise self.unsupported("non-word-boundary \\B", start)
        if c.isascii() and c.isdigit() and c != "0":
            raise self.unsupported("backreference", start)
        if c == "k":
            raise self.unsupported("named backreference \\k", start)
        if c in ("p", "P"):
            return Chars(known(self.escape(start, in_class=False)))
        return Chars(self.escape(start, in_class=False))

    def escape(self, start: int, in_class: bool) -> CharSet:
        """The set for the escape after the `\\` at `start` (cursor just past it)."""
        if not self.peek():
            raise self.error("\\ at end of pattern", start)
        c = self.take()
        if c in CLASS_ESCAPES:
            return CLASS_ESCAPES[c]
        if c in _CONTROL_ESCAPES:
            return CharSet.of(_CONTROL_ESCAPES[c])
        if c == "0":
            if self.peek().isascii() and self.peek().isdigit():
                raise self.unsupported("legacy octal escape", start)
            return CharSet.of(0)
        if c == "b" and in_class:
            return CharSet.of("\b")
        if c == "-" and in_class:
            return CharSet.of("-")
        if c == "c":
            letter = self.peek()
            if not (letter.isascii() and letter.isalpha()):
                raise self.incomplete("invalid control escape \\c", start)
            self.pos += 1
            return CharSet.of(ord(letter) % 32)
        if c == "x":
            return CharSet.of(self.hex_digits(2, start))
        if c == "u":
            if self.peek() == "{":
                self.mark_unicode(start)
            return CharSet.of(self.unicode_escape(start))
        if c in ("p", "P"):
            self.mark_unicode(start)
            prop = self.property_escape(start)
            return prop if c == "p" else ~prop
        if c.isascii() and c.isalnum():
            raise self.unsupported(f"escape \\{c}", start)
        if c not in _SYNTAX_CHARACTERS:
            self.mark_annex_b(start)
        return CharSet.of(c)  # identity escape: `\.`, `\/`, `\-`, ...

    def hex_digits(self, n: int, start: int) -> int:
        text = self.src[self.pos : self.pos + n]
        if len(text) != n or not set(text) <= _HEX:
            raise self.incomplete(f"expected {n} hex digits", start)
        self.pos += n
        return int(text, 16)

    def unicode_escape(self, start: int) -> int:
        if self.peek() == "{":
            end = self.src.find("}", self.pos)
            text = self.src[self.pos + 1 : end] if end >= 0 else ""
            if not text or not set(text) <= _HEX or int(text, 16) > MAX_CODE_POINT:
                raise self.incomplete("invalid \\u{...} escape", start)
            self.pos = end + 1
            return int(text, 16)
        cp = self.hex_digits(4, start)
        if 0xD800 <= cp <= 0xDBFF and self.startswith("\\u"):
            # A surrogate pair written as two escapes is one astral character.
            after = self.pos
            self.pos += 2
            try:
                low = self.hex_digits(4, after)
            except UnsupportedRegexError:
                self.pos = after
                return cp
            if 0xDC00 <= low <= 0xDFFF:
                return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
            self.pos = after
        return cp

    def property_escape(self, start: int) -> CharSet:
        if self.peek() != "{":
            raise self.incomplete("expected '{' after \\p", start)
        end = self.src.find("}", self.pos)
        if end < 0:
            raise self.incomplete("unterminated \\p{...}", start)
        body = self.src[self.pos + 1 : end]
        self.pos = end + 1
        prop = unicode_property(body)
        self.properties += 1
        if prop is None:
            raise self.unsupported(f"unicode property \\p{{{body}}}", start)
        return prop

    # ------------------------------------------------------------ classes

    def char_class(self, start: int) -> CharSet:
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        members = CharSet()
        properties = self.properties
        while True:
            if not self.peek():
                raise self.error("unterminated character class", start)
            if self.peek() == "]":
                self.pos += 1
                break
            lo_at = self.pos
            lo = self.class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                hi_at = self.pos
                hi = self.class_atom()
                members |= self.class_range(lo, hi, lo_at, hi_at)
            else:
                members |= lo
        out = ANY_CHAR - members if negate else members
        return known(out) if self.properties > properties else out

    def class_range(self, lo: CharSet, hi: CharSet, lo_at: int, hi_at: int) -> CharSet:
        if self.is_set_atom(lo_at) or self.is_set_atom(hi_at):
            self.mark_annex_b(lo_at)
            return lo | hi | CharSet.of("-")  # Annex B: `[\d-z]` is \d, '-' or 'z'
        a, b = lo.ranges[0][0], hi.ranges[0][0]
        if a > b:
            raise self.error("range out of order in character class", lo_at)
        return CharSet.of((a, b))

    def class_atom(self) -> CharSet:
        start = self.pos
        c = self.take()
        if c != "\\":
            return CharSet.of(c)
        if self.peek().isascii() and self.peek().isdigit() and self.peek() != "0":
            raise self.unsupported("octal escape in class", start)
        if self.peek() == "k":
            raise self.unsupported("escape \\k", start)
        if self.peek() == "B":
            raise self.unsupported("escape \\B", start)
        return self.escape(start, in_class=True)

    def is_set_atom(self, at: int) -> bool:
        """Whether the class atom at `at` is a class escape (`\\d`, `\\p{..}`, ...)."""
        return self.src[at] == "\\" and self.src[at + 1 : at + 2] in ("d", "D", "w", "W", "s", "S", "p", "P")
