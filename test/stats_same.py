#!/usr/bin/python3
"""stats_same.py A.json B.json [--rel 1e-12]: exit 0 when two statistics
answers (docs/ZONAL.md: a GeoJSON Feature or FeatureCollection with
properties.statistics) have the same structure, the same strings, nulls and
booleans, and numbers within REL relative (absolute below 1); else exit 1
naming the first differences. The fan-out test compares a fanned-out answer
with the single-process one this way: parts change only the rounding of
floating sums."""
import json
import sys


def walk(a, b, path, out, rel):
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out.append(f"{path}: keys {sorted(set(a) ^ set(b))} in one only")
        for k in sorted(set(a) & set(b)):
            walk(a[k], b[k], f"{path}/{k}", out, rel)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} vs {len(b)} items")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}/{i}", out, rel)
    elif isinstance(a, bool) or isinstance(b, bool) or a is None or b is None \
            or isinstance(a, str) or isinstance(b, str):
        if a != b or type(a) is not type(b):
            out.append(f"{path}: {a!r} vs {b!r}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if abs(a - b) > rel * max(1.0, abs(a)):
            out.append(f"{path}: {a!r} vs {b!r}")
    else:
        out.append(f"{path}: {type(a).__name__} vs {type(b).__name__}")


def main():
    args = sys.argv[1:]
    rel = 1e-12
    if "--rel" in args:
        i = args.index("--rel")
        rel = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    try:
        a, b = (json.load(open(f)) for f in args)
    except (OSError, ValueError) as e:
        print(f"stats_same: {e}")
        sys.exit(1)
    out = []
    walk(a, b, "", out, rel)
    has_stats = "statistics" in json.dumps(a)
    if not has_stats:
        out.append("no statistics in the first answer")
    for line in out[:8]:
        print(line)
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
