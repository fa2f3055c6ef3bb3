"""Schema migrations: each entry upgrades a database file one version, in place.

`PRAGMA user_version` records how far a file has come. Never edit a migration that has shipped;
add a new one at the end.

Anonymity is built into the tables:
- `response` and `answer` hold no Telegram id, name, link token or time finer than the month;
  both are WITHOUT ROWID tables keyed by random ids, so their physical order says nothing
  about when a row was written.
- `session` (an unfinished survey) holds its answers so far, keyed by a memory-hard key
  derived from the chat id, never the chat id; it has no response id and no link hash. Its
  answers become a response, under a fresh random id, only when it ends (schema 7).
- `reminder` holds a random id and the chat id encrypted under the secret, and no date; it
  exists only while a reminder is owed.
- `released_cell` (the release ledger, `analysis.ledger`) holds the counts of every table cell
  ever released to anyone — scope, question, group, counts — and nothing about who answered.
See docs/anonymitet.md for the whole threat model.
- `thanks_owed` holds only the numbers of Telegram updates that submitted a survey whose
  thanks has not been sent yet, and the random tag of the Skicka in button that was tapped.
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
    # 5: answers counted per month for reports, so a report reads counts, not every answer.
    # Counts only: no response id, nothing finer than the month. A month's counts are used
    # only while its `month_count_state` row exists; the triggers delete that row whenever a
    # finished response or its answers change, so stale counts are never read.
    """
    CREATE TABLE month_count_state (
        month TEXT PRIMARY KEY,
        params TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE month_response_count (
        month TEXT NOT NULL,
        enkat TEXT NOT NULL,
        version INTEGER NOT NULL,
        insats_id INTEGER NOT NULL,
        status TEXT NOT NULL,
        gender TEXT,
        n INTEGER NOT NULL
    );
    CREATE INDEX month_response_count_month ON month_response_count (month);
    CREATE TABLE month_answer_count (
        month TEXT NOT NULL,
        enkat TEXT NOT NULL,
        version INTEGER NOT NULL,
        insats_id INTEGER NOT NULL,
        gender TEXT,
        item_id TEXT NOT NULL,
        value TEXT,
        n INTEGER NOT NULL
    );
    CREATE INDEX month_answer_count_month ON month_answer_count (month);
    CREATE TRIGGER month_count_stale_response_insert AFTER INSERT ON response
    WHEN NEW.status <> 'in_progress'
    BEGIN
        DELETE FROM month_count_state WHERE month = NEW.month;
    END;
    CREATE TRIGGER month_count_stale_response_update AFTER UPDATE ON response
    BEGIN
        DELETE FROM month_count_state WHERE month IN (OLD.month, NEW.month);
    END;
    CREATE TRIGGER month_count_stale_response_delete AFTER DELETE ON response
    BEGIN
        DELETE FROM month_count_state WHERE month = OLD.month;
    END;
    CREATE TRIGGER month_count_stale_answer_insert AFTER INSERT ON answer
    BEGIN
        DELETE FROM month_count_state WHERE month = (
            SELECT month FROM response WHERE id = NEW.response_id AND status <> 'in_progress'
        );
    END;
    CREATE TRIGGER month_count_stale_answer_update AFTER UPDATE ON answer
    BEGIN
        DELETE FROM month_count_state WHERE month = (
            SELECT month FROM response WHERE id = NEW.response_id AND status <> 'in_progress'
        );
    END;
    CREATE TRIGGER month_count_stale_answer_delete AFTER DELETE ON answer
    BEGIN
        DELETE FROM month_count_state WHERE month = (
            SELECT month FROM response WHERE id = OLD.response_id AND status <> 'in_progress'
        );
    END;
    """,
    # 6: where the participant's journey stands beyond the stage (questionnaires.flow): the
    # stage to return to after /avbryt or /radera, which step is on the screen since when, and
    # which question's typed answer was stored last. Deleted with the session, like the rest.
    """
    ALTER TABLE session ADD COLUMN flow TEXT;
    """,
    # 7: anonymity against the people who hold the data (docs/anonymitet.md). An unfinished
    # survey becomes one rowid row holding its answers (B-tree interior pages then hold only
    # row numbers), with no response id and no link hash; the link counts its unfinished
    # surveys instead. Reminders lose their chat id and day (the code now seals the chat id;
    # reminders owed at upgrade are dropped). Subscriptions no longer need a stored role, so
    # an administrator from ENKATBOT_ADMINS is never written to the user table.
    """
    ALTER TABLE link ADD COLUMN in_progress INTEGER NOT NULL DEFAULT 0
        CHECK (in_progress >= 0);
    ALTER TABLE link ADD COLUMN held_by TEXT CHECK (held_by IN ('telegram', 'web'));
    UPDATE link SET
        in_progress = (SELECT count(*) FROM session WHERE session.link_hash = link.token_hash),
        held_by = (SELECT channel FROM session WHERE session.link_hash = link.token_hash);
    CREATE TABLE session_v7 (
        id INTEGER PRIMARY KEY,
        chat_key TEXT NOT NULL UNIQUE,
        link_ref TEXT,
        enkat TEXT NOT NULL,
        version INTEGER NOT NULL,
        insats_id INTEGER NOT NULL REFERENCES insats(id),
        stage TEXT NOT NULL,
        current_item TEXT,
        message_id INTEGER,
        answers TEXT NOT NULL DEFAULT '{}',
        reminder_id INTEGER,
        channel TEXT NOT NULL DEFAULT 'telegram' CHECK (channel IN ('telegram', 'web')),
        flow TEXT,
        last_active TEXT NOT NULL
    );
    INSERT INTO session_v7 (chat_key, enkat, version, insats_id, stage, current_item,
                            message_id, channel, flow, answers, last_active)
        SELECT s.chat_key, r.enkat, r.version, r.insats_id, s.stage, s.current_item,
               s.message_id, s.channel, s.flow,
               COALESCE((SELECT json_group_object(a.item_id, a.value) FROM answer a
                         WHERE a.response_id = s.response_id), '{}'),
               s.last_active
        FROM session s JOIN response r ON r.id = s.response_id;
    DROP TABLE session;
    DELETE FROM answer WHERE response_id IN
        (SELECT id FROM response WHERE status = 'in_progress');
    DELETE FROM response WHERE status = 'in_progress';
    ALTER TABLE session_v7 RENAME TO session;
    DROP TABLE reminder;
    CREATE TABLE reminder (
        id INTEGER PRIMARY KEY,
        sealed BLOB NOT NULL
    );
    CREATE TABLE subscription_v7 (
        telegram_id INTEGER PRIMARY KEY,
        since TEXT NOT NULL
    );
    INSERT INTO subscription_v7 (telegram_id, since) SELECT telegram_id, since FROM subscription;
    DROP TABLE subscription;
    ALTER TABLE subscription_v7 RENAME TO subscription;
    """,
    # 8: link counters per insats, questionnaire and month the links were made (never which
    # link was answered), and earlier years' published figures imported from before the bot
    """
    CREATE TABLE link_count (
        insats_id INTEGER NOT NULL REFERENCES insats(id),
        enkat TEXT NOT NULL,
        month TEXT NOT NULL,
        handed_out INTEGER NOT NULL DEFAULT 0,
        started INTEGER NOT NULL DEFAULT 0,
        submitted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (insats_id, enkat, month)
    ) WITHOUT ROWID;
    CREATE TABLE historik (
        ar INTEGER NOT NULL,
        enkat TEXT NOT NULL,
        fraga INTEGER NOT NULL,
        grupp TEXT NOT NULL,
        indikator INTEGER NOT NULL,
        tillfragade INTEGER,
        n INTEGER,
        negativt INTEGER,
        varken_eller INTEGER,
        positivt INTEGER,
        klart_positivt INTEGER,
        ja INTEGER,
        nej INTEGER,
        svarsfrekvens INTEGER,
        imported TEXT NOT NULL,
        PRIMARY KEY (ar, enkat, fraga, grupp)
    ) WITHOUT ROWID;
    """,
    # 9: the audit log of staff actions (who: a Telegram id or "kommandoraden"; never a
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
    # 10: the Telegram update that submitted a survey, until its thanks has been sent, so that
    # a crash between the two still ends with the thanks when Telegram delivers the update
    # again. Only the update's number: no chat, no time, no response.
    """
    CREATE TABLE thanks_owed (
        update_id INTEGER PRIMARY KEY
    );
    """,
    # 11: the random tag the overview's Skicka in button carried, beside the update's number:
    # a Skicka in tapped again (its first update settled, then the process died before the
    # thanks) is thanked too. Random, kept only in the session and on the phone's button, so
    # it leads to no chat.
    """
    ALTER TABLE thanks_owed ADD COLUMN tag TEXT;
    CREATE UNIQUE INDEX thanks_owed_tag ON thanks_owed (tag);
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
