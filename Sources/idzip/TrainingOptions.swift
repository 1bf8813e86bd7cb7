import ArgumentParser
import IdzipCore
import IdzipTraining

/// Optimiser, schedule and run settings. Unset options take the recommended defaults for
/// direct or subspace training (or the toy problem).
struct TrainingOptions: ParsableArguments {
    @Option(help: "Passes over the training set.")
    var epochs: Int?

    @Option(help: "Examples per step.")
    var batchSize: Int?

    @Option(help: "adam or sgd.")
    var optimizer: TrainingOverrides.Optimizer?

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
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be at least 0") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    var overrides: TrainingOverrides {
        TrainingOverrides(
            epochs: epochs, batchSize: batchSize, optimizer: optimizer, learningRate: learningRate, beta1: beta1, beta2: beta2,
            momentum: momentum, l2: l2, lrDecayEvery: lrDecayEvery, lrDecay: lrDecay, seed: seed, threads: threads)
    }

    /// The settings: `base` overridden by every option given; exit 64 when invalid.
    func configuration(base: TrainingConfiguration) throws -> TrainingConfiguration {
        do {
            return try overrides.configuration(base: base)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
