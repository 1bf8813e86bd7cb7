import IdzipCore
import Testing

/// The SIMD kernels of CIdzipKernels (projection/) give the bits of the one-operation-at-a-time
/// definitions on every instruction set this processor supports (AVX-512, AVX2 and the
/// portable fallback), at lengths below, at and past one vector, one tile (4096) and the
/// strip budget (8192 floats of scratch).
struct ProjectionKernelTests {
    static let lengths = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 1 << 17, 1 << 20]

    @Test func bestLevelIsSupported() {
        #expect(KernelLevel.supported.contains(.portable))
        #expect(KernelLevel.supported.last == KernelLevel.best)
        #expect(KernelLevel.supported.contains(KernelLevel.inUse))
    }

    @Test(arguments: lengths)
    func walshHadamardSameBitsOnEveryLevel(length: Int) {
        let x = ProjectionReference.vector(count: min(length, 4096), seed: 300 + UInt64(length))
        // Longer inputs repeat the first 4096 normals with their index mixed in.
        Self.expectWalshHadamardMatchesReference((0..<length).map { x[$0 % x.count] + Float($0 / x.count) })
    }

    /// Every supported level transforms `input` to the bits of the defining order.
    static func expectWalshHadamardMatchesReference(_ input: [Float]) {
        var reference = input
        reference.withUnsafeMutableBufferPointer { WalshHadamard.referenceTransform($0) }
        for level in KernelLevel.supported {
            var fast = input
            fast.withUnsafeMutableBufferPointer { WalshHadamard.transform($0, level: level) }
            #expect(ProjectionReference.bits(fast) == ProjectionReference.bits(reference), "level \(level), length \(input.count)")
        }
    }

    /// Special values (signed zeros, infinities, subnormals) go through the same operations.
    @Test func walshHadamardSpecialValues() {
        let specials: [Float] = [0, -0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNormalMagnitude, 1e38, -1e38]
        Self.expectWalshHadamardMatchesReference((0..<4096).map { specials[$0 % specials.count] * Float(1 + $0 % 3) })
    }

    /// y[k] = G[k] * x[Pi[k]] at every level, for lengths with and without a scalar tail.
    /// Lengths past 2^19 take the gather instructions, shorter ones one load per entry.
    @Test(arguments: [1, 7, 8, 15, 16, 17, 1000, 1024, 4096 + 5, (1 << 19) - 3, (1 << 19) + 9])
    func fastfoodGatherSameBitsOnEveryLevel(length: Int) {
        let x = ProjectionReference.vector(count: length, seed: 500)
        let gaussian = ProjectionReference.vector(count: length, seed: 501)
        let permutation = RandomStream(seed: 502, purpose: .fastfoodPermutation).permutation(count: length)
        let expected = (0..<length).map { gaussian[$0] * x[Int(permutation[$0])] }
        for level in KernelLevel.supported {
            let y = FastfoodKernels.gather(x, permutation: permutation, gaussian: gaussian, level: level)
            #expect(ProjectionReference.bits(y) == ProjectionReference.bits(expected), "level \(level)")
        }
        var expectedZ = [Float](repeating: 0, count: length)
        for k in 0..<length { expectedZ[Int(permutation[k])] = expected[k] * gaussian[k] }
        for level in KernelLevel.supported {
            let z = FastfoodKernels.scatter(expected, permutation: permutation, gaussian: gaussian, level: level)
            #expect(ProjectionReference.bits(z) == ProjectionReference.bits(expectedZ), "level \(level)")
        }
    }

    /// B (v zero-padded) flips sign bits only, at every level: source entries, the padding
    /// (+0 or -0 by its sign), NaN payloads and infinities, for sources shorter than, as long
    /// as and (in place) equal to the destination, with and without vector tails.
    @Test(arguments: [(1, 1), (5, 8), (7, 16), (16, 16), (17, 33), (750, 1024), (1000, 1000), (0, 64), (93, 100)])
    func fastfoodSignFlipSameBitsOnEveryLevel(sizes: (source: Int, count: Int)) {
        let specials: [Float] = [0, -0, .infinity, -.infinity, .nan, -.leastNonzeroMagnitude, 3.5]
        let source = ProjectionReference.vector(count: sizes.source, seed: 510).enumerated().map { index, value in
            index % 11 == 3 ? specials[index % specials.count] : value
        }
        let stream = RandomStream(seed: 511, purpose: .fastfoodSigns)
        let signWords = (0..<((sizes.count + 31) / 32)).map { stream.word(UInt64($0)) }
        let expected: [UInt32] = (0..<sizes.count).map { k in
            let bits = k < source.count ? source[k].bitPattern : 0
            return bits ^ (((signWords[k / 32] >> UInt32(k % 32)) & 1) << 31)
        }
        for level in KernelLevel.supported {
            let flipped = SignFlip.padded(source, signWords: signWords, count: sizes.count, level: level)
            #expect(flipped.map(\.bitPattern) == expected, "level \(level), \(sizes)")
        }
    }
}
