import ArgumentParser
import IdzipCore
import IdzipTraining

/// Optimiser, schedule and run settings. Unset options take the recommended defaults for
/// direct or subspace training.
struct TrainingOptions: ParsableArguments {
    enum OptimizerName: String, ExpressibleByArgument, CaseIterable { case adam, sgd }

    @Option(help: "Passes over the training set.")
    var epochs: Int?

    @Option(help: "Examples per step.")
    var batchSize: Int?

    @Option(help: "adam or sgd.")
    var optimizer: OptimizerName?

    @Option(help: "Base learning rate.")
    var learningRate: Float?

    @Option(help: "Adam's beta1.")
    var beta1: Float?

    @Option(help: "Adam's beta2 (the authors used 0.99).")
    var beta2: Float?

    @Option(help: "SGD momentum.")
    var momentum: Float?

    @Option(help: "L2 penalty l2 * sum(theta^2) on the full parameter vector.")
    var l2: Float?

    @Option(help: "Step decay: multiply the learning rate by --lr-decay every this many epochs (0: constant rate).")
    var lrDecayEvery: Int?

    @Option(help: "Step decay factor.")
    var lrDecay: Float?

    @Option(help: "Seed of theta0 and of the example order.")
    var seed: UInt64 = 1

    @Option(help: "Threads (default: all cores; results do not depend on it).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be in 1...256") }
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be at least 0") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    /// The settings: `base` overridden by every option given.
    func configuration(base: TrainingConfiguration) throws -> TrainingConfiguration {
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
        do {
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return configuration
    }
}

extension TrainingConfiguration {
    /// "adam b1=0.9 b2=0.99 lr=0.001 step=3x0.5 batch=128 l2=1e-05"
    var summary: String {
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
}
