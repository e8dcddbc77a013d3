"""The project's own PostgreSQL: connection getter, transactions, migrator."""
from chalicelib.db.database import Database, get_db, prepared, quote_ident, set_db

__all__ = ["Database", "get_db", "prepared", "quote_ident", "set_db"]
