"""Errors the command line turns into plain messages and exit codes (outputs.md §2)."""


class InputError(Exception):
    """A problem with an input file or the parameters: exit 2, one plain message, no traceback.

    The message names the file and the column, key or value at fault. It never contains a patient
    identifier (data_dictionary.md §4).
    """
