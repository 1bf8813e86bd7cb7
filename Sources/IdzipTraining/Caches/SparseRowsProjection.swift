import CIdzipKernels
import IdzipCore

/// The sparse projection held row-compressed (CSR) in float32, for training, where P is
/// applied at every step: row i's nonzeros in ascending column j, each with the value
/// Float(+-1 / sqrt(nnz_j)) (the entry of Formats/idz-v1-projections.md, "Sparse", rounded
/// to float32).
///
/// `project` sums each row's products in float32 in ascending column order; `projectTranspose`
/// scatters each row's products into a float32 partial sum per fixed piece of
/// `transposePieceLength` rows (rows ascending), and adds the pieces' partials in Double in
/// piece order. Piece bounds do not depend on the thread count, so results are
/// deterministic and the same for any thread count, but they are not the spec's bits
/// (the exact projection sums in Double): expansion never uses this cache.
///
/// Both products stream the 8 bytes per nonzero in row order; the exact cache's transpose
/// walks the nonzeros chunk by chunk for every piece of columns instead.
public final class SparseRowsProjection: Projection, @unchecked Sendable {
    public var kind: ProjectionKind { .sparse }
    public let rowCount: Int
    public let columnCount: Int
    public let threads: Int
    /// Nonzeros of P.
    public let nonzeroCount: Int
    /// Immutable after `init`: row i's nonzeros are offsets[i] ..< offsets[i + 1].
    private let offsets: UnsafeMutableBufferPointer<UInt32>
    private let columns: UnsafeMutableBufferPointer<UInt32>
    private let values: UnsafeMutableBufferPointer<Float>

    /// Rows per parallel piece of the forward product.
    static let rowPieceLength = 8192
    /// Rows per piece (and float32 partial sum) of the transposed product.
    public static let transposePieceLength = 16384

    /// Bytes of the copy of a projection with `nonzeros` nonzeros and D rows (8 per nonzero, 4 per row).
    public static func byteCount(rowCount: Int, nonzeros: Int) -> Int { 8 * nonzeros + 4 * (rowCount + 1) }

    /// Builds the copy from `sparse`'s cached nonzeros; nil when it caches none or has
    /// 2^32 or more nonzeros.
    package init?(wrapping sparse: SparseProjection, threads: Int = ParallelLoop.defaultThreads) {
        guard sparse.cachesNonzeros else { return nil }
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
        offsets = .allocate(capacity: D + 1)
        columns = .allocate(capacity: max(1, total))
        values = .allocate(capacity: max(1, total))
        let offsets = self.offsets, columns = self.columns, values = self.values
        let scales = sparse.columnScales.map { Float($0) }
        offsets[D] = UInt32(total)
        scales.withUnsafeBufferPointer { scales in
            chunkStarts.withUnsafeBufferPointer { chunkStarts in
                ParallelLoop.forEach(pieces: chunkCount, threads: self.threads) { chunk in
                    let firstRow = chunk * chunkLength
                    let rows = min(chunkLength, D - firstRow)
                    _ = sparse.withCachedChunk(chunk) { entryColumns, codes in
                        // Counting sort by position; stable, so each row keeps ascending columns.
                        var next = [Int](repeating: 0, count: rows + 1)
                        for code in codes { next[Int(code >> 1) + 1] += 1 }
                        for r in 0..<rows { next[r + 1] += next[r] }
                        for r in 0..<rows { offsets[firstRow + r] = UInt32(chunkStarts[chunk] + next[r]) }
                        for e in 0..<codes.count {
                            let code = Int(codes[e])
                            let slot = chunkStarts[chunk] + next[code >> 1]
                            next[code >> 1] += 1
                            let column = Int(entryColumns[e])
                            columns[slot] = UInt32(column)
                            values[slot] = code & 1 == 1 ? -scales[column] : scales[column]
                        }
                    }
                }
            }
        }
    }

    deinit {
        offsets.deallocate()
        columns.deallocate()
        values.deallocate()
    }

    /// Rows `rows` of P v: each row's products summed in float32 in ascending column order.
    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == columnCount && output.count == rows.count, "Sparse rows project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Sparse rows project: rows out of range")
        guard !rows.isEmpty else { return }
        let offsets = UnsafeBufferPointer(self.offsets), columns = UnsafeBufferPointer(self.columns)
        let values = UnsafeBufferPointer(self.values)
        let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let start = rows.lowerBound + piece * Self.rowPieceLength
            let count = min(rows.upperBound, start + Self.rowPieceLength) - start
            idz_sparse_project_rows(
                offsets.baseAddress!, columns.baseAddress!, values.baseAddress!, start, count, v.baseAddress!,
                output.baseAddress! + (start - rows.lowerBound))
        }
    }

    /// P^T g: column j is, in Double, the sum over fixed pieces of `transposePieceLength`
    /// rows (ascending) of each piece's float32 sum of its rows' products (rows ascending),
    /// rounded to float.
    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(g.count == rowCount && output.count == columnCount, "Sparse rows projectTranspose: wrong sizes")
        let d = columnCount, D = rowCount
        let pieceLength = Self.transposePieceLength
        let pieces = (D + pieceLength - 1) / pieceLength
        let partials = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, pieces * d))
        defer { partials.deallocate() }
        let offsets = UnsafeBufferPointer(self.offsets), columns = UnsafeBufferPointer(self.columns)
        let values = UnsafeBufferPointer(self.values)
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let first = piece * pieceLength
            let partial = partials.baseAddress! + piece * d
            partial.initialize(repeating: 0, count: d)
            idz_sparse_accumulate_rows(
                offsets.baseAddress!, columns.baseAddress!, values.baseAddress!, first, min(D, first + pieceLength) - first,
                g.baseAddress! + first, partial)
        }
        // Columns in parallel, pieces in order.
        let columnPiece = 1024
        ParallelLoop.forEach(pieces: (d + columnPiece - 1) / columnPiece, threads: threads) { block in
            for j in (block * columnPiece)..<min(d, (block + 1) * columnPiece) {
                var total = 0.0
                for piece in 0..<pieces { total += Double(partials[piece * d + j]) }
                output[j] = Float(total)
            }
        }
    }
}
