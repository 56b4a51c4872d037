"""Errors that are the user's to fix. The CLI prints them as a short message instead of a traceback."""


class LitlabError(Exception):
    """A problem with the user's input or environment; the message says what to do next."""


class DatasetNotFoundError(LitlabError):
    """The dataset is not on disk and could not be fetched."""
