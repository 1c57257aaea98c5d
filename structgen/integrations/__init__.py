"""Where users already are: transformers' ``model.generate`` (`structgen.integrations.transformers`)
and Pydantic types as schemas (`structgen.integrations.pydantic`).

Each integration imports its library only when used; this package imports nothing.
"""
