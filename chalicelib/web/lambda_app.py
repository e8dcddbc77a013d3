"""The Chalice app class: per-request state that cannot be shared.

Chalice keeps the request being handled on the app object itself
(`app.current_request`, `app.lambda_context`; aws/chalice#759). In Lambda a
container handles one invocation at a time, so that is safe there; a server
that handles requests concurrently in one process (`make run`) would let
one request read another's headers, body and principal. `StepflowApp`
keeps both attributes in context variables instead, and `__call__` runs
every invocation in a new, empty `contextvars.Context`: whatever one request
sets (its request, principal, request id, quota ticket, dynamic-API binds)
is invisible to every other, concurrent or later. This holds in a warm
Lambda container (where one thread serves invocation after invocation) as
well as in the local server (chalicelib.web.local_server), by construction.
"""
from __future__ import annotations

import contextvars
from typing import Any

from chalice import Chalice

_current_request: contextvars.ContextVar[Any] = contextvars.ContextVar("current_request", default=None)
_lambda_context: contextvars.ContextVar[Any] = contextvars.ContextVar("lambda_context", default=None)


class StepflowApp(Chalice):
    def __call__(self, event: Any, context: Any) -> Any:
        return contextvars.Context().run(super().__call__, event, context)

    @property
    def current_request(self) -> Any:
        return _current_request.get()

    @current_request.setter
    def current_request(self, value: Any) -> None:
        _current_request.set(value)

    @property
    def lambda_context(self) -> Any:
        return _lambda_context.get()

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        _lambda_context.set(value)
