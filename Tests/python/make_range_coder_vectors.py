"""Writes Formats/test-vectors/range-coder.json: symbol streams and their exact coded bytes
under Formats/idz-v2.md's range coder, computed by the independent implementation
(idz_reference.rc_encode). ContainerVersion2Tests and test_range_coder.py check that idzip
and the reference agree with every vector byte for byte."""
import hashlib
import json
import pathlib
import random

from idz_reference import rc_encode


def rescale_symbols(n):
    """The long vector's symbols, defined by a formula so the file stays small:
    s_i = 2 if i % 10 == 0, else 1 if i % 3 == 0, else 0."""
    return [2 if i % 10 == 0 else 1 if i % 3 == 0 else 0 for i in range(n)]


def main():
    rng = random.Random(11)
    vectors = [
        {"name": "one-level", "levels": 1, "symbols": [0] * 5},
        {"name": "empty", "levels": 4, "symbols": []},
        {"name": "two-levels", "levels": 2, "symbols": [0, 1, 0, 0, 1, 1, 1, 0]},
        {"name": "single-symbol-max", "levels": 4096, "symbols": [4095]},
        {"name": "skewed-4", "levels": 4, "symbols": [1, 1, 2, 1, 0, 1, 2, 2, 1, 3, 1, 1, 2, 1, 1, 0, 2, 1, 1, 1]},
        {"name": "gaussian-16-d231", "levels": 16,
         "symbols": [min(15, max(0, int(round(rng.gauss(7.5, 2.5))))) for _ in range(231)]},
        {"name": "all-top-256", "levels": 256, "symbols": [255] * 600},
        {"name": "uniform-4096", "levels": 4096, "symbols": [rng.randrange(4096) for _ in range(300)]},
    ]
    for vector in vectors:
        vector["coded_hex"] = rc_encode(vector["symbols"], vector["levels"]).hex()
    long = rc_encode(rescale_symbols(70000), 3)
    vectors.append({
        "name": "rescale-70000", "levels": 3, "count": 70000,
        "symbols_formula": "s_i = 2 if i % 10 == 0, else 1 if i % 3 == 0, else 0 (i = 0 ... count - 1)",
        "coded_bytes": len(long), "coded_sha256": hashlib.sha256(long).hexdigest(),
        "coded_prefix_hex": long[:16].hex(),
    })
    out = pathlib.Path(__file__).resolve().parents[2] / "Formats" / "test-vectors" / "range-coder.json"
    out.write_text(json.dumps({
        "spec": "Formats/idz-v2.md, The range coder",
        "generator": "Tests/python/make_range_coder_vectors.py",
        "vectors": vectors}, indent=1) + "\n")


if __name__ == "__main__":
    main()
