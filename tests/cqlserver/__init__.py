"""CQL native protocol v4 test server (a test peer for the real cassandra-driver)."""
from .catalog import CqlError
from .server import CqlTestServer

__all__ = ["CqlTestServer", "CqlError"]
