import Foundation
import IdzipCore

/// Trains a network on a data set, directly (all of theta) or in a random subspace
/// (theta = theta0 + P theta_d, only theta_d trained), with minibatch softmax cross-entropy.
///
/// Deterministic: the same configuration and seeds give bit-identical parameters on the
/// same machine whatever the thread count, including across a checkpoint and resume.
/// Each batch is split into fixed pieces computed on `threads` threads; training sets
/// OpenBLAS (a process-wide setting) to one thread, since the parallelism is its own.
public final class Trainer {
    public let architecture: Architecture
    package let plan: NetworkPlan
    public let configuration: TrainingConfiguration
    public let space: ParameterSpace
    /// The frozen initial parameters (D numbers).
    public let theta0: [Float]
    /// What is trained: theta (direct) or theta_d (subspace).
    public private(set) var parameters: [Float]
    public private(set) var optimizerState: OptimizerState
    /// Epochs finished so far.
    public private(set) var epochsCompleted = 0
    /// The batch-norm running means and variances (`Architecture.bufferTensors()` order;
    /// empty without batch norm): state updated by every training step, not trained.
    public private(set) var buffers: [Float]
    /// Training steps the running statistics have seen (PyTorch's `num_batches_tracked`);
    /// stays 0 without batch norm.
    public private(set) var batchesTracked: UInt64 = 0
    private let rule: any UpdateRule
    /// A codebook learned with theta_d (subspace training only): once fitted, the network
    /// runs at the quantised theta_d and `parameters` is the float latent.
    public var quantizer: CodebookQuantizer?
    /// Per-tensor modes and scales (SAID): `parameters` is then [theta_d, scales, direct
    /// values] (`useStructure(_:)`).
    public private(set) var structure: StructuredSubspace?
    /// u = P theta_d and a D-float scratch for the structured backward pass.
    private var structureProjected: [Float] = []
    private var structureScratch: [Float] = []

    /// The theta_d the network runs at: the quantised one once a codebook is active, else `parameters`.
    public var effectiveParameters: [Float] {
        if let quantizer, quantizer.isActive { return quantizer.quantized }
        return parameters
    }

    public init(
        architecture: Architecture, theta0: [Float], space: ParameterSpace, configuration: TrainingConfiguration
    ) throws(TrainingError) {
        try configuration.validate()
        do {
            plan = try NetworkPlan(architecture)
        } catch {
            throw .network(error.description)
        }
        guard plan.parameterCount > 0 else { throw .network("the network has no parameters to train") }
        guard theta0.count == plan.parameterCount else {
            throw .network("theta0 has \(theta0.count) numbers but the network has \(plan.parameterCount) parameters")
        }
        if case .subspace(let projection) = space {
            guard projection.rowCount == plan.parameterCount else {
                throw .network("the projection has \(projection.rowCount) rows but the network has \(plan.parameterCount) parameters")
            }
            guard projection.columnCount >= 1 else { throw .network("the subspace dimension must be at least 1") }
        }
        self.architecture = architecture
        self.configuration = configuration
        self.space = space
        self.theta0 = theta0
        rule = configuration.optimizer.rule
        switch space {
        case .direct: parameters = theta0
        case .subspace(let projection): parameters = [Float](repeating: 0, count: projection.columnCount)
        }
        optimizerState = OptimizerState(rule: rule, parameterCount: parameters.count)
        do {
            buffers = try architecture.initialBuffers()
        } catch {
            throw .network(error.description)
        }
    }

    /// A trainer whose theta0 is generated from `theta0Seed`, as a `.idz` file records it.
    public convenience init(
        architecture: Architecture, theta0Seed: UInt64, space: ParameterSpace, configuration: TrainingConfiguration
    ) throws(TrainingError) {
        let tensors: [TensorSpec]
        do {
            tensors = try architecture.parameterTensors()
        } catch {
            throw .network(error.description)
        }
        try self.init(
            architecture: architecture, theta0: InitialWeights.make(tensors: tensors, seed: theta0Seed, threads: configuration.threads),
            space: space, configuration: configuration)
    }

    /// Trains `structure` (modes, scales, direct values) instead of theta_d alone; call
    /// before training. Resets the trained numbers and the optimiser.
    /// - Throws: `TrainingError.configuration` for direct training, after training began,
    ///   or with a codebook quantizer.
    public func useStructure(_ structure: StructuredSubspace) throws(TrainingError) {
        guard case .subspace(let projection) = space, projection.columnCount == structure.dimension else {
            throw .configuration("tensor modes and scales need subspace training (--dim)")
        }
        guard epochsCompleted == 0, quantizer == nil else {
            throw .configuration("tensor modes and scales are set before training and do not combine with a learned codebook")
        }
        guard structure.tensors.reduce(0, { $0 + $1.count }) == plan.parameterCount else {
            throw .network("the tensor modes do not cover the network's parameters")
        }
        self.structure = structure
        parameters = structure.initialParameters(theta0: theta0)
        optimizerState = OptimizerState(rule: rule, parameterCount: parameters.count)
        structureProjected = [Float](repeating: 0, count: plan.parameterCount)
        structureScratch = [Float](repeating: 0, count: plan.parameterCount)
    }

    /// The modes, scales and direct values as a file stores them (nil without a structure).
    public var tensorModes: TensorModes? {
        structure.map { structure in parameters.withUnsafeBufferPointer { structure.tensorModes(parameters: $0) } }
    }

    /// theta_d alone: the first d trained numbers.
    public var thetaD: [Float] {
        guard let structure else { return parameters }
        return Array(parameters[0..<structure.dimension])
    }

    // MARK: Checkpoints

    /// The state at the current epoch boundary.
    public func checkpoint() -> TrainingCheckpoint {
        TrainingCheckpoint(
            epochsCompleted: epochsCompleted, spaceName: space.name, parameterCount: plan.parameterCount,
            parameters: parameters, optimizerName: configuration.optimizer.name, optimizer: optimizerState,
            buffers: buffers, batchesTracked: batchesTracked)
    }

    /// Continues from `checkpoint`, made by a trainer with the same network, space and optimiser.
    public func restore(_ checkpoint: TrainingCheckpoint) throws(TrainingError) {
        guard checkpoint.spaceName == space.name, checkpoint.parameterCount == plan.parameterCount,
              checkpoint.parameters.count == parameters.count
        else {
            throw .checkpoint(
                "the checkpoint is for \(checkpoint.spaceName) training of \(checkpoint.parameterCount) parameters "
                    + "(\(checkpoint.parameters.count) trained), not \(space.name) of \(plan.parameterCount) (\(parameters.count) trained)")
        }
        guard checkpoint.optimizerName == configuration.optimizer.name,
              checkpoint.optimizer.slotCount == rule.slotCount,
              checkpoint.optimizer.storage.count == rule.slotCount * parameters.count
        else { throw .checkpoint("the checkpoint's optimiser state is for \(checkpoint.optimizerName), not \(configuration.optimizer.name)") }
        guard checkpoint.epochsCompleted <= configuration.epochs else {
            throw .checkpoint("the checkpoint has \(counted(checkpoint.epochsCompleted, "epoch")) done, more than the \(configuration.epochs) configured")
        }
        guard checkpoint.buffers.count == buffers.count else {
            throw .checkpoint("the checkpoint has \(checkpoint.buffers.count) batch-norm statistics; the network has \(buffers.count)")
        }
        parameters = checkpoint.parameters
        optimizerState = checkpoint.optimizer
        epochsCompleted = checkpoint.epochsCompleted
        buffers = checkpoint.buffers
        batchesTracked = checkpoint.batchesTracked
    }

    // MARK: Parameters

    /// The full parameter vector theta (D numbers) for the current state.
    public func theta() -> [Float] {
        switch space {
        case .direct:
            return parameters
        case .subspace(let projection):
            var theta = [Float](repeating: 0, count: plan.parameterCount)
            theta.withUnsafeMutableBufferPointer { theta in
                expand(projection, into: theta)
            }
            return theta
        }
    }

    /// theta = theta0 + P theta_d into `theta`.
    private func expand(_ projection: any Projection, into theta: UnsafeMutableBufferPointer<Float>) {
        if let structure {
            var projected = [Float](repeating: 0, count: theta.count)
            parameters.withUnsafeBufferPointer { trained in
                projected.withUnsafeMutableBufferPointer { projected in
                    structure.forward(
                        parameters: trained, theta0: theta0, projection: projection, theta: theta, projected: projected,
                        threads: configuration.threads)
                }
            }
            return
        }
        effectiveParameters.withUnsafeBufferPointer { thetaD in
            Reparameterization(theta0: .values(theta0), projection: projection)
                .write(thetaD: thetaD, rows: 0..<plan.parameterCount, into: theta, threads: configuration.threads)
        }
    }

    /// l2 * sum(theta^2), summed in float64 in order.
    private func penalty(_ theta: UnsafeBufferPointer<Float>) -> Double {
        guard configuration.l2 > 0 else { return 0 }
        var sum = 0.0
        for value in theta { sum += Double(value) * Double(value) }
        return Double(configuration.l2) * sum
    }

    // MARK: Training

    /// Trains from the current epoch to `configuration.epochs`. `onBatch` is called after
    /// every batch, `onEpoch` after every epoch (with a checkpoint available from
    /// `checkpoint()`); returning `.stop` ends training at that epoch boundary.
    @discardableResult
    public func train(
        on data: DatasetPair,
        onBatch: ((BatchProgress) -> Void)? = nil,
        onEpoch: ((EpochReport) -> TrainingDecision)? = nil
    ) throws(TrainingError) -> [EpochReport] {
        try check(data)
        let threads = configuration.threads
        // Parallel over pieces of each batch, so the matrix library runs on one thread.
        Gemm.setThreadCount(1)
        let batchSize = min(configuration.batchSize, max(1, data.train.count))
        let network: BatchGradient
        let evaluator: ParallelEvaluator
        do {
            network = try BatchGradient(
                plan: plan, batchSize: batchSize, pieceSize: configuration.pieceSize ?? BatchGradient.automaticPieceSize(for: plan))
            evaluator = try ParallelEvaluator(
                plan: plan, batchSize: min(configuration.evaluationBatchSize, max(1, data.test.count)), threads: threads,
                buffers: buffers)
        } catch {
            throw .network(error.description)
        }
        let parameterCount = plan.parameterCount
        let trainedCount = parameters.count
        let l2Gradient = 2 * configuration.l2
        // theta for subspace training (direct training updates `parameters`, which is theta).
        var thetaBuffer = [Float](repeating: 0, count: isSubspace ? parameterCount : 0)
        var gradientTheta = [Float](repeating: 0, count: parameterCount)
        var gradientTrained = [Float](repeating: 0, count: isSubspace ? trainedCount : 0)
        let trainCount = data.train.count
        let batchesPerEpoch = (trainCount + batchSize - 1) / batchSize
        var reports: [EpochReport] = []

        while epochsCompleted < configuration.epochs {
            let epoch = epochsCompleted
            let learningRate = configuration.schedule.rate(base: configuration.learningRate, epoch: epoch, totalEpochs: configuration.epochs)
            let order = RandomStream(seed: configuration.seed, purpose: .exampleOrder, substream: UInt32(truncatingIfNeeded: epoch))
                .permutation(count: trainCount).map(Int.init)
            var lossSum = 0.0
            var correct = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for batch in 0..<batchesPerEpoch {
                let first = batch * batchSize
                let indices = order[first..<min(trainCount, first + batchSize)]
                let context = ForwardPass.TrainingContext(dropoutSeed: configuration.seed, step: UInt64(optimizerState.step))
                let result = gradientTheta.withUnsafeMutableBufferPointer { gradient in
                    buffers.withUnsafeMutableBufferPointer { buffers in
                    parameters.withUnsafeMutableBufferPointer { trained in
                        thetaBuffer.withUnsafeMutableBufferPointer { thetaSpace in
                            gradientTrained.withUnsafeMutableBufferPointer { gradientSpace in
                                step(
                                    network: network, dataset: data.train, indices: indices, trained: trained,
                                    thetaSpace: thetaSpace, gradient: gradient, gradientSpace: gradientSpace,
                                    learningRate: learningRate, l2Gradient: l2Gradient, threads: threads,
                                    buffers: buffers.baseAddress, context: context)
                            }
                        }
                    }
                    }
                }
                if plan.hasBatchNorm { batchesTracked += 1 }
                guard result.lossSum.isFinite else { throw .diverged(epoch: epoch, batch: batch) }
                lossSum += result.lossSum
                correct += result.correct
                onBatch?(BatchProgress(
                    epoch: epoch, batch: batch, batchesPerEpoch: batchesPerEpoch, loss: result.lossSum / Double(indices.count),
                    examples: indices.count, correct: result.correct))
            }
            let trainingSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            epochsCompleted += 1
            quantizer?.epochDone(epochsCompleted: epochsCompleted, totalEpochs: configuration.epochs, latent: parameters)

            let evaluationStart = DispatchTime.now().uptimeNanoseconds
            let theta = self.theta()
            var test: Evaluation?
            var validation: Evaluation?
            if configuration.evaluateEveryEpoch || epochsCompleted == configuration.epochs {
                evaluator.buffers = buffers
                test = try evaluate(data.test, theta: theta, evaluator: evaluator)
                if let held = data.validation { validation = try evaluate(held, theta: theta, evaluator: evaluator) }
            }
            let penalty = theta.withUnsafeBufferPointer { self.penalty($0) }
            let report = EpochReport(
                epoch: epoch, learningRate: learningRate, trainLoss: lossSum / Double(trainCount),
                trainAccuracy: Double(correct) / Double(trainCount), penalty: penalty, test: test, validation: validation,
                trainingSeconds: trainingSeconds,
                evaluationSeconds: Double(DispatchTime.now().uptimeNanoseconds - evaluationStart) / 1e9,
                exampleCount: trainCount)
            reports.append(report)
            if onEpoch?(report) == .stop { break }
        }
        return reports
    }

    /// Examples per parallel piece of a batch: the configured size or the automatic one.
    public var pieceSize: Int { configuration.pieceSize ?? BatchGradient.automaticPieceSize(for: plan) }

    private var isSubspace: Bool {
        if case .subspace = space { return true }
        return false
    }

    /// One minibatch update.
    private func step(
        network: BatchGradient, dataset: Dataset, indices: ArraySlice<Int>, trained: UnsafeMutableBufferPointer<Float>,
        thetaSpace: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>,
        gradientSpace: UnsafeMutableBufferPointer<Float>, learningRate: Float, l2Gradient: Float, threads: Int,
        buffers: UnsafeMutablePointer<Float>?, context: ForwardPass.TrainingContext
    ) -> NetworkGradient.BatchResult {
        let theta: UnsafeMutableBufferPointer<Float>
        switch space {
        case .direct:
            theta = trained
        case .subspace(let projection):
            theta = thetaSpace
            if let structure {
                structureProjected.withUnsafeMutableBufferPointer { projected in
                    structure.forward(
                        parameters: UnsafeBufferPointer(trained), theta0: theta0, projection: projection, theta: theta,
                        projected: projected, threads: threads)
                }
            } else if let quantizer, quantizer.isActive {
                quantizer.quantized.withUnsafeBufferPointer { thetaD in
                    Reparameterization(theta0: .values(theta0), projection: projection)
                        .write(thetaD: thetaD, rows: 0..<theta.count, into: theta, threads: threads)
                }
            } else {
                Reparameterization(theta0: .values(theta0), projection: projection)
                    .write(thetaD: UnsafeBufferPointer(trained), rows: 0..<theta.count, into: theta, threads: threads)
            }
        }
        let result = network.compute(
            theta: theta.baseAddress!, dataset: dataset, indices: indices, gradient: gradient.baseAddress!, threads: threads,
            buffers: plan.bufferCount > 0 ? buffers : nil, context: context)
        if l2Gradient > 0 {
            WorkSplit(count: theta.count, grain: 1 << 16).forEach(threads: threads) { range in
                for i in range { gradient[i] += l2Gradient * theta[i] }
            }
        }
        switch space {
        case .direct:
            rule.update(
                parameters: trained, gradient: UnsafeBufferPointer(gradient), state: &optimizerState,
                learningRate: learningRate, threads: threads)
        case .subspace(let projection) where structure != nil:
            let structure = self.structure!
            structureProjected.withUnsafeBufferPointer { projected in
                structureScratch.withUnsafeMutableBufferPointer { scratch in
                    structure.backward(
                        gradient: UnsafeBufferPointer(gradient), projected: projected, parameters: UnsafeBufferPointer(trained),
                        projection: projection, scratch: scratch, into: gradientSpace)
                }
            }
            structure.update(
                rule: rule, parameters: trained, gradient: UnsafeBufferPointer(gradientSpace), state: &optimizerState,
                learningRate: learningRate, baseRate: configuration.learningRate, threads: threads)
        case .subspace(let projection):
            projection.projectTranspose(UnsafeBufferPointer(gradient), into: gradientSpace)
            // With an active codebook this is the straight-through step on the latent.
            rule.update(
                parameters: trained, gradient: UnsafeBufferPointer(gradientSpace), state: &optimizerState,
                learningRate: learningRate, threads: threads)
            quantizer?.batchDone(latent: trained, gradient: UnsafeBufferPointer(gradientSpace), learningRate: learningRate)
        }
        return result
    }

    /// Accuracy and loss of the current parameters on `dataset` (inference mode: batch norm
    /// with the running statistics, no dropout).
    public func evaluate(_ dataset: Dataset) throws(TrainingError) -> Evaluation {
        try checkShape(dataset)
        let evaluator: ParallelEvaluator
        do {
            evaluator = try ParallelEvaluator(
                plan: plan, batchSize: min(configuration.evaluationBatchSize, max(1, dataset.count)), threads: configuration.threads,
                buffers: buffers)
        } catch {
            throw .network(error.description)
        }
        return try evaluate(dataset, theta: theta(), evaluator: evaluator)
    }

    private func evaluate(_ dataset: Dataset, theta: [Float], evaluator: ParallelEvaluator) throws(TrainingError) -> Evaluation {
        do throws(InferenceError) {
            return try theta.withUnsafeBufferPointer { theta throws(InferenceError) in
                try evaluator.evaluate(labels: dataset.labels, theta: theta.baseAddress!) { range, buffer in
                    dataset.fill(range: range, into: buffer)
                }
            }
        } catch {
            throw .data(error.description)
        }
    }

    private func check(_ data: DatasetPair) throws(TrainingError) {
        try checkShape(data.train)
        guard data.train.count >= 1 else { throw .data("the training set is empty") }
    }

    private func checkShape(_ dataset: Dataset) throws(TrainingError) {
        let shape = architecture.inputShape
        let fits = dataset.exampleShape == shape || (shape.count == 1 && dataset.featureCount == shape[0])
        guard fits else {
            throw .data("the network takes inputs of shape \(shape) but the data has examples of shape \(dataset.exampleShape)")
        }
        guard dataset.classCount <= plan.classCount else {
            throw .data("the data has \(dataset.classCount) classes but the network has \(plan.classCount) outputs")
        }
    }
}
