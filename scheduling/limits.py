"""How long each piece of text may be, in one place: the actions check them, the API schemas (web/schemas.py) and the
forms' maxlength use the same numbers. Too long is refused with a message that names the field; nothing is cut."""

from __future__ import annotations

from scheduling.errors import Invalid

EMAIL = 254
PERSON_NAME = 120        # users.name
HEADLINE = 200           # users.headline
EVENT_NAME = 200         # events.name
EVENT_DESCRIPTION = 5000
COMPANY_NAME = 200       # companies.name
COMPANY_DESCRIPTION = 5000
URL = 500                # companies.website / logo_url, profile links
MESSAGE = 2000           # a request's message
ANSWER = 2000            # the answer to the recruiter's question
CUSTOM_QUESTION = 500    # a recruiter's question to talents
IDEAL_CANDIDATE = 2000   # "who I'd like to talk to"
REASON = 1000            # decline, cancel and reschedule reasons
PASSWORD = 1024


def text(value: str, label: str, limit: int, *, required: bool = False) -> str:
    """A free text (line breaks allowed): trimmed, without NUL, at most `limit` characters, else Invalid naming `label`."""
    value = value.strip()
    if required and not value:
        raise Invalid(f"The {label} is required.", code="invalid_input")
    if "\x00" in value:
        raise Invalid(f"The {label} holds a character that can't be stored (NUL).", code="invalid_input")
    if len(value) > limit:
        raise Invalid(f"The {label} is limited to {limit:,} characters; this one has {len(value):,}. Shorten it and try again.",
                      code="too_long")
    return value
