"""The error a user can fix: caught at the command line, printed as one line, exit status 2."""


class UsageError(ValueError):
    """Bad input from the user (a flag, a file, a run folder); the message says what is wrong and what to do."""
