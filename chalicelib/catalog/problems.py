"""JSON pointers and the problem / warning lists of an import.

A problem is a field error (chalicelib.errors.field_error) about the submitted
spec: `loc` is `["spec", *the pointer's tokens]`, `pointer` the JSON pointer
itself, `type` one of `spec_invalid`, `json_invalid` / `yaml_invalid`,
`spec_limit`; the error's details are `{"errors": [...up to 20], "problem_count"}`.
Warnings (returned with a successful import) stay `{"pointer", "message"}`.
"""
from __future__ import annotations

from typing import Any, Iterable

from chalicelib.errors import ValidationError, field_error, field_errors

MAX_PROBLEMS = 20
MAX_WARNINGS = 200


def escape_token(token) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens) -> str:
    """`pointer("paths", "/pets", "get")` -> "/paths/~1pets/get"."""
    return "".join("/" + escape_token(t) for t in tokens)


def join(base: str, *tokens) -> str:
    return base + pointer(*tokens)


def spec_error(ptr: str, message: str, type: str = "spec_invalid") -> dict[str, Any]:
    """One problem of the submitted spec at JSON pointer `ptr` ("" is the whole document)."""
    from chalicelib.catalog.refs import unescape_token
    tokens = [unescape_token(t) for t in ptr.split("/")[1:]] if ptr else []
    return field_error(["spec", *tokens], message, type, pointer=ptr)


def spec_invalid(message: str, problem: dict[str, Any], **context: Any) -> ValidationError:
    """A ValidationError about the spec with one problem (a `spec_error`)."""
    return ValidationError(message, field_errors(problem, problem_count=1, **context))


class Problems:
    """Collects what makes an import impossible (problems) and what does not
    (warnings). Both keep their first entries and a total count."""

    def __init__(self, max_problems: int = MAX_PROBLEMS, max_warnings: int = MAX_WARNINGS):
        self.max_problems = max_problems
        self.max_warnings = max_warnings
        self.problems: list[dict] = []   # spec_error items
        self.problem_count = 0
        self.warnings: list[dict] = []
        self.warning_count = 0

    def problem(self, ptr: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(spec_error(ptr, message))

    def warn(self, ptr: str, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < self.max_warnings:
            self.warnings.append({"pointer": ptr, "message": message})

    def extend_warnings(self, items: Iterable[dict]) -> None:
        for item in items:
            self.warn(item["pointer"], item["message"])

    def raise_if_any(self, what: str = "the spec cannot be imported") -> None:
        if self.problem_count:
            first = self.problems[0]
            more = f" (and {self.problem_count - 1} more)" if self.problem_count > 1 else ""
            raise ValidationError(f"{what}: {first['msg']} at {first['pointer'] or '/'}{more}",
                                  field_errors(self.problems, problem_count=self.problem_count))


def invalid(ptr: str, message: str) -> ValidationError:
    """A single-problem ValidationError in the same shape as `Problems`."""
    return spec_invalid(f"the spec cannot be imported: {message}" + (f" at {ptr}" if ptr else ""),
                        spec_error(ptr, message))
