import CRandomKernels

/// The instruction sets of the bulk random kernels (the C target CRandomKernels). Every
/// level gives the same bits as the scalar reference; choosing one is for tests and
/// measurements.
public enum RandomKernelLevel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 1
    case avx2 = 2
    case avx512 = 3

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }
}

/// Bulk Philox4x32-10 words, normals and permutations of a `RandomStream`, vectorised in C
/// with run-time dispatch; each value is bit-identical to the scalar `RandomStream` one.
public enum RandomKernels {
    /// The level in use: the best this processor supports, unless forced (also by the
    /// environment variable IDZIP_RANDOM_KERNELS=portable, avx2 or avx512).
    public static var level: RandomKernelLevel {
        RandomKernelLevel(rawValue: idz_random_kernels_level()) ?? .portable
    }

    /// Uses `level` (nil: the automatic choice) from now on, lowered to what the processor
    /// supports; returns the level in use.
    @discardableResult
    public static func force(_ level: RandomKernelLevel?) -> RandomKernelLevel {
        RandomKernelLevel(rawValue: idz_random_kernels_force(level?.rawValue ?? 0)) ?? .portable
    }

    /// Blocks first ..< first + count: block first + i in words[4 i ..< 4 i + 4].
    public static func blocks(_ stream: RandomStream, first: UInt64, into words: UnsafeMutableBufferPointer<UInt32>) {
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
    public static func permutation(_ stream: RandomStream, into output: UnsafeMutableBufferPointer<UInt32>) {
        precondition(UInt64(output.count) <= UInt64(UInt32.max) + 1)
        guard let base = output.baseAddress else { return }
        idz_permutation(stream.seed, stream.substream, stream.purpose.rawValue, UInt64(output.count), base)
    }
}
