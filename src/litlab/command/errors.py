"""Errors that are the user's to fix. The CLI prints them as a short message instead of a traceback."""


class LitlabError(Exception):
    """A problem with the user's input or environment; the message says what to do next."""


class DatasetNotFoundError(LitlabError):
    """The dataset is not on disk and could not be fetched."""


class ConfigError(LitlabError):
    """A config key, type or value that cannot work."""


class CheckpointError(LitlabError):
    """A checkpoint that is missing, unreadable, belongs to another model, or could not be written."""


class TrainingDivergedError(LitlabError):
    """The loss stopped being a finite number."""


class DistributedJobError(LitlabError):
    """Another process of a distributed job stopped, so this one cannot go on."""
