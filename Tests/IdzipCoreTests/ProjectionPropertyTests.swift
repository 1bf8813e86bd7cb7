import IdzipCore
import Testing

/// Properties every projection must have: adjointness, unit columns, results that do not
/// depend on threads, caching or the rows asked for.
struct ProjectionPropertyTests {
    /// (kind, D, d): L = 16 divides 64; 128 does not divide 1000; d = 1; d = D; several
    /// sparse chunks at D = 9000.
    static let cases: [(ProjectionKind, Int, Int)] = {
        var cases: [(ProjectionKind, Int, Int)] = []
        for kind in [ProjectionKind.dense, .sparse, .fastfood] {
            for (D, d) in [(1, 1), (37, 1), (64, 16), (1000, 100), (9000, 3), (50, 50), (33, 33)] {
                if kind == .dense && D * d > 20_000 { continue }
                cases.append((kind, D, d))
            }
        }
        cases.append((.identity, 1, 1))
        cases.append((.identity, 50, 50))
        return cases
    }()

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    static func norm(_ a: [Float]) -> Double { dot(a, a).squareRoot() }

    /// <P v, g> == <v, P^T g> to 2e-6 ||v|| ||g|| (float rounding of the products).
    @Test(arguments: cases)
    func adjoint(kind: ProjectionKind, D: Int, d: Int) {
        let projection = makeProjection(kind: kind, rowCount: D, columnCount: d, seed: 21)
        let v = ProjectionReference.vector(count: d, seed: 22)
        let g = ProjectionReference.vector(count: D, seed: 23)
        let left = Self.dot(projection.project(v), g)
        let right = Self.dot(v, projection.projectTranspose(g))
        #expect(abs(left - right) <= 2e-6 * Self.norm(v) * Self.norm(g), "\(left) vs \(right)")
    }

    /// Squared norms of the columns P e_j.
    static func columnSquaredNorms(_ projection: any Projection) -> [Double] {
        (0..<projection.columnCount).map { j in
            var unit = [Float](repeating: 0, count: projection.columnCount)
            unit[j] = 1
            let column = projection.project(unit)
            return dot(column, column)
        }
    }

    @Test(arguments: [(1, 1), (10, 3), (64, 16), (100, 13), (300, 7), (40, 40)])
    func denseAndSparseColumnsAreUnit(D: Int, d: Int) {
        for norm in Self.columnSquaredNorms(DenseProjection(rowCount: D, columnCount: d, seed: 31)) {
            #expect(abs(norm - 1) <= 1e-5)
        }
        let sparse = SparseProjection(rowCount: D, columnCount: d, seed: 32)
        for (j, norm) in Self.columnSquaredNorms(sparse).enumerated() {
            #expect(abs(norm - (sparse.nonzeroCounts[j] > 0 ? 1 : 0)) <= 1e-5)
        }
    }

    /// Exactly unit (up to float rounding) when L divides D.
    @Test(arguments: [(16, 16), (64, 16), (96, 3), (256, 100), (1, 1)])
    func fastfoodColumnsAreUnitWhenLDividesD(D: Int, d: Int) {
        let projection = FastfoodProjection(rowCount: D, columnCount: d, seed: 33)
        #expect(D % projection.blockLength == 0)
        for norm in Self.columnSquaredNorms(projection) {
            #expect(abs(norm - 1) <= 1e-5)
        }
    }

    /// Otherwise a partial last block makes the norms vary around 1.
    @Test func fastfoodColumnsAreUnitOnAverage() {
        let projection = FastfoodProjection(rowCount: 1000, columnCount: 100, seed: 34)
        let norms = Self.columnSquaredNorms(projection)
        let mean = norms.reduce(0, +) / Double(norms.count)
        #expect(abs(mean - 1) <= 0.02, "mean squared column norm \(mean)")
        for norm in norms { #expect(abs(norm - 1) <= 0.1) }
        // Many short blocks, most of them partial in no way, but a large last one missing.
        let uneven = FastfoodProjection(rowCount: 200, columnCount: 100, seed: 35)
        let unevenNorms = Self.columnSquaredNorms(uneven)
        let unevenMean = unevenNorms.reduce(0, +) / Double(unevenNorms.count)
        #expect(abs(unevenMean - 1) <= 0.1, "mean squared column norm \(unevenMean)")
    }

    @Test func sparseNonzerosPerColumnNearSqrtD() {
        for D in [400, 10_000, 40_000] {
            let projection = SparseProjection(rowCount: D, columnCount: 40, seed: 36)
            let mean = Double(projection.nonzeroCounts.reduce(0, +)) / 40
            let expected = Double(D).squareRoot()
            // The count is binomial(D, 1/sqrt(D)): standard deviation about D^(1/4) per column.
            #expect(abs(mean - expected) <= 4 * expected.squareRoot() / 40.0.squareRoot(), "D \(D): mean nnz \(mean)")
        }
    }

    static func makeAll(kind: ProjectionKind, D: Int, d: Int, seed: UInt64, threads: Int) -> [any Projection] {
        switch kind {
        case .identity: [IdentityProjection(rowCount: D, columnCount: d)]
        case .dense: [DenseProjection(rowCount: D, columnCount: d, seed: seed, threads: threads)]
        case .sparse: [
            SparseProjection(rowCount: D, columnCount: d, seed: seed, threads: threads, cacheLimitBytes: 0),
            SparseProjection(rowCount: D, columnCount: d, seed: seed, threads: threads),
        ]
        case .fastfood: [
            FastfoodProjection(rowCount: D, columnCount: d, seed: seed, threads: threads, cachesTables: false),
            FastfoodProjection(rowCount: D, columnCount: d, seed: seed, threads: threads, cachesTables: true),
        ]
        }
    }

    /// Same bits for 1, 2, 3 and 7 threads, cached or not. Shapes with many pieces: dense
    /// row and column pieces, sparse chunks and column pieces, Fastfood blocks and waves.
    @Test(arguments: [
        (ProjectionKind.dense, 130, 70), (.sparse, 5000, 260), (.fastfood, 5000, 100),
        (.fastfood, 4100, 2100), (.fastfood, 5000, 64), (.identity, 100, 100),
    ])
    func threadsAndCachingDoNotChangeBits(kind: ProjectionKind, D: Int, d: Int) {
        let v = ProjectionReference.vector(count: d, seed: 41)
        let g = ProjectionReference.vector(count: D, seed: 42)
        var forward: [UInt32]?
        var transpose: [UInt32]?
        for threads in [1, 2, 3, 7] {
            for projection in Self.makeAll(kind: kind, D: D, d: d, seed: 43, threads: threads) {
                let f = ProjectionReference.bits(projection.project(v))
                let t = ProjectionReference.bits(projection.projectTranspose(g))
                if let forward, let transpose {
                    #expect(f == forward, "forward, \(threads) threads, \(projection)")
                    #expect(t == transpose, "transpose, \(threads) threads, \(projection)")
                } else {
                    forward = f
                    transpose = t
                }
            }
        }
    }

    /// project(rows:) gives the same rows as the full product, across block and chunk edges.
    @Test(arguments: [(ProjectionKind.dense, 300, 20), (.sparse, 9000, 20), (.fastfood, 1000, 100), (.identity, 50, 50)])
    func rowRangesMatchFullProduct(kind: ProjectionKind, D: Int, d: Int) {
        let v = ProjectionReference.vector(count: d, seed: 44)
        for projection in Self.makeAll(kind: kind, D: D, d: d, seed: 45, threads: 2) {
            let full = ProjectionReference.bits(projection.project(v))
            for rows in [0..<D, 0..<1, 0..<0, D - 1..<D, 3..<(D / 2), (D / 3)..<(D - 2), 127..<129, 4095..<4097]
            where rows.upperBound <= D {
                let part = ProjectionReference.bits(projection.project(v, rows: rows))
                #expect(part == Array(full[rows]), "rows \(rows)")
            }
        }
    }

    @Test func factoryMakesEachKind() {
        for kind in ProjectionKind.allCases {
            let d = kind == .identity ? 40 : 7
            let projection = makeProjection(kind: kind, rowCount: 40, columnCount: d, seed: 1)
            #expect(projection.kind == kind)
            #expect(projection.rowCount == 40 && projection.columnCount == d)
        }
        let uncached = makeProjection(kind: .fastfood, rowCount: 40, columnCount: 7, seed: 1, cachesTables: false)
        #expect((uncached as? FastfoodProjection)?.cachesTables == false)
    }
}
