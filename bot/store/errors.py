"""What a database that is down or unreachable raises, as the core catches it."""

from sqlalchemy.exc import SQLAlchemyError

from bot.store.database import DatabaseUnavailable

STORAGE_ERRORS = (SQLAlchemyError, DatabaseUnavailable, OSError)
