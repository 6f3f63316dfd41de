"""The one exception of the data package: a data set that cannot be read,
found, verified or fitted to the network's input."""


class DataError(Exception):
    """A data problem the user can fix; the message names the file or dataset
    and says what is wrong (and, where it helps, what to do)."""
