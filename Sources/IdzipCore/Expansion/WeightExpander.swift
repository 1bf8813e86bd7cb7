/// Regenerates the full parameter vector theta = theta0 + P theta_d, in parameter order and
/// chunk by chunk, so that memory stays at one chunk plus what P needs, whatever D is.
///
/// Each value is theta_i = theta0_i + (P theta_d)_i in float32 arithmetic, where theta0_i
/// and (P theta_d)_i are first rounded to float32 (Formats/idz-v1.md section 11); the
/// formula is `Reparameterization`'s. The bits do not depend on `threads` or `chunkSize`.
public struct WeightExpander: Sendable {
    /// The parameter tensors in order (together D values).
    public let tensors: [TensorSpec]
    /// Seed of theta0 (Formats/idz-v1.md section 9).
    public let theta0Seed: UInt64
    /// P (D x d).
    public let projection: any Projection
    /// theta_d: d floats.
    public let thetaD: [Float]
    /// Threads for theta0 and the addition (P's own threads are the projection's).
    public let threads: Int
    /// Rows handed to the sink at a time.
    public var chunkSize = 1 << 20
    /// theta0 in memory (a base's weights, D floats) instead of generated from the seed
    /// (Formats/idz-v3.md section 6).
    package var baseValues: [Float]?
    /// Per-tensor modes and scales (Formats/idz-v3.md section 7).
    package var rowPlan: TensorRowPlan?

    /// D, the number of values expanded.
    public var parameterCount: Int { projection.rowCount }

    /// - Parameters:
    ///   - tensors: the architecture's parameter tensors, together covering P's D rows.
    ///   - thetaD: d floats, d = projection.columnCount.
    ///   - threads: threads for theta0 and the addition; the bits do not depend on it.
    /// - Precondition: the sizes agree (`ModelExpansion.expander(for:threads:)` checks
    ///   them and throws instead).
    public init(
        tensors: [TensorSpec], theta0Seed: UInt64, projection: any Projection, thetaD: [Float],
        threads: Int = ParallelLoop.defaultThreads
    ) {
        precondition(thetaD.count == projection.columnCount, "theta_d must have d entries")
        precondition(tensors.reduce(0) { $0 + $1.count } == projection.rowCount, "tensors must cover D rows")
        self.tensors = tensors
        self.theta0Seed = theta0Seed
        self.projection = projection
        self.thetaD = thetaD
        self.threads = max(1, threads)
    }

    /// theta = theta0 + P theta_d for these tensors, seed and projection.
    var reparameterization: Reparameterization {
        Reparameterization(
            theta0: baseValues.map { Reparameterization.InitialPoint.values($0) } ?? .generated(tensors: tensors, seed: theta0Seed),
            projection: projection,
            rowPlan: rowPlan)
    }

    /// Calls `sink` with consecutive chunks of theta that together cover 0..<D in order.
    /// With more than one chunk, the next chunk is generated on a background thread while
    /// `sink` handles the current one (memory: four chunks of floats).
    /// - Throws: what `sink` throws; production then stops.
    public func forEachChunk<Failure: Error>(
        _ sink: (_ rows: Range<Int>, _ values: UnsafeBufferPointer<Float>) throws(Failure) -> Void
    ) throws(Failure) {
        let total = parameterCount
        // Whole Fastfood blocks and sparse chunks per call: each call regenerates what it touches.
        let alignment = max(1, projection.rowAlignment)
        let capacity = min((max(chunkSize, alignment) + alignment - 1) / alignment * alignment, total)
        guard capacity > 0 else { return }
        let chunkCount = (total + capacity - 1) / capacity
        @Sendable func rows(_ chunk: Int) -> Range<Int> {
            (chunk * capacity)..<min(total, (chunk + 1) * capacity)
        }
        if chunkCount == 1 {
            var buffer = [Float](repeating: 0, count: 2 * capacity)
            try buffer.withUnsafeMutableBufferPointer { (slot) throws(Failure) in
                fillChunk(rows: rows(0), slot: slot)
                try sink(rows(0), UnsafeBufferPointer(rebasing: slot[0..<total]))
            }
            return
        }
        try ChunkPipeline.run(
            count: chunkCount, slotCapacity: 2 * capacity,
            produce: { [self] chunk, slot in fillChunk(rows: rows(chunk), slot: slot) },
            consume: { (chunk, slot) throws(Failure) in
                let chunkRows = rows(chunk)
                try sink(chunkRows, UnsafeBufferPointer(rebasing: slot[0..<chunkRows.count]))
            })
    }

    /// theta for `rows` into slot[0 ..< rows.count], using slot[rows.count ..< 2 rows.count]
    /// for theta0.
    private func fillChunk(rows: Range<Int>, slot: UnsafeMutableBufferPointer<Float>) {
        let theta = UnsafeMutableBufferPointer(rebasing: slot[0..<rows.count])
        let scratch = UnsafeMutableBufferPointer(rebasing: slot[rows.count..<(2 * rows.count)])
        thetaD.withUnsafeBufferPointer { thetaD in
            reparameterization.write(thetaD: thetaD, rows: rows, into: theta, scratch: scratch, threads: threads)
        }
    }

    /// The whole theta (D floats).
    public func expandAll() -> [Float] {
        var result: [Float] = []
        result.reserveCapacity(parameterCount)
        forEachChunk { (_, values) in result.append(contentsOf: values) }
        return result
    }
}
