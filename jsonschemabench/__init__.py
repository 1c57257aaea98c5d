"""JSONSchemaBench-style benchmark harness: shipped schema datasets, peer-engine adapters, reports.

The data lives in `jsonschemabench/data/` (see PROVENANCE.md there); engines for structgen and the
peers (xgrammar, llguidance, outlines-core) are in `jsonschemabench.engines`. The command line
(`jsonschemabench run | testsuite | report`, in `jsonschemabench.cli`) drives them all through one
decoding loop with one model (`runner`, `tasks`, `decoding`) and computes the benchmark's metrics
(`metrics`, `report`).
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
