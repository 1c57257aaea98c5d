"""`make demo`: generate a hiking-trail record with the embedded default model.

The example schema (`structgen.examples.load("hiking_trail")`) has nesting, an enum,
an array with `minItems`, a `pattern` and a `date` format. The output is
checked independently with the `jsonschema` validator, format checking on.
"""

from __future__ import annotations

import json
import sys

import structgen
import structgen.examples
from structgen.judge import validator_for

PROMPT = (
    "Describe a hiking trail in the Alps as a JSON object with the fields name, difficulty "
    "(easy, moderate or hard), length_km, trailhead (town and 5-digit postcode), highlights "
    "(a list of short phrases) and last_inspected (a date)."
)


def main() -> int:
    schema = structgen.examples.load("hiking_trail")
    print("Schema: the shipped example hiking_trail (structgen/examples/hiking_trail.json)")
    print(f"Prompt: {PROMPT}\n")
    out = structgen.generate(schema, PROMPT, temperature=0.0, max_tokens=300)
    print(json.dumps(out.value, indent=2, ensure_ascii=False) if out.value is not None else out.text)
    s = out.stats
    print(f"\n{s['tokens']} tokens; compile {s['compile_time_s'] * 1e3:.0f} ms, time to first token "
          f"{s['time_to_first_token_s'] * 1e3:.0f} ms, {s['time_per_output_token_s'] * 1e3:.1f} ms per token")
    if not out.valid:
        print(f"NOT VALID: {out.reason}")
        return 1
    validator_for(schema).validate(out.value)
    print("Valid: the judge (jsonschema, draft 2020-12, format checking on, ECMA-262 patterns) accepts it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
