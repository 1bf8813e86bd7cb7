import CDenseKernels

/// A dense projection held as a float32 matrix, for training, where P is applied at every
/// step: M_ij = Float(z_ij * (1 / n_j)) (the Gaussian entries with their columns scaled to
/// unit length), row-major, D x d.
///
/// Products read M instead of regenerating D x d normals. They accumulate in float32
/// (CDenseKernels, the same operations on every instruction set) in a fixed order over
/// pieces whose bounds do not depend on the thread count, so results are deterministic
/// and the same for any thread count, but they are not the bits of
/// Formats/idz-v1-projections.md (which sums z_ij * (v_j / n_j) with z_ij in Double):
/// expansion never uses this cache.
final class DenseMatrixCache: @unchecked Sendable {
    let rowCount: Int
    let columnCount: Int
    /// Immutable after `init`.
    private let matrix: UnsafeMutableBufferPointer<Float>

    /// Rows per parallel piece of the forward product and of building.
    static let rowPieceLength = 64

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

    /// Rows `rows` of M v in float32: each row's sum over j of M_ij v_j (32 lanes of j mod
    /// 32 in ascending j, the lanes added pairwise, then the remainder in ascending j; see
    /// CDenseKernels), so each row's result depends only on that row and v.
    func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>, threads: Int) {
        let d = columnCount
        guard d > 0 else {
            for i in 0..<rows.count { output[i] = 0 }
            return
        }
        let matrix = UnsafeBufferPointer(self.matrix)
        let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let start = rows.lowerBound + piece * Self.rowPieceLength
            let count = min(rows.upperBound, start + Self.rowPieceLength) - start
            idz_dense_project_rows(
                matrix.baseAddress! + start * d, d, count, v.baseAddress!,
                output.baseAddress! + (start - rows.lowerBound))
        }
    }

    /// M^T g: column j is, in Double, the sum over fixed pieces of `transposePieceLength`
    /// rows (in ascending order) of each piece's float32 sum over ascending i of M_ij g_i,
    /// rounded to float. Pieces read whole rows, so the matrix streams from memory in order.
    func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>, threads: Int) {
        let d = columnCount
        let D = rowCount
        guard d > 0 else { return }
        let pieceLength = Self.transposePieceLength
        let pieces = (D + pieceLength - 1) / pieceLength
        let partials = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, pieces * d))
        defer { partials.deallocate() }
        partials.initialize(repeating: 0)
        let matrix = UnsafeBufferPointer(self.matrix)
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let rows = (piece * pieceLength)..<min(D, (piece + 1) * pieceLength)
            idz_dense_accumulate_rows(
                matrix.baseAddress! + rows.lowerBound * d, d, rows.count, g.baseAddress! + rows.lowerBound,
                partials.baseAddress! + piece * d)
        }
        var total = [Double](repeating: 0, count: d)
        for piece in 0..<pieces {
            let partial = partials.baseAddress! + piece * d
            for j in 0..<d { total[j] += Double(partial[j]) }
        }
        for j in 0..<d { output[j] = Float(total[j]) }
    }

    /// Rows per piece of the transposed product.
    static let transposePieceLength = 2048
}
