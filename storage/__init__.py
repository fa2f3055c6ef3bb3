"""Storage: the SQLite file behind the bot, with anonymity built into its tables."""

from storage.store import (
    ROLES,
    Insats,
    LinkCheck,
    Session,
    StorageError,
    Store,
    default_db_path,
    hash_token,
    open_store,
)

__all__ = [
    "ROLES",
    "Insats",
    "LinkCheck",
    "Session",
    "StorageError",
    "Store",
    "default_db_path",
    "hash_token",
    "open_store",
]
