/// A dense projection held as a float32 matrix, for training, where P is applied at every
/// step: M_ij = Float(z_ij * (1 / n_j)) (the Gaussian entries with their columns scaled to
/// unit length), row-major, D x d.
///
/// Products read M instead of regenerating D x d normals. They accumulate in Double in a
/// fixed order (each output is summed by one thread, over fixed pieces), so results are
/// deterministic and do not depend on the thread count, but they are not the bits of
/// Formats/idz-v1-projections.md (which sums z_ij * (v_j / n_j) with z_ij in Double):
/// expansion never uses this cache.
final class DenseMatrixCache: @unchecked Sendable {
    let rowCount: Int
    let columnCount: Int
    /// Immutable after `init`.
    private let matrix: UnsafeMutableBufferPointer<Float>

    /// Rows per parallel piece of the forward product and of building.
    static let rowPieceLength = 64
    /// Columns per parallel piece of the final sums of the transposed product.
    static let columnPieceLength = 1024

    static func byteCount(rowCount: Int, columnCount: Int) -> Int {
        let (product, overflow) = rowCount.multipliedReportingOverflow(by: columnCount)
        return overflow || product > Int.max / 4 ? Int.max : product * 4
    }

    /// Builds M from the stream's normals and the column norms n_j.
    init(stream: RandomStream, rowCount: Int, columnCount: Int, columnNorms: [Double], threads: Int) {
        self.rowCount = rowCount
        self.columnCount = columnCount
        matrix = .allocate(capacity: max(1, rowCount * columnCount))
        let d = columnCount
        let reciprocals = columnNorms.map { 1 / $0 }
        let matrix = self.matrix
        reciprocals.withUnsafeBufferPointer { reciprocals in
            let pieces = (rowCount + Self.rowPieceLength - 1) / Self.rowPieceLength
            ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
                let entries = UnsafeMutableBufferPointer<Double>.allocate(capacity: d)
                defer { entries.deallocate() }
                let start = piece * Self.rowPieceLength
                for i in start..<min(rowCount, start + Self.rowPieceLength) {
                    DenseProjection.fillEntries(stream, row: i, columnCount: d, columns: 0..<d, into: entries)
                    let row = matrix.baseAddress! + i * d
                    for j in 0..<d { row[j] = Float(entries[j] * reciprocals[j]) }
                }
            }
        }
    }

    deinit { matrix.deallocate() }

    /// Rows `rows` of M v: each the Double sum over j of M_ij v_j (eight lanes of j
    /// mod 8, then the lanes and the remainder in a fixed order), rounded to float.
    func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>, threads: Int) {
        let d = columnCount
        let wide = [Double](v.map { Double($0) })
        let matrix = UnsafeBufferPointer(self.matrix)
        wide.withUnsafeBufferPointer { wide in
            let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
            ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
                let start = rows.lowerBound + piece * Self.rowPieceLength
                for i in start..<min(rows.upperBound, start + Self.rowPieceLength) {
                    output[i - rows.lowerBound] = Float(Self.dot(matrix.baseAddress! + i * d, wide.baseAddress!, count: d))
                }
            }
        }
    }

    /// M^T g: column j is, in Double, the sum over fixed pieces of `transposePieceLength`
    /// rows (in ascending order) of each piece's sum over ascending i of M_ij g_i, rounded
    /// to float. Pieces read whole rows, so the matrix streams from memory in order.
    func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>, threads: Int) {
        let d = columnCount
        let D = rowCount
        let pieceLength = Self.transposePieceLength
        let pieces = (D + pieceLength - 1) / pieceLength
        let partials = UnsafeMutableBufferPointer<Double>.allocate(capacity: pieces * d)
        defer { partials.deallocate() }
        partials.initialize(repeating: 0)
        let matrix = UnsafeBufferPointer(self.matrix)
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let rows = (piece * pieceLength)..<min(D, (piece + 1) * pieceLength)
            Self.accumulateRows(
                matrix.baseAddress!, columnCount: d, rows: rows, g: g.baseAddress!,
                into: partials.baseAddress! + piece * d)
        }
        let totalPieces = (d + Self.columnPieceLength - 1) / Self.columnPieceLength
        ParallelLoop.forEach(pieces: totalPieces, threads: threads) { columnPiece in
            let columns = (columnPiece * Self.columnPieceLength)..<min(d, (columnPiece + 1) * Self.columnPieceLength)
            for j in columns {
                var total = 0.0
                for piece in 0..<pieces { total += partials[piece * d + j] }
                output[j] = Float(total)
            }
        }
    }

    /// Rows per piece of the transposed product.
    static let transposePieceLength = 2048

    /// sums[j] += Double(M_ij) g_i for i in `rows` ascending, j in 0 ..< d (four rows per
    /// pass over the sums).
    static func accumulateRows(
        _ matrix: UnsafePointer<Float>, columnCount d: Int, rows: Range<Int>, g: UnsafePointer<Float>,
        into sums: UnsafeMutablePointer<Double>
    ) {
        let vectorWidth = d & ~7
        let sumBase = UnsafeMutableRawPointer(sums)
        var i = rows.lowerBound
        while i + 4 <= rows.upperBound {
            let g0 = Double(g[i]), g1 = Double(g[i + 1]), g2 = Double(g[i + 2]), g3 = Double(g[i + 3])
            let row0 = UnsafeRawPointer(matrix + i * d), row1 = UnsafeRawPointer(matrix + (i + 1) * d)
            let row2 = UnsafeRawPointer(matrix + (i + 2) * d), row3 = UnsafeRawPointer(matrix + (i + 3) * d)
            var k = 0
            while k < vectorWidth {
                var sum = sumBase.loadUnaligned(fromByteOffset: 8 * k, as: SIMD8<Double>.self)
                sum += SIMD8<Double>(row0.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)) * g0
                sum += SIMD8<Double>(row1.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)) * g1
                sum += SIMD8<Double>(row2.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)) * g2
                sum += SIMD8<Double>(row3.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)) * g3
                sumBase.storeBytes(of: sum, toByteOffset: 8 * k, as: SIMD8<Double>.self)
                k += 8
            }
            for rowOffset in 0..<4 {
                let gi = Double(g[i + rowOffset])
                let row = matrix + (i + rowOffset) * d
                for column in vectorWidth..<d { sums[column] += Double(row[column]) * gi }
            }
            i += 4
        }
        while i < rows.upperBound {
            let gi = Double(g[i])
            let row = matrix + i * d
            for column in 0..<d { sums[column] += Double(row[column]) * gi }
            i += 1
        }
    }

    /// sum_j Double(a_j) b_j: lanes j mod 8 summed in ascending j, then lanes 0...7 in
    /// order, then the remaining entries in ascending j.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Double>, count: Int) -> Double {
        let vectorCount = count & ~7
        var lanes = SIMD8<Double>()
        let rawA = UnsafeRawPointer(a)
        let rawB = UnsafeRawPointer(b)
        var j = 0
        while j < vectorCount {
            let entries = SIMD8<Double>(rawA.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self))
            lanes += entries * rawB.loadUnaligned(fromByteOffset: 8 * j, as: SIMD8<Double>.self)
            j += 8
        }
        var sum = 0.0
        for lane in 0..<8 { sum += lanes[lane] }
        while j < count {
            sum += Double(a[j]) * b[j]
            j += 1
        }
        return sum
    }
}
