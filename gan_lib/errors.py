"""The one exception type users see: a short message that says what to do next."""


class GanLibError(Exception):
    """An error caused by input or environment (missing data, no network, bad file), not a bug."""
