import IdzipCore

/// The gradient of a minibatch computed in fixed pieces of up to `pieceSize` examples, on
/// several threads, each piece with its own buffers and a one-thread matrix library. The
/// piece gradients are added in piece order, so the result depends on `pieceSize` but
/// not on the thread count.
///
/// A network with batch normalisation is one piece (its statistics are the whole
/// minibatch's, as in PyTorch), whose kernels use the threads themselves.
final class BatchGradient {
    let plan: NetworkPlan
    let pieceSize: Int
    private let pieces: [NetworkGradient]
    /// Gradient buffers of pieces 1, 2, ... (piece 0 writes the caller's buffer).
    private let pieceGradients: [UnsafeMutablePointer<Float>]
    private let pieceLabels: [UnsafeMutablePointer<Int32>]
    private var results: [NetworkGradient.BatchResult]

    /// Largest of 64, 32, 16, 8 examples whose forward and backward buffers fit in about
    /// 3 MB, so a piece stays in cache.
    static func automaticPieceSize(for plan: NetworkPlan) -> Int {
        var perExample = plan.inputCount
        for (index, step) in plan.steps.enumerated() {
            perExample += 2 * plan.outputCounts[index]
            if case .convolution(let shape, _) = step { perExample += 2 * shape.patchSize * shape.output.planeSize }
        }
        let budget = 3 << 20
        return [64, 32, 16].first { $0 * perExample * 4 <= budget } ?? 8
    }

    init(plan: NetworkPlan, batchSize: Int, pieceSize: Int) throws(InferenceError) {
        self.plan = plan
        self.pieceSize = plan.hasBatchNorm ? max(1, batchSize) : max(1, min(pieceSize, batchSize))
        let count = (batchSize + self.pieceSize - 1) / self.pieceSize
        var pieces: [NetworkGradient] = []
        for _ in 0..<count { pieces.append(try NetworkGradient(plan: plan, batchCapacity: self.pieceSize)) }
        self.pieces = pieces
        pieceGradients = (1..<max(1, count)).map { _ in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: plan.parameterCount)
            buffer.initialize(repeating: 0, count: plan.parameterCount)
            return buffer
        }
        pieceLabels = (0..<count).map { [pieceSize = self.pieceSize] _ in
            let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: pieceSize)
            buffer.initialize(repeating: 0, count: pieceSize)
            return buffer
        }
        results = Array(repeating: NetworkGradient.BatchResult(lossSum: 0, correct: 0), count: count)
    }

    deinit {
        for buffer in pieceGradients { buffer.deallocate() }
        for buffer in pieceLabels { buffer.deallocate() }
    }

    /// Mean loss gradient of the examples `indices` of `dataset` into `gradient`; returns the
    /// summed loss and correct count. Training mode: `buffers` (the running statistics) are
    /// updated when the network has batch norm; dropout masks come from `context` (its
    /// `firstExample` is set per piece).
    func compute(
        theta: UnsafePointer<Float>, dataset: Dataset, indices: ArraySlice<Int>,
        gradient: UnsafeMutablePointer<Float>, threads: Int,
        buffers: UnsafeMutablePointer<Float>? = nil, context: ForwardPass.TrainingContext = ForwardPass.TrainingContext()
    ) -> NetworkGradient.BatchResult {
        let count = indices.count
        let used = (count + pieceSize - 1) / pieceSize
        let parameterCount = plan.parameterCount
        let pieceSize = pieceSize
        let pieces = pieces
        let gradientPointers = [gradient] + pieceGradients
        let labelPointers = pieceLabels
        // One piece of a batch-norm network: its kernels take the threads.
        let pieceThreads = plan.hasBatchNorm ? threads : 1
        for (piece, network) in pieces.enumerated() {
            network.buffers = buffers
            network.context = context
            network.context.firstExample = piece * pieceSize
        }
        results.withUnsafeMutableBufferPointer { results in
            indices.withUnsafeBufferPointer { indices in
                ParallelLoop.forEach(pieces: used, threads: threads) { piece in
                    let range = (piece * pieceSize)..<min(count, (piece + 1) * pieceSize)
                    let rows = UnsafeBufferPointer(rebasing: indices[range])
                    let network = pieces[piece]
                    dataset.fill(examples: rows, into: network.forward.input.baseAddress!)
                    let labels = labelPointers[piece]
                    for (row, index) in rows.enumerated() { labels[row] = dataset.labels[index] }
                    results[piece] = network.compute(
                        theta: theta, labels: labels, batch: range.count, divisor: count,
                        gradient: gradientPointers[piece], threads: pieceThreads)
                }
            }
        }
        if used > 1 {
            let sources = Array(gradientPointers[1..<used])
            WorkSplit(count: parameterCount, grain: 1 << 15).forEach(threads: threads) { range in
                for source in sources {
                    for i in range { gradient[i] += source[i] }
                }
            }
        }
        var total = NetworkGradient.BatchResult(lossSum: 0, correct: 0)
        for result in results[0..<used] {
            total.lossSum += result.lossSum
            total.correct += result.correct
        }
        return total
    }
}
