"""Datasets for the runtime: IDX files (MNIST, Fashion-MNIST, any folder),
.npz files and the logic-gate truth tables, found, fetched and verified."""

from .dataset import Dataset, adapt_shape, load_dataset, split_indices
from .errors import DataError
from .fetch import fetch, info, where
from .idx import read_idx, write_idx
from .locate import cache_dir
from .registry import DATASETS, list_datasets

__all__ = [
    "DATASETS", "DataError", "Dataset", "adapt_shape", "cache_dir", "fetch", "info",
    "list_datasets", "load_dataset", "read_idx", "split_indices", "where", "write_idx",
]
