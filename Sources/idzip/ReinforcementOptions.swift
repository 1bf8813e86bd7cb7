import ArgumentParser
import IdzipCore
import IdzipTraining

/// `--env` and what reinforcement learning needs beyond the training options: the algorithm,
/// the budget in environment steps and the policy's evaluation.
struct ReinforcementOptions: ParsableArguments {
    @Option(help: "Learn a policy in this environment instead of a data set: \(EnvironmentKind.allCases.map(\.rawValue).joined(separator: ", ")).", transform: ReinforcementArgument.environment)
    var env: EnvironmentKind?

    @Option(help: "With --env: dqn (deep Q-learning) or es (evolution strategies).")
    var algorithm: ReinforcementAlgorithm = .dqn

    @Option(help: "With --env: environment steps of training (default: 50,000).")
    var steps: Int?

    @Option(help: "With --env: evaluate the greedy policy every this many steps; the best evaluated policy is kept (default: 2,500).")
    var evalEvery: Int?

    @Option(help: "With --env: episodes per evaluation (default: 30, the paper's).")
    var evalEpisodes: Int?

    /// The settings, with the batch size of the training options; exit 64 when invalid.
    func task(environment: EnvironmentKind, batchSize: Int) throws -> ReinforcementTask {
        var dqn = DQNSettings()
        dqn.batchSize = batchSize
        if let steps { dqn.steps = steps }
        if let evalEvery { dqn.evaluateEvery = evalEvery }
        if let evalEpisodes { dqn.evaluationEpisodes = evalEpisodes }
        let task = ReinforcementTask(environment: environment, algorithm: algorithm, dqn: dqn)
        do {
            try task.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return task
    }

    /// Refuses options that need --env without it, and the data options with it.
    func check(data: DataOptions, preprocessing: PreprocessingOptions, epochs: Int?) throws {
        guard env != nil else {
            if steps != nil || evalEvery != nil || evalEpisodes != nil || algorithm != .dqn {
                throw ValidationError("--algorithm, --steps, --eval-every and --eval-episodes need --env")
            }
            return
        }
        if data.data != nil { throw ValidationError("--env and --data exclude each other: a policy learns from its environment") }
        if data.shufflePixels || data.shuffleLabels || data.trainFraction != 1 || data.validationFraction != 0 {
            throw ValidationError("the data set variants (--shuffle-pixels, --shuffle-labels, --train-fraction, --validation-fraction) do not apply with --env")
        }
        if preprocessing.choice != nil { throw ValidationError("--scale, --mean and --std do not apply with --env") }
        if epochs != nil { throw ValidationError("--epochs does not apply with --env; give the budget in --steps") }
    }

    /// The architecture: --model, else the environment's default policy network, else the
    /// data default.
    func model(_ options: ModelOptions) throws -> ModelArgument {
        guard let env else { return options.model ?? .fullyConnected }
        let model = try options.model ?? ModelArgument.parse(ReinforcementTask.defaultModel(for: env))
        do {
            try ReinforcementTask.check(architecture: model.architecture, environment: env)
        } catch {
            throw ValidationError(error.description)
        }
        return model
    }
}

enum ReinforcementArgument {
    static func environment(_ text: String) throws -> EnvironmentKind {
        do {
            return try EnvironmentKind(name: text)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

extension ReinforcementAlgorithm: ExpressibleByArgument {}
