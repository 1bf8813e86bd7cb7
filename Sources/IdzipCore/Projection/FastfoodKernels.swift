import CIdzipKernels

/// The permute-and-scale steps of a Fastfood block (steps 4 of the forward product and
/// of the transpose in Formats/idz-v1-projections.md), run by the SIMD kernels of
/// CIdzipKernels. One float multiplication per entry, so every level gives the
/// same bits.
package enum FastfoodKernels {
    /// y[k] = gaussian[k] * x[permutation[k]] for k < count.
    @inline(__always)
    static func gather(
        _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, permutation: UnsafePointer<UInt32>,
        gaussian: UnsafePointer<Float>, count: Int
    ) {
        idz_fastfood_gather(y, x, permutation, gaussian, count)
    }

    /// z[permutation[k]] = y[k] * gaussian[k] for k < count.
    @inline(__always)
    static func scatter(
        _ z: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, permutation: UnsafePointer<UInt32>,
        gaussian: UnsafePointer<Float>, count: Int
    ) {
        idz_fastfood_scatter(z, y, permutation, gaussian, count)
    }

    /// The gather on arrays with the kernels of `level` (for tests).
    package static func gather(
        _ x: [Float], permutation: [UInt32], gaussian: [Float], level: KernelLevel
    ) -> [Float] {
        precondition(x.count == permutation.count && x.count == gaussian.count, "gather: wrong sizes")
        var y = [Float](repeating: 0, count: x.count)
        y.withUnsafeMutableBufferPointer { y in
            idz_fastfood_gather_at_level(level.rawValue, y.baseAddress, x, permutation, gaussian, x.count)
        }
        return y
    }

    /// The scatter on arrays with the kernels of `level` (for tests).
    package static func scatter(_ y: [Float], permutation: [UInt32], gaussian: [Float], level: KernelLevel) -> [Float] {
        precondition(y.count == permutation.count && y.count == gaussian.count, "scatter: wrong sizes")
        var z = [Float](repeating: 0, count: y.count)
        z.withUnsafeMutableBufferPointer { z in
            idz_fastfood_scatter_at_level(level.rawValue, z.baseAddress, y, permutation, gaussian, y.count)
        }
        return z
    }
}
