import IdzipCore
import Testing

/// NormalBatch (whole Box-Muller pairs in the C kernels, odd ends scalar) gives exactly
/// the scalar normals. The kernels themselves are checked on every level, against the
/// scalar RandomStream, by RandomKernelTests.
struct NormalBatchTests {
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
            _ = scaled.withUnsafeMutableBufferPointer {
                NormalBatch.fillFloatNormals(stream, first: first, scale: (2.0 / 784).squareRoot(), into: $0)
            }
            var expectedScaled = [Float](repeating: 0, count: count)
            expectedScaled.withUnsafeMutableBufferPointer { stream.fillNormals($0, start: first, scale: (2.0 / 784).squareRoot()) }
            #expect(ProjectionReference.bits(scaled) == ProjectionReference.bits(expectedScaled))
        }
    }
}
