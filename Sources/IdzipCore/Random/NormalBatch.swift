/// Normals of a stream into float32 buffers: whole Box-Muller pairs through the vector
/// kernels (`RandomKernels`), odd ends through the scalar `RandomStream.normal`, so every
/// value is bit-identical to `Float(stream.normal(n) * scale)`.
package enum NormalBatch {
    /// Float(normal(n) * scale) for n = first ..< first + output.count: the same values as
    /// `RandomStream.fillNormals` (and, with scale 1, as `Float(stream.normal(n))`, since
    /// multiplying by 1 is exact). Returns the sum of the squares of the written floats,
    /// in Double, in order (0 when `summingSquares` is false).
    @discardableResult
    package static func fillFloatNormals(
        _ stream: RandomStream, first: UInt64, scale: Double = 1, into output: UnsafeMutableBufferPointer<Float>,
        summingSquares: Bool = true
    ) -> Double {
        let count = output.count
        guard count > 0, let base = output.baseAddress else { return 0 }
        var k = 0
        var n = first
        var squaredNorm = 0.0
        @inline(__always) func writeScalar() {
            let value = Float(stream.normal(n) * scale)
            output[k] = value
            let wide = Double(value)
            squaredNorm += wide * wide
            k += 1
            n += 1
        }
        // An odd first position, then whole Box-Muller pairs in the vector kernels (which
        // carry the running sum on in order), then a last single normal.
        if n & 1 == 1 { writeScalar() }
        let pairedCount = (count - k) & ~1
        if pairedCount > 0 {
            if summingSquares {
                RandomKernels.fillFloatNormalPairs(
                    stream, firstBlock: n >> 1, scale: scale, into: base + k, count: pairedCount,
                    squaredNorm: &squaredNorm)
            } else {
                RandomKernels.fillFloatNormalPairs(
                    stream, firstBlock: n >> 1, scale: scale, into: base + k, count: pairedCount, squaredNorm: nil)
            }
            k += pairedCount
            n += UInt64(pairedCount)
        }
        if k < count { writeScalar() }
        return summingSquares ? squaredNorm : 0
    }
}
