"""The decoded string languages of JSON Schema `format` values.

The judge is `jsonschema`'s `Draft202012Validator.FORMAT_CHECKER` (draft 3's
for the names only draft 3 has: `host-name`, `ip-address`, `color`; and
`regress` for `regex`, see `structgen.judge`), so each language here is
written against what its checker accepts (the checker's library is named on
each one). Soundness first: every string a language
accepts passes the checker; where the checker's language is awkward as an
automaton, the language is a documented subset of it.

The languages are of the *decoded* string (no quotes, no escaping): the
string compiler intersects them with `pattern` and length bounds, then escapes.
"""

from __future__ import annotations

from ..automata import ir
from ..automata.charset import ANY_CHAR, CharSet
from ..errors import UnsupportedSchemaError


def _c(*items) -> ir.Node:
    """One character out of a set given as `CharSet.of` items."""
    return ir.chars(CharSet.of(*items))


def _exactly(node: ir.Node, n: int) -> ir.Node:
    return ir.repeat(node, n, n)


_lit = ir.literal
DIGIT = _c(("0", "9"))
HEX = _c(("0", "9"), ("a", "f"), ("A", "F"))
ALNUM = _c(("0", "9"), ("a", "z"), ("A", "Z"))


# ------------------------------------------------------ dates and times
# Checkers: `date.fromisoformat` after `\d{4}-\d{2}-\d{2}` (date), and
# rfc3339_validator (date-time; time is checked as "1970-01-01T" + time).
# Both need a real calendar day in years 0001-9999, leap days included.


def _two_digits(lo: int, hi: int) -> ir.Node:
    return ir.alt(*(_lit(f"{n:02d}") for n in range(lo, hi + 1)))


def _date() -> ir.Node:
    year = ir.alt(
        ir.seq(_c(("1", "9")), _exactly(DIGIT, 3)),
        ir.seq(_lit("0"), _c(("1", "9")), _exactly(DIGIT, 2)),
        ir.seq(_lit("00"), _c(("1", "9")), DIGIT),
        ir.seq(_lit("000"), _c(("1", "9"))),
    )
    # Two-digit multiples of 4 other than 00: a year YYxx is a leap year when
    # xx is one of them, or when xx is 00 and YY is one of them.
    multiple_of_4 = ir.alt(ir.seq(_lit("0"), _c("48")), ir.seq(_c("2468"), _c("048")), ir.seq(_c("13579"), _c("26")))
    leap_year = ir.alt(ir.seq(DIGIT, DIGIT, multiple_of_4), ir.seq(multiple_of_4, _lit("00")))
    month_day = ir.alt(
        ir.seq(_two_digits(1, 12), _lit("-"), _two_digits(1, 28)),
        ir.seq(ir.alt(_lit("01"), _two_digits(3, 12)), _lit("-"), _two_digits(29, 30)),
        ir.seq(ir.alt(*(_lit(m) for m in ("01", "03", "05", "07", "08", "10", "12"))), _lit("-31")),
    )
    return ir.alt(ir.seq(year, _lit("-"), month_day), ir.seq(leap_year, _lit("-02-29")))


_HOUR = ir.alt(ir.seq(_c("01"), DIGIT), ir.seq(_lit("2"), _c(("0", "3"))))
_MINUTE = ir.seq(_c(("0", "5")), DIGIT)


def _time() -> ir.Node:
    """hh:mm:ss, optional fraction, then Z or a numeric offset (no leap seconds:
    the checker rejects second 60). Lowercase `z` passes too: the checker
    upper-cases before matching."""
    offset = ir.alt(_c("Zz"), ir.seq(_c("+-"), _HOUR, _lit(":"), _MINUTE))
    return ir.seq(
        _HOUR, _lit(":"), _MINUTE, _lit(":"), _MINUTE, ir.optional(ir.seq(_lit("."), ir.plus(DIGIT))), offset
    )


def _date_time() -> ir.Node:
    return ir.seq(_date(), _c("Tt"), _time())


def _duration() -> ir.Node:
    """ISO 8601 durations as isoduration parses them: `PnW`, or date parts
    Y, M, D in order and/or `T` with H, M, S in order; at least one part,
    integer amounts (a subset: fractions and signs are left out)."""
    n = ir.plus(DIGIT)

    def part(designator: str) -> ir.Node:
        return ir.seq(n, _lit(designator))

    def ordered(*designators: str) -> ir.Node:
        # One or more of the designators, in order.
        options = []
        for i, first in enumerate(designators):
            options.append(ir.seq(part(first), *(ir.optional(part(d)) for d in designators[i + 1 :])))
        return ir.alt(*options)

    time = ir.seq(_lit("T"), ordered("H", "M", "S"))
    return ir.seq(_lit("P"), ir.alt(part("W"), ir.seq(ordered("Y", "M", "D"), ir.optional(time)), time))


# ------------------------------------------------------------- identifiers


def _uuid() -> ir.Node:
    """8-4-4-4-12 hex digits with dashes (uuid.UUID plus the dash positions)."""
    return ir.seq(*(ir.seq(_lit("-") if i else ir.EPSILON, _exactly(HEX, n)) for i, n in enumerate((8, 4, 4, 4, 12))))


def _ipv4() -> ir.Node:
    """Dotted quad without leading zeros (ipaddress.IPv4Address rejects them)."""
    octet = ir.alt(
        DIGIT,
        ir.seq(_c(("1", "9")), DIGIT),
        ir.seq(_lit("1"), DIGIT, DIGIT),
        ir.seq(_lit("2"), _c(("0", "4")), DIGIT),
        ir.seq(_lit("25"), _c(("0", "5"))),
    )
    return ir.seq(octet, _exactly(ir.seq(_lit("."), octet), 3))


def _ipv6() -> ir.Node:
    """RFC 3986 IPv6address (which ipaddress.IPv6Address accepts), no zone id."""
    h16 = ir.repeat(HEX, 1, 4)
    ls32 = ir.alt(ir.seq(h16, _lit(":"), h16), _ipv4())

    def groups(n: int) -> ir.Node:  # (h16 ":"){n}
        return _exactly(ir.seq(h16, _lit(":")), n)

    def head(most: int) -> ir.Node:  # [ *most( h16 ":" ) h16 ]
        return ir.optional(ir.seq(ir.repeat(ir.seq(h16, _lit(":")), 0, most), h16))

    return ir.alt(
        ir.seq(groups(6), ls32),
        ir.seq(_lit("::"), groups(5), ls32),
        ir.seq(head(0), _lit("::"), groups(4), ls32),
        ir.seq(head(1), _lit("::"), groups(3), ls32),
        ir.seq(head(2), _lit("::"), groups(2), ls32),
        ir.seq(head(3), _lit("::"), groups(1), ls32),
        ir.seq(head(4), _lit("::"), ls32),
        ir.seq(head(5), _lit("::"), h16),
        ir.seq(head(6), _lit("::")),
    )


def _label(most: int) -> ir.Node:
    """A hostname label of 1..most letters, digits and hyphens, not starting or ending with a hyphen."""
    inner = _c(("0", "9"), ("a", "z"), ("A", "Z"), "-")
    return ir.seq(ALNUM, ir.optional(ir.seq(ir.repeat(inner, 0, most - 2), ALNUM)))


def _labels(count: int, most: int, last_most: int) -> ir.Node:
    """1..count dot-separated labels of at most `most` characters, the count-th at most `last_most`."""
    label = _label(most)
    names = [ir.seq(*([label, _lit(".")] * (k - 1)), label) for k in range(1, count)]
    names.append(ir.seq(*([label, _lit(".")] * (count - 1)), _label(last_most)))
    return ir.alt(*names)


def _hostname() -> ir.Node:
    """fqdn.FQDN(min_labels=1): dot-separated labels of at most 63 characters,
    at most 253 characters in all, an optional final dot.

    Subset, so that the 253 limit holds by construction (the exact language,
    a length counter times a label counter, has about 24,000 states): up to
    four labels of up to 63 characters (the fourth up to 61), or up to eight
    labels of up to 30 characters.
    """
    return ir.seq(ir.alt(_labels(4, 63, 61), _labels(8, 30, 30)), ir.optional(_lit(".")))


def _email() -> ir.Node:
    """`local@domain` with an RFC 5322 dot-atom local part of at most 64
    characters and a hostname domain of at most 189 (the checker only asks for
    an `@`; this is the usual shape of an address). The whole address is at
    most 254 characters, so the common `maxLength: 254` costs nothing extra."""
    atext = _c(("0", "9"), ("a", "z"), ("A", "Z"), "!#$%&'*+/=?^_`{|}~-")
    local = ir.intersect(ir.separated(ir.plus(atext), _lit("."), 1, None), ir.repeat(ir.chars(ANY_CHAR), 1, 64))
    domain = ir.alt(_labels(3, 63, 61), _labels(8, 22, 22))
    return ir.seq(local, _lit("@"), domain)


# ---------------------------------------------------------------- URIs
# Checker: rfc3987.parse(rule="URI" / "URI_reference"), the RFC 3986 grammar
# as regular expressions. Transcribed rule for rule; all of it is regular.


def _uri_rules() -> dict[str, ir.Node]:
    r: dict[str, ir.Node] = {}
    r["unreserved"] = _c(("a", "z"), ("A", "Z"), ("0", "9"), "_.~-")
    r["sub_delims"] = _c("!$&'()*+,;=")
    r["pct_encoded"] = ir.seq(_lit("%"), HEX, HEX)
    unreserved_pct_sub = ir.alt(r["unreserved"], r["pct_encoded"], r["sub_delims"])
    r["pchar"] = ir.alt(unreserved_pct_sub, _c(":@"))
    r["scheme"] = ir.seq(_c(("a", "z"), ("A", "Z")), ir.star(_c(("a", "z"), ("A", "Z"), ("0", "9"), "+.-")))
    r["port"] = ir.star(DIGIT)
    ip_future = ir.seq(_lit("v"), ir.plus(HEX), _lit("."), ir.plus(ir.alt(r["unreserved"], r["sub_delims"], _lit(":"))))
    r["ip_literal"] = ir.seq(_lit("["), ir.alt(_ipv6(), ip_future), _lit("]"))
    dec_octet = ir.alt(
        ir.seq(_lit("25"), _c(("0", "5"))),
        ir.seq(_lit("2"), _c(("0", "4")), DIGIT),
        ir.seq(ir.optional(_c("01")), DIGIT, ir.optional(DIGIT)),
    )
    ipv4 = ir.seq(dec_octet, _exactly(ir.seq(_lit("."), dec_octet), 3))
    reg_name = ir.star(unreserved_pct_sub)
    host = ir.alt(r["ip_literal"], ipv4, reg_name)
    userinfo = ir.star(ir.alt(unreserved_pct_sub, _lit(":")))
    r["authority"] = ir.seq(ir.optional(ir.seq(userinfo, _lit("@"))), host, ir.optional(ir.seq(_lit(":"), r["port"])))
    segment = ir.star(r["pchar"])
    segment_nz = ir.plus(r["pchar"])
    segment_nz_nc = ir.plus(ir.alt(unreserved_pct_sub, _lit("@")))
    r["path_abempty"] = ir.star(ir.seq(_lit("/"), segment))
    r["path_absolute"] = ir.seq(_lit("/"), ir.optional(ir.seq(segment_nz, r["path_abempty"])))
    r["path_noscheme"] = ir.seq(segment_nz_nc, r["path_abempty"])
    r["path_rootless"] = ir.seq(segment_nz, r["path_abempty"])
    r["query"] = ir.star(ir.alt(r["pchar"], _c("/?")))
    r["fragment"] = r["query"]
    return r


def _uri() -> ir.Node:
    r = _uri_rules()
    hier_part = ir.alt(
        ir.seq(_lit("//"), r["authority"], r["path_abempty"]), r["path_absolute"], r["path_rootless"], ir.EPSILON
    )
    return ir.seq(
        r["scheme"],
        _lit(":"),
        hier_part,
        ir.optional(ir.seq(_lit("?"), r["query"])),
        ir.optional(ir.seq(_lit("#"), r["fragment"])),
    )


def _uri_reference() -> ir.Node:
    r = _uri_rules()
    relative_part = ir.alt(
        ir.seq(_lit("//"), r["authority"], r["path_abempty"]), r["path_absolute"], r["path_noscheme"], ir.EPSILON
    )
    relative_ref = ir.seq(
        relative_part, ir.optional(ir.seq(_lit("?"), r["query"])), ir.optional(ir.seq(_lit("#"), r["fragment"]))
    )
    return ir.alt(_uri(), relative_ref)


# ------------------------------------------------------------ JSON pointers
# Checker: jsonpointer.JsonPointer (every `~` must be `~0` or `~1`).


def _json_pointer() -> ir.Node:
    token_char = ir.alt(ir.chars(ANY_CHAR - CharSet.of("/~")), ir.seq(_lit("~"), _c("01")))
    return ir.star(ir.seq(_lit("/"), ir.star(token_char)))


def _relative_json_pointer() -> ir.Node:
    """A non-negative integer, then `#` or a JSON pointer. The checker rejects
    any digit that follows a `0` (its leading-zero test looks at every
    digit), so a `0` may only end the number: `0`, `7`, `120`, not `100`."""
    prefix = ir.alt(_lit("0"), ir.seq(ir.plus(_c(("1", "9"))), ir.optional(_lit("0"))))
    return ir.seq(prefix, ir.alt(_lit("#"), _json_pointer()))


# ------------------------------------------------------------ regexes and colors


def _regex() -> ir.Node:
    """ECMA-262 patterns of one plain kind (checker: `regress` in the `u` reading, as the judge
    reads `regex`; Python's `re` accepts them too): literal characters other than the syntax
    ones, `.`, the class escapes and escaped syntax characters, each optionally followed by
    `*`, `+` or `?`, between optional `^` and `$`. A subset: no groups, classes or counts."""
    syntax = "^$\\.*+?()[]{}|/"
    atom = ir.alt(ir.chars(ANY_CHAR - CharSet.of(*syntax)), _lit("."), ir.seq(_lit("\\"), _c(*syntax, "dDwWsS")))
    return ir.seq(ir.optional(_lit("^")), ir.star(ir.seq(atom, ir.optional(_c("*+?")))), ir.optional(_lit("$")))


def _color() -> ir.Node:
    """Draft 3's CSS 2.1 colour (checker: `webcolors`, a name or a hex code): the hex codes
    `#rgb` and `#rrggbb`, a subset."""
    return ir.seq(_lit("#"), ir.alt(_exactly(HEX, 3), _exactly(HEX, 6)))


_BUILDERS = {
    "date": _date,
    "time": _time,
    "date-time": _date_time,
    "duration": _duration,
    "uuid": _uuid,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "hostname": _hostname,
    "host-name": _hostname,  # draft 3's name, checked by the same function
    "ip-address": _ipv4,  # draft 3's name
    "email": _email,
    "idn-email": _email,
    "uri": _uri,
    "uri-reference": _uri_reference,
    "iri": _uri,  # every URI is an IRI (RFC 3987 widens URI's characters): a subset
    "iri-reference": _uri_reference,
    "regex": _regex,
    "color": _color,
    "json-pointer": _json_pointer,
    "relative-json-pointer": _relative_json_pointer,
}

SUPPORTED_FORMATS: frozenset[str] = frozenset(_BUILDERS)

_cache: dict[str, ir.Node] = {}


def format_node(name: str, pointer: str = "") -> ir.Node:
    """The decoded string language of format `name` (no quotes, no escaping).

    Raises `UnsupportedSchemaError` for a format outside `SUPPORTED_FORMATS`.
    """
    if name not in _BUILDERS:
        raise UnsupportedSchemaError("format", pointer, f"unknown format {name!r}")
    if name not in _cache:
        _cache[name] = _BUILDERS[name]()
    return _cache[name]


