import IdzipCore
import Testing

/// Every instruction-set level of the bulk random kernels (CIdzipKernels, random/) gives exactly
/// the scalar reference's words, normals, permutations, theta0 and expanded weights.
/// Serialized because the level is process-wide (other suites running meanwhile still
/// pass: every level gives the same bits).
@Suite(.serialized)
struct RandomKernelTests {
    /// Runs `body` once for each level this processor supports, then restores the default.
    static func forEachLevel(_ body: (KernelLevel) -> Void) {
        defer { KernelLevel.force(nil) }
        var seen: Set<KernelLevel> = []
        for wanted in KernelLevel.allCases {
            let level = KernelLevel.force(wanted)
            guard seen.insert(level).inserted else { continue }
            body(level)
        }
        #expect(seen.contains(.portable))
    }

    @Test func blocksMatchScalar() {
        Self.forEachLevel { level in
            for (seed, purpose, substream, first, count) in [
                (UInt64(0), StreamPurpose.fastfoodSigns, UInt32(0), UInt64(0), 1),
                (0xDEAD_BEEF_0123_4567, .fastfoodPermutation, 0xFFFF_FFFF, 0xFFFF_FFFC, 37),
                (42, .sparseProjection, 7, UInt64.max - 20, 20),
            ] {
                let stream = RandomStream(seed: seed, purpose: purpose, substream: substream)
                var words = [UInt32](repeating: 0, count: 4 * count)
                words.withUnsafeMutableBufferPointer { RandomKernels.blocks(stream, first: first, into: $0) }
                for i in 0..<count {
                    let expected = stream.block(first + UInt64(i))
                    #expect(
                        words[(4 * i)..<(4 * i + 4)] == [expected.0, expected.1, expected.2, expected.3][...],
                        "\(level) block \(i)")
                }
            }
        }
    }

    @Test func normalsMatchScalar() {
        let stream = RandomStream(seed: 0x1234_5678_9ABC_DEF0, purpose: .theta0, substream: 3)
        let cases: [(first: UInt64, count: Int)] = [
            (0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (0, 31), (1, 32), (3, 33), (0, 64), (7, 65), (1, 1001),
            (1 << 40 + 1, 97),
        ]
        Self.forEachLevel { level in
            for (first, count) in cases {
                for scale in [1.0, (2.0 / 784).squareRoot()] {
                    var output = [Float](repeating: .nan, count: count)
                    let squaredNorm = output.withUnsafeMutableBufferPointer {
                        NormalBatch.fillFloatNormals(stream, first: first, scale: scale, into: $0)
                    }
                    let expected = (0..<count).map { Float(stream.normal(first + UInt64($0)) * scale) }
                    #expect(output.map(\.bitPattern) == expected.map(\.bitPattern), "\(level) first \(first) count \(count)")
                    var expectedNorm = 0.0
                    for value in expected { expectedNorm += Double(value) * Double(value) }
                    #expect(squaredNorm.bitPattern == expectedNorm.bitPattern, "\(level) first \(first) count \(count)")
                    var filled = [Float](repeating: .nan, count: count)
                    filled.withUnsafeMutableBufferPointer { stream.fillNormals($0, start: first, scale: scale) }
                    #expect(filled.map(\.bitPattern) == expected.map(\.bitPattern), "\(level) fillNormals")
                }
            }
        }
    }

    @Test func permutationsMatchScalar() {
        Self.forEachLevel { level in
            for count in [0, 1, 2, 3, 5, 64, 65, 100, 129, 255, 256, 257, 258, 513, 1023, 1024, 1025, 4097] {
                let stream = RandomStream(seed: 99, purpose: .fastfoodPermutation, substream: UInt32(count))
                var output = [UInt32](repeating: 0, count: count)
                output.withUnsafeMutableBufferPointer { RandomKernels.permutation(stream, into: $0) }
                #expect(output == stream.permutation(count: count), "\(level) count \(count)")
            }
        }
    }

    /// theta0 of every normal initialiser (and the others, which do not use the kernels),
    /// from odd element ranges.
    @Test func initialWeightsMatchScalar() {
        let tensors = [
            TensorSpec(name: "a", shape: [7, 13], initScheme: .heNormal, fanIn: 13, fanOut: 7, offset: 0),
            TensorSpec(name: "b", shape: [7], initScheme: .zeros, fanIn: 13, fanOut: 7, offset: 91),
            TensorSpec(name: "c", shape: [129], initScheme: .lecunNormal, fanIn: 5, fanOut: 3, offset: 98),
            TensorSpec(name: "d", shape: [33], initScheme: .standardNormal, fanIn: 1, fanOut: 1, offset: 227),
            TensorSpec(name: "e", shape: [10], initScheme: .glorotUniform, fanIn: 4, fanOut: 6, offset: 260),
            TensorSpec(name: "f", shape: [5], initScheme: .ones, fanIn: 1, fanOut: 1, offset: 270),
        ]
        let seed: UInt64 = 77
        var expected: [Float] = []
        for (index, tensor) in tensors.enumerated() {
            let stream = RandomStream(seed: seed, purpose: .theta0, substream: UInt32(index))
            for k in 0..<tensor.count {
                switch tensor.initScheme {
                case .zeros: expected.append(0)
                case .ones: expected.append(1)
                case .heNormal: expected.append(Float(stream.normal(UInt64(k)) * (2.0 / Double(tensor.fanIn)).squareRoot()))
                case .lecunNormal: expected.append(Float(stream.normal(UInt64(k)) * (1.0 / Double(tensor.fanIn)).squareRoot()))
                case .standardNormal: expected.append(Float(stream.normal(UInt64(k))))
                case .glorotUniform:
                    let limit = (6.0 / Double(tensor.fanIn + tensor.fanOut)).squareRoot()
                    expected.append(Float((2 * stream.uniformDouble(UInt64(k)) - 1) * limit))
                }
            }
        }
        Self.forEachLevel { level in
            let theta0 = InitialWeights.make(tensors: tensors, seed: seed)
            #expect(theta0.map(\.bitPattern) == expected.map(\.bitPattern), "\(level)")
            // An odd slice of the first tensor.
            var slice = [Float](repeating: .nan, count: 50)
            slice.withUnsafeMutableBufferPointer {
                InitialWeights.fill($0, tensor: tensors[0], tensorIndex: 0, elements: 11..<61, seed: seed)
            }
            #expect(slice.map(\.bitPattern) == expected[11..<61].map(\.bitPattern), "\(level) slice")
        }
    }

    /// Whole expansions of an odd-sized model against the scalar reference, in one chunk
    /// and in many (the pipelined path), for 1, 2 and 3 threads and every level.
    @Test(arguments: [ProjectionKind.fastfood, .dense, .sparse])
    func expansionsMatchReference(kind: ProjectionKind) {
        let tensors = [
            TensorSpec(name: "w1", shape: [37, 61], initScheme: .heNormal, fanIn: 61, fanOut: 37, offset: 0),
            TensorSpec(name: "b1", shape: [37], initScheme: .zeros, fanIn: 61, fanOut: 37, offset: 2257),
            TensorSpec(name: "w2", shape: [9, 37], initScheme: .heNormal, fanIn: 37, fanOut: 9, offset: 2294),
        ]
        let D = 2294 + 333
        let d = 45
        let seed: UInt64 = 0xABCD
        let thetaD = ProjectionReference.vector(count: d, seed: 5)
        let theta0 = Self.scalarTheta0(tensors, seed: 31)
        let projected = switch kind {
        case .fastfood: ProjectionReference.fastfoodProject(D: D, d: d, seed: seed, v: thetaD)
        case .dense: ProjectionReference.denseProject(D: D, d: d, seed: seed, v: thetaD)
        default: ProjectionReference.sparseProject(D: D, d: d, seed: seed, v: thetaD)
        }
        let expected = (0..<D).map { theta0[$0] + projected[$0] }
        Self.forEachLevel { level in
            for threads in [1, 2, 3] {
                let projection = makeProjection(
                    kind: kind, rowCount: D, columnCount: d, seed: seed, threads: threads, cachesTables: false)
                for chunkSize in [1 << 20, 100, 1] {
                    var expander = WeightExpander(tensors: tensors, theta0Seed: 31, projection: projection, thetaD: thetaD)
                    expander.chunkSize = chunkSize
                    let theta = expander.expandAll()
                    #expect(
                        theta.map(\.bitPattern) == expected.map(\.bitPattern),
                        "\(kind.name) \(level) threads \(threads) chunk \(chunkSize)")
                }
            }
        }
    }

    static func scalarTheta0(_ tensors: [TensorSpec], seed: UInt64) -> [Float] {
        var theta: [Float] = []
        for (index, tensor) in tensors.enumerated() {
            let stream = RandomStream(seed: seed, purpose: .theta0, substream: UInt32(index))
            let std = (2.0 / Double(tensor.fanIn)).squareRoot()
            for k in 0..<tensor.count {
                theta.append(tensor.initScheme == .zeros ? 0 : Float(stream.normal(UInt64(k)) * std))
            }
        }
        return theta
    }
}
