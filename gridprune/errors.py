"""The base of every error that is the user's input at fault rather than a bug."""


class GridpruneError(Exception):
    """An input gridprune cannot use; the message names the file, line or key at fault."""
