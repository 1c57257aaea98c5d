"""JSON Schema front end: a schema becomes one IR node for the whole JSON document.

    from structgen.schema import compile_schema_ir
    result = compile_schema_ir({"type": "object", "properties": {...}})
    result.node, result.ignored, result.notes
"""

from .compiler import SchemaIR, compile_schema_ir

__all__ = ["SchemaIR", "compile_schema_ir"]
