"""What the audit log says of each staff action, as `enkatbot logg` prints it.

The bot's staff and report handlers, the scheduled jobs and the `enkatbot` commands write
these; nothing a participant does is ever written to the audit log.
"""

from __future__ import annotations

from storage.retention import GallringResult

LINKS_CREATED = "{count} länkar, {insats}, {enkat}"
ONE_LINK_CREATED = "1 länk, {insats}, {enkat}"
LINK_WITHDRAWN = "1 länk"
ROLE_GIVEN = "{telegram_id} fick rollen {role}"
ROLE_REMOVED = "{telegram_id} har ingen roll"
INVITE_USED = "fick rollen {role}"
INVITE_CREATED = "roll {role}"
RESTORED = "från en kopia ({source})"
SUMMARY_SENT = "{month} till {sent} mottagare"
REPORT_SENT = "{period}, {insats}, till 1 mottagare"
ALL_INSATSER = "alla insatser"

GALLRING_RULE = "regel: {rule}"
GALLRING_BEFORE = "svar från månader före {before}"
GALLRING_DELETED = "{total} svar raderade ({per})"
GALLRING_PER = "{enkat} {month}: {n}"
GALLRING_NOTHING = "inga svar att radera"
GALLRING_HISTORY_DELETED = "historik raderad för mätåren {years}"
GALLRING_HISTORY_KEPT = "historik behållen"


def gallring_protocol(result: GallringResult) -> str:
    """Return the gallringsprotokoll line: rule, counts per questionnaire and month."""
    parts = [GALLRING_RULE.format(rule=result.rule),
             GALLRING_BEFORE.format(before=result.before)]
    if result.counts:
        per = "; ".join(GALLRING_PER.format(enkat=enkat, month=month, n=n)
                        for (enkat, month), n in sorted(result.counts.items()))
        parts.append(GALLRING_DELETED.format(total=result.total, per=per))
    else:
        parts.append(GALLRING_NOTHING)
    if result.history_years:
        parts.append(GALLRING_HISTORY_DELETED.format(
            years=", ".join(str(y) for y in result.history_years)))
    else:
        parts.append(GALLRING_HISTORY_KEPT)
    return ", ".join(parts)
