"""Bytes of each part of a .idz file (Formats/idz-v2.md, design notes): a version 1 /
standard file's sections (uncompressed sizes) and compressed payload, or a compact file's
exact fields. Usage: python3 Tests/python/idz_parts.py model.idz ..."""
import sys, struct, zlib
sys.path.insert(0, __import__('os').path.dirname(__file__))
import idz_reference as R
NAMES = {1: 'architecture', 2: 'tensor table', 3: 'theta0 seed', 4: 'projection', 5: 'theta_d', 6: 'preprocessing',
         7: 'weights SHA-256', 0x8001: 'labels', 0x8002: 'metadata'}
def v1(path):
    data = open(path, 'rb').read()
    head = 32 if data[8] == 1 else 33
    clen = struct.unpack('<Q', data[head - 16:head - 8])[0]
    payload = zlib.decompress(data[head:head + clen])
    r = R.Reader(payload); rows = []
    while not r.done():
        tag, n = r.u16(), r.u32(); r.take(n); rows.append((NAMES[tag], n + 6))
    print('%s: %d bytes; preamble %d, zlib payload %d (of %d uncompressed), SHA-256 trailer 32' % (path, len(data), head, clen, len(payload)))
    for name, n in rows: print('   section %-16s %4d uncompressed (6 header + %d)' % (name, n, n - 6))
def compact(path):
    data = open(path, 'rb').read()
    body = R._compact_body(data)
    r = R.Reader(body); marks = []
    def mark(name, f):
        p = r.pos; f(); marks.append((name, r.pos - p))
    def arch():
        for _ in range(R.read_varint(r)): R.read_varint(r)
        for _ in range(R.read_varint(r)):
            c = r.u8()
            if c in (1, 3): R.read_varint(r)
            elif c == 2: R.read_varint(r); R.read_varint(r); r.u8()
            elif c == 6: R.read_varint(r); R.read_varint(r)
    mark('architecture', arch)
    mark('theta0 seed', lambda: R.read_varint(r))
    def proj():
        if not r.u8() & 0x80: R.read_varint(r)
        R.read_varint(r)
    mark('projection', proj)
    d = None
    def pre():
        if r.u8() == 1:
            r.f32(); k = R.read_varint(r); r.take(8 * k)
    mark('preprocessing', pre)
    def lab():
        f = r.u8()
        if f == 2:
            for _ in range(R.read_varint(r)): r.take(R.read_varint(r))
    mark('labels', lab)
    def meta():
        for _ in range(R.read_varint(r)):
            r.take(R.read_varint(r)); c = r.u8()
            if c in (1, 2): r.take(8)
            elif c in (3, 5): r.take(R.read_varint(r))
            else: r.u8()
    mark('metadata', meta)
    mark('weights digest', lambda: r.take(r.u8()))
    rest = len(body) - r.pos
    enc = body[r.pos]
    print('%s: %d bytes; header 13, body %d (%s), CRC-32 trailer 4' % (path, len(data), len(body), 'stored' if data[12] == 1 else 'deflated'))
    for name, n in marks: print('   %-16s %4d' % (name, n))
    if enc == 4:
        rr = R.Reader(body[r.pos + 1:]); k = R.read_varint(rr); form = rr.u8(); lv = (2 if form else 4) * k
        print('   theta_d          %4d (encoding 1, K varint %d, level format 1, levels %d, coded stream %d)' % (rest, rr.pos - 1, lv, rest - 1 - rr.pos - lv))
    else:
        print('   theta_d          %4d (encoding byte 1 + values)' % rest)
for p in sys.argv[1:]:
    (compact if open(p, 'rb').read()[12] in (1, 2) and open(p, 'rb').read()[8] == 2 else v1)(p)
