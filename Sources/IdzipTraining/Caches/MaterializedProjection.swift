import CIdzipKernels
import IdzipCore

/// A projection held as a float32 matrix M (row-major, D x d), for training, where P is
/// applied at every step: M_ij is entry (i, j) of the wrapped projection rounded to
/// float32 (dense: Float(z_ij * (1 / n_j)), the Gaussian entries with their columns scaled
/// to unit length; other kinds: row i of P e_j as the wrapped projection computes it).
///
/// Products read M instead of regenerating P. They accumulate in float32 (the dense
/// kernels of CIdzipKernels, the same operations on every level) in a fixed order over
/// pieces whose bounds do not depend on the thread count, so results are deterministic
/// and the same for any thread count, but they are not the bits of
/// Formats/idz-v1-projections.md: expansion never uses this cache.
public final class MaterializedProjection: Projection, @unchecked Sendable {
    /// The exact projection M was built from.
    public let wrapped: any Projection
    public var kind: ProjectionKind { wrapped.kind }
    public let rowCount: Int
    public let columnCount: Int
    public let threads: Int
    /// Immutable after `init`.
    private let matrix: UnsafeMutableBufferPointer<Float>

    /// The largest matrix `trainingProjection` materialises: 2 GiB of float32 entries
    /// (D d <= 2^29, e.g. D = 200k with d = 2,500, or D = 1M with d = 500).
    public static let trainingLimitBytes = 1 << 31

    /// Rows per parallel piece of the forward product and of building.
    static let rowPieceLength = 64
    /// Rows per piece of the transposed product.
    static let transposePieceLength = 2048

    /// Bytes of the matrix of a D x d projection (4 D d; Int.max on overflow).
    public static func byteCount(rowCount: Int, columnCount: Int) -> Int {
        let (product, overflow) = rowCount.multipliedReportingOverflow(by: columnCount)
        return overflow || product > Int.max / 4 ? Int.max : product * 4
    }

    /// Builds M from `projection`'s entries (4 D d bytes).
    public init(wrapping projection: any Projection, threads: Int = ParallelLoop.defaultThreads) {
        wrapped = projection
        let D = projection.rowCount
        let d = projection.columnCount
        rowCount = D
        columnCount = d
        self.threads = max(1, threads)
        matrix = .allocate(capacity: max(1, D * d))
        let matrix = self.matrix
        if let rows = projection as? any EntryRowsProjection {
            let pieces = (D + Self.rowPieceLength - 1) / Self.rowPieceLength
            ParallelLoop.forEach(pieces: pieces, threads: self.threads) { piece in
                let start = piece * Self.rowPieceLength
                let end = min(D, start + Self.rowPieceLength)
                rows.fillEntryRows(
                    start..<end, into: UnsafeMutableBufferPointer(start: matrix.baseAddress! + start * d, count: (end - start) * d))
            }
        } else {
            // Column j is P e_j.
            var unit = [Float](repeating: 0, count: d)
            var column = [Float](repeating: 0, count: D)
            for j in 0..<d {
                unit[j] = 1
                unit.withUnsafeBufferPointer { unit in
                    column.withUnsafeMutableBufferPointer { projection.project(unit, rows: 0..<D, into: $0) }
                }
                unit[j] = 0
                for i in 0..<D { matrix[i * d + j] = column[i] }
            }
        }
    }

    deinit { matrix.deallocate() }

    /// Rows `rows` of M v in float32: each row's sum over j of M_ij v_j (32 lanes of j mod
    /// 32 in ascending j, the lanes added pairwise, then the remainder in ascending j; see
    /// idz_dense_project_rows), so each row's result depends only on that row and v.
    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        project(v, rows: rows, into: output, level: nil)
    }

    /// `project` with the dense kernels of `level` (nil: the level in use), for tests.
    package func project(
        _ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>, level: KernelLevel?
    ) {
        precondition(v.count == columnCount && output.count == rows.count, "Materialized project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Materialized project: rows out of range")
        let d = columnCount
        guard d > 0 else {
            for i in 0..<rows.count { output[i] = 0 }
            return
        }
        let matrix = UnsafeBufferPointer(self.matrix)
        let kernelLevel = level?.rawValue ?? idz_kernels_level()
        let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let start = rows.lowerBound + piece * Self.rowPieceLength
            let count = min(rows.upperBound, start + Self.rowPieceLength) - start
            idz_dense_project_rows_at_level(
                kernelLevel, matrix.baseAddress! + start * d, d, count, v.baseAddress!,
                output.baseAddress! + (start - rows.lowerBound))
        }
    }

    /// M^T g: column j is, in Double, the sum over fixed pieces of `transposePieceLength`
    /// rows (in ascending order) of each piece's float32 sum over ascending i of M_ij g_i,
    /// rounded to float. Pieces read whole rows, so the matrix streams from memory in order.
    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        projectTranspose(g, into: output, level: nil)
    }

    /// `projectTranspose` with the dense kernels of `level` (nil: the level in use), for tests.
    package func projectTranspose(
        _ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>, level: KernelLevel?
    ) {
        precondition(g.count == rowCount && output.count == columnCount, "Materialized projectTranspose: wrong sizes")
        let d = columnCount
        let D = rowCount
        guard d > 0 else { return }
        let pieceLength = Self.transposePieceLength
        let pieces = (D + pieceLength - 1) / pieceLength
        let partials = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, pieces * d))
        defer { partials.deallocate() }
        partials.initialize(repeating: 0)
        let matrix = UnsafeBufferPointer(self.matrix)
        let kernelLevel = level?.rawValue ?? idz_kernels_level()
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let rows = (piece * pieceLength)..<min(D, (piece + 1) * pieceLength)
            idz_dense_accumulate_rows_at_level(
                kernelLevel, matrix.baseAddress! + rows.lowerBound * d, d, rows.count, g.baseAddress! + rows.lowerBound,
                partials.baseAddress! + piece * d)
        }
        var total = [Double](repeating: 0, count: d)
        for piece in 0..<pieces {
            let partial = partials.baseAddress! + piece * d
            for j in 0..<d { total[j] += Double(partial[j]) }
        }
        for j in 0..<d { output[j] = Float(total[j]) }
    }
}

/// The projection training uses: `makeProjection`'s (tables cached), except that a dense
/// projection whose float32 matrix fits `MaterializedProjection.trainingLimitBytes`
/// (4 D d <= 2 GiB) is materialised (`MaterializedProjection`; its products are
/// deterministic but not the spec's bits, which only expansion needs).
public func trainingProjection(
    kind: ProjectionKind, rowCount: Int, columnCount: Int, seed: UInt64, threads: Int = ParallelLoop.defaultThreads
) -> any Projection {
    let exact = makeProjection(kind: kind, rowCount: rowCount, columnCount: columnCount, seed: seed, threads: threads)
    guard kind == .dense,
        MaterializedProjection.byteCount(rowCount: rowCount, columnCount: columnCount)
            <= MaterializedProjection.trainingLimitBytes
    else { return exact }
    return MaterializedProjection(wrapping: exact, threads: threads)
}
