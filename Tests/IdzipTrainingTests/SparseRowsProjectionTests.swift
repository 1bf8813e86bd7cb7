import IdzipCore
import IdzipTraining
import Testing

/// Training's row-compressed copy of the sparse projection: the entries of the exact
/// projection bit for bit, the exact products to float rounding, the documented float32
/// summation order, and the same bits whatever the thread count.
struct SparseRowsProjectionTests {
    /// Sizes over one and several 4096-row chunks and 16384-row transpose pieces.
    static let sizes = [(D: 1, d: 1), (D: 37, d: 5), (D: 1000, d: 37), (D: 4100, d: 71), (D: 40_000, d: 300)]

    static func rows(D: Int, d: Int, seed: UInt64, threads: Int) -> SparseRowsProjection {
        let projection = trainingProjection(kind: .sparse, rowCount: D, columnCount: d, seed: seed, threads: threads)
        #expect(projection is SparseRowsProjection)
        return projection as! SparseRowsProjection
    }

    @Test func entriesAreTheExactOnes() {
        for (D, d) in Self.sizes where D <= 4100 {
            let exact = SparseProjection(rowCount: D, columnCount: d, seed: 3, threads: 1)
            let rows = Self.rows(D: D, d: d, seed: 3, threads: 2)
            #expect(rows.nonzeroCount == exact.nonzeroCounts.reduce(0, +))
            for j in 0..<d {
                var unit = [Float](repeating: 0, count: d)
                unit[j] = 1
                #expect(
                    exact.project(unit).map(\.bitPattern) == rows.project(unit).map(\.bitPattern), "D \(D) d \(d) column \(j)")
            }
        }
    }

    @Test func closeToTheExactProducts() {
        for (D, d) in Self.sizes {
            let exact = SparseProjection(rowCount: D, columnCount: d, seed: 3, threads: 2)
            let rows = Self.rows(D: D, d: d, seed: 3, threads: 2)
            let v = MaterializedProjectionTests.vector(count: d, seed: 4)
            let g = MaterializedProjectionTests.vector(count: D, seed: 5)
            for (a, b) in zip(exact.project(v), rows.project(v)) {
                #expect(abs(a - b) <= 1e-5 * max(1, abs(a)), "D \(D) d \(d): \(a) vs \(b)")
            }
            for (a, b) in zip(exact.projectTranspose(g), rows.projectTranspose(g)) {
                #expect(abs(a - b) <= 1e-4 * max(1, abs(a)), "D \(D) d \(d): \(a) vs \(b)")
            }
        }
    }

    /// The products follow the documented order, recomputed here from the exact entries:
    /// forward, each row's +-Float(v_j scale_j) added in float32 in ascending column; transpose,
    /// float32 sums per 16384-row piece, added in Double in piece order, times scale_j.
    /// Both loops (over rows, over nonzeros) are checked, at a size with few nonzeros a row
    /// (1.5) and one with many (16).
    @Test(arguments: [(D: 40_000, d: 300), (D: 3000, d: 876)], [false, true])
    func documentedSummationOrder(size: (D: Int, d: Int), loopsOverNonzeros: Bool) throws {
        let (D, d) = size
        let exact = SparseProjection(rowCount: D, columnCount: d, seed: 11, threads: 2)
        let rows = try #require(SparseRowsProjection(wrapping: exact, threads: 2, loopsOverNonzeros: loopsOverNonzeros))
        #expect(rows.loopsOverNonzeros == loopsOverNonzeros)
        #expect(Self.rows(D: D, d: d, seed: 11, threads: 1).loopsOverNonzeros == (D == 40_000))
        // Column j's nonzero rows and signs, from the exact projection's entries.
        var negative = [[Bool]](repeating: [], count: D)
        var columnsOfRow = [[Int]](repeating: [], count: D)
        for j in 0..<d {
            var unit = [Float](repeating: 0, count: d)
            unit[j] = 1
            for (i, entry) in exact.project(unit).enumerated() where entry != 0 {
                columnsOfRow[i].append(j)
                negative[i].append(entry < 0)
            }
        }
        let v = MaterializedProjectionTests.vector(count: d, seed: 12)
        let g = MaterializedProjectionTests.vector(count: D, seed: 13)
        let weights = (0..<d).map { Float(Double(v[$0]) * exact.columnScales[$0]) }
        var forward = [Float](repeating: 0, count: D)
        for i in 0..<D {
            var sum: Float = 0
            for (k, j) in columnsOfRow[i].enumerated() { sum += negative[i][k] ? -weights[j] : weights[j] }
            forward[i] = sum
        }
        #expect(rows.project(v).map(\.bitPattern) == forward.map(\.bitPattern))
        let pieceLength = SparseRowsProjection.transposePieceLength
        var totals = [Double](repeating: 0, count: d)
        for first in stride(from: 0, to: D, by: pieceLength) {
            var partial = [Float](repeating: 0, count: d)
            for i in first..<min(D, first + pieceLength) {
                for (k, j) in columnsOfRow[i].enumerated() { partial[j] += negative[i][k] ? -g[i] : g[i] }
            }
            for j in 0..<d { totals[j] += Double(partial[j]) }
        }
        let transpose = (0..<d).map { Float(totals[$0] * exact.columnScales[$0]) }
        #expect(rows.projectTranspose(g).map(\.bitPattern) == transpose.map(\.bitPattern))
    }

    @Test(arguments: [false, true])
    func sameBitsWhateverTheThreads(loopsOverNonzeros: Bool) {
        for (D, d) in Self.sizes {
            let v = MaterializedProjectionTests.vector(count: d, seed: 6)
            let g = MaterializedProjectionTests.vector(count: D, seed: 7)
            let results = [1, 2, 3].map { threads in
                let rows = SparseRowsProjection(
                    wrapping: SparseProjection(rowCount: D, columnCount: d, seed: 8, threads: threads), threads: threads,
                    loopsOverNonzeros: loopsOverNonzeros)!
                return (rows.project(v).map(\.bitPattern), rows.projectTranspose(g).map(\.bitPattern))
            }
            #expect(results[0].0 == results[1].0 && results[0].0 == results[2].0, "D \(D) d \(d)")
            #expect(results[0].1 == results[1].1 && results[0].1 == results[2].1, "D \(D) d \(d)")
        }
    }

    /// A part of the rows (training asks for row ranges) equals the same rows of the whole,
    /// also across a 65,536-row boundary of the row bits.
    @Test(arguments: [false, true])
    func rowRangesAgreeWithTheWhole(loopsOverNonzeros: Bool) {
        let rows = SparseRowsProjection(
            wrapping: SparseProjection(rowCount: 140_000, columnCount: 50, seed: 2, threads: 2), threads: 2,
            loopsOverNonzeros: loopsOverNonzeros)!
        let v = MaterializedProjectionTests.vector(count: 50, seed: 3)
        let whole = rows.project(v)
        for range in [4000..<7000, 60_000..<75_000, 131_000..<140_000] {
            var part = [Float](repeating: 0, count: range.count)
            v.withUnsafeBufferPointer { v in part.withUnsafeMutableBufferPointer { rows.project(v, rows: range, into: $0) } }
            #expect(part.map(\.bitPattern) == whole[range].map(\.bitPattern), "\(range)")
        }
    }

    /// theta0 + P v written in one pass (each piece adds theta0 to the rows it wrote, as
    /// `Reparameterization` asks for) has the bits of `project` followed by the addition,
    /// for both loops, 1-3 threads and row ranges across pieces and the row bits' wrap.
    @Test(arguments: [false, true])
    func addingTheta0InThePiecesIsTheTwoPassSum(loopsOverNonzeros: Bool) {
        let D = 140_000, d = 50
        let v = MaterializedProjectionTests.vector(count: d, seed: 3)
        let theta0 = MaterializedProjectionTests.vector(count: D, seed: 4).map { $0 * 0.05 }
        for threads in [1, 2, 3] {
            let rows = SparseRowsProjection(
                wrapping: SparseProjection(rowCount: D, columnCount: d, seed: 2, threads: threads), threads: threads,
                loopsOverNonzeros: loopsOverNonzeros)!
            let expected = zip(rows.project(v), theta0).map { ($0 + $1).bitPattern }
            let reparameterization = Reparameterization(theta0: .values(theta0), projection: rows)
            #expect(reparameterization.theta(v, threads: threads).map(\.bitPattern) == expected, "\(threads) threads")
            for range in [0..<1, 4000..<7000, 60_000..<75_000, 131_000..<140_000] {
                var part = [Float](repeating: .nan, count: range.count)
                v.withUnsafeBufferPointer { v in
                    part.withUnsafeMutableBufferPointer {
                        reparameterization.write(thetaD: v, rows: range, into: $0, threads: threads)
                    }
                }
                #expect(part.map(\.bitPattern) == Array(expected[range]), "\(range), \(threads) threads")
            }
        }
    }

    /// Over the exact cache's limit the exact projection (which regenerates) is used.
    @Test func uncachedSparseStaysExact() {
        let exact = SparseProjection(rowCount: 500, columnCount: 7, seed: 1, threads: 1, cacheLimitBytes: 0)
        #expect(SparseRowsProjection(wrapping: exact) == nil)
    }
}
