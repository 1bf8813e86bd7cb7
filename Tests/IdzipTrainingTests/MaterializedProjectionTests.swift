import CIdzipKernels
import IdzipCore
import IdzipTraining
import Testing

/// The materialised projection (training's copy of P, binary16 for training, float32 on
/// request): the same products as the exact regenerating path to the entries' rounding, and
/// the same bits whatever the thread count and kernel level.
struct MaterializedProjectionTests {
    static let storages: [MaterializedProjection.Storage] = [.float16, .float32]

    /// Largest error allowed relative to the largest exact output: float32 sums of float32
    /// entries, or of binary16 entries (unit roundoff 2^-11, errors of random sign).
    static func tolerance(_ storage: MaterializedProjection.Storage) -> Float { storage == .float32 ? 1e-5 : 2e-3 }

    static let sizes = [(D: 1, d: 1), (D: 37, d: 5), (D: 1000, d: 37), (D: 513, d: 129), (D: 300, d: 300), (D: 4100, d: 71)]

    /// A deterministic test vector of normals.
    static func vector(count: Int, seed: UInt64) -> [Float] {
        let stream = RandomStream(seed: seed, purpose: .exampleOrder, substream: 77)
        return (0..<count).map { Float(stream.normal(UInt64($0))) }
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// Training's copy (`storage` .float16, through `trainingProjection`) or the float32 one.
    static func cached(
        D: Int, d: Int, seed: UInt64, threads: Int, storage: MaterializedProjection.Storage = .float16
    ) -> MaterializedProjection {
        guard storage == .float16 else {
            return MaterializedProjection(wrapping: DenseProjection(rowCount: D, columnCount: d, seed: seed, threads: threads), threads: threads)
        }
        let projection = trainingProjection(kind: .dense, rowCount: D, columnCount: d, seed: seed, threads: threads)
        #expect((projection as? MaterializedProjection)?.storage == .float16)
        return projection as! MaterializedProjection
    }

    @Test(arguments: storages)
    func closeToTheExactProducts(storage: MaterializedProjection.Storage) {
        for (D, d) in Self.sizes {
            let exact = DenseProjection(rowCount: D, columnCount: d, seed: 3)
            let cached = Self.cached(D: D, d: d, seed: 3, threads: 2, storage: storage)
            let v = Self.vector(count: d, seed: 4)
            let g = Self.vector(count: D, seed: 5)
            for (expected, actual) in [(exact.project(v), cached.project(v)), (exact.projectTranspose(g), cached.projectTranspose(g))] {
                let scale = max(1, expected.map { abs($0) }.max() ?? 0)
                for (a, b) in zip(expected, actual) {
                    #expect(abs(a - b) <= Self.tolerance(storage) * scale, "D \(D) d \(d) \(storage): \(a) vs \(b)")
                }
            }
        }
    }

    /// Float32 sums over many rows (the transpose) or columns (the forward product) stay
    /// within the tolerance of the largest exact output (float32: 1e-4).
    @Test(arguments: storages)
    func closeToTheExactProductsWhenLarge(storage: MaterializedProjection.Storage) {
        for (D, d) in [(D: 200_000, d: 12), (D: 3000, d: 2500)] {
            let exact = DenseProjection(rowCount: D, columnCount: d, seed: 9)
            let cached = Self.cached(D: D, d: d, seed: 9, threads: 2, storage: storage)
            let v = Self.vector(count: d, seed: 10)
            let g = Self.vector(count: D, seed: 11)
            for (expected, actual) in [(exact.project(v), cached.project(v)), (exact.projectTranspose(g), cached.projectTranspose(g))] {
                let scale = expected.map { abs($0) }.max() ?? 0
                let error = zip(expected, actual).map { abs($0 - $1) }.max() ?? 0
                #expect(error <= max(1e-4, Self.tolerance(storage)) * scale, "D \(D) d \(d): largest error \(error), largest output \(scale)")
            }
        }
    }

    /// The binary16 copy's products are those of its documented form, recomputed here:
    /// forward, w_j = Float(Double(v_j) / n_j) against the widened entries with the float32
    /// kernels' lane order; entry (i, j) is z_ij rounded to binary16.
    @Test func halvesAreTheRoundedGaussians() {
        let (D, d) = (300, 40)
        let exact = DenseProjection(rowCount: D, columnCount: d, seed: 21, threads: 1)
        let halves = Self.cached(D: D, d: d, seed: 21, threads: 2)
        // Column j alone: Float(1 / n_j) times each widened entry (one product, then + 0s).
        for j in [0, 17, 39] {
            var unit = [Float](repeating: 0, count: d)
            unit[j] = 1
            let weight = Float(1 / exact.columnNorms[j])
            let column = halves.project(unit)
            var normals = [Double](repeating: 0, count: d)
            for i in 0..<D {
                normals.withUnsafeMutableBufferPointer { exact.fillNormalRow(i, into: $0) }
                let widened = Float(Float16(bitPattern: MaterializedProjection.binary16Bits(normals[j])))
                #expect(column[i] == widened * weight, "row \(i) column \(j)")
                #expect(abs(Double(widened) - normals[j]) <= abs(normals[j]) * 0x1p-11 + 0x1p-25, "row \(i) column \(j)")
            }
        }
    }

    /// The kernels widen every finite binary16 value exactly (to Float(Float16)), on every
    /// level: row 0 of an 8-row matrix holds all 63,488 of them, rows 1-7 zeros, g = e_0.
    @Test func kernelsWidenEveryHalfExactly() {
        let finite = (0...UInt16.max).filter { ($0 >> 10) & 0x1F != 0x1F }
        #expect(finite.count == 63_488)
        var matrix = [UInt16](repeating: 0, count: 8 * finite.count)
        for (j, bits) in finite.enumerated() { matrix[j] = bits }
        let g: [Float] = [1, 0, 0, 0, 0, 0, 0, 0]
        for level in KernelLevel.supported {
            var sums = [Float](repeating: 0, count: finite.count)
            idz_dense_accumulate_half_rows_at_level(level.rawValue, matrix, finite.count, 8, g, &sums)
            // 0 + h + 0 * ...: -0 becomes +0, every other value is its exact widening.
            let wrong = zip(finite, sums).filter { bits, sum in sum.bitPattern != (Float(Float16(bitPattern: bits)) + 0).bitPattern }
            #expect(wrong.isEmpty, "level \(level): \(wrong.count) values, first \(wrong.first.map { String($0.0, radix: 16) } ?? "")")
            #expect(idz_half_to_float_scalar(0x3555) == Float(Float16(bitPattern: 0x3555)))
        }
    }

    /// binary16Bits rounds to nearest, ties to even, as Float16's own conversion does.
    @Test func binary16Rounding() {
        let cases: [(Double, UInt16)] = [
            (0, 0), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (0x1p-24, 0x0001), (0x1p-14, 0x0400),
            (1.0 / 3, 0x3555), (1 + 0x1p-11, 0x3C00), (1 + 0x1p-11 + 0x1p-30, 0x3C01), (1 + 3 * 0x1p-11, 0x3C02),
            (0x1p-25, 0), (0x1p-25 + 0x1p-40, 1), (0x1.ffcp-15, 0x0400), (2047.5, 0x6800), (2046.5, 0x67FE), (6.5, 0x4680),
        ]
        for (value, bits) in cases { #expect(MaterializedProjection.binary16Bits(value) == bits, "\(value)") }
        let stream = RandomStream(seed: 3, purpose: .exampleOrder, substream: 5)
        for n in 0..<20_000 {
            let x = stream.normal(UInt64(n)) * (n % 3 == 0 ? 1e-4 : 3)
            #expect(MaterializedProjection.binary16Bits(x) == Float16(x).bitPattern, "\(x)")
        }
    }

    @Test(arguments: storages)
    func sameBitsWhateverTheThreads(storage: MaterializedProjection.Storage) {
        for (D, d) in Self.sizes {
            let v = Self.vector(count: d, seed: 6)
            let g = Self.vector(count: D, seed: 7)
            let results = [1, 2, 3].map { threads in
                let projection = Self.cached(D: D, d: d, seed: 8, threads: threads, storage: storage)
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
    @Test(arguments: storages)
    func sameBitsOnEveryLevel(storage: MaterializedProjection.Storage) {
        for (D, d) in Self.sizes + [(D: 2100, d: 33)] {
            let projection = Self.cached(D: D, d: d, seed: 12, threads: 2, storage: storage)
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
        #expect(MaterializedProjection.byteCount(rowCount: 100, columnCount: 10, storage: .float16) == 2000)
        #expect(MaterializedProjection.trainingLimitBytes == 1 << 31)
        #expect(MaterializedProjection.trainingStorage == .float16)
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
