"""Strings and numbers of a conjunction: their keywords merged into one call of `strings`/`numbers`.

A mixin of the schema compiler (`compiler._Compiler`). `strings` and
`numbers` build the automata for one set of keywords; this module merges
the keywords of every member (the largest `minLength`, the tightest bounds,
each `pattern`, `format` and `multipleOf` as an intersection) and decides
which forms check mode and `upper` mode ask for.
"""

from __future__ import annotations

from functools import partial

from ..automata import ir
from . import keywords as kw
from .document import child
from .members import Mode


class LeavesMixin:
    """The string and number emitters of the schema compiler."""

    def _string(self, gathered, mode: Mode) -> ir.Node:
        from . import formats as formats_module
        from .strings import string_node

        min_len, max_len, patterns, formats = 0, None, [], []
        pointer = gathered[0].pointer
        for m in gathered:
            s = m.schema
            if any(k in s for k in kw.STRING_KEYWORDS):
                pointer = m.pointer
            min_len = max(min_len, int(s.get("minLength", 0)))
            if "maxLength" in s:
                max_len = int(s["maxLength"]) if max_len is None else min(max_len, int(s["maxLength"]))
            if "pattern" in s:
                patterns.append((s["pattern"], child(m.pointer, "pattern")))
            name = s.get("format")
            if name is not None and not mode.upper:
                if name in kw.DRAFT3_FORMATS and not self.doc.dialect.draft3:  # only draft 3 defines these names
                    self.notes[f"format {name!r} at {child(m.pointer, 'format')} is draft 3's: ignored as an "
                               "annotation in later drafts"] = None
                elif name in formats_module.SUPPORTED_FORMATS:
                    formats.append((name, child(m.pointer, "format")))
                elif name in kw.SPEC_FORMATS:
                    self.unsupported("format", child(m.pointer, "format"), f"format {name!r} is not supported")
                else:
                    self.notes[f"unknown format {name!r} at {child(m.pointer, 'format')} ignored as an annotation"] = None
        if max_len is not None and max_len < min_len:
            return ir.NOTHING
        first_pattern = patterns[0] if patterns else (None, pointer)
        first_format = formats[0] if formats else (None, pointer)
        def on_cap(length):
            self.notes[f"string at {pointer or '/'} limited to {length} characters (its maxLength {max_len} with "
                       "its pattern or format needs too large an automaton)"] = None

        # Only the output's own languages may shrink: a check-mode one may be complemented.
        node = string_node(min_length=min_len, max_length=max_len, pattern=first_pattern[0], format=first_format[0],
                           pointer=pointer, on_cap=on_cap if mode == Mode(None, self.max_any_depth) else None)
        extra = [string_node(pattern=p, pointer=pp) for p, pp in patterns[1:]]
        extra += [string_node(format=f, pointer=fp) for f, fp in formats[1:]]
        return ir.intersect(node, *extra) if extra else node

    def _number(self, gathered, integer: bool, check_kinds=None) -> ir.Node:
        """The numbers the members allow: integers only when `integer`; in check
        mode (`check_kinds`: which of "integer" and "number" the type allows),
        those of the canonical domain (`canonical_number_node`)."""
        from .numbers import canonical_number_node, integer_node, number_node

        lower = upper = None  # (value, exclusive)
        steps = []
        pointer = gathered[0].pointer
        for m in gathered:
            s = m.schema
            if any(k in s for k in kw.NUMBER_KEYWORDS):
                pointer = m.pointer
            if "minimum" in s:
                lower = _tighter(lower, (s["minimum"], s.get("exclusiveMinimum") is True), 1)
            if "maximum" in s:
                upper = _tighter(upper, (s["maximum"], s.get("exclusiveMaximum") is True), -1)
            if kw.is_number(s.get("exclusiveMinimum")):
                lower = _tighter(lower, (s["exclusiveMinimum"], True), 1)
            if kw.is_number(s.get("exclusiveMaximum")):
                upper = _tighter(upper, (s["exclusiveMaximum"], True), -1)
            if "multipleOf" in s:
                steps.append(s["multipleOf"])
        if check_kinds is not None:
            make = lambda **kw: canonical_number_node(kinds=tuple(check_kinds), **kw)  # noqa: E731
        else:
            if integer:  # 1.0 is an integer from draft 6 on, so it may be written so
                make = partial(integer_node, zero_fraction=self.doc.integers_with_fraction)
            else:
                make = number_node
        bounds = {}
        if lower is not None:
            bounds["exclusive_minimum" if lower[1] else "minimum"] = lower[0]
        if upper is not None:
            bounds["exclusive_maximum" if upper[1] else "maximum"] = upper[0]
        node = make(**bounds, multiple_of=steps[0] if steps else None, pointer=pointer)
        extra = [make(**bounds, multiple_of=step, pointer=pointer) for step in steps[1:]]
        return ir.intersect(node, *extra) if extra else node


def _tighter(current, candidate, direction: int):
    """The tighter of two bounds (value, exclusive); `direction` 1 for lower bounds, -1 for upper."""
    if current is None:
        return candidate
    if candidate[0] * direction > current[0] * direction:
        return candidate
    if candidate[0] == current[0]:
        return (current[0], current[1] or candidate[1])
    return current
