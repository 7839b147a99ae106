"""colormaps_ref.py - the 44 colormap tables as colormaps/README.md says they
were made, recomputed from matplotlib itself (Debian python3-matplotlib 3.6.3),
for test/test_colormap.c to compare with the tables compiled into the binary.

Run with /usr/bin/python3 (Debian's matplotlib). Prints "matplotlib VERSION",
then for each map its name (our lower-case name) on a line of its own followed
by 256 lines "R G B A", entry 0 first.

Derivation (colormaps/README.md and the header of each colormaps/*.txt):
entry i of NAME is matplotlib.colormaps[NAME].resampled(256)(i), each float
channel f converted to 8 bits by rounding f * 255 half up, where any f * 255
within 1e-6 of a half k + 0.5 counts as that exact half (the jet, ocean,
rainbow and terrain headers: matplotlib's floats land just beside halves that
are exact in exact arithmetic). NAME_r is taken from matplotlib's own NAME_r,
not by reversing NAME, so the reversal is checked against matplotlib too.
"""
import math
import sys

import matplotlib
import numpy as np

# Our name -> matplotlib's name (the ColorBrewer maps are capitalised there).
NAMES = {
    "blues": "Blues", "cividis": "cividis", "coolwarm": "coolwarm",
    "gist_earth": "gist_earth", "gray": "gray", "greens": "Greens",
    "greys": "Greys", "hot": "hot", "inferno": "inferno", "jet": "jet",
    "magma": "magma", "ocean": "ocean", "plasma": "plasma", "rainbow": "rainbow",
    "rdbu": "RdBu", "rdylgn": "RdYlGn", "reds": "Reds", "spectral": "Spectral",
    "terrain": "terrain", "turbo": "turbo", "viridis": "viridis", "ylgn": "YlGn",
}
HALF_EPS = 1e-6


def to_byte(f):
    v = f * 255.0
    k = math.floor(v)
    if abs(v - (k + 0.5)) <= HALF_EPS:
        return k + 1  # an exact half in exact arithmetic: up
    return math.floor(v + 0.5)


def main():
    print("matplotlib", matplotlib.__version__)
    for ours in sorted(NAMES):
        for suffix in ("", "_r"):
            cmap = matplotlib.colormaps[NAMES[ours] + suffix].resampled(256)
            rgba = cmap(np.arange(256))
            print(ours + suffix)
            for row in rgba:
                print(" ".join(str(to_byte(float(f))) for f in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
