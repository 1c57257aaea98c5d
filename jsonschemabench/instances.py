"""Valid and invalid instances of a schema, in an engine's output form.

Mask-level checks need text that an engine should accept (a valid instance,
serialised the way the engine writes JSON) and text it must reject (a
mutated instance that the `jsonschema` validator rejects). The validator is
the judge of validity; these helpers only make candidates.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import jsonschema

from structgen import judge


def validator_for(schema: Any):
    """The judge (`structgen.judge.validator_for`): the schema's declared draft (default
    2020-12), format checking on, every regex matched with ECMA-262 semantics."""
    return judge.validator_for(schema)


def ecma_validator_for(schema: Any):
    """The same judge as `validator_for` (kept for callers that asked for ECMA-262
    patterns explicitly, when the default judge still used Python's `re`)."""
    return judge.validator_for(schema)


def _resolve(schema: Any, root: Any, seen: int = 0) -> Any:
    """Follow local `$ref`s (a few levels) to the schema that declares properties."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#") \
            and seen < 20:
        target: Any = root
        for part in schema["$ref"][1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                target = target[int(part)] if isinstance(target, list) else target[part]
            except (KeyError, IndexError, ValueError, TypeError):
                return schema
        schema, seen = target, seen + 1
    return schema


def _branches(schema: Any, root: Any, value: Any, depth: int = 0) -> list[dict]:
    """The subschemas that describe `value` here, in the order the engine gathers them
    (`structgen.schema.compiler._gather`): the schema itself (a `$ref`'s siblings included),
    its `$ref` target, its allOf parts, then the first matching anyOf/oneOf branch."""
    if not isinstance(schema, dict) or depth > 20:
        return []
    out = [schema]
    if isinstance(schema.get("$ref"), str):
        probe = {"$ref": schema["$ref"]}
        target = _resolve(probe, root, seen=19)  # one hop: the target's own `$ref` recurses below
        if target is not probe:  # resolved
            out += _branches(target, root, value, depth + 1)
    for part in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
        out += _branches(part, root, value, depth + 1)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []) if isinstance(schema.get(key), list) else []:
            try:
                ok = validator_for(root).evolve(schema=option).is_valid(value)
            except Exception:  # an unresolvable reference: this branch can't be the one
                ok = False
            if ok:
                out += _branches(option, root, value, depth + 1)
                break
    return out


def from_schema(schema: Any, **kwargs: Any):
    """`hypothesis_jsonschema.from_schema` on a deep copy of `schema`.

    hypothesis-jsonschema rewrites the schema it is given in place: `resolve_all_refs`
    replaces every `$ref`'d subschema by a merged, canonicalised copy whose `properties`
    are sorted by name. Drawing from a shared schema (a `load_dataset` record, which is
    cached) therefore loses the declared property order that `output_form` and the
    engine follow, and the `$ref`s with it. Draw instances through this instead."""
    from hypothesis_jsonschema import from_schema as _from_schema

    return _from_schema(copy.deepcopy(schema), **kwargs)


def output_form(value: Any, schema: Any, root: Any = None) -> Any:
    """`value` with object keys reordered the way structgen writes them: the
    schema's declared `properties` first, in schema order, then the rest."""
    root = schema if root is None else root
    parts = _branches(schema, root, value) if isinstance(schema, dict) else []
    if isinstance(value, dict):
        declared: list[str] = []
        for p in parts:
            for k in p.get("properties", {}) if isinstance(p.get("properties"), dict) else {}:
                if k not in declared:
                    declared.append(k)
        ordered = [k for k in declared if k in value] + [k for k in value if k not in declared]
        out = {}
        for k in ordered:
            sub = next((p["properties"][k] for p in parts
                        if isinstance(p.get("properties"), dict) and k in p["properties"]), None)
            if sub is None:
                sub = next((schema for p in parts if isinstance(p.get("patternProperties"), dict)
                            for pattern, schema in p["patternProperties"].items() if _search(pattern, k)), None)
            if sub is None:
                sub = next((p["additionalProperties"] for p in parts
                            if isinstance(p.get("additionalProperties"), dict)), {})
            out[k] = output_form(value[k], sub, root)
        return out
    if isinstance(value, list):
        out_list = []
        for i, item in enumerate(value):
            sub: Any = {}
            for p in parts:
                prefix = p.get("prefixItems") if isinstance(p.get("prefixItems"), list) else (
                    p.get("items") if isinstance(p.get("items"), list) else None)
                if prefix is not None and i < len(prefix):
                    sub = prefix[i]
                    break
                if isinstance(p.get("items"), dict):
                    sub = p["items"]
                    break
            out_list.append(output_form(item, sub, root))
        return out_list
    return value


def _search(pattern: str, text: str) -> bool:
    """JSON Schema's `pattern` test in the judge's dialect (ECMA-262); a pattern it cannot use matches nothing."""
    try:
        return judge.ecma_search(pattern, text)
    except judge.JudgeRegexError:
        return False


def nesting_depth(value: Any) -> int:
    """Container nesting depth of a JSON value (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max(map(nesting_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting_depth, value), default=0)
    return 0


def dumps(value: Any) -> str:
    """structgen's compact output form."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _leaf_mutations(value: Any, rng: random.Random) -> list[Any]:
    """Replacements for one value: other types, edge values, nearby numbers and strings."""
    out: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], {}]
    if isinstance(value, bool):
        out.append(not value)
    elif isinstance(value, (int, float)):
        out += [value + 1, value - 1, value * 10 + 7, -value - 1, value + 0.5, 10**12, -10**12]
    elif isinstance(value, str):
        out += [value + "x", value[:-1], value * 3 + "z" * 40, value.upper(), "#" + value, "not-a-" + value[:5]]
    elif isinstance(value, list):
        out += [value + value[-1:], value[:-1], value + [None], value[1:]]
    elif isinstance(value, dict):
        keys = list(value)
        if keys:
            k = rng.choice(keys)
            out.append({kk: vv for kk, vv in value.items() if kk != k})  # drop a property
        out.append(dict(value, zz_extra_property=1))
    return out


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    out = copy.copy(value)
    out[path[0]] = _replace(value[path[0]], path[1:], new)
    return out


def invalid_mutants(value: Any, schema: Any, *, n: int = 20, seed: int = 0) -> list[tuple[str, Any]]:
    """Up to `n` one-step mutations of a valid `value` that the validator rejects,
    each labelled with the keyword the validator names (e.g. "required", "enum")."""
    rng = random.Random(seed)
    judge = validator_for(schema)
    candidates = [(p, m) for p in _paths(value) for m in _leaf_mutations(_get(value, p), rng)]
    rng.shuffle(candidates)
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for path, new in candidates:
        mutant = _replace(value, path, new)
        try:
            errors = list(judge.iter_errors(mutant))
        except Exception:
            continue
        if not errors:
            continue
        text = dumps(output_form(mutant, schema))
        if text in seen:
            continue
        seen.add(text)
        best = jsonschema.exceptions.best_match(errors)
        out.append((str(best.validator), output_form(mutant, schema)))
        if len(out) >= n:
            break
    return out


def _get(value: Any, path: tuple) -> Any:
    for p in path:
        value = value[p]
    return value
