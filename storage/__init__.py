"""Storage: the SQLite file behind the bot, with anonymity built into its tables."""

from storage.store import (
    CHANNELS,
    ROLES,
    Channel,
    ChatRef,
    Insats,
    LinkCheck,
    Session,
    StorageError,
    StorageProblem,
    Store,
    WriteFailed,
    default_db_path,
    hash_token,
    open_store,
)

__all__ = [
    "CHANNELS",
    "ROLES",
    "Channel",
    "ChatRef",
    "Insats",
    "LinkCheck",
    "Session",
    "StorageError",
    "StorageProblem",
    "Store",
    "WriteFailed",
    "default_db_path",
    "hash_token",
    "open_store",
]
