"""Errors the command line turns into plain messages and exit codes (outputs.md §2), and what a
message may quote from an input file."""

import re


class InputError(Exception):
    """A problem with an input file or the parameters: exit 2, one plain message, no traceback.

    The message names the file and the column, key or value at fault. It never contains a patient
    identifier (data_dictionary.md §4).
    """


# Shapes that could be a patient's identifier (webtool_export.md §6): a run of six digits, a date,
# a UK postcode.
_LONG_NUMBER = re.compile(r"\d{6}")
_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
PRINTABLE_LENGTH = 40


def printable(text: str) -> str:
    """``text`` as it may be printed in a message, or ``[masked, N characters]`` when it could be
    a patient's identifier: longer than 40 characters, or holding a run of six digits (spaces and
    hyphens between them ignored), a date or something shaped like a UK postcode
    (webtool_export.md §6)."""
    if (
        len(text) > PRINTABLE_LENGTH
        or _LONG_NUMBER.search(re.sub(r"[\s-]", "", text))  # NHS numbers are written 943 476 5919
        or _DATE_LIKE.search(text)
        or _POSTCODE.search(text)
    ):
        return f"[masked, {len(text)} characters]"
    return text
