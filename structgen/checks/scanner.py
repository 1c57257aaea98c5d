"""An incremental JSON scanner that checks the arrays whose items must be distinct.

The automaton already decides the syntax, so the scanner reads only bytes
the automaton allowed and can be small: a stack of open containers (with the
path position each is at), the lexical mode (structure, string, escape, key,
number, literal), and, for every open array that a path of
`structgen.schema.unique` names (a *checked* array), the keys of the items
it has seen (`structgen.checks.values`). Its states are plain tuples,
immutable and hashable, so they can live inside a constraint's state.

An item's value is *determined* as soon as no continuation can change it:
its string or container closes, or its literal starts (``t`` can only be
``true``); a number is determined when a byte that is not part of it
follows. A determined item that equals a seen one is refused there, not at
the ``,`` or ``]`` after it, so no state is kept from which every way on
writes a duplicate. The text of the current item is kept without the
whitespace between tokens (the value is the same), since the first byte of
the outermost open checked item: ``buf``, each checked array remembering
where its own item starts in it.

State: ``(frames, mode, buf, extra)``, where a frame is
``(False, live, depth, cur)`` for an object and
``(True, live, depth, cur, index, check)`` for an array. ``live`` holds the
paths (indices into the scanner's paths) that still match the container's
own position, ``cur`` those that match its current member or item,
``check`` is None for an unchecked array and else
``(seen, offset, start, determined)``: the keys seen, where the current item
starts in ``buf``, the caller's tag for the item's start (the inner
automaton's state there, for `structgen.checks.items`), and the current
item's keys once determined. ``buf`` is None while no checked array is
open; ``extra`` is a key's raw bytes (mode KEY) or the bytes a literal has
left (mode LIT).
"""

from __future__ import annotations

import json

from ..automata.dfa import build_dfa
from ..schema.strings import string_node
from .values import item_keys

__all__ = ["Scanner", "OUT", "KEYPOS", "STR", "STR_ESC", "KEY", "KEY_ESC", "NUM", "LIT", "WHITESPACE",
           "NUMBER_BYTES"]

OUT, KEYPOS, STR, STR_ESC, KEY, KEY_ESC, NUM, LIT = range(8)
WHITESPACE = frozenset(b" \t\n\r")
NUMBER_BYTES = frozenset(b"0123456789+-.eE")
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}
_QUOTE, _BACKSLASH = ord('"'), ord("\\")




class Scanner:
    """Reads JSON bytes incrementally and refuses a duplicate item of a checked array.

    Parameters
    ----------
    paths : iterable of tuple
        The paths of the checked arrays (`structgen.schema.unique.unique_paths`).

    Raises
    ------
    UnsupportedSchemaError
        A `patternProperties` pattern of a path that the regex compiler refuses.
    """

    def __init__(self, paths):
        self.paths = tuple(sorted(paths, key=repr))
        self._regexes = {}  # pattern -> DFA of the JSON string literals holding a match (the compiler's own)
        for path in self.paths:
            for token in path:
                for pattern in (token[1],) if token[0] == "pattern" else token[2] if token[0] == "other-name" else ():
                    if pattern not in self._regexes:
                        self._regexes[pattern] = build_dfa(string_node(pattern=pattern))
        everything = tuple(range(len(self.paths)))
        self.start = ((), OUT, None, None)
        self._root_cur = everything

    # -- path positions

    def _matches(self, token: tuple, key) -> bool:
        """Does one path token name the member `key` (a str) or the item `key` (an int)?"""
        kind = token[0]
        if isinstance(key, int):
            return (kind == "index" and token[1] == key) or (kind == "from" and key >= token[1])
        if kind in ("name", "any-name"):
            return kind == "any-name" or token[1] == key
        text = json.dumps(key, ensure_ascii=False).encode("utf-8", "surrogatepass")
        if kind == "pattern":
            return self._regexes[token[1]].matches(text)
        return kind == "other-name" and key not in token[1] and not any(self._regexes[p].matches(text)
                                                                       for p in token[2])

    def child(self, live: tuple, depth: int, key) -> tuple:
        """The paths of `live` (matching a container at `depth`) that also match its member or item `key`."""
        return tuple(i for i in live if self._matches(self.paths[i][depth], key))

    def position(self, frames: tuple) -> tuple[tuple, int]:
        """(paths matching the position of the next value, its depth)."""
        if not frames:
            return self._root_cur, 0
        top = frames[-1]
        return top[3], top[2] + 1

    def dormant(self, state) -> bool:
        """True when no checked array is open and none can open below any open container."""
        frames, _, buf, _ = state
        return buf is None and bool(frames) and not any(f[1] for f in frames)

    @staticmethod
    def checked(state) -> list[tuple[int, tuple]]:
        """(index in the stack, frame) of every open checked array, outermost first."""
        return [(i, f) for i, f in enumerate(state[0]) if f[0] and f[5] is not None]

    # -- events

    @staticmethod
    def _determined(frames: tuple, buf, literal):
        """The item of the top frame (if a checked array's) is determined: refuse a duplicate.

        Returns the new frames, or None for a duplicate.
        """
        if not frames:
            return frames
        top = frames[-1]
        if not top[0] or top[5] is None or top[5][3] is not None:
            return frames
        seen, off, start, _ = top[5]
        keys = item_keys(literal if literal is not None else buf[off:])
        if not keys.isdisjoint(seen):
            return None
        return frames[:-1] + (top[:5] + ((seen, off, start, keys),),)

    def _open_array(self, frames: tuple, buf, tag):
        cur, depth = self.position(frames)
        checked = any(len(self.paths[i]) == depth for i in cur)
        live = tuple(i for i in cur if len(self.paths[i]) > depth)
        check = None
        if checked:
            buf = b"" if buf is None else buf
            check = (frozenset(), len(buf), tag(), None)
        return frames + ((True, live, depth, self.child(live, depth, 0), 0, check),), buf

    def _end_item(self, frames: tuple, buf, closing: bool, tag):
        """A ``,`` or ``]`` of the top array: check its item, then start the next one or pop the array.

        Returns (frames, buf), or None for a duplicate.
        """
        top = frames[-1]
        check = top[5]
        outer = any(f[0] and f[5] is not None for f in frames[:-1])  # a checked array around this one
        if check is not None:
            seen, off, start, keys = check
            text = buf[off:]
            if text:  # empty only for ``[]``
                keys = keys if keys is not None else item_keys(text)
                if not keys.isdisjoint(seen):
                    return None
                seen = seen | keys
        if closing:
            frames = frames[:-1]
            if buf is None or (check is not None and not outer):
                return frames, None
            return frames, buf + b"]"
        index = top[4] + 1
        if check is not None:
            buf = buf + b"," if outer else b""
            check = (seen, len(buf), tag(), None)
        elif buf is not None:
            buf += b","
        return frames[:-1] + ((True, top[1], top[2], self.child(top[1], top[2], index), index, check),), buf

    # -- the byte loop

    def feed(self, state, data: bytes, tag=lambda i: None):
        """The state after `data` (bytes the automaton allowed), or None where an item repeats a seen one.

        `tag(i)` is called where a checked array's item starts at ``data[i + 1]``;
        its result is kept as that item's start tag.
        """
        frames, mode, buf, extra = state
        for i, b in enumerate(data):
            if mode == STR or mode == KEY:
                if buf is not None:
                    buf += bytes((b,))
                if mode == KEY and extra is not None:
                    extra += bytes((b,))
                if b == _BACKSLASH:
                    mode += 1  # the escape mode of the same string kind
                elif b == _QUOTE:
                    if mode == STR:
                        mode = OUT
                        frames = self._determined(frames, buf, None)
                        if frames is None:
                            return None
                    else:
                        top = frames[-1]
                        cur = () if extra is None else self.child(top[1], top[2], json.loads(b'"' + extra))
                        frames, mode, extra = frames[:-1] + (top[:3] + (cur,),), OUT, None
                continue
            if mode == STR_ESC or mode == KEY_ESC:
                if buf is not None:
                    buf += bytes((b,))
                if extra is not None:
                    extra += bytes((b,))
                mode -= 1
                continue
            if mode == LIT:
                if buf is not None:
                    buf += bytes((b,))
                extra -= 1
                if not extra:
                    mode, extra = OUT, None
                continue
            if mode == NUM:
                if b in NUMBER_BYTES:
                    if buf is not None:
                        buf += bytes((b,))
                    continue
                mode = OUT
                frames = self._determined(frames, buf, None)
                if frames is None:
                    return None
            if b in WHITESPACE:
                continue
            here = lambda: tag(i)  # noqa: E731 - the item-start tag, only computed where an item starts
            if b == ord("]"):
                ended = self._end_item(frames, buf, True, here)
                if ended is None:
                    return None
                frames, buf = ended
                frames = self._determined(frames, buf, None)
                if frames is None:
                    return None
                mode = OUT
                continue
            if b == ord(","):
                if frames[-1][0]:
                    ended = self._end_item(frames, buf, False, here)
                    if ended is None:
                        return None
                    frames, buf = ended
                    mode = OUT
                else:
                    buf = buf + b"," if buf is not None else None
                    mode = KEYPOS
                continue
            if buf is not None:
                buf += bytes((b,))
            if b == _QUOTE:
                if mode == KEYPOS:
                    mode, extra = KEY, (b"" if frames[-1][1] else None)
                else:
                    mode = STR
            elif b == ord("{"):
                cur, depth = self.position(frames)
                frames += ((False, tuple(j for j in cur if len(self.paths[j]) > depth), depth, ()),)
                mode = KEYPOS
            elif b == ord("["):
                frames, buf = self._open_array(frames, buf, here)
                mode = OUT
            elif b == ord("}"):
                frames = self._determined(frames[:-1], buf, None)
                if frames is None:
                    return None
                mode = OUT
            elif b == ord(":"):
                mode = OUT
            elif b in _LITERALS:
                word = _LITERALS[b]
                frames = self._determined(frames, buf, word)
                if frames is None:
                    return None
                mode, extra = LIT, len(word) - 1
            else:
                mode = NUM
        return frames, mode, buf, extra
