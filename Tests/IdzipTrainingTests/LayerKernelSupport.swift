import IdzipCore
import Testing

/// Helpers of the layer-kernel tests (batch norm, strided convolution, pooling, add,
/// dropout, activations): layouts, pointers and central finite differences.
enum KernelCheck {
    /// Logical [batch][C][plane] numbers in `layout`.
    static func arrange(_ logical: [Float], channels: Int, planeSize: Int, batch: Int, layout: ActivationLayout) -> [Float] {
        var result = [Float](repeating: .nan, count: logical.count)
        for example in 0..<batch {
            for channel in 0..<channels {
                let target = layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                for p in 0..<planeSize { result[target + p] = logical[(example * channels + channel) * planeSize + p] }
            }
        }
        return result
    }

    /// The inverse of `arrange`: numbers in `layout` back to logical [batch][C][plane].
    static func logical<T>(_ values: [T], channels: Int, planeSize: Int, batch: Int, layout: ActivationLayout) -> [T] {
        var result = values
        for example in 0..<batch {
            for channel in 0..<channels {
                let source = layout.planeOffset(channel: channel, example: example, channels: channels, batch: batch, planeSize: planeSize)
                for p in 0..<planeSize { result[(example * channels + channel) * planeSize + p] = values[source + p] }
            }
        }
        return result
    }

    /// Central differences of `f` in every coordinate of `x`.
    static func numericGradient(_ x: [Double], epsilon: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
        var point = x
        return x.indices.map { k in
            point[k] = x[k] + epsilon
            let plus = f(point)
            point[k] = x[k] - epsilon
            let minus = f(point)
            point[k] = x[k]
            return (plus - minus) / (2 * epsilon)
        }
    }

    /// Central differences of `f` in the coordinates `indices` of `x` only.
    static func numericGradient(_ x: [Double], at indices: [Int], epsilon: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
        var point = x
        return indices.map { k in
            point[k] = x[k] + epsilon
            let plus = f(point)
            point[k] = x[k] - epsilon
            let minus = f(point)
            point[k] = x[k]
            return (plus - minus) / (2 * epsilon)
        }
    }

    /// `count` indices in 0..<bound from a fixed stream, plus the first and the last.
    static func sample(_ count: Int, below bound: Int, seed: UInt64) -> [Int] {
        let stream = RandomStream(seed: seed, purpose: .subsetSelection, substream: 998)
        return [0, bound - 1] + (0..<count).map { Int(stream.integer(UInt64($0), below: UInt64(bound))) }
    }

    /// |analytic - expected| <= absolute + relative |expected| for every number.
    static func expectClose(
        _ analytic: [Float], _ expected: [Double], absolute: Double = 2e-5, relative: Double = 2e-3, _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(analytic.count == expected.count, "\(label): count", sourceLocation: sourceLocation)
        var failures = 0
        for (k, (a, e)) in zip(analytic, expected).enumerated() where !(abs(Double(a) - e) <= absolute + relative * abs(e)) {
            failures += 1
            if failures <= 5 {
                Issue.record("\(label)[\(k)]: \(a) against \(e)", sourceLocation: sourceLocation)
            }
        }
        #expect(failures == 0, "\(label): \(failures) numbers outside the tolerance", sourceLocation: sourceLocation)
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Bit patterns, for thread-count comparisons.
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
}

/// A float32 buffer for calling the kernels on raw pointers; NaN-filled when made by size,
/// so numbers a kernel should write but does not show up.
final class FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: .nan, count: max(1, count))
        for (k, value) in values.enumerated() { pointer[k] = value }
    }

    convenience init(count: Int) { self.init([Float](repeating: .nan, count: count)) }

    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    var doubles: [Double] { array.map(Double.init) }

    deinit { pointer.deallocate() }
}
