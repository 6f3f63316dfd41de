"""The dataset table: every name a `data` directive can use, what kind of
source it is, and for downloadable sets their files, checksums and mirrors."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DataError

# The four files of an IDX image set, in the order they are downloaded
# (smallest first, so an unreachable mirror fails on a small request).
IDX_STEMS = (
    "train-labels-idx1-ubyte",
    "t10k-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "train-images-idx3-ubyte",
)


@dataclass(frozen=True)
class IdxFile:
    """One IDX file: its name without .gz, its shape, the SHA-256 of the
    decompressed payload (None when unknown: shape and magic are still checked)."""
    stem: str
    shape: tuple[int, ...]
    sha256: str | None = None


@dataclass(frozen=True)
class Entry:
    """A dataset. `kind` says where it comes from: "remote" (IDX, found or
    downloaded), "idx" (a folder, path=DIR), "npz" (path=FILE), "table" (built in)."""
    name: str
    kind: str
    description: str
    files: tuple[IdxFile, ...] = ()
    mirrors: tuple[str, ...] = ()
    outputs: tuple[int, int, int, int] | None = None  # gate output for 00, 01, 10, 11

    def file(self, stem: str) -> IdxFile:
        return next(f for f in self.files if f.stem == stem)


def _image_set(train: int, test: int, sums: dict[str, str | None]) -> tuple[IdxFile, ...]:
    shapes = {
        "train-labels-idx1-ubyte": (train,),
        "t10k-labels-idx1-ubyte": (test,),
        "t10k-images-idx3-ubyte": (test, 28, 28),
        "train-images-idx3-ubyte": (train, 28, 28),
    }
    return tuple(IdxFile(stem, shapes[stem], sums.get(stem)) for stem in IDX_STEMS)


_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

DATASETS: dict[str, Entry] = {e.name: e for e in (
    Entry("mnist", "remote", "handwritten digits, 60000 + 10000 images 1x28x28, 10 classes",
          _image_set(60000, 10000, _MNIST_SHA256),
          ("https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/")),
    # The SHA-256 of Fashion-MNIST's decompressed payloads could not be
    # checked offline when this table was written, so none is recorded:
    # its files are verified by magic number, dimensions and exact size only.
    # Its website mirror is plain HTTP; only HTTPS sources are listed.
    Entry("fashion-mnist", "remote",
          "Zalando clothing, 60000 + 10000 images 1x28x28, 10 classes (size-checked only)",
          _image_set(60000, 10000, {}),
          ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
           "https://fashion-mnist.s3.eu-central-1.amazonaws.com/")),
    Entry("idx", "idx", "a folder of the four IDX files (path=DIR), .gz or raw"),
    Entry("npz", "npz", "a NumPy .npz (path=FILE) with x_train, t_train, x_test, t_test"),
    Entry("and", "table", "truth table of AND: 4 rows of {0,1}^2, one output", outputs=(0, 0, 0, 1)),
    Entry("or", "table", "truth table of OR: 4 rows of {0,1}^2, one output", outputs=(0, 1, 1, 1)),
    Entry("nand", "table", "truth table of NAND: 4 rows of {0,1}^2, one output", outputs=(1, 1, 1, 0)),
    Entry("xor", "table", "truth table of XOR: 4 rows of {0,1}^2, one output", outputs=(0, 1, 1, 0)),
)}


def get_entry(name: str) -> Entry:
    """The registry entry for `name`; an unknown name lists the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise DataError(f"unknown dataset {name!r}; known datasets: {known}") from None


def list_datasets() -> list[tuple[str, str]]:
    """(name, description) of every dataset, in table order."""
    return [(e.name, e.description) for e in DATASETS.values()]
