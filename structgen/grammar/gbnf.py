"""GBNF grammar files (llama.cpp's format) parsed into a `Grammar`.

Users bring grammars they already wrote for llama.cpp, so the syntax follows
llama.cpp's parser (`grammars/README.md` there):

- rules ``name ::= body``; names are letters, digits, ``-`` and ``_``;
- alternation ``|``, grouping ``( )``, repetition ``* + ?``, ``{m}``,
  ``{m,}``, ``{m,n}`` and (an extension) ``{,n}``;
- string literals ``"..."`` and character classes ``[a-z_]`` / ``[^"\\\\]``
  with the escapes ``\\n \\r \\t \\\\ \\" \\[ \\] \\xHH \\uHHHH \\UHHHHHHHH``;
  ``.`` is any character; ``#`` starts a comment that runs to the end of the line;
- a body ends at the end of its line, except that newlines are whitespace
  inside parentheses, right after ``::=`` and right after ``|``.

Characters are Unicode code points, lowered to their UTF-8 bytes. The start
rule is ``root`` unless `parse_gbnf` is given another one. Token matches
(``<think>``, ``<[1000]>``) are refused: structgen constrains text, not token ids.

Parsing is linear in the text: positions are kept as offsets and turned into
line and column (by bisection over the line starts) only for messages.
Parentheses may nest `MAX_NESTING` deep; deeper text raises
`NestingTooDeepError` (the parser and the automaton builder recurse over
the nesting, and no hand-written grammar comes near the limit).

Beyond syntax, a grammar is refused (`GrammarError`) when it refers to an
undefined rule, lacks its start rule, or defines a rule that neither the start
rule nor ``root`` reaches — in a hand-written grammar that is nearly always a
typo in a rule name.
"""

from __future__ import annotations

import bisect
import difflib
import re

from ..automata import ir
from ..automata.charset import ANY_CHAR, MAX_CODE_POINT, SURROGATES, CharSet
from ..automata.budget import current
from ..errors import GrammarError, GrammarSyntaxError, NestingTooDeepError
from .grammar import Grammar

DEFAULT_START = "root"
MAX_NESTING = 100  # levels of parentheses

_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "[": "[", "]": "]"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_NAME = re.compile(r"[A-Za-z0-9_-]+")
# literal characters that need no escape handling (surrogates go the slow way, to their error)
_PLAIN_RUN = re.compile('[^"\\\\\r\n\ud800-\udfff]+')
# the text of a character class on one line, for the parser's memo (a grammar repeats its classes:
# sql.gbnf writes 1,235 of them, 105 distinct)
_CLASS_TEXT = re.compile(r"\[(?:[^\]\\\r\n]|\\[^\r\n])*\]")


def parse_gbnf(text: str, start: str = DEFAULT_START) -> Grammar:
    """Parse GBNF `text`; the result holds the rules reachable from `start`.

    Raises `GrammarSyntaxError` (with 1-based line and column) when the text
    does not parse, and `GrammarError` naming the rules at fault when a rule
    is undefined, the start rule is missing, or a rule is unreachable.
    """
    parser = _Parser(text)
    parser.parse()
    rules = parser.rules

    undefined = [name for name in parser.first_use if name not in rules]
    if undefined:
        raise GrammarError(
            "undefined rules: " + "; ".join(_describe_undefined(name, parser) for name in undefined),
            rules=tuple(undefined),
        )
    if start not in rules:
        raise GrammarError(f"the grammar has no {start!r} rule to start from", rules=(start,))

    grammar = Grammar(rules, start)  # caches each rule's references for the walks below
    keep = grammar.reachable()
    reached = set(keep)
    if DEFAULT_START in rules and DEFAULT_START not in reached:
        reached.update(Grammar(rules, DEFAULT_START).reachable())
    unreachable = [name for name in rules if name not in reached]
    if unreachable:
        raise GrammarError(
            f"rules not reachable from {start!r}: {', '.join(unreachable)} "
            "(a misspelt rule name is the usual cause)",
            rules=tuple(unreachable),
        )
    if len(keep) == len(rules):
        return grammar
    return Grammar({name: rules[name] for name in keep}, start)


def _describe_undefined(name: str, parser: "_Parser") -> str:
    line, column = parser.where(parser.first_use[name])
    text = f"{name!r} (used at line {line}, column {column})"
    close = difflib.get_close_matches(name, list(parser.rules), n=1)
    return text + (f", did you mean {close[0]!r}?" if close else "")


def _is_name_char(c: str) -> bool:
    return c != "" and c.isascii() and (c.isalnum() or c in "-_")


def _is_digit(c: str) -> bool:
    return c != "" and c in "0123456789"


class _Parser:
    """Recursive descent over the text, mirroring llama.cpp's grammar parser; parentheses
    nest at most `MAX_NESTING` deep."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.depth = 0  # open parentheses
        self.rules: dict[str, ir.Node] = {}
        self.defined_at: dict[str, int] = {}  # offsets; `where` makes them lines and columns
        self.first_use: dict[str, int] = {}
        self._line_starts: list[int] | None = None
        self._classes: dict[str, ir.Node] = {}  # the text of each class parsed -> its node

    # --- positions and errors -------------------------------------------------

    def where(self, pos: int | None = None) -> tuple[int, int]:
        """1-based (line, column) of an offset (default: the current one)."""
        pos = self.pos if pos is None else pos
        if self._line_starts is None:
            self._line_starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]
        line = bisect.bisect_right(self._line_starts, pos)
        return line, pos - self._line_starts[line - 1] + 1

    def error(self, message: str, pos: int | None = None) -> GrammarSyntaxError:
        return GrammarSyntaxError(message, *self.where(pos))

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.text[i] if i < len(self.text) else ""

    def skip_space(self, newline_ok: bool) -> None:
        text = self.text
        while self.pos < len(text):
            c = text[self.pos]
            if c == "#":
                while self.pos < len(text) and text[self.pos] not in "\r\n":
                    self.pos += 1
            elif c in " \t" or (newline_ok and c in "\r\n"):
                self.pos += 1
            else:
                break

    def describe_here(self) -> str:
        c = self.peek()
        return "end of input" if not c else "end of line" if c in "\r\n" else repr(c)

    # --- rules ----------------------------------------------------------------

    def parse(self) -> None:
        meter = current()
        self.skip_space(True)
        while self.pos < len(self.text):
            meter.tick()
            self.parse_rule()

    def parse_rule(self) -> None:
        name_pos = self.pos
        if self.peek() == "|":
            raise self.error("a line cannot start with '|': put '|' at the end of the previous line, "
                             "or wrap the alternatives in parentheses")
        name = self.parse_name("a rule name")
        self.skip_space(False)
        if not self.text.startswith("::=", self.pos):
            raise self.error(f"expected '::=' after rule name {name!r}, found {self.describe_here()}")
        if name in self.rules:
            line, column = self.where(self.defined_at[name])
            raise self.error(f"rule {name!r} is defined twice (first at line {line}, column {column})", name_pos)
        self.pos += 3
        self.skip_space(True)
        body = self.parse_alternates(nested=False)
        c = self.peek()
        if c == ")":
            raise self.error("unmatched ')'")
        if c and c not in "\r\n":
            raise self.error(f"unexpected {c!r} in the body of rule {name!r}")
        self.rules[name] = body
        self.defined_at[name] = name_pos
        self.skip_space(True)

    def parse_name(self, what: str) -> str:
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.error(f"expected {what}, found {self.describe_here()}")
        self.pos = match.end()
        return match.group()

    def parse_alternates(self, nested: bool) -> ir.Node:
        options = [self.parse_sequence(nested)]
        while self.peek() == "|":
            self.pos += 1
            self.skip_space(True)
            options.append(self.parse_sequence(nested))
        return ir.alt(*options)

    def parse_sequence(self, nested: bool) -> ir.Node:
        items: list[ir.Node] = []
        while True:
            c = self.peek()
            begin = self.pos
            if c == '"':
                items.append(self.parse_literal())
            elif c == "[":
                items.append(self.parse_class())
            elif _is_name_char(c):
                name = self.parse_name("a rule name")
                if name not in self.first_use:
                    self.first_use[name] = begin
                items.append(ir.ref(name))
            elif c == "(":
                if self.depth == MAX_NESTING:
                    line, column = self.where()
                    raise NestingTooDeepError(f"the parentheses at line {line}, column {column}", MAX_NESTING)
                self.pos += 1
                self.skip_space(True)
                self.depth += 1
                inner = self.parse_alternates(nested=True)
                self.depth -= 1
                if self.peek() != ")":
                    raise self.error(f"expected ')' to close the '(' at line {self.where(begin)[0]}, "
                                     f"column {self.where(begin)[1]}, found {self.describe_here()}")
                self.pos += 1
                items.append(inner)
            elif c == ".":
                self.pos += 1
                items.append(ir.chars(ANY_CHAR))
            elif c in ("*", "+", "?", "{"):
                if not items:
                    raise self.error(f"{c!r} has nothing before it to repeat")
                lo, hi = self.parse_repetition()
                items[-1] = ir.repeat(items[-1], lo, hi)
            elif c in ("<", "!"):
                raise self.error("token matches (<...>, !<...>) are not supported: "
                                 "structgen grammars describe text, not token ids")
            else:
                return ir.seq(*items)
            self.skip_space(nested)

    def parse_repetition(self) -> tuple[int, int | None]:
        c = self.peek()
        self.pos += 1
        if c != "{":
            return {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        brace = self.pos - 1
        self.skip_space(False)
        lo = self.parse_int() if _is_digit(self.peek()) else None
        self.skip_space(False)
        hi: int | None
        if self.peek() == "}":
            if lo is None:
                raise self.error("expected a number inside '{}'")
            hi = lo
        elif self.peek() == ",":
            self.pos += 1
            self.skip_space(False)
            hi = self.parse_int() if _is_digit(self.peek()) else None
            self.skip_space(False)
            if self.peek() != "}":
                raise self.error(f"expected '}}' to close the repetition, found {self.describe_here()}")
        else:
            raise self.error(f"expected a number, ',' or '}}' in the repetition, found {self.describe_here()}")
        self.pos += 1
        lo = lo or 0
        if hi is not None and hi < lo:
            raise self.error(f"repetition {{{lo},{hi}}} has its maximum below its minimum", brace)
        return lo, hi

    def parse_int(self) -> int:
        begin = self.pos
        while _is_digit(self.peek()):
            self.pos += 1
        return int(self.text[begin:self.pos])

    # --- terminals ------------------------------------------------------------

    def parse_literal(self) -> ir.Node:
        open_pos = self.pos
        self.pos += 1
        out: list[str] = []
        while self.peek() != '"':
            run = _PLAIN_RUN.match(self.text, self.pos)
            if run is not None:
                out.append(run.group())
                self.pos = run.end()
                continue
            if not self.peek() or self.peek() in "\r\n":
                raise self.error("unterminated string literal (a newline inside a literal is written \\n)",
                                 open_pos)
            char_pos = self.pos
            cp = self.parse_char()
            if SURROGATES[0] <= cp <= SURROGATES[1]:
                raise self.error(f"U+{cp:04X} is a surrogate, which has no UTF-8 encoding", char_pos)
            out.append(chr(cp))
        self.pos += 1
        return ir.literal("".join(out))

    def parse_class(self) -> ir.Node:
        whole = _CLASS_TEXT.match(self.text, self.pos)
        if whole is not None and whole.group() in self._classes:
            self.pos = whole.end()
            return self._classes[whole.group()]
        node = self._parse_class()
        if whole is not None and whole.end() == self.pos:
            self._classes[whole.group()] = node
        return node

    def _parse_class(self) -> ir.Node:
        open_pos = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        while self.peek() != "]":
            if not self.peek():
                raise self.error("unterminated character class", open_pos)
            item_pos = self.pos
            lo = hi = self.parse_char()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                hi = self.parse_char()
                if hi < lo:
                    raise self.error(f"empty range U+{lo:04X}-U+{hi:04X} in character class", item_pos)
            ranges.append((lo, hi))
        self.pos += 1
        if not ranges:
            raise self.error("empty character class", open_pos)
        charset = CharSet.of(*ranges)
        return ir.chars(~charset if negated else charset)

    def parse_char(self) -> int:
        """One (possibly escaped) character as a code point."""
        c = self.peek()
        if c != "\\":
            self.pos += 1
            return ord(c)
        e = self.peek(1)
        if e in _SIMPLE_ESCAPES:
            self.pos += 2
            return ord(_SIMPLE_ESCAPES[e])
        if e in _HEX_ESCAPES:
            width = _HEX_ESCAPES[e]
            digits = self.text[self.pos + 2:self.pos + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error(f"\\{e} needs exactly {width} hex digits")
            cp = int(digits, 16)
            if cp > MAX_CODE_POINT:
                raise self.error(f"\\{e}{digits} is beyond the last Unicode code point U+10FFFF")
            self.pos += 2 + width
            return cp
        raise self.error(f"unknown escape \\{e}" if e else "'\\' at the end of the input")
