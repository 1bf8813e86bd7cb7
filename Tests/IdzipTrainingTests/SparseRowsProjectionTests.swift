import IdzipCore
import IdzipTraining
import Testing

/// Training's row-compressed copy of the sparse projection: the exact projection's products
/// bit for bit, whatever the thread count.
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

    @Test func theExactProductsBitForBit() {
        for (D, d) in Self.sizes {
            for threads in [1, 2, 3] {
                let exact = SparseProjection(rowCount: D, columnCount: d, seed: 3, threads: 2)
                let rows = Self.rows(D: D, d: d, seed: 3, threads: threads)
                let v = MaterializedProjectionTests.vector(count: d, seed: 4)
                let g = MaterializedProjectionTests.vector(count: D, seed: 5)
                #expect(exact.project(v).map(\.bitPattern) == rows.project(v).map(\.bitPattern), "D \(D) d \(d)")
                #expect(
                    exact.projectTranspose(g).map(\.bitPattern) == rows.projectTranspose(g).map(\.bitPattern), "D \(D) d \(d)")
            }
        }
    }

    @Test func sameBitsWhateverTheThreads() {
        for (D, d) in Self.sizes {
            let v = MaterializedProjectionTests.vector(count: d, seed: 6)
            let g = MaterializedProjectionTests.vector(count: D, seed: 7)
            let results = [1, 2, 3].map { threads in
                let rows = Self.rows(D: D, d: d, seed: 8, threads: threads)
                return (rows.project(v).map(\.bitPattern), rows.projectTranspose(g).map(\.bitPattern))
            }
            #expect(results[0].0 == results[1].0 && results[0].0 == results[2].0, "D \(D) d \(d)")
            #expect(results[0].1 == results[1].1 && results[0].1 == results[2].1, "D \(D) d \(d)")
        }
    }

    /// A part of the rows (training asks for row ranges) equals the same rows of the whole.
    @Test func rowRangesAgreeWithTheWhole() {
        let rows = Self.rows(D: 10_000, d: 50, seed: 2, threads: 2)
        let v = MaterializedProjectionTests.vector(count: 50, seed: 3)
        let whole = rows.project(v)
        var part = [Float](repeating: 0, count: 3000)
        v.withUnsafeBufferPointer { v in part.withUnsafeMutableBufferPointer { rows.project(v, rows: 4000..<7000, into: $0) } }
        #expect(part.map(\.bitPattern) == whole[4000..<7000].map(\.bitPattern))
    }
}
