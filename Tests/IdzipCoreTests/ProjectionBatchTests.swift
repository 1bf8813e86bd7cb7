import IdzipCore
import Testing

/// The SIMD Philox and Box-Muller give exactly the scalar words and normals.
struct ProjectionBatchTests {
    @Test func philoxBatchMatchesScalar() {
        for (seed, purpose, substream, first) in [
            (UInt64(0), StreamPurpose.fastfoodGaussian, UInt32(0), UInt64(0)),
            (0xDEAD_BEEF_0123_4567, .fastfoodPermutation, 0xFFFF_FFFF, 0xFFFF_FFFC),
            (42, .sparseProjection, 7, UInt64.max - 20),
        ] {
            let stream = RandomStream(seed: seed, purpose: purpose, substream: substream)
            let words = PhiloxBatch.blocks(stream, first: first)
            for lane in 0..<PhiloxBatch.width {
                let expected = stream.block(first &+ UInt64(lane))
                #expect(words.0[lane] == UInt64(expected.0) && words.1[lane] == UInt64(expected.1))
                #expect(words.2[lane] == UInt64(expected.2) && words.3[lane] == UInt64(expected.3))
            }
        }
    }

    static func checkNormals(_ words: PhiloxBatch.Words) {
        let pairs = NormalBatch.normalPairs(words)
        for lane in 0..<PhiloxBatch.width {
            let expected = RandomStream.normalPair((
                UInt32(words.0[lane]), UInt32(words.1[lane]), UInt32(words.2[lane]), UInt32(words.3[lane])))
            #expect(pairs.even[lane].bitPattern == expected.0.bitPattern, "lane \(lane) words \(words)")
            #expect(pairs.odd[lane].bitPattern == expected.1.bitPattern, "lane \(lane) words \(words)")
        }
    }

    /// Random blocks, and the edges: u1 = 1 and u1 = 2^-53; u2 = 0, at quadrant edges
    /// (4 u2 = k +- 1/2, where rounding to even matters) and just below 1.
    @Test func normalBatchMatchesScalar() {
        let stream = RandomStream(seed: 5, purpose: .fastfoodGaussian, substream: 3)
        for first in stride(from: UInt64(0), to: 4000, by: PhiloxBatch.width) {
            Self.checkNormals(PhiloxBatch.blocks(stream, first: first))
        }
        let u1Words: [(UInt32, UInt32)] = [(0, 0), (0xFFFF_FFFF, 0xFFFF_FFFF), (0x7FF, 0), (0x800, 0), (0, 0x8000_0000), (0x1234_5678, 0x3504_F333)]
        // u2 = (w3 << 32 | w2) >> 11 * 2^-53: 1/8 is w3 = 0x2000_0000, 3/8 is 0x6000_0000, ...
        let u2Words: [(UInt32, UInt32)] = [
            (0, 0), (0, 0x2000_0000), (0, 0x6000_0000), (0, 0xA000_0000), (0, 0xE000_0000),
            (0xFFFF_F800, 0x1FFF_FFFF), (0x800, 0x2000_0000), (0, 0x4000_0000), (0, 0x8000_0000),
            (0, 0xC000_0000), (0xFFFF_FFFF, 0xFFFF_FFFF), (0xFFFF_F800, 0x5FFF_FFFF),
        ]
        for (u1Low, u1High) in u1Words {
            var index = 0
            while index < u2Words.count {
                var w0 = BatchLanes<UInt64>(), w1 = BatchLanes<UInt64>(), w2 = BatchLanes<UInt64>(), w3 = BatchLanes<UInt64>()
                for lane in 0..<PhiloxBatch.width {
                    let (low, high) = u2Words[(index + lane) % u2Words.count]
                    w0[lane] = UInt64(u1Low)
                    w1[lane] = UInt64(u1High)
                    w2[lane] = UInt64(low)
                    w3[lane] = UInt64(high)
                }
                Self.checkNormals((w0, w1, w2, w3))
                index += PhiloxBatch.width
            }
        }
    }

    @Test func fillFloatNormalsMatchesScalar() {
        let stream = RandomStream(seed: 9, purpose: .fastfoodGaussian, substream: 1)
        for (first, count) in [(UInt64(0), 1), (0, 16), (1, 40), (3, 17), (0, 1000)] {
            var output = [Float](repeating: 0, count: count)
            let squaredNorm = output.withUnsafeMutableBufferPointer {
                NormalBatch.fillFloatNormals(stream, first: first, into: $0)
            }
            let expected = (0..<count).map { Float(stream.normal(first + UInt64($0))) }
            #expect(ProjectionReference.bits(output) == ProjectionReference.bits(expected))
            var expectedNorm = 0.0
            for value in expected { expectedNorm += Double(value) * Double(value) }
            #expect(squaredNorm.bitPattern == expectedNorm.bitPattern)
            // With a scale, as RandomStream.fillNormals (theta0's initialisers).
            var scaled = [Float](repeating: 0, count: count)
            scaled.withUnsafeMutableBufferPointer {
                NormalBatch.fillFloatNormals(stream, first: first, scale: (2.0 / 784).squareRoot(), into: $0)
            }
            var expectedScaled = [Float](repeating: 0, count: count)
            expectedScaled.withUnsafeMutableBufferPointer { stream.fillNormals($0, start: first, scale: (2.0 / 784).squareRoot()) }
            #expect(ProjectionReference.bits(scaled) == ProjectionReference.bits(expectedScaled))
        }
    }
}
