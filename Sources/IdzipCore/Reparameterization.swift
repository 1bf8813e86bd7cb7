/// theta = theta0 + P theta_d, written once: the map from the trained subspace coordinates
/// theta_d (d numbers) to the network's parameters theta (D numbers), used by expansion
/// (`WeightExpander`) and by training (`Trainer`, `ToyTrainer`) alike.
///
/// Each value is theta_i = (P theta_d)_i + theta0_i in float32, where (P theta_d)_i and
/// theta0_i are each first rounded to float32 (Formats/idz-v1.md section 11; paper
/// Sec. 2, Li et al. 2018, "Measuring the Intrinsic Dimension of Objective Landscapes").
/// IEEE addition is commutative, so this is also theta0_i + (P theta_d)_i. Rows are
/// independent and the work is split into pieces that do not depend on `threads`, so the
/// bits are the same for any thread count and any row ranges.
package struct Reparameterization: Sendable {
    /// Where theta0 comes from.
    package enum InitialPoint: Sendable {
        /// theta0 held in memory (D floats), as training keeps it.
        case values([Float])
        /// theta0 regenerated from its seed for the tensors of the parameter vector
        /// (together D rows), as a `.idz` file records it (Formats/idz-v1.md section 9).
        case generated(tensors: [TensorSpec], seed: UInt64)
    }

    package let theta0: InitialPoint
    /// P: D x d.
    package let projection: any Projection
    /// Per-tensor modes and scales (Formats/idz-v3.md section 7); nil: every row is
    /// theta0_i + (P theta_d)_i.
    package var rowPlan: TensorRowPlan?

    /// Rows of theta0 generated, or added, by one parallel piece.
    package static let pieceSize = 1 << 15

    /// - Precondition: theta0 covers the projection's D rows.
    package init(theta0: InitialPoint, projection: any Projection, rowPlan: TensorRowPlan? = nil) {
        switch theta0 {
        case .values(let values):
            precondition(values.count == projection.rowCount, "theta0 must have D entries")
        case .generated(let tensors, _):
            precondition(tensors.reduce(0) { $0 + $1.count } == projection.rowCount, "tensors must cover D rows")
        }
        self.theta0 = theta0
        self.projection = projection
        self.rowPlan = rowPlan
    }

    /// D.
    package var parameterCount: Int { projection.rowCount }
    /// d.
    package var dimension: Int { projection.columnCount }

    /// Writes theta_i for i in `rows` into theta[0 ..< rows.count].
    ///
    /// - Parameters:
    ///   - thetaD: d floats.
    ///   - scratch: at least rows.count floats, used for generated theta0 (allocated here
    ///     when nil); unused for theta0 held in memory.
    ///   - threads: threads for generating and adding theta0 (P's own threads are the
    ///     projection's). The result does not depend on it.
    package func write(
        thetaD: UnsafeBufferPointer<Float>, rows: Range<Int>, into theta: UnsafeMutableBufferPointer<Float>,
        scratch: UnsafeMutableBufferPointer<Float>? = nil, threads: Int = ParallelLoop.defaultThreads
    ) {
        precondition(thetaD.count == dimension, "theta_d must have d entries")
        precondition(theta.count == rows.count && rows.lowerBound >= 0 && rows.upperBound <= parameterCount, "rows outside theta")
        // A projection that adds theta0 as it writes P theta_d does both in one pass (the
        // same bits: the addition follows the rounding of each row to float32).
        if rowPlan == nil, case .values(let values) = theta0, let adding = projection as? any BaseAddingProjection {
            values.withUnsafeBufferPointer { theta0 in
                adding.project(thetaD, rows: rows, adding: theta0.baseAddress! + rows.lowerBound, into: theta)
            }
            return
        }
        projection.project(thetaD, rows: rows, into: theta)
        let pieces = WorkSplit(count: rows.count, grain: Self.pieceSize)
        switch theta0 {
        case .values(let values):
            values.withUnsafeBufferPointer { theta0 in
                pieces.forEach(threads: threads) { range in
                    if let rowPlan {
                        rowPlan.combine(theta: theta, theta0: theta0.baseAddress! + rows.lowerBound, first: rows.lowerBound, range: range)
                    } else {
                        for i in range { theta[i] += theta0[rows.lowerBound + i] }
                    }
                }
            }
        case .generated(let tensors, let seed):
            func add(_ initial: UnsafeMutableBufferPointer<Float>) {
                InitialWeights.fill(initial, rows: rows, tensors: tensors, seed: seed, threads: threads)
                pieces.forEach(threads: threads) { range in
                    if let rowPlan {
                        rowPlan.combine(theta: theta, theta0: UnsafePointer(initial.baseAddress!), first: rows.lowerBound, range: range)
                    } else {
                        for i in range { theta[i] += initial[i] }
                    }
                }
            }
            if let scratch {
                precondition(scratch.count >= rows.count, "scratch must hold the rows")
                add(UnsafeMutableBufferPointer(rebasing: scratch[0..<rows.count]))
            } else {
                var buffer = [Float](repeating: 0, count: rows.count)
                buffer.withUnsafeMutableBufferPointer { add($0) }
            }
        }
    }

    /// The whole theta (D floats) for `thetaD` (d floats).
    package func theta(_ thetaD: [Float], threads: Int = ParallelLoop.defaultThreads) -> [Float] {
        var theta = [Float](repeating: 0, count: parameterCount)
        theta.withUnsafeMutableBufferPointer { theta in
            thetaD.withUnsafeBufferPointer { thetaD in
                write(thetaD: thetaD, rows: 0..<parameterCount, into: theta, threads: threads)
            }
        }
        return theta
    }
}
