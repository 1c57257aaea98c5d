"""OpenAI-style error objects: ``{"error": {"message", "type", "param", "code"}}``.

Every refusal of the server is one of these, with the HTTP status that
says whose fault it is: 400 for a malformed request or a structure that
does not compile, 404 for an unknown model or route, 405 for a wrong
method; 500 only for a bug in the server, never for bad input.
"""

from __future__ import annotations

import re

from structgen.errors import InvalidArgumentError, StructgenError


class APIError(StructgenError):
    """A request the server refuses; `to_dict` is the body it answers with.

    Parameters
    ----------
    status : int
        The HTTP status.
    message : str
        What is wrong, on one line.
    param : str or None
        The request field at fault, dotted (``response_format.json_schema.schema``).
    code : str or None
        A short machine-readable name (``invalid_schema``, ``model_not_found``, ...).
    type : str
        OpenAI's error type (``invalid_request_error``, ``server_error``).
    """

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str = "invalid_request_error"):
        self.status = status
        self.message = " ".join(str(message).split("\n"))
        self.param = param
        self.code = code
        self.type = type
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


#: Where a library argument comes from in a request.
_ARGUMENT_PARAMS = {"particles": "structgen.particles", "sampler": "structgen.sampler",
                    "whitespace": "structgen.whitespace", "max_tokens": "max_tokens", "regex": "structgen.regex",
                    "grammar": "structgen.grammar"}


def from_structgen(error: StructgenError, structure_param: str | None, prompt_param: str) -> APIError:
    """The 400 answer for a `StructgenError` that a request caused.

    Parameters
    ----------
    error : StructgenError
        Raised while checking arguments or compiling the request's structure.
    structure_param : str or None
        The request field that holds the structure (where a compile error points).
    prompt_param : str
        ``messages`` or ``prompt``.
    """
    if isinstance(error, APIError):
        return error
    code = _snake(type(error).__name__.removesuffix("Error"))
    code = {"grammar": "invalid_grammar", "": "invalid_value"}.get(code, code)
    if isinstance(error, InvalidArgumentError):
        if error.name == "prompt":
            param = prompt_param
        elif error.name in ("schema", "regex", "grammar", "pattern"):
            param = structure_param
        else:
            param = _ARGUMENT_PARAMS.get(error.name, error.name)
        message = str(error).removeprefix(f"{error.name}: ")
        return APIError(400, f"{param}: {message}" if param else message, param=param, code="invalid_value")
    return APIError(400, str(error), param=structure_param, code=code)


def from_validation(errors: list[dict]) -> APIError:
    """The 400 answer for Pydantic's (FastAPI's) validation errors of a request body: the first one,
    its field dotted (``messages.0.role``)."""
    if not errors:
        return APIError(400, "the request body is not valid", code="invalid_request")
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    # Pydantic names the branch of a union it tried (str, list[...]); the user wrote a field
    loc = [part for part in loc if not re.fullmatch(r"(str|int|bool|float|list\[.*\]|dict\[.*\]|"
                                                    r"function-after\[.*\]|[A-Z]\w*)", part)]
    param = ".".join(loc) or None
    kind = first.get("type", "")
    if kind == "json_invalid":
        ctx = first.get("ctx") or {}
        return APIError(400, f"the request body is not valid JSON: {ctx.get('error', first.get('msg', ''))}",
                        code="invalid_json")
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "missing":
        message = "a required field is missing"
    elif kind == "extra_forbidden":
        message = "unknown field"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return APIError(400, f"{param}: {message}{more}" if param else f"{message}{more}", param=param,
                    code="invalid_value")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
