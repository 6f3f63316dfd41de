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
