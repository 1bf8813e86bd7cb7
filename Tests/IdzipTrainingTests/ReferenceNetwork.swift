import Foundation
import IdzipCore

/// A plain float64 forward pass, one example at a time in NCHW order, written from the
/// layer definitions with no shared code: the yardstick for the fast kernels.
enum ReferenceNetwork {
    static func logits(_ architecture: Architecture, theta: [Double], input: [Double]) throws -> [Double] {
        let tensors = try architecture.parameterTensors()
        var shape = architecture.inputShape
        var x = input
        var tensorIndex = 0
        for layer in architecture.layers {
            switch layer {
            case .dense(let units):
                let inputs = shape[0]
                let w = tensors[tensorIndex].offset, b = tensors[tensorIndex + 1].offset
                tensorIndex += 2
                x = (0..<units).map { o in
                    var sum = theta[b + o]
                    for i in 0..<inputs { sum += theta[w + o * inputs + i] * x[i] }
                    return sum
                }
                shape = [units]
            case .conv2d(let filters, let k, let padding):
                let (c, h, wd) = (shape[0], shape[1], shape[2])
                let pad = padding == .same ? (k - 1) / 2 : 0
                let oh = h + 2 * pad - k + 1, ow = wd + 2 * pad - k + 1
                let w = tensors[tensorIndex].offset, b = tensors[tensorIndex + 1].offset
                tensorIndex += 2
                var y = [Double](repeating: 0, count: filters * oh * ow)
                for f in 0..<filters {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var sum = theta[b + f]
                            for ch in 0..<c {
                                for ki in 0..<k {
                                    for kj in 0..<k {
                                        let iy = oy + ki - pad, ix = ox + kj - pad
                                        guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                        sum += theta[w + ((f * c + ch) * k + ki) * k + kj] * x[(ch * h + iy) * wd + ix]
                                    }
                                }
                            }
                            y[(f * oh + oy) * ow + ox] = sum
                        }
                    }
                }
                x = y
                shape = [filters, oh, ow]
            case .maxPool(let size):
                let (c, h, wd) = (shape[0], shape[1], shape[2])
                let oh = h / size, ow = wd / size
                var y = [Double](repeating: 0, count: c * oh * ow)
                for ch in 0..<c {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var best = -Double.infinity
                            for dy in 0..<size {
                                for dx in 0..<size { best = max(best, x[(ch * h + oy * size + dy) * wd + ox * size + dx]) }
                            }
                            y[(ch * oh + oy) * ow + ox] = best
                        }
                    }
                }
                x = y
                shape = [c, oh, ow]
            case .relu:
                x = x.map { max($0, 0) }
            case .flatten:
                shape = [x.count]
            case .toyGroupSum:
                fatalError("not a data network")
            case .convolution, .batchNorm, .averagePool, .globalAveragePool, .add, .dropout, .activation:
                fatalError("layer type \(layer.typeName) is not in this sequential reference")
            }
        }
        return x
    }

    /// Mean cross-entropy over examples (rows of `inputs`).
    static func loss(_ architecture: Architecture, theta: [Double], inputs: [[Double]], labels: [Int]) throws -> Double {
        var total = 0.0
        for (input, label) in zip(inputs, labels) {
            let z = try logits(architecture, theta: theta, input: input)
            let largest = z.max()!
            let logSum = log(z.reduce(0) { $0 + exp($1 - largest) }) + largest
            total += logSum - z[label]
        }
        return total / Double(inputs.count)
    }
}

/// A projection given by an explicit row-major D x d matrix, for tests.
struct MatrixProjection: Projection {
    let rowCount: Int
    let columnCount: Int
    let matrix: [Float]
    var kind: ProjectionKind { .dense }

    init(rows: Int, columns: Int, seed: UInt64) {
        rowCount = rows
        columnCount = columns
        // Uniform entries of variance 1 / rows from a cheap xorshift generator (test only).
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let limit = Float((3.0 / Double(rows)).squareRoot())
        matrix = (0..<(rows * columns)).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * limit
        }
    }

    func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        matrix.withUnsafeBufferPointer { matrix in
            Gemm.multiply(
                transposeA: false, transposeB: false, m: rows.count, n: 1, k: columnCount,
                a: matrix.baseAddress! + rows.lowerBound * columnCount, lda: columnCount, b: v.baseAddress!, ldb: 1,
                beta: 0, c: output.baseAddress!, ldc: 1)
        }
    }

    func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        matrix.withUnsafeBufferPointer { matrix in
            Gemm.multiply(
                transposeA: true, transposeB: false, m: columnCount, n: 1, k: rowCount,
                a: matrix.baseAddress!, lda: columnCount, b: g.baseAddress!, ldb: 1,
                beta: 0, c: output.baseAddress!, ldc: 1)
        }
    }
}

/// Deterministic test numbers.
enum TestData {
    static func uniform(_ count: Int, seed: UInt64, scale: Double = 1) -> [Float] {
        let stream = RandomStream(seed: seed, purpose: .exampleOrder, substream: 999)
        return (0..<count).map { Float((2 * stream.uniformDouble(UInt64($0)) - 1) * scale) }
    }

    static func labels(_ count: Int, classes: Int, seed: UInt64) -> [Int32] {
        let stream = RandomStream(seed: seed, purpose: .labelShuffle, substream: 999)
        return (0..<count).map { Int32(stream.integer(UInt64($0), below: UInt64(classes))) }
    }

    /// theta0 with nonzero biases, so bias paths are exercised.
    static func theta(_ architecture: Architecture, seed: UInt64) throws -> [Float] {
        var theta = InitialWeights.make(tensors: try architecture.parameterTensors(), seed: seed)
        let noise = uniform(theta.count, seed: seed &+ 1, scale: 0.1)
        for i in theta.indices { theta[i] += noise[i] }
        return theta
    }
}
