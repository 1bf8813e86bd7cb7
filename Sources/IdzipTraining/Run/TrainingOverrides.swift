import IdzipCore

/// Training settings a user chose (a command line's options); every nil takes the value of
/// the base configuration it is applied to (`TrainingConfiguration.recommended()`,
/// `.recommendedSubspace()` or `ToyTrainer.recommended()`).
public struct TrainingOverrides: Sendable, Hashable {
    public enum Optimizer: String, Sendable, Hashable, CaseIterable { case adam, sgd }

    public var epochs: Int?
    public var batchSize: Int?
    public var optimizer: Optimizer?
    public var learningRate: Float?
    public var beta1: Float?
    public var beta2: Float?
    public var momentum: Float?
    /// Coefficient of l2 * sum(theta^2) on the full parameter vector.
    public var l2: Float?
    /// Step decay: multiply the rate by `lrDecay` every this many epochs (0: constant).
    public var lrDecayEvery: Int?
    public var lrDecay: Float?
    /// Seed of theta0, of the example order and (derived) of P.
    public var seed: UInt64
    public var threads: Int?

    public init(
        epochs: Int? = nil, batchSize: Int? = nil, optimizer: Optimizer? = nil, learningRate: Float? = nil,
        beta1: Float? = nil, beta2: Float? = nil, momentum: Float? = nil, l2: Float? = nil, lrDecayEvery: Int? = nil,
        lrDecay: Float? = nil, seed: UInt64 = 1, threads: Int? = nil
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.momentum = momentum
        self.l2 = l2
        self.lrDecayEvery = lrDecayEvery
        self.lrDecay = lrDecay
        self.seed = seed
        self.threads = threads
    }

    /// These overrides without the optimiser and schedule choices: a sweep's direct
    /// baseline trains with the direct defaults, since those choices are for its subspace runs.
    public var withoutOptimizerChoices: TrainingOverrides {
        var result = self
        result.optimizer = nil
        result.learningRate = nil
        result.beta1 = nil
        result.beta2 = nil
        result.momentum = nil
        result.lrDecayEvery = nil
        result.lrDecay = nil
        return result
    }

    /// `base` with every override applied, validated.
    /// - Throws: `TrainingError.configuration` when the result is not a valid configuration.
    public func configuration(base: TrainingConfiguration) throws(TrainingError) -> TrainingConfiguration {
        var configuration = base
        configuration.seed = seed
        if let epochs { configuration.epochs = epochs }
        if let batchSize { configuration.batchSize = batchSize }
        if let learningRate { configuration.learningRate = learningRate }
        if let l2 { configuration.l2 = l2 }
        if let threads { configuration.threads = threads }
        let name = optimizer ?? (base.optimizer.name == "sgd" ? .sgd : .adam)
        switch (name, base.optimizer) {
        case (.adam, .adam(let baseBeta1, let baseBeta2, let epsilon)):
            configuration.optimizer = .adam(beta1: beta1 ?? baseBeta1, beta2: beta2 ?? baseBeta2, epsilon: epsilon)
        case (.adam, _):
            configuration.optimizer = .adam(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.99, epsilon: 1e-8)
        case (.sgd, .sgd(let baseMomentum, let nesterov)):
            configuration.optimizer = .sgd(momentum: momentum ?? baseMomentum, nesterov: nesterov)
        case (.sgd, _):
            configuration.optimizer = .sgd(momentum: momentum ?? 0.9, nesterov: false)
        }
        if lrDecayEvery != nil || lrDecay != nil {
            let every = lrDecayEvery ?? { if case .step(let every, _) = base.schedule { return every } else { return 3 } }()
            let factor = lrDecay ?? { if case .step(_, let factor) = base.schedule { return factor } else { return 0.5 } }()
            configuration.schedule = every == 0 ? .constant : .step(every: every, factor: factor)
        }
        try configuration.validate()
        return configuration
    }
}

extension TrainingConfiguration {
    /// The settings in one line, as files and reports record them:
    /// "adam b1=0.9 b2=0.99 lr=0.001 step=3x0.5 batch=128 l2=1e-05".
    public var summary: String {
        let optimizerText = switch optimizer {
        case .adam(let beta1, let beta2, _): "adam b1=\(beta1) b2=\(beta2)"
        case .sgd(let momentum, let nesterov): "sgd momentum=\(momentum)\(nesterov ? " nesterov" : "")"
        }
        let scheduleText = switch schedule {
        case .constant: ""
        case .step(let every, let factor): " step=\(every)x\(factor)"
        case .cosine(let floor): " cosine=\(floor)"
        }
        return "\(optimizerText) lr=\(learningRate)\(scheduleText) batch=\(batchSize) l2=\(l2)"
    }

    /// `summary` without the batch size, for the toy problem (full gradient steps).
    public var toySummary: String { summary.replacingOccurrences(of: " batch=\(batchSize)", with: "") }
}
