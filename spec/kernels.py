"""The conditions under which each fast kernel applies, and the work sizes
it runs with: pure functions of a step's shapes and options. The compiler
chooses kernels by them (compiler/kernels.py); the runtime checks a plan's
choice by them and falls back on them for a plan without chunk sizes."""
from __future__ import annotations

# A conv's im2col columns are built per chunk of output rows no larger than
# this (the plan states it in images' worth of columns), so each chunk is
# multiplied while still in cache (and a large batch never needs a batch-sized
# column matrix). 4 MiB measured best for deepconv here.
CHUNK_BYTES = 4 << 20
# Winograd chunks are sized by their transformed input tiles, 16 floats per
# 2x2 output tile and channel; 2 MiB measured best for deepconv's convs.
WINOGRAD_CHUNK_BYTES = 2 << 20
# The compiled Winograd kernel (runtime/fast/winograd.py) works one row of tiles
# at a time, across as many images as make about this many tiles: fewer cost a
# BLAS call each for too little work, more spill its tile arrays out of the cache.
WINOGRAD_BLOCK_TILES = 1024
# Winograd's transforms cost O(C + F) adds per tile and save O(C * F)
# multiplies: below this many channels in or out, im2col is faster (measured:
# 1 -> 16 channels ran 12x slower, 16 -> 16 1.2x faster).
WINOGRAD_MIN_CHANNELS = 8


def conv_chunk(step: dict, itemsize: int = 4) -> int:
    """Images per im2col chunk of a conv step: the most whose float32 columns fit CHUNK_BYTES."""
    C = step["input_shape"][0]
    _, OH, OW = step["output_shape"]
    KH, KW = step["options"]["kernel"]
    return max(1, CHUNK_BYTES // (C * KH * KW * OH * OW * itemsize))


def winograd_chunk(step: dict, itemsize: int = 4) -> int:
    """Images per Winograd chunk: the most whose input tiles fit WINOGRAD_CHUNK_BYTES."""
    C = max(step["input_shape"][0], step["output_shape"][0])  # the input gradient swaps them
    _, OH, OW = step["output_shape"]
    tiles = -(-OH // 2) * -(-OW // 2)
    return max(1, WINOGRAD_CHUNK_BYTES // (16 * tiles * C * itemsize))


def winograd_tile(step: dict) -> int:
    """The output tile side of the compiled Winograd kernel for a conv: 4, F(4x4, 3x3),
    where it makes fewer products than F(2x2, 3x3) (36 per 4x4 tile against 16 per
    2x2 tile, so wherever the 4x4 tiles do not overhang the output too far), else 2."""
    _, OH, OW = step["output_shape"]
    products = {m: -(-OH // m) * -(-OW // m) * (m + 2) ** 2 for m in (2, 4)}
    return 4 if products[4] < products[2] else 2


def winograd_block(step: dict) -> int:
    """Images per block of the compiled Winograd kernel: a row of tiles across them
    makes about WINOGRAD_BLOCK_TILES tiles."""
    OW = step["output_shape"][2]
    return max(1, WINOGRAD_BLOCK_TILES // -(-OW // winograd_tile(step)))


def winograd_fits(options: dict) -> bool:
    """Whether Winograd F(2x2, 3x3) applies to a conv: 3x3, stride 1 and pad <= 2
    (its input gradient is a conv padded 2 - pad, which needs a pad of its own)."""
    return (tuple(options["kernel"]) == (3, 3) and tuple(options["stride"]) == (1, 1)
            and all(0 <= p <= 2 for p in options["pad"]))


def winograd_pays(step: dict) -> bool:
    """A conv Winograd fits, with enough channels on both sides."""
    return (winograd_fits(step["options"])
            and min(step["input_shape"][0], step["options"]["filters"]) >= WINOGRAD_MIN_CHANNELS)


def pool_tiles(input_shape, options: dict) -> bool:
    """Whether a pool's windows tile its input exactly: stride == window, no
    padding, and the window divides H and W. Such a pool is a reshape and a reduction."""
    _, H, W = input_shape
    KH, KW = options["window"]
    return (list(options["stride"]) == [KH, KW] and list(options["pad"]) == [0, 0]
            and H % KH == 0 and W % KW == 0)
