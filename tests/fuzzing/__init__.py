"""Differential fuzzing of the compiled constraints against independent judges.

`schemas`, `texts` and `regexes` hold hypothesis strategies; `judge` the
jsonschema judge (ECMA-262 patterns, float and exact values); `checks` one
check per input, tallied; `minimize` shrinks findings; `__main__` is the long
campaign (`make fuzz`). The quick, seeded versions run in tests/test_fuzz_*.py.
"""
