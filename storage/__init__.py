"""Storage: the SQLite file behind the bot, with anonymity built into its tables."""

from storage.sessions import scrub_unfinished
from storage.store import (
    CHANNELS,
    ROLES,
    Channel,
    ChatRef,
    Insats,
    LinkCheck,
    LinkTaken,
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
    "LinkTaken",
    "Session",
    "StorageError",
    "StorageProblem",
    "Store",
    "WriteFailed",
    "default_db_path",
    "hash_token",
    "open_store",
    "scrub_unfinished",
]
