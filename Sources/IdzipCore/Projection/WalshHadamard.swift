/// The unnormalised Walsh-Hadamard transform H on float32, in place.
///
/// The definition (Formats/idz-v1-projections.md) is a sequence of butterflies in
/// increasing stride order h = 1, 2, 4, ..., n/2: for every i with (i & h) == 0,
/// (a, b) = (x[i], x[i+h]); x[i] = a + b; x[i+h] = a - b.
///
/// `transform` reorders independent butterflies for speed (all strides inside small
/// tiles first, then the large strides on narrow column strips), but every element sees
/// the same float operations in the same order, so the bits equal `referenceTransform`.
public enum WalshHadamard {
    /// Floats in one tile that stays in the level-1 cache.
    @usableFromInline static let tileLength = 4096
    /// Floats in the scratch that holds one strip of the large strides.
    @usableFromInline static let stripBudget = 8192

    /// Floats of scratch that `transform(_:scratch:)` needs for `count` entries.
    public static func scratchCount(for count: Int) -> Int {
        count > tileLength ? max(stripBudget, (count / tileLength) * 8) : 0
    }

    /// H x in place, one butterfly at a time in the defining order. For tests and as the
    /// specification; `transform` gives the same bits faster.
    public static func referenceTransform(_ x: UnsafeMutableBufferPointer<Float>) {
        let count = x.count
        precondition(count > 0 && count & (count - 1) == 0, "Walsh-Hadamard length must be a power of two")
        var stride = 1
        while stride < count {
            for i in 0..<count where i & stride == 0 {
                let a = x[i]
                let b = x[i + stride]
                x[i] = a + b
                x[i + stride] = a - b
            }
            stride <<= 1
        }
    }

    /// H x in place, allocating its own scratch when needed.
    public static func transform(_ x: UnsafeMutableBufferPointer<Float>) {
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, scratchCount(for: x.count)))
        defer { scratch.deallocate() }
        transform(x, scratch: scratch)
    }

    /// H x in place; `scratch` has at least `scratchCount(for: x.count)` floats.
    public static func transform(_ x: UnsafeMutableBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>) {
        let count = x.count
        precondition(count > 0 && count & (count - 1) == 0, "Walsh-Hadamard length must be a power of two")
        guard let base = x.baseAddress else { return }
        if count < 8 {
            referenceTransform(x)
            return
        }
        // Level 1: strides below the tile length, tile by tile.
        let tile = min(count, tileLength)
        var tileStart = 0
        while tileStart < count {
            let tileBase = base + tileStart
            smallStrides(tileBase, count: tile)
            butterflies(tileBase, count: tile, firstStride: 8)
            tileStart += tile
        }
        guard count > tile else { return }
        // Level 2: strides tile ..< count act on the rows of the (count / tile) x tile matrix,
        // independently for every column. Up to 8 rows take one pass in place.
        let rowCount = count / tile
        if rowCount <= 8 {
            butterflies(base, count: count, firstStride: tile)
            return
        }
        // More rows: copy a strip of columns into contiguous scratch, where the row strides
        // become strides stripWidth, 2 stripWidth, ... (and do not collide in the cache).
        precondition(scratch.count >= scratchCount(for: count), "Walsh-Hadamard scratch too small")
        guard let strip = scratch.baseAddress else { return }
        let stripWidth = max(8, min(tile, stripBudget / rowCount))
        precondition(rowCount * stripWidth <= scratch.count, "Walsh-Hadamard scratch too small")
        var column = 0
        while column < tile {
            for row in 0..<rowCount {
                (strip + row * stripWidth).update(from: base + row * tile + column, count: stripWidth)
            }
            butterflies(strip, count: rowCount * stripWidth, firstStride: stripWidth)
            for row in 0..<rowCount {
                (base + row * tile + column).update(from: strip + row * stripWidth, count: stripWidth)
            }
            column += stripWidth
        }
    }

    // MARK: Kernels

    @inline(__always)
    static func load(_ pointer: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    /// Strides 1, 2 and 4 on each group of 8 floats (`count` a multiple of 8).
    ///
    /// One step maps (x0..x7) to (x0+x1, x2+x3, x4+x5, x6+x7, x0-x1, x2-x3, x4-x5, x6-x7);
    /// three steps are the butterflies of strides 1, 2, 4 with the first operand always the
    /// lower index, and leave the results in natural order.
    @inline(__always)
    static func smallStrides(_ base: UnsafeMutablePointer<Float>, count: Int) {
        var offset = 0
        while offset < count {
            var v = load(base + offset)
            for _ in 0..<3 {
                let even = v.evenHalf
                let odd = v.oddHalf
                v = SIMD8(lowHalf: even + odd, highHalf: even - odd)
            }
            store(v, base + offset)
            offset += 8
        }
    }

    @inline(__always)
    static func load4(_ pointer: UnsafeMutablePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD4<Float>.self)
    }

    @inline(__always)
    static func store4(_ value: SIMD4<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD4<Float>.self)
    }

    /// Butterflies of strides firstStride, 2 firstStride, ..., count/2 over `count`
    /// contiguous floats; firstStride is a power of two >= 8. Three strides per pass
    /// while they fit, then two or one.
    @inline(__always)
    static func butterflies(_ base: UnsafeMutablePointer<Float>, count: Int, firstStride: Int) {
        var stride = firstStride
        while stride * 8 <= count {
            let h = stride
            var start = 0
            while start < count {
                let p = base + start
                var i = 0
                while i < h {
                    let q = p + i
                    let a0 = load4(q), a1 = load4(q + h), a2 = load4(q + 2 * h), a3 = load4(q + 3 * h)
                    let a4 = load4(q + 4 * h), a5 = load4(q + 5 * h), a6 = load4(q + 6 * h), a7 = load4(q + 7 * h)
                    // Stride h.
                    let b0 = a0 + a1, b1 = a0 - a1, b2 = a2 + a3, b3 = a2 - a3
                    let b4 = a4 + a5, b5 = a4 - a5, b6 = a6 + a7, b7 = a6 - a7
                    // Stride 2h.
                    let c0 = b0 + b2, c2 = b0 - b2, c1 = b1 + b3, c3 = b1 - b3
                    let c4 = b4 + b6, c6 = b4 - b6, c5 = b5 + b7, c7 = b5 - b7
                    // Stride 4h.
                    store4(c0 + c4, q)
                    store4(c1 + c5, q + h)
                    store4(c2 + c6, q + 2 * h)
                    store4(c3 + c7, q + 3 * h)
                    store4(c0 - c4, q + 4 * h)
                    store4(c1 - c5, q + 5 * h)
                    store4(c2 - c6, q + 6 * h)
                    store4(c3 - c7, q + 7 * h)
                    i += 4
                }
                start += 8 * h
            }
            stride *= 8
        }
        if stride * 4 <= count {
            let group = stride * 4
            var start = 0
            while start < count {
                let p0 = base + start
                let p1 = p0 + stride
                let p2 = p1 + stride
                let p3 = p2 + stride
                var i = 0
                while i < stride {
                    let a0 = load(p0 + i), a1 = load(p1 + i), a2 = load(p2 + i), a3 = load(p3 + i)
                    let b0 = a0 + a1, b1 = a0 - a1
                    let b2 = a2 + a3, b3 = a2 - a3
                    store(b0 + b2, p0 + i)
                    store(b1 + b3, p1 + i)
                    store(b0 - b2, p2 + i)
                    store(b1 - b3, p3 + i)
                    i += 8
                }
                start += group
            }
            stride *= 4
        }
        if stride * 2 <= count {
            let p0 = base
            let p1 = base + stride
            var i = 0
            while i < stride {
                let a = load(p0 + i), b = load(p1 + i)
                store(a + b, p0 + i)
                store(a - b, p1 + i)
                i += 8
            }
        }
    }
}
