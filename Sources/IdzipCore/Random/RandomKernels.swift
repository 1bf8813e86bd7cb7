import CIdzipKernels

/// Bulk Philox4x32-10 words, normals and permutations of a `RandomStream`, vectorised in C
/// with run-time dispatch at `KernelLevel.inUse`; each value is bit-identical to the
/// scalar `RandomStream` one.
package enum RandomKernels {
    /// Blocks first ..< first + count: block first + i in words[4 i ..< 4 i + 4].
    package static func blocks(_ stream: RandomStream, first: UInt64, into words: UnsafeMutableBufferPointer<UInt32>) {
        precondition(words.count % 4 == 0, "four words per block")
        guard let base = words.baseAddress else { return }
        idz_philox_blocks(stream.seed, stream.substream, stream.purpose.rawValue, first, words.count / 4, base)
    }

    /// Float(normal(n) * scale) for n = 2 firstBlock ..< 2 firstBlock + output.count
    /// (an even count); adds the squares of the floats to `squaredNorm` in order when given.
    static func fillFloatNormalPairs(
        _ stream: RandomStream, firstBlock: UInt64, scale: Double,
        into output: UnsafeMutablePointer<Float>, count: Int, squaredNorm: UnsafeMutablePointer<Double>?
    ) {
        precondition(count % 2 == 0, "whole pairs")
        idz_fill_float_normal_pairs(
            stream.seed, stream.substream, stream.purpose.rawValue, firstBlock, count / 2, scale, output, squaredNorm)
    }

    /// normal(n) for n = 2 firstBlock ..< 2 firstBlock + count (an even count).
    static func fillDoubleNormalPairs(
        _ stream: RandomStream, firstBlock: UInt64, into output: UnsafeMutablePointer<Double>, count: Int
    ) {
        precondition(count % 2 == 0, "whole pairs")
        idz_fill_double_normal_pairs(stream.seed, stream.substream, stream.purpose.rawValue, firstBlock, count / 2, output)
    }

    /// `stream.permutation(count: output.count)` written into `output`, returning the sum
    /// of Double(values[i])^2 in ascending i, computed alongside (the two dependent chains
    /// overlap).
    static func permutation(
        _ stream: RandomStream, into output: UnsafeMutableBufferPointer<UInt32>,
        summingSquaresOf values: UnsafeBufferPointer<Float>
    ) -> Double {
        precondition(UInt64(output.count) <= UInt64(UInt32.max) + 1)
        guard let base = output.baseAddress, let valuesBase = values.baseAddress else {
            return values.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
        var squaredNorm = 0.0
        idz_permutation_summing_squares(
            stream.seed, stream.substream, stream.purpose.rawValue, UInt64(output.count), base,
            valuesBase, values.count, &squaredNorm)
        return squaredNorm
    }

    /// `stream.permutation(count: output.count)` written into `output`.
    package static func permutation(_ stream: RandomStream, into output: UnsafeMutableBufferPointer<UInt32>) {
        precondition(UInt64(output.count) <= UInt64(UInt32.max) + 1)
        guard let base = output.baseAddress else { return }
        idz_permutation(stream.seed, stream.substream, stream.purpose.rawValue, UInt64(output.count), base)
    }
}
