"""Who is calling: roles and the principal an API key stands for.

Roles are ordered (DESIGN decision 7, seed 003 4.2): viewer reads; operator
also writes and invokes; admin also manages keys, connection pools and
init-db. A principal carries its key's request quota (`rate_per_minute`,
`max_concurrent`; None = unlimited) as resolved by chalicelib.keys.quotas.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("viewer", "operator", "admin")
ROLE_RANK = {name: i for i, name in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    permissions: frozenset = field(default_factory=frozenset)
    key_prefix: str = ""
    rate_per_minute: int | None = None
    max_concurrent: int | None = None

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def limited(self) -> bool:
        return bool(self.rate_per_minute) or bool(self.max_concurrent)
