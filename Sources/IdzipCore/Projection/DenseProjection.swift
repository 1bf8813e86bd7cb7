/// A Gaussian projection with columns normalised to unit length.
///
/// Entry z_ij = normal(i d + j) of stream (seed, denseProjection, 0), as a double;
/// n_j = sqrt(sum over i ascending of z_ij^2); P_ij = z_ij / n_j. See
/// Formats/idz-v1-projections.md.
///
/// Every product regenerates the D x d normals and gives exactly the spec's bits.
/// Training's float32 copy of P (IdzipTraining's `MaterializedProjection`, not the spec's
/// bits) is built from `fillEntryRows`.
package struct DenseProjection: Projection, EntryRowsProjection {
    public var kind: ProjectionKind { .dense }
    public let rowCount: Int
    public let columnCount: Int
    public let seed: UInt64
    public let threads: Int
    /// n_j, the norm of column j of the raw Gaussian matrix.
    public let columnNorms: [Double]

    /// Columns per parallel piece; sums along a column never cross pieces.
    static let columnPieceLength = 64
    /// Rows per parallel piece of the forward product.
    static let rowPieceLength = 64

    public init(
        rowCount: Int, columnCount: Int, seed: UInt64, threads: Int = ParallelLoop.defaultThreads
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
    }

    // MARK: Projection

    public func project(_ v: UnsafeBufferPointer<Float>, rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        precondition(v.count == columnCount && output.count == rows.count, "Dense project: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Dense project: rows out of range")
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

    /// Rows `rows` of P as float32, row-major: entry (i, j) is Float(z_ij * (1 / n_j)), with
    /// z_ij and 1 / n_j in Double. Single-threaded; callers run pieces in parallel.
    package func fillEntryRows(_ rows: Range<Int>, into output: UnsafeMutableBufferPointer<Float>) {
        let d = columnCount
        precondition(output.count == rows.count * d, "Dense fillEntryRows: wrong sizes")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "Dense fillEntryRows: rows out of range")
        let stream = RandomStream(seed: seed, purpose: .denseProjection, substream: 0)
        let reciprocals = columnNorms.map { 1 / $0 }
        let entries = UnsafeMutableBufferPointer<Double>.allocate(capacity: d)
        defer { entries.deallocate() }
        for i in rows {
            Self.fillEntries(stream, row: i, columnCount: d, columns: 0..<d, into: entries)
            let row = output.baseAddress! + (i - rows.lowerBound) * d
            for j in 0..<d { row[j] = Float(entries[j] * reciprocals[j]) }
        }
    }

    /// z_i0 ... z_i(d-1), row i's raw Gaussians (before the column norms), into `output`
    /// (d Doubles). For training's binary16 copy (IdzipTraining's `MaterializedProjection`).
    package func fillNormalRow(_ i: Int, into output: UnsafeMutableBufferPointer<Double>) {
        precondition(output.count >= columnCount && i >= 0 && i < rowCount, "Dense fillNormalRow: wrong sizes")
        let stream = RandomStream(seed: seed, purpose: .denseProjection, substream: 0)
        Self.fillEntries(stream, row: i, columnCount: columnCount, columns: 0..<columnCount, into: output)
    }

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
