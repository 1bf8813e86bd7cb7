import CIdzipKernels
import IdzipCore

/// The sparse projection's cached nonzeros held row-compressed (CSR), for training, where
/// P is applied at every step: row i's nonzeros in ascending column j, 4 bytes each
/// (j * 2, plus 1 for a negative sign), plus 4 bytes per row.
///
/// The products add the same double terms in the same order as `SparseProjection`'s
/// (Formats/idz-v1-projections.md, "Sparse"): `project` sums each row's +-w_j
/// (w_j = Double(v_j) / sqrt(nnz_j)) in ascending j; `projectTranspose` sums each column's
/// +-Double(g_i) in ascending i, then scales. So they give the spec's bits, for any thread
/// count. The forward product streams the rows in order with no scatter (the exact one
/// scatters each chunk's nonzeros into a chunk of sums); the transpose is the exact
/// projection's own. Memory: the exact cache (6 bytes a nonzero) plus this copy (4 bytes
/// a nonzero, 4 a row).
public final class SparseRowsProjection: Projection, @unchecked Sendable {
    public var kind: ProjectionKind { .sparse }
    public let rowCount: Int
    public let columnCount: Int
    public let threads: Int
    /// Nonzeros of P.
    public let nonzeroCount: Int
    /// 1 / sqrt(nnz_j), or 0 for an empty column (the exact projection's).
    let columnScales: [Double]
    /// The exact projection, whose cached nonzeros the transpose uses.
    let exact: SparseProjection
    /// Immutable after `init`: row i's nonzeros are offsets[i] ..< offsets[i + 1].
    private let offsets: UnsafeMutableBufferPointer<UInt32>
    private let codes: UnsafeMutableBufferPointer<UInt32>

    /// Rows per parallel piece of the forward product.
    static let rowPieceLength = 4096

    /// Bytes of the copy (4 per nonzero, 4 per row).
    public static func byteCount(rowCount: Int, nonzeros: Int) -> Int { 4 * nonzeros + 4 * (rowCount + 1) }

    /// Builds the copy from `sparse`'s cached nonzeros; nil when it caches none, or has
    /// 2^32 or more nonzeros, or d >= 2^31.
    package init?(wrapping sparse: SparseProjection, threads: Int = ParallelLoop.defaultThreads) {
        guard sparse.cachesNonzeros, sparse.columnCount < 1 << 31 else { return nil }
        let D = sparse.rowCount
        let chunkLength = sparse.rowAlignment  // the walk's chunk length
        let chunkCount = sparse.chunkCount
        // Each chunk's first nonzero in the row-ordered arrays.
        var chunkStarts = [Int](repeating: 0, count: chunkCount + 1)
        for chunk in 0..<chunkCount {
            chunkStarts[chunk + 1] = chunkStarts[chunk] + (sparse.withCachedChunk(chunk) { columns, _ in columns.count } ?? 0)
        }
        let total = chunkStarts[chunkCount]
        guard total < Int(UInt32.max) else { return nil }
        rowCount = D
        columnCount = sparse.columnCount
        self.threads = max(1, threads)
        nonzeroCount = total
        columnScales = sparse.columnScales
        exact = sparse
        offsets = .allocate(capacity: D + 1)
        codes = .allocate(capacity: max(1, total))
        let offsets = self.offsets, codes = self.codes
        offsets[D] = UInt32(total)
        chunkStarts.withUnsafeBufferPointer { chunkStarts in
            ParallelLoop.forEach(pieces: chunkCount, threads: self.threads) { chunk in
                let firstRow = chunk * chunkLength
                let rows = min(chunkLength, D - firstRow)
                _ = sparse.withCachedChunk(chunk) { entryColumns, entryCodes in
                    // Counting sort by position; stable, so each row keeps ascending columns.
                    var next = [Int](repeating: 0, count: rows + 1)
                    for code in entryCodes { next[Int(code >> 1) + 1] += 1 }
                    for r in 0..<rows { next[r + 1] += next[r] }
                    for r in 0..<rows { offsets[firstRow + r] = UInt32(chunkStarts[chunk] + next[r]) }
                    for e in 0..<entryCodes.count {
                        let code = Int(entryCodes[e])
                        let slot = chunkStarts[chunk] + next[code >> 1]
                        next[code >> 1] += 1
                        codes[slot] = entryColumns[e] << 1 | UInt32(code & 1)
                    }
                }
            }
        }
    }

    deinit {
        offsets.deallocate()
        codes.deallocate()
    }

    /// Rows `rows` of P v, the exact projection's bits.
    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == columnCount && output.count == rows.count, "Sparse rows project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Sparse rows project: rows out of range")
        guard !rows.isEmpty else { return }
        // w_j = scale_j * v_j in double, as SparseProjection computes it.
        var weights = [Double](repeating: 0, count: columnCount)
        for j in 0..<columnCount { weights[j] = columnScales[j] * Double(v[j]) }
        let offsets = UnsafeBufferPointer(self.offsets), codes = UnsafeBufferPointer(self.codes)
        let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
        weights.withUnsafeBufferPointer { weights in
            ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
                let start = rows.lowerBound + piece * Self.rowPieceLength
                let count = min(rows.upperBound, start + Self.rowPieceLength) - start
                idz_sparse_project_rows(
                    offsets.baseAddress!, codes.baseAddress!, weights.baseAddress!, start, count,
                    output.baseAddress! + (start - rows.lowerBound))
            }
        }
    }

    /// P^T g: the wrapped projection's own chunked transpose (its cached nonzeros, 64
    /// columns a piece). Streaming the row-compressed copy once per column range gives the
    /// same bits but was slower here: with one range per thread the work cannot be shared
    /// when a thread is descheduled, and more ranges each read every nonzero again.
    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        exact.projectTranspose(g, into: output)
    }
}
