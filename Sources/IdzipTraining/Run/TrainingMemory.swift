import IdzipCore

extension TrainingRunSpec {
    /// What a training run of this spec holds in memory (`MemoryBudget`), from its settings
    /// alone: theta0, theta, the gradient and the piece gradients of a batch, the optimiser
    /// state, the copy of theta each evaluation takes, a cached projection (dense matrices up
    /// to `MaterializedProjection.trainingLimitBytes`, Fastfood tables), and the activations
    /// of a training batch (forward and backward) and of the evaluation batches on each thread.
    /// - Parameters:
    ///   - testExamples: examples evaluated (bounds the evaluation threads that get work).
    ///   - dataBytes: the data set's bytes in memory (`DatasetPair.byteCount`), if loaded.
    public func memoryBudget(testExamples: Int = 0, dataBytes: Int = 0) -> MemoryBudget {
        var budget = MemoryBudget()
        guard let count = try? architecture.parameterCount() else {
            budget.add("weights", bytes: Int.max)
            return budget
        }
        let trained = dimension ?? count
        let configuration = configuration
        if ToyObjective(architecture) != nil {
            // theta0, theta, gradient and its projection, and a copy for the model file.
            budget.add("theta0, theta, gradient and a sealed copy (D = \(count) floats x 4)", floats: count, copies: 4)
            budget.add("theta_d, its gradient and optimiser state (d floats x 4)", floats: trained, copies: 4)
            return budget
        }
        let plan = try? NetworkPlan(architecture)
        let pieceSize = max(1, min(configuration.batchSize, plan.map { configuration.pieceSize ?? BatchGradient.automaticPieceSize(for: $0) } ?? 8))
        let pieces = (configuration.batchSize + pieceSize - 1) / pieceSize
        // theta0, theta (or the trained parameters), the batch gradient, one copy per evaluation.
        let copies = 4 + (pieces - 1)
        budget.add("theta0, theta, gradients of \(pieces) batch piece\(pieces == 1 ? "" : "s") and an evaluation copy (D = \(count) floats x \(copies))",
            floats: count, copies: copies)
        budget.add("trained values, their gradient and optimiser state (\(trained) floats x 4)", floats: trained, copies: 4)
        if let dimension {
            switch projection {
            case .dense:
                let matrix = MaterializedProjection.byteCount(rowCount: count, columnCount: dimension, storage: MaterializedProjection.trainingStorage)
                if matrix <= MaterializedProjection.trainingLimitBytes { budget.add("dense projection matrix (D x d binary16)", bytes: matrix) }
            case .fastfood:
                budget.add("Fastfood tables (about 8 bytes per parameter)", bytes: MemoryBudget.product([count, 8]))
            default:
                break
            }
        }
        if let plan {
            let perExample = ForwardPass.floatsPerExample(plan)
            budget.add("training activations (batch of \(configuration.batchSize), forward and backward)",
                floats: MemoryBudget.product([perExample, 2, pieces * pieceSize]))
            let evaluationBatch = max(1, min(configuration.evaluationBatchSize, max(1, testExamples)))
            budget.add(Predictor.memoryBudget(
                architecture: architecture, examples: testExamples, batchSize: evaluationBatch, threads: configuration.threads))
        }
        if dataBytes > 0 { budget.add("data set", bytes: dataBytes) }
        return budget
    }

    /// Throws unless `memoryBudget(testExamples:dataBytes:)` fits the memory limit.
    /// - Throws: `TrainingError.memory` with the one-line `MemoryBudgetError`.
    public func checkMemory(testExamples: Int = 0, dataBytes: Int = 0) throws(TrainingError) {
        do {
            try memoryBudget(testExamples: testExamples, dataBytes: dataBytes).check(
                "training \(model)" + (dimension.map { " in d = \($0)" } ?? ""),
                hint: "a smaller model, d or --batch-size needs less")
        } catch {
            throw .memory(error.description)
        }
    }
}
