/// The very sparse random projection (Li, Hastie, Church 2006) with density 1/sqrt(D),
/// columns normalised to unit length: a nonzero of column j is +-1/sqrt(nnz_j).
///
/// Positions and signs come from `SparseColumnWalk`. When the nonzeros fit in
/// `cacheLimitBytes` (6 bytes each) they are generated once and kept chunk by chunk;
/// otherwise every product regenerates them. Both give the same bits.
package struct SparseProjection: Projection {
    public var kind: ProjectionKind { .sparse }
    public var rowAlignment: Int { SparseColumnWalk.chunkLength }
    public let rowCount: Int
    public let columnCount: Int
    public let seed: UInt64
    public let threads: Int
    /// nnz_j, the number of nonzeros of column j.
    public let nonzeroCounts: [Int]
    /// 1 / sqrt(nnz_j), or 0 for an empty column.
    public let columnScales: [Double]
    let walk: SparseColumnWalk
    let cache: [SparseChunkEntries]?

    public var cachesNonzeros: Bool { cache != nil }

    /// Columns per parallel piece of the transpose (small enough that a few hundred
    /// columns still give every thread several pieces).
    static let columnPieceLength = 64
    /// Bytes per cached nonzero: a 32-bit column and a 16-bit position-and-sign code.
    static let bytesPerCachedNonzero = 6

    public init(
        rowCount: Int, columnCount: Int, seed: UInt64,
        threads: Int = ParallelLoop.defaultThreads, cacheLimitBytes: Int = 1 << 28
    ) {
        precondition(columnCount >= 1 && columnCount <= rowCount, "Sparse projection needs 1 <= d <= D")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.seed = seed
        let threads = max(1, threads)
        self.threads = threads
        let walk = SparseColumnWalk(rowCount: rowCount, seed: seed)
        self.walk = walk
        // Expected nonzeros: d sqrt(D), plus a margin for the spread.
        let expectedBytes = 1.1 * Double(columnCount) * Double(rowCount).squareRoot() * Double(Self.bytesPerCachedNonzero)
        var counts = [Int](repeating: 0, count: columnCount)
        if expectedBytes <= Double(cacheLimitBytes) {
            let chunks = Self.buildCache(walk: walk, columnCount: columnCount, threads: threads)
            counts.withUnsafeMutableBufferPointer { counts in
                for chunk in chunks {
                    chunk.columns.withUnsafeBufferPointer { columns in
                        for column in columns { counts[Int(column)] += 1 }
                    }
                }
            }
            cache = chunks
        } else {
            counts.withUnsafeMutableBufferPointer { counts in
                let pieces = (columnCount + Self.columnPieceLength - 1) / Self.columnPieceLength
                ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
                    let start = piece * Self.columnPieceLength
                    for j in start..<min(columnCount, start + Self.columnPieceLength) {
                        counts[j] = walk.nonzeroCount(column: j)
                    }
                }
            }
            cache = nil
        }
        nonzeroCounts = counts
        columnScales = counts.map { $0 > 0 ? 1 / Double($0).squareRoot() : 0 }
    }

    /// Every chunk's nonzeros, generated in parallel over chunks.
    static func buildCache(walk: SparseColumnWalk, columnCount: Int, threads: Int) -> [SparseChunkEntries] {
        var chunks = [SparseChunkEntries](repeating: SparseChunkEntries(), count: walk.chunkCount)
        chunks.withUnsafeMutableBufferPointer { chunks in
            ParallelLoop.forEach(pieces: chunks.count, threads: threads) { chunk in
                var entries = SparseChunkEntries()
                for j in 0..<columnCount {
                    walk.forEachNonzero(column: j, chunk: chunk) { position, negative in
                        entries.columns.append(UInt32(truncatingIfNeeded: j))
                        entries.codes.append(UInt16(truncatingIfNeeded: position << 1) | (negative ? 1 : 0))
                    }
                }
                chunks[chunk] = entries
            }
        }
        return chunks
    }

    // MARK: Projection

    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == columnCount && output.count == rows.count, "Sparse project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Sparse project: rows out of range")
        guard !rows.isEmpty else { return }
        let d = columnCount
        let chunkLength = SparseColumnWalk.chunkLength
        // w_j = scale_j * v_j in double; a nonzero adds +w_j or -w_j.
        let weights = OwnedBuffer<Double>(count: d)
        columnScales.withUnsafeBufferPointer { scales in
            for j in 0..<d { weights.buffer[j] = scales[j] * Double(v[j]) }
        }
        let weight = weights.buffer
        let firstChunk = rows.lowerBound / chunkLength
        let lastChunk = (rows.upperBound - 1) / chunkLength
        let walk = self.walk
        let cache = self.cache
        ParallelLoop.forEach(pieces: lastChunk - firstChunk + 1, threads: threads) { piece in
            let chunk = firstChunk + piece
            let sums = OwnedBuffer<Double>(count: walk.rowsInChunk(chunk))
            let sum = sums.buffer
            sum.initialize(repeating: 0)
            if let cache {
                let entries = cache[chunk]
                entries.columns.withUnsafeBufferPointer { columns in
                    entries.codes.withUnsafeBufferPointer { codes in
                        for e in 0..<columns.count {
                            let w = weight[Int(columns[e])]
                            let code = Int(codes[e])
                            sum[code >> 1] += code & 1 == 1 ? -w : w
                        }
                    }
                }
            } else {
                for j in 0..<d {
                    let w = weight[j]
                    walk.forEachNonzero(column: j, chunk: chunk) { position, negative in
                        sum[position] += negative ? -w : w
                    }
                }
            }
            let chunkStart = chunk * chunkLength
            let first = max(rows.lowerBound, chunkStart)
            let last = min(rows.upperBound, chunkStart + sum.count)
            for row in first..<last {
                output[row - rows.lowerBound] = Float(sum[row - chunkStart])
            }
        }
    }

    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(g.count == rowCount && output.count == columnCount, "Sparse projectTranspose: wrong sizes")
        let d = columnCount
        let chunkLength = SparseColumnWalk.chunkLength
        let walk = self.walk
        let cache = self.cache
        let pieceLength = Self.columnPieceLength
        columnScales.withUnsafeBufferPointer { scales in
            ParallelLoop.forEach(pieces: (d + pieceLength - 1) / pieceLength, threads: threads) { piece in
                let columns = (piece * pieceLength)..<min(d, (piece + 1) * pieceLength)
                let sums = OwnedBuffer<Double>(count: columns.count)
                let sum = sums.buffer
                sum.initialize(repeating: 0)
                if let cache {
                    // Chunks ascending; inside a chunk a column's nonzeros are consecutive
                    // and in ascending position.
                    for chunk in 0..<cache.count {
                        let input = g.baseAddress! + chunk * chunkLength
                        let entries = cache[chunk]
                        entries.columns.withUnsafeBufferPointer { entryColumns in
                            entries.codes.withUnsafeBufferPointer { codes in
                                let start = Self.firstEntry(atLeast: columns.lowerBound, in: entryColumns)
                                let end = Self.firstEntry(atLeast: columns.upperBound, in: entryColumns)
                                for e in start..<end {
                                    let code = Int(codes[e])
                                    let value = Double(input[code >> 1])
                                    sum[Int(entryColumns[e]) - columns.lowerBound] += code & 1 == 1 ? -value : value
                                }
                            }
                        }
                    }
                } else {
                    for j in columns {
                        var total = 0.0
                        for chunk in 0..<walk.chunkCount {
                            let input = g.baseAddress! + chunk * chunkLength
                            walk.forEachNonzero(column: j, chunk: chunk) { position, negative in
                                let value = Double(input[position])
                                total += negative ? -value : value
                            }
                        }
                        sum[j - columns.lowerBound] = total
                    }
                }
                for j in columns {
                    output[j] = Float(sum[j - columns.lowerBound] * scales[j])
                }
            }
        }
    }

    /// Chunks of `SparseColumnWalk.chunkLength` rows.
    package var chunkCount: Int { walk.chunkCount }

    /// Calls `body` with chunk `chunk`'s cached nonzeros in generation order (columns
    /// ascending, then positions ascending): each one's column, and its position in the
    /// chunk times 2 plus 1 for a negative sign. Nil when the nonzeros are not cached.
    /// For training's row-compressed copy (IdzipTraining's SparseRowsProjection).
    package func withCachedChunk<Result>(
        _ chunk: Int, _ body: (UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<UInt16>) -> Result
    ) -> Result? {
        guard let cache else { return nil }
        let entries = cache[chunk]
        return entries.columns.withUnsafeBufferPointer { columns in
            entries.codes.withUnsafeBufferPointer { codes in body(columns, codes) }
        }
    }

    /// The first index whose column is >= `column` in a chunk's entries (sorted by column).
    static func firstEntry(atLeast column: Int, in columns: UnsafeBufferPointer<UInt32>) -> Int {
        var low = 0
        var high = columns.count
        while low < high {
            let middle = (low + high) / 2
            if Int(columns[middle]) < column { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// One chunk's nonzeros in generation order (columns ascending, positions ascending):
/// the column, and the position in the chunk times 2 plus 1 for a negative sign.
struct SparseChunkEntries: Sendable {
    var columns: [UInt32] = []
    var codes: [UInt16] = []
}
