import CIdzipKernels

/// The unnormalised Walsh-Hadamard transform H on float32, in place.
///
/// The definition (Formats/idz-v1-projections.md) is a sequence of butterflies in
/// increasing stride order h = 1, 2, 4, ..., n/2: for every i with (i & h) == 0,
/// (a, b) = (x[i], x[i+h]); x[i] = a + b; x[i+h] = a - b.
///
/// `transform` runs the SIMD kernels of CIdzipKernels (AVX-512, AVX2 or portable,
/// chosen at run time), which reorder independent butterflies for speed (all strides
/// inside small tiles first, then the large strides on narrow column strips), but every
/// element sees the same float operations in the same order, so the bits equal
/// `referenceTransform` on every level.
package enum WalshHadamard {
    /// Floats of scratch that `transform(_:scratch:)` needs for `count` entries.
    package static func scratchCount(for count: Int) -> Int {
        idz_walsh_hadamard_scratch_count(count)
    }

    /// H x in place, one butterfly at a time in the defining order. For tests and as the
    /// specification; `transform` gives the same bits faster.
    package static func referenceTransform(_ x: UnsafeMutableBufferPointer<Float>) {
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

    /// H x in place, allocating its own scratch when needed; with the kernels of `level`
    /// (default: the level in use).
    package static func transform(_ x: UnsafeMutableBufferPointer<Float>, level: KernelLevel? = nil) {
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, scratchCount(for: x.count)))
        defer { scratch.deallocate() }
        transform(x, scratch: scratch, level: level)
    }

    /// H x in place; `scratch` has at least `scratchCount(for: x.count)` floats.
    package static func transform(
        _ x: UnsafeMutableBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>, level: KernelLevel? = nil
    ) {
        let count = x.count
        precondition(count > 0 && count & (count - 1) == 0, "Walsh-Hadamard length must be a power of two")
        precondition(scratch.count >= scratchCount(for: count), "Walsh-Hadamard scratch too small")
        guard let base = x.baseAddress else { return }
        if let level {
            idz_walsh_hadamard_at_level(level.rawValue, base, count, scratch.baseAddress)
        } else {
            idz_walsh_hadamard(base, count, scratch.baseAddress)
        }
    }
}
