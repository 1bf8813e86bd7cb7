import IdzipCore
import IdzipTraining
import Testing

/// The materialised projection (training's float32 copy of P): the same products as the
/// exact regenerating path to float rounding, and the same bits whatever the thread count
/// and kernel level.
struct MaterializedProjectionTests {
    static let sizes = [(D: 1, d: 1), (D: 37, d: 5), (D: 1000, d: 37), (D: 513, d: 129), (D: 300, d: 300), (D: 4100, d: 71)]

    /// A deterministic test vector of normals.
    static func vector(count: Int, seed: UInt64) -> [Float] {
        let stream = RandomStream(seed: seed, purpose: .exampleOrder, substream: 77)
        return (0..<count).map { Float(stream.normal(UInt64($0))) }
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    static func cached(D: Int, d: Int, seed: UInt64, threads: Int) -> MaterializedProjection {
        let projection = trainingProjection(kind: .dense, rowCount: D, columnCount: d, seed: seed, threads: threads)
        #expect(projection is MaterializedProjection)
        return projection as! MaterializedProjection
    }

    @Test func closeToTheExactProducts() {
        for (D, d) in Self.sizes {
            let exact = DenseProjection(rowCount: D, columnCount: d, seed: 3)
            let cached = Self.cached(D: D, d: d, seed: 3, threads: 2)
            let v = Self.vector(count: d, seed: 4)
            let g = Self.vector(count: D, seed: 5)
            for (a, b) in zip(exact.project(v), cached.project(v)) {
                #expect(abs(a - b) <= 1e-5 * max(1, abs(a)), "D \(D) d \(d): \(a) vs \(b)")
            }
            for (a, b) in zip(exact.projectTranspose(g), cached.projectTranspose(g)) {
                #expect(abs(a - b) <= 1e-5 * max(1, abs(a)), "D \(D) d \(d): \(a) vs \(b)")
            }
        }
    }

    /// Float32 sums over many rows (the transpose) or columns (the forward product) stay
    /// within 1e-4 of the largest exact output.
    @Test func closeToTheExactProductsWhenLarge() {
        for (D, d) in [(D: 200_000, d: 12), (D: 3000, d: 2500)] {
            let exact = DenseProjection(rowCount: D, columnCount: d, seed: 9)
            let cached = Self.cached(D: D, d: d, seed: 9, threads: 2)
            let v = Self.vector(count: d, seed: 10)
            let g = Self.vector(count: D, seed: 11)
            for (expected, actual) in [(exact.project(v), cached.project(v)), (exact.projectTranspose(g), cached.projectTranspose(g))] {
                let scale = expected.map { abs($0) }.max() ?? 0
                let error = zip(expected, actual).map { abs($0 - $1) }.max() ?? 0
                #expect(error <= 1e-4 * scale, "D \(D) d \(d): largest error \(error), largest output \(scale)")
            }
        }
    }

    @Test func sameBitsWhateverTheThreads() {
        for (D, d) in Self.sizes {
            let v = Self.vector(count: d, seed: 6)
            let g = Self.vector(count: D, seed: 7)
            let results = [1, 2, 3].map { threads in
                let projection = Self.cached(D: D, d: d, seed: 8, threads: threads)
                let rows = (D / 3)..<D
                return (
                    Self.bits(projection.project(v)),
                    Self.bits(projection.project(v, rows: rows)),
                    Self.bits(projection.projectTranspose(g)))
            }
            for result in results.dropFirst() {
                #expect(result.0 == results[0].0 && result.1 == results[0].1 && result.2 == results[0].2, "D \(D) d \(d)")
            }
            #expect(results[0].1 == Array(results[0].0[(D / 3)..<D]), "row ranges agree with the whole product")
        }
    }

    /// The dense kernels give the same bits on every level this processor supports.
    @Test func sameBitsOnEveryLevel() {
        for (D, d) in Self.sizes + [(D: 2100, d: 33)] {
            let projection = Self.cached(D: D, d: d, seed: 12, threads: 2)
            let v = Self.vector(count: d, seed: 13)
            let g = Self.vector(count: D, seed: 14)
            let results = KernelLevel.supported.map { level in
                var output = [Float](repeating: 0, count: D)
                var transposed = [Float](repeating: 0, count: d)
                v.withUnsafeBufferPointer { v in
                    output.withUnsafeMutableBufferPointer { projection.project(v, rows: 0..<D, into: $0, level: level) }
                }
                g.withUnsafeBufferPointer { g in
                    transposed.withUnsafeMutableBufferPointer { projection.projectTranspose(g, into: $0, level: level) }
                }
                return (Self.bits(output), Self.bits(transposed))
            }
            #expect(results.count == KernelLevel.supported.count)
            for (level, result) in zip(KernelLevel.supported, results).dropFirst() {
                #expect(result.0 == results[0].0 && result.1 == results[0].1, "D \(D) d \(d) level \(level)")
            }
        }
    }

    /// Column j of the matrix is P e_j as the exact projection computes it, for every kind
    /// (dense through its entry rows, the others through their products).
    @Test(arguments: [ProjectionKind.dense, .sparse, .fastfood])
    func entriesAreTheExactColumns(kind: ProjectionKind) {
        let (D, d) = (300, 7)
        let exact = makeProjection(kind: kind, rowCount: D, columnCount: d, seed: 15, threads: 2)
        let materialized = MaterializedProjection(wrapping: exact, threads: 3)
        #expect(materialized.kind == kind && materialized.rowCount == D && materialized.columnCount == d)
        for j in 0..<d {
            var unit = [Float](repeating: 0, count: d)
            unit[j] = 1
            #expect(materialized.project(unit) == exact.project(unit), "\(kind.name) column \(j)")
        }
    }

    @Test func trainingMaterialisesDenseUnderTheLimit() {
        #expect(MaterializedProjection.byteCount(rowCount: 100, columnCount: 10) == 4000)
        #expect(MaterializedProjection.trainingLimitBytes == 1 << 31)
        #expect(trainingProjection(kind: .dense, rowCount: 100, columnCount: 10, seed: 1) is MaterializedProjection)
        for kind in [ProjectionKind.sparse, .fastfood] {
            #expect(!(trainingProjection(kind: kind, rowCount: 100, columnCount: 10, seed: 1) is MaterializedProjection))
        }
        // makeProjection is exact-only.
        #expect(makeProjection(kind: .dense, rowCount: 100, columnCount: 10, seed: 1) is DenseProjection)
        #expect(
            MaterializedProjection.byteCount(rowCount: 60_000_000, columnCount: 600_000) > MaterializedProjection.trainingLimitBytes)
        #expect(MaterializedProjection.byteCount(rowCount: Int.max, columnCount: 2) == Int.max)
    }
}
