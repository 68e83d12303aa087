"""Incidents: a failure on our side that someone was told about with an apology.

Every place that apologises makes the id here, so the log line and the apology carry the same one:
``log_incident`` logs at ERROR with the traceback and the id as the record's ``incident`` field
(what the JSON log lines show, ``bot.log_format``) and returns the id for the apology; ``apology``
is the chat's wording of it.
"""

from __future__ import annotations

import logging
import secrets

from bot.core.replies import Reply


def new_incident() -> str:
    """A short random id a user can quote to the operator ("3fa9c1")."""
    return secrets.token_hex(3)


def log_incident(
    logger: logging.Logger, context: str, *args: object, error: BaseException | None = None
) -> str:
    """Log "incident ID <context % args>" at ERROR with ``error``'s traceback (the exception
    being handled when None) and the id in the record's ``incident`` field; returns the id."""
    incident = new_incident()
    logger.error(
        "incident %s " + context,
        incident,
        *args,
        exc_info=error if error is not None else True,
        extra={"incident": incident},
    )
    return incident


def incident_extra(incident: str) -> dict[str, str]:
    """The ``extra`` of a later log line about the same incident (the apology not delivered…)."""
    return {"incident": incident}


def apology(incident: str) -> Reply:
    """What a user sees in the chat when something broke on our side."""
    return Reply(
        text=f"Sorry — something went wrong on my side (incident {incident}). "
        "It has been logged; please try again in a moment.",
        error=True,
    )
