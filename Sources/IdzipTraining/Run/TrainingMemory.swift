import IdzipCore

extension TrainingRunSpec {
    /// What a training run of this spec holds in memory at its peak (`MemoryBudget`), from
    /// its settings alone, counted the way the allocating code sizes its buffers
    /// (`TrainingBuffers`): theta0, theta, the batch gradient and the piece gradients, the
    /// trained values, their gradient and the optimiser state, the copy of theta each
    /// evaluation takes and the checkpoint written after each epoch; a cached projection
    /// (dense matrices up to `MaterializedProjection.trainingLimitBytes`, Fastfood tables,
    /// the sparse projection's nonzeros);
    /// every buffer of the training step (each piece's forward pass with its outputs,
    /// im2col matrices and batch-norm statistics, a gradient buffer per output, the
    /// scratch of the backward pass); and the forward passes of the evaluation (the
    /// trainer's, or the sealed model's, whichever is larger: they never coexist).
    /// The program's own memory (`MemoryBudget.processBaselineBytes`) comes first.
    /// `TrainingMemoryCommandTests` checks it against the peak resident memory of real runs.
    /// - Parameters:
    ///   - testExamples: examples evaluated; nil before the data is known: then every
    ///     thread is counted with a full evaluation batch.
    ///   - trainExamples: training examples (a batch holds at most this many; the sealed
    ///     model is evaluated on them); nil before the data is known.
    ///   - dataBytes: the data set's bytes in memory (`DataFootprint.heldBytes` before it
    ///     is read, `DatasetPair.byteCount` once loaded).
    ///   - readingBytes: what reading the data holds (`DataFootprint.bytes`: the whole
    ///     files, a variant's copy), before the run's buffers are allocated: the part
    ///     above everything else counts.
    public func memoryBudget(testExamples: Int? = nil, trainExamples: Int? = nil, dataBytes: Int = 0, readingBytes: Int = 0) -> MemoryBudget {
        var budget = MemoryBudget()
        budget.addProcessBaseline()
        guard let count = try? architecture.parameterCount() else {
            budget.add("weights", bytes: Int.max)
            return budget
        }
        let configuration = configuration
        let slots = configuration.optimizer.rule.slotCount
        if ToyObjective(architecture) != nil {
            let trained = dimension ?? count
            // theta0, theta, gradient and its projection, and a copy for the model file.
            budget.add("theta0, theta, gradient and a sealed copy (D = \(count) floats x 4)", floats: count, copies: 4)
            budget.add("theta_d, its gradient and optimiser state (d floats x \(2 + slots))", floats: trained, copies: 2 + slots)
            return budget
        }
        let trained = storedNumberCount() ?? count
        let plan = try? NetworkPlan(architecture)
        let batchSize = max(1, min(configuration.batchSize, trainExamples.map { max(1, $0) } ?? configuration.batchSize))
        let layout = plan.map {
            TrainingBuffers.batchGradient($0, batchSize: batchSize, pieceSize: configuration.pieceSize ?? BatchGradient.automaticPieceSize(for: $0))
        }
        let pieces = layout?.pieces ?? 1
        // theta0, theta, the batch gradient and the evaluation's copy of theta; one more
        // gradient per further batch piece; a structured subspace's projection and scratch
        // (and the projection `theta()` makes).
        let structured = dimension != nil && activeStructure != nil
        let copies = 4 + (pieces - 1) + (structured ? 3 : 0)
        budget.add("theta0, theta, gradients of \(pieces) batch piece\(pieces == 1 ? "" : "s") and an evaluation copy (D = \(count) floats x \(copies))",
            floats: count, copies: copies)
        if dimension != nil {
            // theta_d, its gradient and the optimiser's slots (a learned codebook: its latent copy too).
            let trainedCopies = 2 + slots + (quantization == nil ? 0 : 1)
            budget.add("trained values, their gradient and optimiser state (\(trained) floats x \(trainedCopies))", floats: trained, copies: trainedCopies)
        } else {
            budget.add("optimiser state (D floats x \(slots))", floats: count, copies: slots)
        }
        // After each epoch: the trained values and optimiser state serialised, and the file's bytes.
        budget.add("checkpoint (trained values and optimiser state, serialised and written)", floats: trained, copies: 2 * (1 + slots))
        if let dimension {
            switch projection {
            case .dense:
                let matrix = MaterializedProjection.byteCount(rowCount: count, columnCount: dimension, storage: MaterializedProjection.trainingStorage)
                if matrix <= MaterializedProjection.trainingLimitBytes { budget.add("dense projection matrix (D x d binary16)", bytes: matrix) }
            case .fastfood:
                budget.add("Fastfood tables (about 8 bytes per parameter)", bytes: MemoryBudget.product([count, 8]))
            case .sparse:
                // Density 1 / sqrt(D): about d sqrt(D) nonzeros (10% slack), 6 bytes each as
                // SparseProjection caches them and 6 more in the copy sorted by row
                // (SparseRowsProjection), with 4 bytes of offsets per row.
                let nonzeros = Int(min(9e18, (Double(dimension) * Double(count).squareRoot() * 1.1).rounded(.up)))
                budget.add("sparse projection's nonzeros (cached and sorted by row)",
                    bytes: MemoryBudget.sum(MemoryBudget.product([nonzeros, 12]), MemoryBudget.product([count + 1, 4])))
            default:
                break
            }
        }
        if let plan, let layout {
            budget.add(
                "training step buffers (batch of \(batchSize) in \(layout.pieces) piece\(layout.pieces == 1 ? "" : "s") of \(layout.pieceSize): "
                    + "activations, im2col matrices, their gradients)",
                floats: layout.floats)
            // The trainer's evaluator: one pass per thread that gets a batch.
            let evaluationBatch = max(1, min(configuration.evaluationBatchSize, testExamples.map { max(1, $0) } ?? configuration.evaluationBatchSize))
            let evaluationExamples = testExamples ?? MemoryBudget.product([evaluationBatch, configuration.threads])
            let trainer = TrainingBuffers.evaluationFloats(plan, examples: evaluationExamples, batchSize: evaluationBatch, threads: configuration.threads)
            // The sealed model's evaluation (`Predictor`, 256 per batch) on the training and test sets.
            let sealExamples = max(trainExamples ?? Int.max, testExamples ?? Int.max)
            let sealed = TrainingBuffers.evaluationFloats(plan, examples: sealExamples, batchSize: 256, threads: configuration.threads)
            budget.add("evaluation activations (\(trainer >= sealed ? "batches of \(evaluationBatch)" : "batches of 256") on up to \(configuration.threads) thread\(configuration.threads == 1 ? "" : "s"))",
                floats: max(trainer, sealed))
        }
        if let trainExamples {
            // The epoch's example order (Int) and the permutation it is made from (UInt32).
            budget.add("example order", bytes: MemoryBudget.product([trainExamples, 12]))
        }
        if dataBytes > 0 { budget.add("data set", bytes: dataBytes) }
        if readingBytes > 0 {
            budget.add("data files while they are read", bytes: readingBytes, freedBefore: budget.totalBytes - MemoryBudget.processBaselineBytes)
        }
        return budget
    }

    /// Throws unless `memoryBudget(testExamples:trainExamples:dataBytes:readingBytes:)` fits the memory limit.
    /// - Throws: `TrainingError.memory` with the one-line `MemoryBudgetError`.
    /// - Parameter also: more that the run holds (a DQN replay buffer).
    public func checkMemory(
        testExamples: Int? = nil, trainExamples: Int? = nil, dataBytes: Int = 0, readingBytes: Int = 0, also: MemoryBudget = MemoryBudget()
    ) throws(TrainingError) {
        var budget = memoryBudget(testExamples: testExamples, trainExamples: trainExamples, dataBytes: dataBytes, readingBytes: readingBytes)
        budget.add(also)
        do {
            try budget.check(
                "training \(model)" + (dimension.map { " in d = \($0)" } ?? ""),
                hint: "a smaller model, d, --batch-size or --threads needs less")
        } catch {
            throw .memory(error.description)
        }
    }
}

/// The floats the training step's buffers take, counted as the code that allocates them
/// sizes them: `ForwardPass.init` (via `Predictor.passFloats`), `NetworkGradient.init`,
/// `BatchGradient.init` and `ParallelEvaluator`. A change to those allocations changes
/// these counts too (`TrainingMemoryCommandTests` measures real runs against them).
package enum TrainingBuffers {
    /// One `NetworkGradient` of `batchCapacity` examples: its forward pass; a gradient
    /// buffer for every step output that has its own buffer; the im2col gradient of the
    /// largest convolution; the weight scratch of the largest convolution; the scratch
    /// where a gradient added to an earlier delivery is computed (the largest output);
    /// its own batch-norm statistics; `Predictor.allocationSlackFloats` per buffer.
    package static func networkGradientFloats(_ plan: NetworkPlan, batchCapacity: Int) -> Int {
        let capacity = max(1, batchCapacity)
        var total = Predictor.passFloats(plan, batchCapacity: capacity)
        var largestColumns = 1
        var largestWeight = 1
        var largestOutput = 1
        for (index, step) in plan.steps.enumerated() {
            let output = MemoryBudget.product([plan.outputCounts[index], capacity])
            largestOutput = max(largestOutput, output)
            // An aliasing step shares its source's buffer and gradient.
            if !plan.aliasesSource[index] { total = MemoryBudget.sum(total, MemoryBudget.sum(output, Predictor.allocationSlackFloats)) }
            switch step {
            case .convolution(let shape, _):
                largestColumns = max(largestColumns, MemoryBudget.product([shape.patchSize, shape.output.planeSize, capacity]))
                largestWeight = max(largestWeight, MemoryBudget.product([shape.patchSize, shape.output.channels]))
            case .stridedConvolution(let shape, _, _, _):
                largestColumns = max(largestColumns, MemoryBudget.product([shape.patchSize, shape.output.planeSize, capacity]))
                largestWeight = max(largestWeight, shape.weightCount)
            default:
                break
            }
        }
        for part in [largestColumns, largestWeight, largestOutput, max(1, plan.bufferCount)] {
            total = MemoryBudget.sum(total, MemoryBudget.sum(part, Predictor.allocationSlackFloats))
        }
        return total
    }

    /// `BatchGradient`'s pieces for a minibatch of `batchSize`: a network with batch norm is
    /// one piece of the whole batch; else pieces of up to `pieceSize`. Floats: a
    /// `NetworkGradient` per piece, a parameter gradient per piece after the first, the
    /// pieces' labels.
    package static func batchGradient(_ plan: NetworkPlan, batchSize: Int, pieceSize: Int) -> (pieces: Int, pieceSize: Int, floats: Int) {
        let size = plan.hasBatchNorm ? max(1, batchSize) : max(1, min(pieceSize, batchSize))
        let count = (max(1, batchSize) + size - 1) / size
        var floats = MemoryBudget.product([count, networkGradientFloats(plan, batchCapacity: size)])
        floats = MemoryBudget.sum(floats, MemoryBudget.product([count - 1, MemoryBudget.sum(plan.parameterCount, Predictor.allocationSlackFloats)]))
        floats = MemoryBudget.sum(floats, MemoryBudget.product([count, MemoryBudget.sum(size, Predictor.allocationSlackFloats)]))
        return (count, size, floats)
    }

    /// A `ParallelEvaluator`'s forward passes for `examples` examples in batches of
    /// `batchSize` on `threads` threads (one pass per thread that gets a batch), and its
    /// two copies of the batch-norm statistics.
    package static func evaluationFloats(_ plan: NetworkPlan, examples: Int, batchSize: Int, threads: Int) -> Int {
        let batch = max(1, batchSize)
        let batches = examples / batch + (examples % batch == 0 ? 0 : 1)
        let passes = min(max(1, threads), max(1, batches))
        return MemoryBudget.sum(
            MemoryBudget.product([Predictor.passFloats(plan, batchCapacity: batch, keepsOutputs: false), passes]),
            MemoryBudget.product([2, MemoryBudget.sum(plan.bufferCount, Predictor.allocationSlackFloats)]))
    }
}
