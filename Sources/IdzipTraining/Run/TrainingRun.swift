import Foundation
import IdzipCore

/// What a training run trains and how: the network, direct training or a random subspace
/// of dimension d (theta = theta0 + P theta_d, Li et al. 2018, Sec. 2), the seeds, the
/// optimiser settings and the stored precision of theta_d.
public struct TrainingRunSpec: Sendable, Hashable {
    /// The architecture as the user named it ("fc:784-200-200-10", "toy").
    public var model: String
    public var architecture: Architecture
    /// d; nil for direct training of all D parameters.
    public var dimension: Int?
    public var projection: ProjectionKind
    /// Seed of P (see `derivedProjectionSeed`).
    public var projectionSeed: UInt64
    /// Seed of theta0 (the configuration's seed orders the examples; both are this seed).
    public var seed: UInt64
    public var configuration: TrainingConfiguration
    public var encoding: ThetaEncoding
    /// Class names the model file stores, one per output (`idzip train --labels`); nil
    /// stores the data set's (from `classes.txt`, `batches.meta.txt` or a named set).
    public var labels: [String]?
    /// A codebook learned with theta_d (subspace training only); nil stores theta_d with `encoding`.
    public var quantization: QuantizationSettings?
    /// Levels of a `.codebook` encoding (post-training k-means, `StoredTheta.quantize`).
    public var codebookLevels: Int = StoredTheta.defaultCodebookLevels
    /// The file layout of a `.idz` output; `.compact` writes no provenance metadata.
    public var container: ContainerProfile = .standard
    /// A pre-trained base: theta0 is its weights instead of the seeded initialisation, and
    /// the file records its digest (Formats/idz-v3.md section 6). Data-set training only.
    public var base: BaseWeights? = nil
    /// The base's name or locator the file records (may be empty).
    public var baseLocator: String = ""
    /// Per-tensor modes and SAID scales (Formats/idz-v3.md section 7); nil or plain: theta_d only.
    public var tensorStructure: TensorStructureSettings? = nil

    /// The structure actually used: nil when absent or plain.
    public var activeStructure: TensorStructureSettings? {
        tensorStructure.flatMap { $0.isPlain ? nil : $0 }
    }

    /// Numbers the file stores for the trained model: d, plus the scales and direct values
    /// of the tensor modes (what a sweep's d counts); nil for direct training.
    public func storedNumberCount() -> Int? {
        guard let dimension else { return nil }
        guard let structure = activeStructure, let tensors = try? architecture.parameterTensors() else { return dimension }
        return StructuredSubspace(tensors: tensors, dimension: dimension, settings: structure).trainedCount
    }

    /// - Parameter projectionSeed: nil derives it from `seed` (`derivedProjectionSeed`).
    public init(
        model: String, architecture: Architecture, dimension: Int?, projection: ProjectionKind = .fastfood,
        projectionSeed: UInt64? = nil, seed: UInt64, configuration: TrainingConfiguration, encoding: ThetaEncoding = .float32,
        labels: [String]? = nil, quantization: QuantizationSettings? = nil
    ) {
        self.labels = labels
        self.quantization = quantization
        self.model = model
        self.architecture = architecture
        self.dimension = dimension
        self.projection = projection
        self.projectionSeed = projectionSeed ?? Self.derivedProjectionSeed(seed)
        self.seed = seed
        self.configuration = configuration
        self.encoding = encoding
    }

    /// The projection seed when none is given: seed XOR 0x9E3779B97F4A7C15 (the golden
    /// ratio's 64 bits), so that theta0 and P of one seed are independent streams. Part of
    /// the reproducibility contract: `idzip train --seed s` and a sweep's run of seed s
    /// train in the same subspace.
    public static func derivedProjectionSeed(_ seed: UInt64) -> UInt64 {
        seed ^ 0x9E37_79B9_7F4A_7C15
    }

    /// The recommended settings for `architecture`: the toy problem's, the subspace ones
    /// (`subspace`) or the direct ones.
    public static func recommendedConfiguration(for architecture: Architecture, subspace: Bool) -> TrainingConfiguration {
        if ToyObjective(architecture) != nil { return ToyTrainer.recommended() }
        return subspace ? .recommendedSubspace() : .recommended()
    }

    /// The projection's description as the `.idz` file records it; nil for direct training.
    public var projectionSpec: ProjectionSpec? {
        dimension.map { ProjectionSpec(kind: projection, seed: projectionSeed, dimension: $0) }
    }
}

/// What a run learns from: a data set, or the paper's toy objective (Sec. 2), which needs none.
public enum TrainingProblem: Sendable {
    case dataset(SelectedData)
    case toy(ToyObjective)
    /// Reinforcement learning in an environment (Li et al. 2018, Sec. 3.3): the network is a
    /// policy over the observations, trained by the task's algorithm.
    case environment(ReinforcementTask)
}

/// Follows a training run; every method has a default that does nothing and goes on.
public protocol TrainingObserver: AnyObject {
    /// After every batch of data-set training.
    func batch(_ progress: BatchProgress)
    /// After every epoch of data-set training (after its checkpoint is written).
    func epoch(_ report: EpochReport) -> TrainingDecision
    /// After every full gradient step of the toy problem, with the loss before the step.
    func step(_ step: Int, loss: Double) -> TrainingDecision
    /// After every evaluation of the policy in reinforcement learning.
    func evaluation(_ report: PolicyEvaluationReport) -> TrainingDecision
}

extension TrainingObserver {
    public func batch(_ progress: BatchProgress) {}
    public func epoch(_ report: EpochReport) -> TrainingDecision { .proceed }
    public func step(_ step: Int, loss: Double) -> TrainingDecision { .proceed }
    public func evaluation(_ report: PolicyEvaluationReport) -> TrainingDecision { .proceed }
}

/// One training run from settings to sealed model file: builds theta0 and P from the
/// seeds, trains (with a checkpoint after every epoch and resume), and writes the model
/// after measuring it exactly as stored.
public final class TrainingRun {
    public let spec: TrainingRunSpec
    public let problem: TrainingProblem
    /// D.
    public let parameterCount: Int
    private let trainer: any ParameterTrainer

    /// - Throws: `TrainingError` when the settings, network or data do not fit together.
    public init(spec: TrainingRunSpec, problem: TrainingProblem) throws(TrainingError) {
        let count: Int
        do {
            count = try spec.architecture.parameterCount()
        } catch {
            throw .network(error.description)
        }
        if let dimension = spec.dimension {
            guard dimension >= 1, dimension <= count else {
                throw .configuration("d = \(dimension) must be between 1 and the number of parameters D = \(count) of \(spec.model)")
            }
        }
        switch problem {
        case .dataset(let data):
            // The evaluator's batches: the larger of the test and validation sets.
            try spec.checkMemory(
                testExamples: max(data.pair.test.count, data.pair.validation?.count ?? 0), trainExamples: data.pair.train.count,
                dataBytes: data.pair.byteCount)
        case .toy: try spec.checkMemory(testExamples: 0)
        case .environment(let task):
            var replay = MemoryBudget()
            if task.algorithm == .dqn {
                let observations = spec.architecture.inputShape.reduce(1) { MemoryBudget.product([$0, $1]) }
                replay.add("DQN replay buffer (\(min(task.dqn.bufferSize, task.dqn.steps)) transitions)", bytes: task.dqn.replayBytes(observationCount: observations))
            }
            try spec.checkMemory(testExamples: 0, also: replay)
        }
        if let labels = spec.labels {
            let classes = (try? spec.architecture.outputCount()) ?? 0
            guard labels.count == classes else {
                throw .data("\(counted(labels.count, "class name")) given, but \(spec.model) has \(counted(classes, "output class", plural: "output classes"))")
            }
        }
        if let quantization = spec.quantization {
            try quantization.validate()
            guard spec.dimension != nil else { throw .configuration("a codebook quantises theta_d: it needs subspace training (--dim)") }
        }
        self.spec = spec
        self.problem = problem
        parameterCount = count
        switch problem {
        case .dataset:
            let space: ParameterSpace = spec.dimension.map {
                .subspace(trainingProjection(
                    kind: spec.projection, rowCount: count, columnCount: $0, seed: spec.projectionSeed,
                    threads: spec.configuration.threads))
            } ?? .direct
            let network: Trainer
            if let base = spec.base {
                guard base.values.count == count else {
                    throw .configuration("the base has \(base.values.count) parameters, \(spec.model) has \(count)")
                }
                network = try Trainer(architecture: spec.architecture, theta0: base.values, space: space, configuration: spec.configuration)
            } else {
                network = try Trainer(architecture: spec.architecture, theta0Seed: spec.seed, space: space, configuration: spec.configuration)
            }
            if let structure = spec.activeStructure {
                guard let dimension = spec.dimension, spec.projection != .identity else {
                    throw .configuration("tensor modes and scales need subspace training with a random projection (--dim)")
                }
                guard spec.quantization == nil else { throw .configuration("tensor modes and scales do not combine with a learned codebook") }
                let tensors: [TensorSpec]
                do { tensors = try spec.architecture.parameterTensors() } catch { throw .network(error.description) }
                try network.useStructure(StructuredSubspace(tensors: tensors, dimension: dimension, settings: structure))
            }
            // Levels are kept at float16 precision: the file then stores them in 2 bytes each.
            network.quantizer = spec.quantization.map {
                CodebookQuantizer(settings: $0, optimizer: spec.configuration.optimizer, storeLevel: CodebookQuantizer.float16Level)
            }
            trainer = network
        case .toy:
            guard spec.quantization == nil else { throw .configuration("the toy problem does not learn a codebook") }
            guard spec.base == nil, spec.activeStructure == nil else { throw .configuration("a base and tensor modes need training on a data set") }
            let space: ParameterSpace = spec.dimension.map {
                .subspace(trainingProjection(kind: spec.projection, rowCount: count, columnCount: $0, seed: spec.projectionSeed, threads: 1))
            } ?? .direct
            trainer = try ToyTrainer(architecture: spec.architecture, theta0Seed: spec.seed, space: space, configuration: spec.configuration)
        case .environment(let task):
            guard spec.base == nil, spec.activeStructure == nil else { throw .configuration("a base and tensor modes need training on a data set") }
            // One thread: reinforcement learning updates one small batch at a time (the
            // evaluation episodes are what runs in parallel); results do not depend on it.
            let space: ParameterSpace = spec.dimension.map {
                .subspace(trainingProjection(kind: spec.projection, rowCount: count, columnCount: $0, seed: spec.projectionSeed, threads: 1))
            } ?? .direct
            trainer = try task.makeTrainer(architecture: spec.architecture, theta0Seed: spec.seed, space: space, configuration: spec.configuration)
        }
    }

    /// Epochs finished (steps for the toy problem).
    public var epochsCompleted: Int { trainer.progressCount }

    /// The description of the data, or "toy (no data)".
    public var dataSummary: String {
        switch problem {
        case .dataset(let data): data.selection.summary
        case .toy: "toy (no data)"
        case .environment(let task): task.summary
        }
    }

    /// Everything that must match for a checkpoint to continue this run.
    public var fingerprint: String {
        var settings = spec.configuration
        settings.epochs = 0
        settings.threads = 1
        return "model \(spec.model); data \(dataSummary)\(preprocessingNote); dim \(spec.dimension.map(String.init) ?? "direct"); "
            + "projection \(spec.projection.name) seed \(spec.projectionSeed); seed \(spec.seed); \(settings.summary)"
            + (spec.quantization.map { "; \($0.summary)" } ?? "")
            + (spec.base.map { "; base \(hexString($0.sha256))" } ?? "")
            + (spec.activeStructure.map { "; tensor modes \($0.summary)" } ?? "")
    }

    /// "; preprocessing scale=... mean=[...] std=[...]" for an explicit preprocessing, else "".
    private var preprocessingNote: String {
        guard case .dataset(let data) = problem, let preprocessing = data.pair.train.preprocessing else { return "" }
        return "; preprocessing \(WeightsDescription.json(preprocessing))"
    }

    /// Continues from the checkpoint at `url`, which this run's settings must have written.
    /// - Throws: `TrainingError.checkpoint` when it is missing, damaged or from another run.
    public func resume(from url: URL) throws(TrainingError) {
        guard let network = trainer as? Trainer else {
            if case .environment = problem { throw .checkpoint("reinforcement learning keeps no checkpoints") }
            throw .checkpoint("the toy problem keeps no checkpoints")
        }
        guard spec.quantization == nil else { throw .checkpoint("a run learning a codebook keeps no checkpoints; train it again") }
        try network.restore(CheckpointFile.read(from: url, fingerprint: fingerprint))
    }

    /// Trains to the configured epochs (steps), reporting to `observer`. With a
    /// `checkpoint` URL, data-set training writes a checkpoint there after every epoch.
    /// - Returns: the epochs' reports (empty for the toy problem).
    /// - Throws: `TrainingError` on divergence, bad data, or a checkpoint that cannot be written.
    @discardableResult
    public func train(observer: (any TrainingObserver)? = nil, checkpoint: URL? = nil) throws(TrainingError) -> [EpochReport] {
        // A codebook's state is not in a checkpoint: such a run is not resumed (`resume`).
        let checkpoint = spec.quantization == nil ? checkpoint : nil
        switch (problem, trainer) {
        case (.dataset(let data), let network as Trainer):
            var checkpointFailure: TrainingError?
            let fingerprint = self.fingerprint
            let reports = try network.train(
                on: data.pair, onBatch: observer.map { observer in { observer.batch($0) } }
            ) { report in
                if let checkpoint {
                    do {
                        try CheckpointFile.write(network.checkpoint(), fingerprint: fingerprint, to: checkpoint)
                    } catch {
                        checkpointFailure = .output("\(error)")
                        return .stop
                    }
                }
                return observer?.epoch(report) ?? .proceed
            }
            if let checkpointFailure { throw checkpointFailure }
            return reports
        case (.toy, let toy as ToyTrainer):
            try toy.train(onStep: observer.map { observer in { observer.step($0, loss: $1) } })
            return []
        case (.environment, let learner as any PolicyTrainer):
            try learner.train(onEvaluation: observer.map { observer in { observer.evaluation($0) } })
            return []
        default:
            throw .network("internal: the trainer does not match the problem")
        }
    }

    /// Writes the model to `url`: a `.idz` (subspace, or direct with the identity
    /// projection) or, for direct training on data, `.safetensors`. The recorded figures
    /// (accuracy, or loss for the toy problem) are measured on the weights as stored.
    /// - Throws: `TrainingError` when the model cannot be expanded, evaluated or written.
    public func seal(to url: URL) throws(TrainingError) -> SealedRun {
        switch problem {
        case .dataset(let data): return try sealTrained(data, to: [(url, spec.container)])[0]
        case .toy(let objective): return try sealToy(objective, to: url)
        case .environment(let task): return try sealPolicy(task, to: url)
        }
    }

    /// A policy's `.idz`: the performance is measured on the weights as stored, on the same
    /// evaluation episodes as during training (`PolicyEvaluation`, seeds from the run's seed),
    /// as the mean return minus the environment's floor.
    private func sealPolicy(_ task: ReinforcementTask, to url: URL) throws(TrainingError) -> SealedRun {
        let threads = spec.configuration.threads
        let sealer = ModelSealer(
            architecture: spec.architecture, theta0Seed: spec.seed, preprocessing: Preprocessing(inputScale: 1), threads: threads)
        let stored = ModelSealer.coordinates(trained: trainer.parameters, theta0: trainer.theta0, projection: spec.projectionSpec)
        try FiniteValues.checkFinal(weights: stored.thetaD, name: "theta_d value")
        let draft = try sealer.draft(projection: stored.projection, thetaD: stored.thetaD, encoding: spec.encoding, codebookLevels: spec.codebookLevels)
        let weights = try sealer.weights(of: draft)
        try FiniteValues.checkFinal(weights: weights)
        let returns = try PolicyEvaluation.run(
            architecture: spec.architecture, theta: weights, environment: task.environment, episodes: task.evaluationEpisodes,
            seed: spec.seed, threads: threads)
        let performance = returns.mean - task.environment.make().returnFloor
        let configuration = spec.configuration
        let entries: [MetadataEntry] = [
            MetadataEntry(key: "producer", value: .string(IdzipVersion.producer)),
            MetadataEntry(key: "environment", value: .string(task.environment.rawValue)),
            MetadataEntry(key: "environment.title", value: .string(task.environment.title)),
            MetadataEntry(key: "algorithm", value: .string(task.algorithm.rawValue)),
            MetadataEntry(key: "training.optimizer", value: .string(Provenance.optimizerText(configuration.optimizer))),
            MetadataEntry(key: "training.learning_rate", value: .double(Provenance.decimal(configuration.learningRate))),
            MetadataEntry(key: "training.settings", value: .string(task.settingsSummary)),
            MetadataEntry(key: "training.steps", value: .int(Int64(trainer.progressCount))),
            MetadataEntry(key: "evaluation.episodes", value: .int(Int64(returns.episodes))),
            MetadataEntry(key: "evaluation.seed", value: .string(String(spec.seed))),
            MetadataEntry(key: "return.mean", value: .double(returns.mean)),
            MetadataEntry(key: "return.std", value: .double(returns.standardDeviation)),
            MetadataEntry(key: "return.min", value: .double(returns.minimum)),
            MetadataEntry(key: "return.max", value: .double(returns.maximum)),
            MetadataEntry(key: "performance", value: .double(performance)),
        ]
        let sealed = try sealer.write(draft, weights: weights, metadata: entries, to: url, profile: spec.container)
        return SealedRun(fileBytes: sealed.fileBytes, returns: returns, performance: performance)
    }

    /// Writes the `.idz` model of data-set training once per container profile (expanded
    /// and evaluated once: every file stores the same theta_d), in order.
    /// - Throws: `TrainingError` when the model cannot be expanded, evaluated or written.
    public func seal(files: [(url: URL, container: ContainerProfile)]) throws(TrainingError) -> [SealedRun] {
        guard case .dataset(let data) = problem, spec.dimension != nil || files.allSatisfy({ $0.url.pathExtension.lowercased() == "idz" }) else {
            throw .network("internal: only a model trained on data is written in several containers")
        }
        return try sealTrained(data, to: files)
    }

    private func sealTrained(_ data: SelectedData, to files: [(url: URL, container: ContainerProfile)]) throws(TrainingError) -> [SealedRun] {
        let url = files[0].url
        let threads = spec.configuration.threads
        // What training applied to the inputs: the explicit preprocessing, else bytes / 255
        // and float features as they are.
        let preprocessing = data.pair.train.trainingPreprocessing
        let sealer = ModelSealer(
            architecture: spec.architecture, theta0Seed: spec.seed, preprocessing: preprocessing,
            labels: spec.labels ?? labels(data.pair), threads: threads)
        let shuffledLabels = data.selection.variant.shuffleLabels
        if spec.dimension == nil, url.pathExtension.lowercased() == "safetensors" {
            let theta = trainer.theta()
            try FiniteValues.checkFinal(weights: theta)
            let (test, train, validation) = try evaluate(theta, preprocessing: preprocessing, on: data.pair, threads: threads)
            try FiniteValues.checkFinal(loss: test.meanLoss, of: "test loss")
            var entries: [(key: String, value: String)] = [
                ("format", "pt"), ("producer", IdzipVersion.producer), ("idzip.training", spec.configuration.summary),
                (SafetensorsWriter.architectureKey, ""),  // the writer records the architecture here
                (WeightsDescription.preprocessingKey, WeightsDescription.json(preprocessing)),
            ]
            for entry in metadata(data, test: test, train: train, validation: validation) { entries.append(("idzip.\(entry.key)", Self.text(entry.value))) }
            let state = batchNormState
            let bytes = try sealer.writeSafetensors(theta, metadata: entries, buffers: state.buffers, batchesTracked: state.batchesTracked, to: url)
            return [SealedRun(fileBytes: bytes, test: test, train: train, validation: validation, shuffledLabels: shuffledLabels)]
        }
        let draft = try draftModel(sealer)
        let weights = try sealer.weights(of: draft)
        try FiniteValues.checkFinal(weights: weights)
        let (test, train, validation) = try evaluate(weights, preprocessing: preprocessing, on: data.pair, threads: threads)
        try FiniteValues.checkFinal(loss: test.meanLoss, of: "test loss")
        var sealedRuns: [SealedRun] = []
        for file in files {
            let provenance = file.container.layout == .compact ? [] : metadata(data, test: test, train: train, validation: validation)
            let sealed = try sealer.write(draft, weights: weights, metadata: provenance, to: file.url, profile: file.container)
            sealedRuns.append(SealedRun(
                fileBytes: sealed.fileBytes, test: test, train: train, validation: validation, shuffledLabels: shuffledLabels))
        }
        return sealedRuns
    }

    /// The unsealed model of the trained parameters: theta_d with the spec's encoding, or
    /// its learned codebook.
    private func draftModel(_ sealer: ModelSealer) throws(TrainingError) -> IdzModel {
        let network = trainer as? Trainer
        if spec.quantization != nil, let projection = spec.projectionSpec, let codebook = network?.quantizer?.codebook {
            try FiniteValues.checkFinal(weights: codebook.levels, name: "codebook level")
            var draft = try sealer.draft(projection: projection, theta: .codebook(levels: codebook.levels, symbols: codebook.symbols))
            (draft.buffers, draft.batchesTracked) = batchNormState
            attachBase(to: &draft)
            return draft
        }
        let trained = network?.thetaD ?? trainer.parameters
        let stored = ModelSealer.coordinates(trained: trained, theta0: trainer.theta0, projection: spec.projectionSpec)
        try FiniteValues.checkFinal(weights: stored.thetaD, name: "theta_d value")
        var draft = try sealer.draft(
            projection: stored.projection, thetaD: stored.thetaD, encoding: spec.encoding, codebookLevels: spec.codebookLevels)
        (draft.buffers, draft.batchesTracked) = batchNormState
        if let modes = network?.tensorModes {
            try FiniteValues.checkFinal(weights: (modes.scales ?? []) + modes.directValues, name: "tensor scale or direct value")
            draft.tensorModes = modes
        }
        attachBase(to: &draft)
        return draft
    }

    /// The trained network's batch-norm running statistics and batch count (none without batch norm).
    private var batchNormState: (buffers: [Float], batchesTracked: UInt64) {
        guard let network = trainer as? Trainer else { return ((try? spec.architecture.initialBuffers()) ?? [], 0) }
        return (network.buffers, network.batchesTracked)
    }

    /// A fine-tuned model records its base (and carries its weights for expansion); its
    /// theta0 seed is 0 (Formats/idz-v3.md section 6).
    private func attachBase(to draft: inout IdzModel) {
        guard let base = spec.base else { return }
        draft.base = BaseReference(weights: base, locator: spec.baseLocator)
        draft.theta0Seed = 0
    }

    /// The learned codebook (a run with `quantization`, once fitted).
    public var codebook: Codebook? { (trainer as? Trainer)?.quantizer?.codebook }

    private func sealToy(_ objective: ToyObjective, to url: URL) throws(TrainingError) -> SealedRun {
        let sealer = ModelSealer(architecture: spec.architecture, theta0Seed: spec.seed, preprocessing: Preprocessing(inputScale: 1))
        let stored = ModelSealer.coordinates(trained: trainer.parameters, theta0: trainer.theta0, projection: spec.projectionSpec)
        try FiniteValues.checkFinal(weights: stored.thetaD, name: "theta_d value")
        let draft = try sealer.draft(
            projection: stored.projection, thetaD: stored.thetaD, encoding: spec.encoding, codebookLevels: spec.codebookLevels)
        let weights = try sealer.weights(of: draft)
        try FiniteValues.checkFinal(weights: weights)
        let loss = objective.loss(weights)
        try FiniteValues.checkFinal(loss: loss, of: "loss")
        let performance = ToyObjective.performance(loss: loss)
        let provenance = spec.container.layout == .compact ? [] : Provenance.trainingEntries(spec.configuration, toy: true) + [
            MetadataEntry(key: "dataset", value: .string(dataSummary)),
            MetadataEntry(key: "loss", value: .double(loss)),
            MetadataEntry(key: "performance", value: .double(performance)),
            MetadataEntry(key: "steps", value: .int(Int64(trainer.progressCount))),
        ]
        let sealed = try sealer.write(draft, weights: weights, metadata: provenance, to: url, profile: spec.container)
        return SealedRun(fileBytes: sealed.fileBytes, loss: loss, performance: performance)
    }

    /// The data set's class names, unless they are just 0, 1, 2, ... (then the file stores none).
    private func labels(_ data: DatasetPair) -> [String] {
        let classes = (try? spec.architecture.outputCount()) ?? 0
        let names = data.train.classNames
        return names.count == classes && names != (0..<classes).map(String.init) ? names : []
    }

    /// Evaluated on raw inputs through `preprocessing`, exactly as `idzip eval` does.
    private func evaluate(
        _ weights: [Float], preprocessing: Preprocessing, on data: DatasetPair, threads: Int
    ) throws(TrainingError) -> (test: Evaluation, train: Evaluation, validation: Evaluation?) {
        do {
            let predictor = try Predictor(
                architecture: spec.architecture, theta: weights, preprocessing: preprocessing, threads: threads,
                buffers: batchNormState.buffers)
            return (
                try predictor.evaluate(raw: data.test), try predictor.evaluate(raw: data.train),
                try data.validation.map { held throws(InferenceError) in try predictor.evaluate(raw: held) })
        } catch {
            throw .data(error.description)
        }
    }

    /// Provenance (`Provenance`): the producer and training settings, the data set, its
    /// digest and variants, the accuracy of the stored weights (training accuracy too when
    /// the labels are shuffled, where it is the measure of performance) and the epochs run.
    private func metadata(_ data: SelectedData, test: Evaluation, train: Evaluation, validation: Evaluation?) -> [MetadataEntry] {
        var entries = Provenance.trainingEntries(spec.configuration, toy: false)
        entries += [
            MetadataEntry(key: "dataset", value: .string(data.selection.summary)),
            MetadataEntry(key: "dataset.sha256", value: .bytes(data.pair.digest)),
        ]
        entries += Provenance.dataEntries(data.selection.variant)
        entries.append(MetadataEntry(key: "test.accuracy", value: .double(test.accuracy)))
        if let validation { entries.append(MetadataEntry(key: "validation.accuracy", value: .double(validation.accuracy))) }
        if data.selection.variant.shuffleLabels { entries.append(MetadataEntry(key: "train.accuracy", value: .double(train.accuracy))) }
        entries.append(MetadataEntry(key: "epochs", value: .int(Int64(trainer.progressCount))))
        if let structure = spec.activeStructure {
            entries.append(MetadataEntry(key: "training.tensor_modes", value: .string(structure.summary)))
        }
        return entries
    }

    private static func text(_ value: MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .double(let number): String(number)
        case .int(let number): String(number)
        case .bool(let flag): String(flag)
        case .bytes(let bytes): hexString(bytes)
        }
    }
}

/// A sealed run's file and figures.
public struct SealedRun: Sendable {
    /// Size of the written file in bytes.
    public var fileBytes: Int
    /// Test and training set evaluations of the stored weights (data-set training).
    public var test: Evaluation?
    public var train: Evaluation?
    /// The loss of the stored weights (toy problem).
    public var loss: Double?
    /// The performance a sweep compares: test accuracy, training accuracy when the labels
    /// are shuffled (memorisation, Li et al. 2018, Sec. 3.2), or exp(-loss) for the toy problem.
    public var performance: Double

    /// The held-out validation set's evaluation (with `--validation-fraction`): then the
    /// performance, with the test accuracy reported beside it.
    public var validation: Evaluation?

    init(fileBytes: Int, test: Evaluation, train: Evaluation, validation: Evaluation?, shuffledLabels: Bool) {
        self.fileBytes = fileBytes
        self.test = test
        self.train = train
        self.validation = validation
        performance = shuffledLabels ? train.accuracy : (validation ?? test).accuracy
    }

    /// The returns of the stored policy on the evaluation episodes (reinforcement learning).
    public var returns: ReturnStatistics?

    init(fileBytes: Int, returns: ReturnStatistics, performance: Double) {
        self.fileBytes = fileBytes
        self.returns = returns
        self.performance = performance
    }

    init(fileBytes: Int, loss: Double, performance: Double) {
        self.fileBytes = fileBytes
        self.loss = loss
        self.performance = performance
    }
}

/// What the data-set trainer and the toy trainer share: the frozen theta0, the trained
/// numbers and how they map to theta.
public protocol ParameterTrainer: AnyObject {
    /// The frozen initial parameters (D numbers).
    var theta0: [Float] { get }
    /// theta (direct, D numbers) or theta_d (subspace, d numbers).
    var parameters: [Float] { get }
    var space: ParameterSpace { get }
    /// Epochs (data set) or steps (toy problem) done.
    var progressCount: Int { get }
    /// The full parameter vector theta (D numbers) now.
    func theta() -> [Float]
}

extension Trainer: ParameterTrainer {
    public var progressCount: Int { epochsCompleted }
}

extension ToyTrainer: ParameterTrainer {
    public var progressCount: Int { stepsCompleted }
}
