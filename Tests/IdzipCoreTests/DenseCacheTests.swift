import IdzipCore
import Testing

/// The materialised dense matrix (training's cache): the same products as the exact
/// regenerating path to float rounding, and the same bits whatever the thread count.
struct DenseCacheTests {
    static let sizes = [(D: 1, d: 1), (D: 37, d: 5), (D: 1000, d: 37), (D: 513, d: 129), (D: 300, d: 300), (D: 4100, d: 71)]

    static func cached(D: Int, d: Int, seed: UInt64, threads: Int) -> DenseProjection {
        let projection = DenseProjection(
            rowCount: D, columnCount: d, seed: seed, threads: threads, cacheLimitBytes: DenseProjection.defaultCacheLimitBytes)
        #expect(projection.cachesMatrix)
        return projection
    }

    @Test func closeToTheExactProducts() {
        for (D, d) in Self.sizes {
            let exact = DenseProjection(rowCount: D, columnCount: d, seed: 3)
            #expect(!exact.cachesMatrix)
            let cached = Self.cached(D: D, d: d, seed: 3, threads: 2)
            let v = ProjectionReference.vector(count: d, seed: 4)
            let g = ProjectionReference.vector(count: D, seed: 5)
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
            let v = ProjectionReference.vector(count: d, seed: 10)
            let g = ProjectionReference.vector(count: D, seed: 11)
            for (expected, actual) in [(exact.project(v), cached.project(v)), (exact.projectTranspose(g), cached.projectTranspose(g))] {
                let scale = expected.map { abs($0) }.max() ?? 0
                let error = zip(expected, actual).map { abs($0 - $1) }.max() ?? 0
                #expect(error <= 1e-4 * scale, "D \(D) d \(d): largest error \(error), largest output \(scale)")
            }
        }
    }

    @Test func sameBitsWhateverTheThreads() {
        for (D, d) in Self.sizes {
            let v = ProjectionReference.vector(count: d, seed: 6)
            let g = ProjectionReference.vector(count: D, seed: 7)
            let results = [1, 2, 3].map { threads in
                let projection = Self.cached(D: D, d: d, seed: 8, threads: threads)
                let rows = (D / 3)..<D
                return (
                    ProjectionReference.bits(projection.project(v)),
                    ProjectionReference.bits(projection.project(v, rows: rows)),
                    ProjectionReference.bits(projection.projectTranspose(g)))
            }
            for result in results.dropFirst() {
                #expect(result.0 == results[0].0 && result.1 == results[0].1 && result.2 == results[0].2, "D \(D) d \(d)")
            }
            #expect(results[0].1 == Array(results[0].0[(D / 3)..<D]), "row ranges agree with the whole product")
        }
    }

    @Test func cacheLimitDecides() {
        let bytes = DenseProjection.matrixByteCount(rowCount: 100, columnCount: 10)
        #expect(bytes == 4000)
        #expect(DenseProjection(rowCount: 100, columnCount: 10, seed: 1, cacheLimitBytes: bytes).cachesMatrix)
        #expect(!DenseProjection(rowCount: 100, columnCount: 10, seed: 1, cacheLimitBytes: bytes - 1).cachesMatrix)
        #expect((makeProjection(kind: .dense, rowCount: 100, columnCount: 10, seed: 1) as? DenseProjection)?.cachesMatrix == true)
        let forExpansion = makeProjection(kind: .dense, rowCount: 100, columnCount: 10, seed: 1, cachesTables: false)
        #expect((forExpansion as? DenseProjection)?.cachesMatrix == false)
        #expect(DenseProjection.matrixByteCount(rowCount: 60_000_000, columnCount: 600_000) > DenseProjection.defaultCacheLimitBytes)
    }
}
