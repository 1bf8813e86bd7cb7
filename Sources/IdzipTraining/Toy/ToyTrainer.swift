import Foundation
import IdzipCore

/// Trains the paper's toy problem (`ToyObjective`), directly or in a random subspace
/// (theta = theta0 + P theta_d, gradient P^T g), with the same optimisers and schedules as
/// `Trainer`. There is no data set: every step is one full gradient step, and the
/// configuration's `epochs` counts steps (the schedule takes one value per step).
/// Batch size and thread settings do not apply. Deterministic.
public final class ToyTrainer {
    public let objective: ToyObjective
    public let configuration: TrainingConfiguration
    public let space: ParameterSpace
    /// The frozen initial parameters (D numbers, standard normal).
    public let theta0: [Float]
    /// What is trained: theta (direct) or theta_d (subspace).
    public private(set) var parameters: [Float]
    public private(set) var optimizerState: OptimizerState
    /// Steps done so far.
    public private(set) var stepsCompleted = 0
    private let rule: any UpdateRule
    /// For subspace training without l2: row g is P^T 1_g (d numbers), the sum of group
    /// g's rows of P, so that the group sums of theta are c + A theta_d.
    private let groupColumns: [Double]
    /// Group sums of theta0.
    private let groupOffsets: [Double]

    public init(objective: ToyObjective, theta0: [Float], space: ParameterSpace, configuration: TrainingConfiguration) throws(TrainingError) {
        try configuration.validate()
        let count = objective.parameterCount
        guard theta0.count == count else { throw .network("theta0 has \(theta0.count) numbers but the toy problem has \(count) parameters") }
        if case .subspace(let projection) = space {
            guard projection.rowCount == count else {
                throw .network("the projection has \(projection.rowCount) rows but the toy problem has \(count) parameters")
            }
            guard projection.columnCount >= 1 else { throw .network("the subspace dimension must be at least 1") }
        }
        self.objective = objective
        self.configuration = configuration
        self.space = space
        self.theta0 = theta0
        rule = configuration.optimizer.rule
        parameters = switch space {
        case .direct: theta0
        case .subspace(let projection): [Float](repeating: 0, count: projection.columnCount)
        }
        optimizerState = OptimizerState(rule: rule, parameterCount: parameters.count)
        var columns: [Double] = []
        if case .subspace(let projection) = space, configuration.l2 == 0 {
            var indicator = [Float](repeating: 0, count: count)
            var column = [Float](repeating: 0, count: projection.columnCount)
            for group in 0..<objective.groups {
                for i in 0..<count { indicator[i] = i / objective.size == group ? 1 : 0 }
                indicator.withUnsafeBufferPointer { g in column.withUnsafeMutableBufferPointer { projection.projectTranspose(g, into: $0) } }
                columns += column.map(Double.init)
            }
        }
        groupColumns = columns
        groupOffsets = (0..<objective.groups).map { group in
            theta0[group * objective.size..<(group + 1) * objective.size].reduce(0.0) { $0 + Double($1) }
        }
    }

    /// A trainer for a toy architecture whose theta0 is generated from `theta0Seed`, as a
    /// `.idz` file records it.
    public convenience init(
        architecture: Architecture, theta0Seed: UInt64, space: ParameterSpace, configuration: TrainingConfiguration
    ) throws(TrainingError) {
        guard let objective = ToyObjective(architecture) else { throw .network("not the toy problem") }
        let tensors: [TensorSpec]
        do {
            tensors = try architecture.parameterTensors()
        } catch {
            throw .network(error.description)
        }
        try self.init(
            objective: objective, theta0: InitialWeights.make(tensors: tensors, seed: theta0Seed, threads: configuration.threads), space: space,
            configuration: configuration)
    }

    /// Settings that solve the toy problem in most subspaces of d >= 10 (d = 10 fastfood:
    /// 37 of 40 seeds to loss < 0.005; the others are nearly singular subspaces whose exact
    /// solution needs |theta_d| near 4e4, out of reach from 0 at any rate tried): Adam
    /// (0.9, 0.999) at rate 1 with cosine decay to 1e-3 of it, 100,000 full steps (about 30 ms in a subspace).
    public static func recommended(seed: UInt64 = 0) -> TrainingConfiguration {
        TrainingConfiguration(
            epochs: 100_000, batchSize: 1, optimizer: .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8), learningRate: 1,
            l2: 0, schedule: .cosine(floor: 1e-3), seed: seed, threads: 1)
    }

    /// The full parameter vector theta for the current state.
    public func theta() -> [Float] {
        switch space {
        case .direct:
            return parameters
        case .subspace(let projection):
            var theta = [Float](repeating: 0, count: objective.parameterCount)
            theta.withUnsafeMutableBufferPointer { theta in
                parameters.withUnsafeBufferPointer { thetaD in
                    Reparameterization(theta0: .values(theta0), projection: projection)
                        .write(thetaD: thetaD, rows: 0..<theta.count, into: theta, threads: configuration.threads)
                }
            }
            return theta
        }
    }

    /// The loss of the current parameters.
    public var loss: Double { objective.loss(theta()) }

    /// exp(-loss) of the current parameters.
    public var performance: Double { ToyObjective.performance(loss: loss) }

    /// Runs the remaining steps up to `configuration.epochs`. `onStep` gets the 0-based
    /// step and the loss before its update; returning `.stop` ends training.
    /// Returns the loss after the last step.
    @discardableResult
    public func train(onStep: ((_ step: Int, _ loss: Double) -> TrainingDecision)? = nil) throws(TrainingError) -> Double {
        let count = objective.parameterCount
        let l2Gradient = 2 * configuration.l2
        var theta = [Float](repeating: 0, count: count)
        var gradient = [Float](repeating: 0, count: count)
        var gradientTrained = [Float](repeating: 0, count: parameters.count)
        while stepsCompleted < configuration.epochs {
            let step = stepsCompleted
            let rate = configuration.schedule.rate(base: configuration.learningRate, epoch: step, totalEpochs: configuration.epochs)
            let loss = theta.withUnsafeMutableBufferPointer { theta in
                gradient.withUnsafeMutableBufferPointer { gradient in
                    gradientTrained.withUnsafeMutableBufferPointer { gradientTrained in
                        parameters.withUnsafeMutableBufferPointer { trained in
                            self.step(trained: trained, theta: theta, gradient: gradient, gradientTrained: gradientTrained,
                                      learningRate: rate, l2Gradient: l2Gradient)
                        }
                    }
                }
            }
            guard loss.isFinite else { throw .divergedAtStep(step) }
            stepsCompleted += 1
            if onStep?(step, loss) == .stop { break }
        }
        return loss
    }

    private func step(
        trained: UnsafeMutableBufferPointer<Float>, theta: UnsafeMutableBufferPointer<Float>,
        gradient: UnsafeMutableBufferPointer<Float>, gradientTrained: UnsafeMutableBufferPointer<Float>,
        learningRate: Float, l2Gradient: Float
    ) -> Double {
        if !groupColumns.isEmpty {
            return factorisedStep(trained: trained, gradientTrained: gradientTrained, learningRate: learningRate)
        }
        switch space {
        case .direct:
            for i in 0..<theta.count { theta[i] = trained[i] }
        case .subspace(let projection):
            Reparameterization(theta0: .values(theta0), projection: projection)
                .write(thetaD: UnsafeBufferPointer(trained), rows: 0..<theta.count, into: theta, threads: configuration.threads)
        }
        var loss = objective.gradient(UnsafeBufferPointer(theta), into: gradient)
        if l2Gradient > 0 {
            var sum = 0.0
            for i in 0..<theta.count {
                gradient[i] += l2Gradient * theta[i]
                sum += Double(theta[i]) * Double(theta[i])
            }
            loss += Double(configuration.l2) * sum
        }
        switch space {
        case .direct:
            rule.update(parameters: trained, gradient: UnsafeBufferPointer(gradient), state: &optimizerState,
                        learningRate: learningRate, threads: 1)
        case .subspace(let projection):
            projection.projectTranspose(UnsafeBufferPointer(gradient), into: gradientTrained)
            rule.update(parameters: trained, gradient: UnsafeBufferPointer(gradientTrained), state: &optimizerState,
                        learningRate: learningRate, threads: 1)
        }
        return loss
    }

    /// The same step as the general one without l2, with P^T g computed as A^T (2 r): the
    /// gradient g is constant on each group (2 r_g), so P^T g = sum_g 2 r_g P^T 1_g. Costs
    /// O(groups d) instead of two products with P.
    private func factorisedStep(
        trained: UnsafeMutableBufferPointer<Float>, gradientTrained: UnsafeMutableBufferPointer<Float>, learningRate: Float
    ) -> Double {
        let d = trained.count
        var loss = 0.0
        for i in 0..<d { gradientTrained[i] = 0 }
        groupColumns.withUnsafeBufferPointer { columns in
            for group in 0..<objective.groups {
                let row = columns.baseAddress! + group * d
                var sum = groupOffsets[group]
                for j in 0..<d { sum += row[j] * Double(trained[j]) }
                let residual = sum - objective.target(group)
                loss += residual * residual
                let scale = 2 * residual
                for j in 0..<d { gradientTrained[j] += Float(scale * row[j]) }
            }
        }
        rule.update(parameters: trained, gradient: UnsafeBufferPointer(gradientTrained), state: &optimizerState,
                    learningRate: learningRate, threads: 1)
        return loss
    }
}
