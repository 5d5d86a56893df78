#!/usr/bin/env python3
"""Agreement between two annotators of the same posts (see README.md, "Second labels").

Usage: python3 tests/data/agreement.py FIRST.jsonl SECOND.jsonl

FIRST holds the labels as written with the posts (any labeled file of this directory);
SECOND the labels a second annotator gave the same posts without seeing the first
(`second-labels/`). Prints relevance F1, complaint F1 (on posts both call relevant) and
aspect micro-F1 (every aspect of a post relevant to either) of SECOND against FIRST, and
per aspect. Only posts present in both files are compared.
"""
import json
import sys
from collections import Counter


def load(path):
    with open(path, encoding="utf-8") as f:
        return {d["id"]: d for d in map(json.loads, filter(str.strip, f))}


def f1(tp, fp, fn):
    return 2 * tp / max(1, 2 * tp + fp + fn)


def main(first_path, second_path):
    first, second = load(first_path), load(second_path)
    ids = [i for i in second if i in first]
    counts = Counter()
    per = {}
    for i in ids:
        a, b = first[i], second[i]
        counts["rel", a["relevant"], b["relevant"]] += 1
        if a["relevant"] and b["relevant"]:
            counts["com", a["complaint"], b["complaint"]] += 1
        x = set(a["aspects"]) if a["relevant"] else set()
        y = set(b["aspects"]) if b["relevant"] else set()
        for aspect in x | y:
            tp, fp, fn = per.get(aspect, (0, 0, 0))
            per[aspect] = (tp + (aspect in x and aspect in y), fp + (aspect not in x), fn + (aspect not in y))
    binary = lambda k: f1(counts[k, True, True], counts[k, False, True], counts[k, True, False])
    print(f"{len(ids)} posts in both files")
    print(f"relevance F1 {binary('rel'):.3f}")
    print(f"complaint F1 (posts both call relevant) {binary('com'):.3f}")
    total = [sum(v[k] for v in per.values()) for k in range(3)]
    print(f"aspects micro-F1 {f1(*total):.3f}")
    for aspect in sorted(per):
        tp, fp, fn = per[aspect]
        print(f"  {aspect:<22} {f1(tp, fp, fn):.2f} (both {tp}, only second {fp}, only first {fn})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
