/// A Gaussian projection with columns normalised to unit length.
///
/// Entry z_ij = normal(i d + j) of stream (seed, denseProjection, 0), as a double;
/// n_j = sqrt(sum over i ascending of z_ij^2); P_ij = z_ij / n_j. See
/// Formats/idz-v1-projections.md.
///
/// Without a cache (the default, and always for expansion) every product regenerates the
/// D x d normals and gives exactly the spec's bits. With `cacheLimitBytes` at least
/// 4 D d, P is materialised once as a float32 matrix (`DenseMatrixCache`) and products read
/// it: deterministic and independent of the thread count, but not the spec's bits, so
/// for training only.
public struct DenseProjection: Projection {
    public var kind: ProjectionKind { .dense }
    public let rowCount: Int
    public let columnCount: Int
    public let seed: UInt64
    public let threads: Int
    /// n_j, the norm of column j of the raw Gaussian matrix.
    public let columnNorms: [Double]
    /// The materialised float32 matrix, when it fits the cache limit.
    let matrixCache: DenseMatrixCache?

    /// The cache limit `makeProjection` gives training: 2 GiB of float32 entries
    /// (D d <= 2^29, e.g. D = 200k with d = 2,500, or D = 1M with d = 500).
    public static let defaultCacheLimitBytes = 1 << 31

    public var cachesMatrix: Bool { matrixCache != nil }

    /// Bytes of the materialised matrix of a D x d dense projection (4 D d).
    public static func matrixByteCount(rowCount: Int, columnCount: Int) -> Int {
        DenseMatrixCache.byteCount(rowCount: rowCount, columnCount: columnCount)
    }

    /// Columns per parallel piece; sums along a column never cross pieces.
    static let columnPieceLength = 64
    /// Rows per parallel piece of the forward product.
    static let rowPieceLength = 64

    public init(
        rowCount: Int, columnCount: Int, seed: UInt64, threads: Int = ParallelLoop.defaultThreads,
        cacheLimitBytes: Int = 0
    ) {
        precondition(columnCount >= 1 && columnCount <= rowCount, "Dense projection needs 1 <= d <= D")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.seed = seed
        let threads = max(1, threads)
        self.threads = threads
        let stream = RandomStream(seed: seed, purpose: .denseProjection, substream: 0)
        var norms = [Double](repeating: 0, count: columnCount)
        norms.withUnsafeMutableBufferPointer { normBuffer in
            Self.forEachColumnPiece(columnCount: columnCount, threads: threads) { columns in
                let entries = UnsafeMutableBufferPointer<Double>.allocate(capacity: columns.count)
                defer { entries.deallocate() }
                let sums = UnsafeMutableBufferPointer(rebasing: normBuffer[columns])
                for i in 0..<rowCount {
                    Self.fillEntries(stream, row: i, columnCount: columnCount, columns: columns, into: entries)
                    for k in 0..<columns.count { sums[k] += entries[k] * entries[k] }
                }
                for k in 0..<columns.count { sums[k] = sums[k].squareRoot() }
            }
        }
        columnNorms = norms
        matrixCache = Self.matrixByteCount(rowCount: rowCount, columnCount: columnCount) <= cacheLimitBytes
            ? DenseMatrixCache(stream: stream, rowCount: rowCount, columnCount: columnCount, columnNorms: norms, threads: threads)
            : nil
    }

    // MARK: Projection

    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == columnCount && output.count == rows.count, "Dense project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Dense project: rows out of range")
        if let matrixCache {
            matrixCache.project(v, rows: rows, into: output, threads: threads)
            return
        }
        let d = columnCount
        let stream = RandomStream(seed: seed, purpose: .denseProjection, substream: 0)
        // w_j = v_j / n_j in double.
        var weights = [Double](repeating: 0, count: d)
        columnNorms.withUnsafeBufferPointer { norms in
            for j in 0..<d { weights[j] = Double(v[j]) / norms[j] }
        }
        weights.withUnsafeBufferPointer { weights in
            let pieces = (rows.count + Self.rowPieceLength - 1) / Self.rowPieceLength
            ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
                let entries = UnsafeMutableBufferPointer<Double>.allocate(capacity: d)
                defer { entries.deallocate() }
                let start = rows.lowerBound + piece * Self.rowPieceLength
                for i in start..<min(rows.upperBound, start + Self.rowPieceLength) {
                    Self.fillEntries(stream, row: i, columnCount: d, columns: 0..<d, into: entries)
                    var sum = 0.0
                    for j in 0..<d { sum += entries[j] * weights[j] }
                    output[i - rows.lowerBound] = Float(sum)
                }
            }
        }
    }

    public func projectTranspose(_ g: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(g.count == rowCount && output.count == columnCount, "Dense projectTranspose: wrong sizes")
        if let matrixCache {
            matrixCache.projectTranspose(g, into: output, threads: threads)
            return
        }
        let d = columnCount
        let D = rowCount
        let stream = RandomStream(seed: seed, purpose: .denseProjection, substream: 0)
        columnNorms.withUnsafeBufferPointer { norms in
            Self.forEachColumnPiece(columnCount: d, threads: threads) { columns in
                let entries = UnsafeMutableBufferPointer<Double>.allocate(capacity: columns.count)
                defer { entries.deallocate() }
                let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: columns.count)
                defer { sums.deallocate() }
                sums.initialize(repeating: 0)
                for i in 0..<D {
                    Self.fillEntries(stream, row: i, columnCount: d, columns: columns, into: entries)
                    let gi = Double(g[i])
                    for k in 0..<columns.count { sums[k] += entries[k] * gi }
                }
                for k in 0..<columns.count {
                    output[columns.lowerBound + k] = Float(sums[k] / norms[columns.lowerBound + k])
                }
            }
        }
    }

    // MARK: Entries

    /// Runs `body` on fixed column ranges in parallel.
    static func forEachColumnPiece(columnCount: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let pieces = (columnCount + columnPieceLength - 1) / columnPieceLength
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in
            let start = piece * columnPieceLength
            body(start..<min(columnCount, start + columnPieceLength))
        }
    }

    /// z_ij for j in `columns` (normals i d + j, two per Philox block) into `output`;
    /// whole Box-Muller pairs go through `RandomKernels` (the same bits).
    static func fillEntries(
        _ stream: RandomStream, row: Int, columnCount: Int, columns: Range<Int>,
        into output: UnsafeMutableBufferPointer<Double>
    ) {
        var n = UInt64(row) * UInt64(columnCount) + UInt64(columns.lowerBound)
        let end = UInt64(row) * UInt64(columnCount) + UInt64(columns.upperBound)
        var k = 0
        if n < end && n & 1 == 1 {
            output[k] = stream.normal(n)
            k += 1
            n += 1
        }
        let pairedCount = Int(end - n) & ~1
        if pairedCount > 0 {
            RandomKernels.fillDoubleNormalPairs(stream, firstBlock: n >> 1, into: output.baseAddress! + k, count: pairedCount)
            k += pairedCount
            n += UInt64(pairedCount)
        }
        if n < end {
            output[k] = stream.normal(n)
        }
    }
}
