import IdzipCore
import Testing

/// The projections written out once more, straight from Formats/idz-v1-projections.md,
/// one entry or one butterfly at a time, for comparison with the fast implementations.
enum ProjectionReference {
    /// A deterministic test vector of normals.
    static func vector(count: Int, seed: UInt64) -> [Float] {
        let stream = RandomStream(seed: seed, purpose: .exampleOrder, substream: 77)
        return (0..<count).map { Float(stream.normal(UInt64($0))) }
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// Butterflies in increasing stride order.
    static func walshHadamard(_ input: [Float]) -> [Float] {
        var x = input
        var h = 1
        while h < x.count {
            for i in 0..<x.count where i & h == 0 {
                let a = x[i], b = x[i + h]
                x[i] = a + b
                x[i + h] = a - b
            }
            h *= 2
        }
        return x
    }

    // MARK: Dense

    static func denseEntry(_ i: Int, _ j: Int, d: Int, seed: UInt64) -> Double {
        RandomStream(seed: seed, purpose: .denseProjection, substream: 0).normal(UInt64(i) * UInt64(d) + UInt64(j))
    }

    static func denseNorms(D: Int, d: Int, seed: UInt64) -> [Double] {
        (0..<d).map { j in
            var sum = 0.0
            for i in 0..<D {
                let z = denseEntry(i, j, d: d, seed: seed)
                sum += z * z
            }
            return sum.squareRoot()
        }
    }

    static func denseProject(D: Int, d: Int, seed: UInt64, v: [Float]) -> [Float] {
        let norms = denseNorms(D: D, d: d, seed: seed)
        let w = (0..<d).map { Double(v[$0]) / norms[$0] }
        return (0..<D).map { i in
            var sum = 0.0
            for j in 0..<d { sum += denseEntry(i, j, d: d, seed: seed) * w[j] }
            return Float(sum)
        }
    }

    static func denseTranspose(D: Int, d: Int, seed: UInt64, g: [Float]) -> [Float] {
        let norms = denseNorms(D: D, d: d, seed: seed)
        return (0..<d).map { j in
            var sum = 0.0
            for i in 0..<D { sum += denseEntry(i, j, d: d, seed: seed) * Double(g[i]) }
            return Float(sum / norms[j])
        }
    }

    // MARK: Sparse

    /// Column j's nonzeros as (row, sign), rows ascending.
    static func sparseColumn(_ j: Int, D: Int, seed: UInt64) -> [(row: Int, sign: Double)] {
        let R = 4096
        let stream = RandomStream(seed: seed, purpose: .sparseProjection, substream: UInt32(j))
        let s = 1 / Double(D).squareRoot()
        let logKeep = D > 1 ? PortableMath.log(1 - s) : 0
        var result: [(row: Int, sign: Double)] = []
        var c = 0
        while c * R < D {
            let length = min(R, D - c * R)
            var p = -1
            var k: UInt64 = 0
            while true {
                let words = stream.block(UInt64(c) << 32 | k)
                k += 1
                let u = 1 - RandomStream.unitInterval(UInt64(words.1) << 32 | UInt64(words.0))
                let gap = D == 1 ? 0 : (PortableMath.log(u) / logKeep).rounded(.down)
                if gap >= Double(length) { break }
                p = p + 1 + Int(gap)
                if p >= length { break }
                result.append((c * R + p, words.2 & 1 == 1 ? -1 : 1))
            }
            c += 1
        }
        return result
    }

    static func sparseProject(D: Int, d: Int, seed: UInt64, v: [Float]) -> [Float] {
        var sums = [Double](repeating: 0, count: D)
        for j in 0..<d {
            let column = sparseColumn(j, D: D, seed: seed)
            let scale = column.isEmpty ? 0 : 1 / Double(column.count).squareRoot()
            for (row, sign) in column { sums[row] += sign * (scale * Double(v[j])) }
        }
        return sums.map { Float($0) }
    }

    static func sparseTranspose(D: Int, d: Int, seed: UInt64, g: [Float]) -> [Float] {
        (0..<d).map { j in
            let column = sparseColumn(j, D: D, seed: seed)
            let scale = column.isEmpty ? 0 : 1 / Double(column.count).squareRoot()
            var sum = 0.0
            for (row, sign) in column { sum += sign * Double(g[row]) }
            return Float(sum * scale)
        }
    }

    // MARK: Fastfood

    struct FastfoodBlock {
        var signs: [Float]
        var permutation: [Int]
        var gaussian: [Float]
        var scale: Float
    }

    static func fastfoodLength(d: Int) -> Int {
        var length = 1
        while length < d { length *= 2 }
        return length
    }

    static func fastfoodBlock(_ b: Int, D: Int, L: Int, seed: UInt64) -> FastfoodBlock {
        let signStream = RandomStream(seed: seed, purpose: .fastfoodSigns, substream: UInt32(b))
        let gaussianStream = RandomStream(seed: seed, purpose: .fastfoodGaussian, substream: UInt32(b))
        let gaussian = (0..<L).map { Float(gaussianStream.normal(UInt64($0))) }
        var gg = 0.0
        for value in gaussian { gg += Double(value) * Double(value) }
        return FastfoodBlock(
            signs: (0..<L).map { signStream.sign(UInt64($0)) },
            permutation: RandomStream(seed: seed, purpose: .fastfoodPermutation, substream: UInt32(b))
                .permutation(count: L).map { Int($0) },
            gaussian: gaussian,
            scale: Float(1 / (gg * Double(D)).squareRoot()))
    }

    static func fastfoodProject(D: Int, d: Int, seed: UInt64, v: [Float]) -> [Float] {
        let L = fastfoodLength(d: d)
        var output = [Float](repeating: 0, count: D)
        var b = 0
        while b * L < D {
            let block = fastfoodBlock(b, D: D, L: L, seed: seed)
            var x = (0..<L).map { $0 < d ? v[$0] : Float(0) }
            for k in 0..<L { x[k] *= block.signs[k] }
            x = walshHadamard(x)
            var y = (0..<L).map { block.gaussian[$0] * x[block.permutation[$0]] }
            y = walshHadamard(y)
            for k in 0..<L where b * L + k < D { output[b * L + k] = y[k] * block.scale }
            b += 1
        }
        return output
    }

    static func fastfoodTranspose(D: Int, d: Int, seed: UInt64, g: [Float]) -> [Float] {
        let L = fastfoodLength(d: d)
        var sums = [Double](repeating: 0, count: d)
        var b = 0
        while b * L < D {
            let block = fastfoodBlock(b, D: D, L: L, seed: seed)
            var y = (0..<L).map { b * L + $0 < D ? g[b * L + $0] : Float(0) }
            for k in 0..<L { y[k] *= block.scale }
            y = walshHadamard(y)
            for k in 0..<L { y[k] *= block.gaussian[k] }
            var z = [Float](repeating: 0, count: L)
            for k in 0..<L { z[block.permutation[k]] = y[k] }
            z = walshHadamard(z)
            for k in 0..<L { z[k] *= block.signs[k] }
            for j in 0..<d { sums[j] += Double(z[j]) }
            b += 1
        }
        return sums.map { Float($0) }
    }

    /// P as a D x d matrix of doubles from explicit H, G, Pi, B matrices (row-major).
    static func fastfoodMatrix(D: Int, d: Int, seed: UInt64) -> [[Double]] {
        let L = fastfoodLength(d: d)
        func hadamard(_ i: Int, _ j: Int) -> Double { (i & j).nonzeroBitCount % 2 == 0 ? 1 : -1 }
        func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
            (0..<a.count).map { i in
                (0..<b[0].count).map { j in (0..<b.count).reduce(0.0) { $0 + a[i][$1] * b[$1][j] } }
            }
        }
        let H = (0..<L).map { i in (0..<L).map { j in hadamard(i, j) } }
        var matrix: [[Double]] = []
        var b = 0
        while b * L < D {
            let block = fastfoodBlock(b, D: D, L: L, seed: seed)
            let G = (0..<L).map { i in (0..<L).map { j in i == j ? Double(block.gaussian[i]) : 0 } }
            // (Pi x)[k] = x[Pi[k]]: row k has a one in column Pi[k].
            let Pi = (0..<L).map { i in (0..<L).map { j in j == block.permutation[i] ? 1.0 : 0 } }
            // B restricted to the first d columns (the zero padding).
            let B = (0..<L).map { i in (0..<d).map { j in i == j ? Double(block.signs[i]) : 0 } }
            let product = multiply(H, multiply(G, multiply(Pi, multiply(H, B))))
            for k in 0..<L where b * L + k < D {
                matrix.append(product[k].map { $0 * Double(block.scale) })
            }
            b += 1
        }
        return matrix
    }
}

struct ProjectionReferenceTests {
    static let shapes: [(D: Int, d: Int)] = [(1, 1), (7, 1), (16, 4), (21, 5), (40, 40), (100, 13), (9000, 3)]

    @Test(arguments: shapes)
    func denseMatchesDefinition(D: Int, d: Int) {
        guard D * d <= 2000 else { return }
        let projection = DenseProjection(rowCount: D, columnCount: d, seed: 11)
        let v = ProjectionReference.vector(count: d, seed: 1)
        let g = ProjectionReference.vector(count: D, seed: 2)
        #expect(ProjectionReference.bits(projection.project(v))
            == ProjectionReference.bits(ProjectionReference.denseProject(D: D, d: d, seed: 11, v: v)))
        #expect(ProjectionReference.bits(projection.projectTranspose(g))
            == ProjectionReference.bits(ProjectionReference.denseTranspose(D: D, d: d, seed: 11, g: g)))
    }

    @Test(arguments: shapes)
    func sparseMatchesDefinition(D: Int, d: Int) {
        let v = ProjectionReference.vector(count: d, seed: 3)
        let g = ProjectionReference.vector(count: D, seed: 4)
        let expectedForward = ProjectionReference.bits(ProjectionReference.sparseProject(D: D, d: d, seed: 12, v: v))
        let expectedTranspose = ProjectionReference.bits(ProjectionReference.sparseTranspose(D: D, d: d, seed: 12, g: g))
        for cacheLimit in [0, 1 << 28] {
            let projection = SparseProjection(rowCount: D, columnCount: d, seed: 12, cacheLimitBytes: cacheLimit)
            #expect(projection.cachesNonzeros == (cacheLimit > 0))
            #expect(ProjectionReference.bits(projection.project(v)) == expectedForward)
            #expect(ProjectionReference.bits(projection.projectTranspose(g)) == expectedTranspose)
        }
    }

    @Test(arguments: shapes + [(600, 300), (10000, 5000)])
    func fastfoodMatchesDefinition(D: Int, d: Int) {
        let v = ProjectionReference.vector(count: d, seed: 5)
        let g = ProjectionReference.vector(count: D, seed: 6)
        let expectedForward = ProjectionReference.bits(ProjectionReference.fastfoodProject(D: D, d: d, seed: 13, v: v))
        let expectedTranspose = ProjectionReference.bits(ProjectionReference.fastfoodTranspose(D: D, d: d, seed: 13, g: g))
        for caches in [false, true] {
            let projection = FastfoodProjection(rowCount: D, columnCount: d, seed: 13, cachesTables: caches)
            #expect(ProjectionReference.bits(projection.project(v)) == expectedForward)
            #expect(ProjectionReference.bits(projection.projectTranspose(g)) == expectedTranspose)
        }
    }

    /// Against P built from dense H, G, Pi, B matrices (products in double, so to a tolerance).
    @Test(arguments: [(16, 4), (21, 5), (24, 8), (7, 1), (12, 12)])
    func fastfoodMatchesExplicitMatrix(D: Int, d: Int) {
        let matrix = ProjectionReference.fastfoodMatrix(D: D, d: d, seed: 14)
        let projection = FastfoodProjection(rowCount: D, columnCount: d, seed: 14)
        let v = ProjectionReference.vector(count: d, seed: 7)
        let output = projection.project(v)
        var scale = 0.0
        for i in 0..<D { scale = max(scale, matrix[i].reduce(0) { max($0, abs($1)) }) }
        for i in 0..<D {
            let expected = (0..<d).reduce(0.0) { $0 + matrix[i][$1] * Double(v[$1]) }
            #expect(abs(Double(output[i]) - expected) <= 1e-5 * scale * Double(d), "row \(i)")
        }
        let g = ProjectionReference.vector(count: D, seed: 8)
        let transposed = projection.projectTranspose(g)
        for j in 0..<d {
            let expected = (0..<D).reduce(0.0) { $0 + matrix[$1][j] * Double(g[$1]) }
            #expect(abs(Double(transposed[j]) - expected) <= 1e-5 * scale * Double(D), "column \(j)")
        }
    }

    @Test func walshHadamardMatchesMatrix() {
        for L in [1, 2, 4, 8, 16, 32] {
            let x = ProjectionReference.vector(count: L, seed: UInt64(L))
            var fast = x
            fast.withUnsafeMutableBufferPointer { WalshHadamard.transform($0) }
            for i in 0..<L {
                let expected = (0..<L).reduce(0.0) {
                    $0 + ((i & $1).nonzeroBitCount % 2 == 0 ? 1.0 : -1.0) * Double(x[$1])
                }
                #expect(abs(Double(fast[i]) - expected) <= 1e-5 * Double(L))
            }
        }
    }

    /// The blocked transform gives the bits of the one-butterfly-at-a-time definition,
    /// including lengths past one tile (4096) and past the strip budget.
    @Test(arguments: [1, 2, 4, 8, 16, 32, 64, 128, 1024, 4096, 8192, 16384, 32768, 65536])
    func walshHadamardBitExact(length: Int) {
        let x = ProjectionReference.vector(count: length, seed: 100 + UInt64(length))
        let expected = ProjectionReference.walshHadamard(x)
        var fast = x
        fast.withUnsafeMutableBufferPointer { WalshHadamard.transform($0) }
        var reference = x
        reference.withUnsafeMutableBufferPointer { WalshHadamard.referenceTransform($0) }
        #expect(ProjectionReference.bits(fast) == ProjectionReference.bits(expected))
        #expect(ProjectionReference.bits(reference) == ProjectionReference.bits(expected))
    }
}
