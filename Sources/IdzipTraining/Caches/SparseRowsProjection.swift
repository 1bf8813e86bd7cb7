import CIdzipKernels
import IdzipCore

/// The sparse projection held row-compressed (CSR) for training, where P is applied at
/// every step: rows ascending, each row's nonzeros in ascending column, 6 bytes each (a code:
/// the column in bits 0-30, bit 31 set for a negative sign; and the low 16 bits of the row),
/// so both products stream the nonzeros once, in memory order. Column j's scale
/// 1 / sqrt(nnz_j) (Formats/idz-v1-projections.md, "Sparse") is applied outside the nonzeros.
/// With few nonzeros a row (training's shapes: d / sqrt(D) of them on average), the products
/// run as one loop over the nonzeros, using the row bits, instead of a loop per row (whose
/// short, varying trip counts cost more than the additions); both loops add the same terms
/// in the same order.
///
/// - `project`: w_j = Float(Double(v_j) * scale_j); row i is the float32 sum of its +-w_j in
///   ascending column order, starting at 0.
/// - `projectTranspose`: for each fixed piece of `transposePieceLength` rows, a float32 sum
///   per column of +-g_i over the piece's rows ascending; column j is then, in Double, the
///   pieces' sums added in piece order, times scale_j, rounded to Float.
///
/// Piece bounds do not depend on the thread count, so results are deterministic and the same
/// for any thread count, but they are not the spec's bits (the exact projection sums in
/// Double in another order): expansion never uses this cache. Sources: Li, Hastie, Church
/// 2006 (the projection); Li et al. 2018, Sec. 2 (training in the subspace).
public final class SparseRowsProjection: BaseAddingProjection, @unchecked Sendable {
    public var kind: ProjectionKind { .sparse }
    public var rowAlignment: Int { 1 }
    public let rowCount: Int
    public let columnCount: Int
    public let threads: Int
    /// Nonzeros of P.
    public let nonzeroCount: Int
    /// Immutable after `init`: row i's nonzeros are offsets[i] ..< offsets[i + 1].
    private let offsets: UnsafeMutableBufferPointer<UInt32>
    /// Column | (negative ? 1 << 31 : 0), row by row.
    private let codes: UnsafeMutableBufferPointer<UInt32>
    /// The low 16 bits of each nonzero's row.
    private let rowBits: UnsafeMutableBufferPointer<UInt16>
    /// Whether the products loop over the nonzeros (rows hold fewer than
    /// `flatNonzerosPerRow` on average) rather than over the rows.
    public let loopsOverNonzeros: Bool
    /// scale_j = 1 / sqrt(nnz_j) (0 for an empty column), as the exact projection has it.
    private let scales: [Double]

    /// Rows per parallel piece of the forward product.
    static let rowPieceLength = 8192
    /// Rows per piece (and float32 partial sum) of the transposed product.
    public static let transposePieceLength = 16384
    /// Below this many nonzeros per row on average, the products loop over the nonzeros.
    public static let flatNonzerosPerRow = 4

    /// Bytes of the copy of a projection with `nonzeros` nonzeros and D rows (6 per nonzero,
    /// 4 per row).
    public static func byteCount(rowCount: Int, nonzeros: Int) -> Int { 6 * nonzeros + 4 * (rowCount + 1) }

    /// Builds the copy from `sparse`'s cached nonzeros (a counting sort of each 4096-row
    /// chunk by row, in parallel over chunks); nil when `sparse` caches none, or P has 2^32
    /// or more nonzeros or 2^31 or more columns.
    package convenience init?(wrapping sparse: SparseProjection, threads: Int = ParallelLoop.defaultThreads) {
        self.init(wrapping: sparse, threads: threads, loopsOverNonzeros: nil)
    }

    /// `init(wrapping:threads:)` with the product loops chosen (nil: by the average row), for tests.
    package init?(wrapping sparse: SparseProjection, threads: Int = ParallelLoop.defaultThreads, loopsOverNonzeros: Bool?) {
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
        scales = sparse.columnScales
        self.loopsOverNonzeros = loopsOverNonzeros ?? (total < Self.flatNonzerosPerRow * D)
        offsets = .allocate(capacity: D + 1)
        codes = .allocate(capacity: max(1, total))
        rowBits = .allocate(capacity: max(1, total))
        let offsets = self.offsets, codes = self.codes, rowBits = self.rowBits
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
                    let base = chunkStarts[chunk]
                    for r in 0..<rows { offsets[firstRow + r] = UInt32(base + next[r]) }
                    for e in 0..<entryCodes.count {
                        let code = Int(entryCodes[e])
                        let slot = base + next[code >> 1]
                        next[code >> 1] += 1
                        codes[slot] = entryColumns[e] | (code & 1 == 1 ? 0x8000_0000 : 0)
                        rowBits[slot] = UInt16(truncatingIfNeeded: firstRow + (code >> 1))
                    }
                }
            }
        }
    }

    deinit {
        offsets.deallocate()
        codes.deallocate()
        rowBits.deallocate()
    }

    /// Rows `rows` of P v (`v`: d floats; `output`: rows.count floats): each row's +-w_j
    /// summed in float32 in ascending column order, w_j = Float(Double(v_j) * scale_j).
    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        project(v, rows: rows, base: nil, into: output)
    }

    /// `project`, then base[i] added to each row by the piece that wrote it, while the
    /// piece is in cache (`BaseAddingProjection`: the same bits as the two passes).
    package func project(
        _ v: UnsafeBufferPointer<Float>, rows: Range<Int>, adding base: UnsafePointer<Float>,
        into output: UnsafeMutableBufferPointer<Float>
    ) {
        project(v, rows: rows, base: base, into: output)
    }

    private func project(
        _ v: UnsafeBufferPointer<Float>, rows: Range<Int>, base: UnsafePointer<Float>?,
        into output: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(v.count == columnCount && output.count == rows.count, "Sparse rows project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Sparse rows project: rows out of range")
        guard !rows.isEmpty else { return }
        let weights = UnsafeMutableBufferPointer<Float>.allocate(capacity: columnCount)
        defer { weights.deallocate() }
        scales.withUnsafeBufferPointer { scales in
            for j in 0..<columnCount { weights[j] = Float(Double(v[j]) * scales[j]) }
        }
        let offsets = UnsafeBufferPointer(self.offsets), codes = UnsafeBufferPointer(self.codes)
        let rowBits = UnsafeBufferPointer(self.rowBits)
        let w = UnsafeBufferPointer(weights)
        let flat = loopsOverNonzeros
        let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let start = rows.lowerBound + piece * Self.rowPieceLength
            let count = min(rows.upperBound, start + Self.rowPieceLength) - start
            let out = output.baseAddress! + (start - rows.lowerBound)
            if flat {
                idz_sparse_project_flat(offsets.baseAddress!, codes.baseAddress!, rowBits.baseAddress!, w.baseAddress!, start, count, out)
            } else {
                idz_sparse_project_rows(offsets.baseAddress!, codes.baseAddress!, w.baseAddress!, start, count, out)
            }
            if let base {
                let pieceBase = base + (start - rows.lowerBound)
                for i in 0..<count { out[i] += pieceBase[i] }
            }
        }
    }

    /// P^T g (`g`: D floats; `output`: d floats): per fixed piece of `transposePieceLength`
    /// rows a float32 sum per column of +-g_i (rows ascending); column j is the pieces' sums
    /// added in Double in piece order, times scale_j, rounded to Float.
    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(g.count == rowCount && output.count == columnCount, "Sparse rows projectTranspose: wrong sizes")
        let d = columnCount, D = rowCount
        let pieceLength = Self.transposePieceLength
        let pieces = (D + pieceLength - 1) / pieceLength
        let partials = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, pieces * d))
        defer { partials.deallocate() }
        let offsets = UnsafeBufferPointer(self.offsets), codes = UnsafeBufferPointer(self.codes)
        let rowBits = UnsafeBufferPointer(self.rowBits)
        let flat = loopsOverNonzeros
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let first = piece * pieceLength
            let count = min(D, first + pieceLength) - first
            let partial = partials.baseAddress! + piece * d
            partial.initialize(repeating: 0, count: d)
            if flat {
                idz_sparse_accumulate_flat(
                    offsets.baseAddress!, codes.baseAddress!, rowBits.baseAddress!, first, count, g.baseAddress! + first, partial)
            } else {
                idz_sparse_accumulate_rows(offsets.baseAddress!, codes.baseAddress!, first, count, g.baseAddress! + first, partial)
            }
        }
        // Columns in parallel, pieces in order.
        let columnPiece = 1024
        scales.withUnsafeBufferPointer { scales in
            ParallelLoop.forEach(pieces: (d + columnPiece - 1) / columnPiece, threads: threads) { block in
                let columns = (block * columnPiece)..<min(d, (block + 1) * columnPiece)
                var totals = [Double](repeating: 0, count: columns.count)
                totals.withUnsafeMutableBufferPointer { totals in
                    for piece in 0..<pieces {
                        let partial = partials.baseAddress! + piece * d + columns.lowerBound
                        for k in 0..<columns.count { totals[k] += Double(partial[k]) }
                    }
                    for k in 0..<columns.count { output[columns.lowerBound + k] = Float(totals[k] * scales[columns.lowerBound + k]) }
                }
            }
        }
    }
}
