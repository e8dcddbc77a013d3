"""The project's own PostgreSQL: connection getter, transactions, migrator."""
from chalicelib.db.database import Database, get_db, set_db, quote_ident  # noqa: F401
