#!/usr/bin/env python3
"""Writes the image inputs of `idzip predict` that the repository ships, from the MNIST
test set in samples/mnist, with the standard library only (zlib, struct, gzip):

  samples/digits/          MNIST test images 0, 1, 2 (classes 7, 2, 1) as the README uses them:
                           digit-7.png (8-bit gray), digit-2.pgm (P5), digit-1.png (8-bit RGB)
  Tests/IdzipCoreTests/Fixtures/inputs/
                           the same images in other PNG kinds (16-bit gray, palette, RGBA,
                           Adam7-interlaced), image 0 enlarged 2x (56 x 56, each pixel 2 x 2) for
                           --resize, and PNGs with valid CRCs that declare huge dimensions

Run from the repository root: python3 scripts/make-input-samples.py (the output is
deterministic; the files are committed).
"""
import gzip
import struct
import zlib


def mnist_images(count):
    with gzip.open("samples/mnist/t10k-images-idx3-ubyte.gz") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and (rows, cols) == (28, 28)
        return [list(f.read(rows * cols)) for _ in range(count)]


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(width, height, depth, color, rows, palette=None, interlace=0, idat=None):
    """rows: a list of byte strings, each a row's samples (filter byte added here)."""
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    if idat is None:
        idat = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    if palette is not None:
        out += chunk(b"PLTE", palette)
    return out + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def adam7_rows(pixels, width, height):
    """Adam7 passes of an 8-bit gray image, as one list of filtered rows."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    rows = []
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            row = bytes(pixels[y * width + x] for x in range(x0, width, dx))
            if row:
                rows.append(row)
    return rows


def gray_rows(pixels, width=28):
    return [bytes(pixels[y * width:(y + 1) * width]) for y in range(len(pixels) // width)]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    seven, two, one = mnist_images(3)
    write("samples/digits/digit-7.png", png(28, 28, 8, 0, gray_rows(seven)))
    write("samples/digits/digit-2.pgm", b"P5\n# MNIST test image 1\n28 28\n255\n" + bytes(two))
    write("samples/digits/digit-1.png", png(28, 28, 8, 2, [bytes(v for p in row for v in (p, p, p)) for row in gray_rows(one)]))

    fixtures = "Tests/IdzipCoreTests/Fixtures/inputs/"
    write(fixtures + "digit-7-gray16.png", png(28, 28, 16, 0, [b"".join(struct.pack(">H", p * 257) for p in row) for row in gray_rows(seven)]))
    write(fixtures + "digit-7-palette.png", png(28, 28, 8, 3, gray_rows(seven), palette=bytes(v for i in range(256) for v in (i, i, i))))
    write(fixtures + "digit-7-rgba.png", png(28, 28, 8, 6, [bytes(v for p in row for v in (p, p, p, 255)) for row in gray_rows(seven)]))
    write(fixtures + "digit-7-interlaced.png", png(28, 28, 8, 0, None, interlace=1, idat=zlib.compress(b"".join(b"\x00" + r for r in adam7_rows(seven, 28, 28)))))
    large = [seven[(y // 2) * 28 + x // 2] for y in range(56) for x in range(56)]
    write(fixtures + "digit-7-56x56.png", png(56, 56, 8, 0, gray_rows(large, 56)))
    # Valid chunks and CRCs, impossible sizes: one side above the limit, then 20000 x 20000 (400 MB decoded).
    write(fixtures + "huge-side.png", png(100000, 1, 8, 0, None, idat=zlib.compress(b"\x00" * 16)))
    write(fixtures + "huge-area.png", png(20000, 20000, 8, 0, None, idat=zlib.compress(b"\x00" * 16)))


if __name__ == "__main__":
    main()
