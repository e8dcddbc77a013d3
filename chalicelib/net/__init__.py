"""Outbound networking: the one guarded HTTP client (see `outbound`)."""
