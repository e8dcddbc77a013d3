"""The project's own PostgreSQL: connection getter, transactions, migrator."""
from chalicelib.db.current import get_db, set_db
from chalicelib.db.database import Database, prepared, quote_ident

__all__ = ["Database", "get_db", "prepared", "quote_ident", "set_db"]
