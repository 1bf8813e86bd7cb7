import CIdzipKernels

/// Multiplication by a diagonal of random signs, done as sign-bit flips (exactly x * +-1
/// for every non-NaN x, zeros included), by the kernels of CIdzipKernels (AVX-512 masks,
/// AVX2 lane masks or one word at a time; the same bits on every level).
///
/// Signs are the bits of 32-bit stream words (bit k mod 32 of word k / 32; set means -1).
package enum SignFlip {
    /// destination[k] = source[k] * B[k] for k in 0 ..< count. `source` may equal
    /// `destination`.
    static func apply(
        _ signWords: UnsafePointer<UInt32>, from source: UnsafePointer<Float>,
        to destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        idz_fastfood_sign_flip(signWords, source, count, destination, count)
    }

    /// destination[k] = B[k] * (source[k] for k < sourceCount, else 0) for k in
    /// 0 ..< count: B (v zero-padded) in one pass, the padding +0 or -0 by its sign.
    static func apply(
        _ signWords: UnsafePointer<UInt32>, from source: UnsafePointer<Float>, count sourceCount: Int,
        paddedTo destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        precondition(sourceCount <= count, "sign flip: more source entries than destination")
        idz_fastfood_sign_flip(signWords, source, sourceCount, destination, count)
    }

    /// `apply(_:from:count:paddedTo:count:)` with the kernels of `level` (for tests).
    package static func padded(_ source: [Float], signWords: [UInt32], count: Int, level: KernelLevel) -> [Float] {
        precondition(source.count <= count && signWords.count * 32 >= count, "sign flip: wrong sizes")
        var destination = [Float](repeating: .nan, count: count)
        destination.withUnsafeMutableBufferPointer { destination in
            idz_fastfood_sign_flip_at_level(level.rawValue, signWords, source, source.count, destination.baseAddress, count)
        }
        return destination
    }
}
