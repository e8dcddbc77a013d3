"""boto3 clients, created on first use (boto3 is heavy: never at import)."""
from __future__ import annotations

import threading

_clients: dict = {}
_lock = threading.Lock()


def client(service: str):
    with _lock:
        if service not in _clients:
            import boto3

            from chalicelib.settings import get_settings
            endpoint = get_settings().aws_endpoint_url
            _clients[service] = boto3.client(service, endpoint_url=endpoint) if endpoint else boto3.client(service)
        return _clients[service]


def reset_clients() -> None:
    with _lock:
        _clients.clear()
