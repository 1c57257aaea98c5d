"""JSONSchemaBench-style benchmark harness: shipped schema datasets, peer-engine adapters, reports.

The data lives in `jsonschemabench/data/` (see PROVENANCE.md there); engines for structgen and the
peers (xgrammar, llguidance, outlines-core) are in `jsonschemabench.engines`.
"""

from jsonschemabench.datasets import (
    DATASETS,
    SchemaRecord,
    TestCase,
    load_dataset,
    load_schemas,
    load_test_suite,
)

__all__ = ["DATASETS", "SchemaRecord", "TestCase", "load_dataset", "load_schemas", "load_test_suite"]
