"""The one error the data package raises."""
from netc.errors import NetcDataError


class DataError(NetcDataError):
    """A data set that is missing, corrupt, or does not fit the network."""
