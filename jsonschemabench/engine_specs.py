"""The engines a benchmark run compares, by name: what each one is and how to build it in a worker.

Why a separate notion from `jsonschemabench.engines`: those adapters are mask-level (compile, mask,
advance). A benchmark *engine* is a way of generating — a mask adapter driven by our decoding loop,
one of structgen's weighted samplers (AWRS, SMC) that check only the tokens they draw, or the
unconstrained model. All of them use the same model, prompt and loop, so only the constraint differs.

Names: `structgen-lcd` (structgen's mask in our loop), `structgen-lcd:ff` and `structgen-lcd:noff` (structgen's own
LCD sampler, with and without fast-forward: forced tokens appended without sampling), `structgen-awrs`, `structgen-smc` (`structgen-smc:N` for N particles),
`unconstrained`, `xgrammar`, `llguidance`, `outlines-core`, and `module:Class` for any importable
`jsonschemabench.engines.Engine` subclass (a plug-in; the tests use it to inject a hanging engine).

Endpoint engines, `openai:URL[:MODEL]` and `openai+xargs:URL[:MODEL]`, are a running OpenAI-compatible
server measured over HTTP (`jsonschemabench.endpoint`, which states the spec's rule); they need no
local model and run in the parent process, for `jsonschemabench run` only.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from jsonschemabench.endpoint import Endpoint, is_endpoint, parse_endpoint
from jsonschemabench.engines import ALIASES, EngineCompileError, EngineUnavailableError, make_engine

ENGINE_NAMES: tuple[str, ...] = (
    "structgen-lcd",
    "structgen-awrs",
    "structgen-smc",
    "unconstrained",
    "xgrammar",
    "llguidance",
    "outlines-core",
)
DEFAULT_SMC_PARTICLES = 8
_MASK_ADAPTERS = {"structgen-lcd": "structgen", "xgrammar": "xgrammar", "llguidance": "llguidance",
                  "outlines-core": "outlines-core"}
_PEER_PACKAGES = {"xgrammar": "xgrammar", "llguidance": "llguidance", "outlines-core": "outlines_core"}


@dataclass(frozen=True)
class EngineSpec:
    """One benchmark engine. `label` is how results name it (`structgen-smc:8`)."""

    label: str
    kind: str  # "mask" (an adapter in our loop) | "sampler" (structgen.sample) | "unconstrained" | "endpoint"
    adapter: str | None = None  # a jsonschemabench.engines name, or "module:Class"
    sampler: str | None = None  # "lcd" | "awrs" | "smc"
    particles: int = 1
    fast_forward: bool = False  # structgen's LCD sampler only
    endpoint: Endpoint | None = None  # endpoint engines only

    @property
    def compiler(self) -> "EngineSpec":
        """The engine whose compiled constraint decides acceptance (the samplers share structgen's)."""
        return parse_engine("structgen-lcd") if self.kind == "sampler" else self


def parse_engine(text: str) -> EngineSpec:
    """`structgen-smc:16` -> EngineSpec(kind="sampler", sampler="smc", particles=16); ValueError if unknown
    (or, for an endpoint spec, malformed)."""
    name = text.strip()
    if is_endpoint(name):
        endpoint = parse_endpoint(name)
        return EngineSpec(endpoint.label, "endpoint", endpoint=endpoint)
    name = ALIASES.get(name, name)
    if name in _MASK_ADAPTERS:
        return EngineSpec(name, "mask", adapter=_MASK_ADAPTERS[name])
    if name == "unconstrained":
        return EngineSpec(name, "unconstrained")
    if name in ("structgen-lcd:ff", "structgen-lcd:noff"):
        return EngineSpec(name, "sampler", sampler="lcd", fast_forward=name.endswith(":ff"))
    if name == "structgen-awrs":
        return EngineSpec(name, "sampler", sampler="awrs", particles=1)
    if name.startswith("structgen-smc"):
        rest = name[len("structgen-smc"):]
        if rest and not (rest.startswith(":") and rest[1:].isdigit() and int(rest[1:]) > 0):
            raise ValueError(f"bad engine {text!r}: write structgen-smc or structgen-smc:N with N >= 1")
        particles = int(rest[1:]) if rest else DEFAULT_SMC_PARTICLES
        return EngineSpec(f"structgen-smc:{particles}", "sampler", sampler="smc", particles=particles)
    if ":" in name and all(part.replace(".", "").replace("_", "").isalnum() for part in name.split(":")):
        return EngineSpec(name, "mask", adapter=name)
    raise ValueError(f"unknown engine {text!r}; choose among {', '.join(ENGINE_NAMES)} "
                     "(structgen-smc:N for N particles), module:Class or openai[+xargs]:URL[:MODEL]")


def parse_engines(text: str) -> list[EngineSpec]:
    specs = [parse_engine(part) for part in text.split(",") if part.strip()]
    return list({spec.label: spec for spec in specs}.values())


def unavailable_reason(spec: EngineSpec) -> str | None:
    """Why this engine cannot run here (None if it can), checked without loading a model."""
    if spec.kind == "sampler":
        import structgen

        if not callable(getattr(structgen, "sample", None)):
            return "structgen.sample (AWRS/SMC samplers) is not available in this structgen yet"
        return None
    if spec.adapter in _PEER_PACKAGES.values() or spec.adapter in _PEER_PACKAGES:
        package = _PEER_PACKAGES[spec.adapter]
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed"
    if spec.adapter and ":" in spec.adapter:
        try:
            _custom_class(spec.adapter)
        except (ImportError, AttributeError) as error:
            return f"cannot import {spec.adapter}: {error}"
    return None


def _custom_class(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


class SamplerCompiler:
    """structgen's compiler for the weighted samplers: schema -> `Constraint` over the model's vocabulary."""

    def __init__(self, vocabulary):
        import structgen

        self._structgen = structgen
        self.vocabulary = vocabulary

    def compile(self, schema: Any):
        try:
            return self._structgen.compile_json_schema(schema, self.vocabulary)
        except self._structgen.StructgenError as error:  # too large is CompileBudgetError, one of them
            raise EngineCompileError(f"{type(error).__name__}: {error}") from error


def build_compiler(spec: EngineSpec, tokenizer, vocabulary):
    """What compiles schemas for `spec` in a worker: a mask `Engine`, a `SamplerCompiler`, or None (unconstrained).

    Raises EngineUnavailableError when the engine's package is missing.
    """
    if spec.kind == "unconstrained":
        return None
    if spec.kind == "sampler":
        reason = unavailable_reason(spec)
        if reason:
            raise EngineUnavailableError(reason)
        return SamplerCompiler(vocabulary)
    if ":" in spec.adapter:
        return _custom_class(spec.adapter)(tokenizer, len(vocabulary))
    options = {"vocabulary": vocabulary} if spec.adapter == "structgen" else {}
    return make_engine(spec.adapter, tokenizer, len(vocabulary), **options)
