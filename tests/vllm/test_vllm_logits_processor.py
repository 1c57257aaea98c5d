"""`structgen.integrations.vllm.LogitsProcessor` inside a real vLLM engine (the CPU build, `make vllm`).

vLLM itself runs the batches: one `LLM.generate` call mixes requests with different schemas, a regex, a
grammar and no constraint at all. Judges: `structgen.judge.validator_for` on the parsed JSON,
`re.fullmatch`, and the same engine configuration without the processor for the unconstrained request
(greedy decoding, same seed: its text must not change). Run with `make test-vllm`; the default `make test`
leaves these out (marker vllm), since they need `.venv-vllm` and start two engines (minutes each on two
cores).
"""

from __future__ import annotations

import gc
import json
import re

import pytest

from structgen.judge import validator_for

pytestmark = pytest.mark.vllm

PROCESSOR = "structgen.integrations.vllm:LogitsProcessor"
PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
                                           "age": {"type": "integer", "minimum": 0, "maximum": 120}},
          "required": ["name", "age"], "additionalProperties": False}
NUMBERS = {"type": "array", "items": {"type": "integer", "minimum": -50, "maximum": 50}, "minItems": 2,
           "maxItems": 4}
COLOR = {"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]}, "bright": {"type": "boolean"}},
         "required": ["color", "bright"], "additionalProperties": False}
SCHEMAS = [PERSON, NUMBERS, COLOR]
PROMPTS = ["Give a person as JSON.", "A few small numbers, as a JSON list:", "Pick a color, as JSON.",
           "The capital of France is"]
DATE = r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-[0-2][0-9]"
YES_NO = 'root ::= answer "."\nanswer ::= "yes" | "no"\n'


def engine(**options):
    """An engine on the default model (structgen's converted folders; nothing is downloaded), small
    enough for a shared CPU: a short context and a KV cache of 512 MiB."""
    from vllm import LLM

    from structgen.lm.loading import locate_model

    files = locate_model(None)
    return LLM(model=str(files.model_dir), tokenizer=str(files.tokenizer_dir), max_model_len=1024, seed=0,
               kv_cache_memory_bytes=512 * 2**20, **options)


def shut_down(llm) -> None:
    """Stop the engine's processes now (rather than whenever the garbage collector gets to it)."""
    llm.llm_engine.engine_core.shutdown()
    del llm
    gc.collect()


def sampling(schema=None, **options):
    from vllm import SamplingParams

    extra = None if schema is None else {"structgen": {"json_schema": schema}}
    options.setdefault("temperature", 0.0)
    options.setdefault("max_tokens", 96)
    return SamplingParams(extra_args=extra, **options)


def mixed_batch():
    """Three requests with three schemas and one without a constraint, in one call."""
    return PROMPTS, [*(sampling(schema) for schema in SCHEMAS), sampling(max_tokens=24)]


@pytest.fixture(scope="module")
def baseline():
    """The mixed batch's texts from an engine without structgen's processor (it ignores extra_args)."""
    llm = engine()
    prompts, params = mixed_batch()
    texts = [out.outputs[0].text for out in llm.generate(prompts, params)]
    shut_down(llm)
    return texts


@pytest.fixture(scope="module")
def llm(baseline):
    """The engine with the processor (started after the baseline's has stopped: one at a time)."""
    llm = engine(logits_processors=[PROCESSOR])
    yield llm
    shut_down(llm)


def valid_json(schema, text: str) -> bool:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return validator_for(schema).is_valid(value)


def test_one_call_mixes_schemas_and_an_unconstrained_request(llm, baseline):
    prompts, params = mixed_batch()
    outputs = [out.outputs[0] for out in llm.generate(prompts, params)]
    for schema, out in zip(SCHEMAS, outputs):
        assert out.finish_reason == "stop", (out.text, out.finish_reason)
        assert valid_json(schema, out.text), out.text
    assert outputs[3].text == baseline[3]


def test_the_same_schema_again_and_sampled_requests_stay_valid(llm):
    """Sampling (several completions per request, a seed) and a schema the engine has compiled before."""
    outputs = llm.generate([PROMPTS[0], PROMPTS[2]], [sampling(PERSON, temperature=1.0, n=3, seed=1),
                                                      sampling(COLOR, temperature=1.0, n=2, seed=2)])
    for schema, out in zip([PERSON, COLOR], outputs):
        assert len(out.outputs) == len({c.index for c in out.outputs}) > 1
        for completion in out.outputs:
            assert completion.finish_reason == "stop"
            assert valid_json(schema, completion.text), completion.text


def test_regexes_and_grammars(llm):
    from vllm import SamplingParams

    params = [SamplingParams(temperature=0.0, max_tokens=32, extra_args={"structgen": {"regex": DATE}}),
              SamplingParams(temperature=0.0, max_tokens=32, extra_args={"structgen": {"grammar": YES_NO}})]
    date, answer = (out.outputs[0] for out in llm.generate(["A date:", "Is the sky blue?"], params))
    assert re.fullmatch(DATE, date.text), date.text
    assert answer.text in ("yes.", "no."), answer.text


def test_the_argument_as_json_text_as_vllm_xargs_carries_it(llm):
    from vllm import SamplingParams

    params = SamplingParams(temperature=0.0, max_tokens=64,
                            extra_args={"structgen": json.dumps({"json_schema": json.dumps(COLOR)})})
    out = llm.generate([PROMPTS[2]], params)[0].outputs[0]
    assert valid_json(COLOR, out.text), out.text


@pytest.mark.parametrize("argument, message", [
    ({"json_schema": {"type": "nonsense"}}, "json_schema"),
    ({"regex": "(a"}, "regex"),
    ({"grammar": "root ::= missing"}, "missing"),
    ({"json_schema": {}, "regex": "a"}, "exactly one of"),
    ({"regex": "a", "start": "x"}, "unknown"),
    ("{not json", "not JSON text"),
])
def test_bad_arguments_are_refused_before_they_reach_the_engine(llm, argument, message):
    from vllm import SamplingParams
    from vllm.exceptions import VLLMValidationError

    with pytest.raises(VLLMValidationError, match=message):
        llm.generate(["x"], SamplingParams(max_tokens=4, extra_args={"structgen": argument}))


def test_ignore_eos_is_refused(llm):
    from vllm.exceptions import VLLMValidationError

    with pytest.raises(VLLMValidationError, match="ignore_eos"):
        llm.generate(["x"], sampling(COLOR, ignore_eos=True))
