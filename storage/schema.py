"""Schema migrations: each entry upgrades a database file one version, in place.

`PRAGMA user_version` records how far a file has come. Never edit a migration that has shipped;
add a new one at the end.

Anonymity is built into the tables:
- `response` and `answer` hold no Telegram id, name, link token or time finer than the month;
  both are WITHOUT ROWID tables keyed by random ids, so their physical order says nothing
  about when a row was written.
- `session` (an unfinished survey) is keyed by an HMAC of the chat id, never the chat id.
- `reminder` holds a chat id and a day, nothing else; it exists only while a reminder is due.
- `released_cell` (the release ledger, `analysis.ledger`) holds the counts of every table cell
  ever released to anyone — scope, question, group, counts — and nothing about who answered.
- `audit_log` records what staff did (roles, invites, insatser, link counts, reports, gallring,
  restores), by whom and when; nothing a participant does is ever written there.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: the foundation
    """
    CREATE TABLE insats (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        active INTEGER NOT NULL DEFAULT 1,
        created TEXT NOT NULL
    );
    CREATE TABLE link (
        token_hash TEXT PRIMARY KEY,
        insats_id INTEGER NOT NULL REFERENCES insats(id),
        enkat TEXT NOT NULL,
        created TEXT NOT NULL,
        expires TEXT NOT NULL,
        uses_left INTEGER NOT NULL CHECK (uses_left >= 0),
        withdrawn INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE user (
        telegram_id INTEGER PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'staff')),
        added TEXT NOT NULL
    );
    CREATE TABLE invite (
        token_hash TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'staff')),
        expires TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE response (
        id TEXT PRIMARY KEY,
        enkat TEXT NOT NULL,
        version INTEGER NOT NULL,
        insats_id INTEGER NOT NULL REFERENCES insats(id),
        month TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
        status TEXT NOT NULL CHECK (status IN ('in_progress', 'complete', 'partial'))
    ) WITHOUT ROWID;
    CREATE INDEX response_month ON response (month, enkat);
    CREATE TABLE answer (
        response_id TEXT NOT NULL REFERENCES response(id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (response_id, item_id)
    ) WITHOUT ROWID;
    CREATE TABLE session (
        chat_key TEXT PRIMARY KEY,
        response_id TEXT NOT NULL UNIQUE REFERENCES response(id) ON DELETE CASCADE,
        link_hash TEXT REFERENCES link(token_hash),
        stage TEXT NOT NULL,
        current_item TEXT,
        message_id INTEGER,
        last_active TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE reminder (
        chat_id INTEGER PRIMARY KEY,
        quiet_since TEXT NOT NULL
    );
    CREATE TABLE subscription (
        telegram_id INTEGER PRIMARY KEY REFERENCES user(telegram_id) ON DELETE CASCADE,
        since TEXT NOT NULL
    );
    """,
    # 2: what monthly summaries have been sent, so a month is never sent twice to anyone
    """
    CREATE TABLE report_sent (
        telegram_id INTEGER NOT NULL,
        month TEXT NOT NULL,
        PRIMARY KEY (telegram_id, month)
    ) WITHOUT ROWID;
    """,
    # 3: which front end owns an unfinished survey, so the other can say it is under way there
    """
    ALTER TABLE session ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram'
        CHECK (channel IN ('telegram', 'web'));
    """,
    # 4: the release ledger: the counts of every released table cell, so no later release can
    # be subtracted from it to show a small group (analysis.ledger)
    """
    CREATE TABLE released_cell (
        release_id TEXT NOT NULL,
        start TEXT NOT NULL,
        "end" TEXT NOT NULL,
        insats TEXT NOT NULL,
        enkat TEXT NOT NULL,
        item_id TEXT NOT NULL,
        grp TEXT NOT NULL,
        atoms TEXT NOT NULL,
        tillfragade INTEGER NOT NULL,
        n INTEGER NOT NULL,
        negativt INTEGER NOT NULL,
        varken_eller INTEGER NOT NULL,
        positivt INTEGER NOT NULL,
        klart_positivt INTEGER NOT NULL,
        ja INTEGER NOT NULL,
        nej INTEGER NOT NULL,
        PRIMARY KEY (release_id, grp)
    ) WITHOUT ROWID;
    CREATE INDEX released_cell_item ON released_cell (enkat, item_id);
    """,
    # 5: the audit log of staff actions (who: a Telegram id or "kommandoraden"; never a
    # participant, a link token or an answer) and the gallringsprotokoll, as action 'gallring'
    """
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_at ON audit_log (at);
    """,
)


def statements(script: str) -> list[str]:
    """Return the SQL statements of a migration script, one complete statement each.

    Split where SQLite says a statement is complete, not at every ";": a semicolon inside a
    string literal or a trigger body does not end a statement.
    """
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"migration ends inside a statement: {pending.strip()[:60]!r}")
    return out
