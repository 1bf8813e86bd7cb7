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

    @Option(help: "With --env and dqn: environment steps of training (default: 50,000).")
    var steps: Int?

    @Option(help: "With --env and es: iterations (updates) of evolution strategies (default: 300).")
    var iterations: Int?

    @Option(help: "With --env and es: antithetic pairs per iteration; each pair runs two perturbed policies (default: 10).")
    var population: Int?

    @Option(help: "With --env and es: the perturbations' standard deviation (default: 0.5).")
    var sigma: Double?

    @Option(help: "With --env: evaluate the greedy policy every this many steps (dqn; default: 2,500) or iterations (es; default: 10); the best evaluated policy is kept.")
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
        var es = ESSettings()
        if let iterations { es.iterations = iterations }
        if let population { es.pairs = population }
        if let sigma { es.sigma = sigma }
        if let evalEvery { es.evaluateEvery = evalEvery }
        if let evalEpisodes { es.evaluationEpisodes = evalEpisodes }
        switch algorithm {
        case .dqn:
            if iterations != nil || population != nil || sigma != nil {
                throw ValidationError("--iterations, --population and --sigma are settings of --algorithm es")
            }
        case .es:
            if steps != nil { throw ValidationError("--steps is DQN's budget; evolution strategies count --iterations") }
        }
        let task = ReinforcementTask(environment: environment, algorithm: algorithm, dqn: dqn, es: es)
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
            if steps != nil || evalEvery != nil || evalEpisodes != nil || algorithm != .dqn || iterations != nil || population != nil
                || sigma != nil
            {
                throw ValidationError("--algorithm, --steps, --iterations, --population, --sigma, --eval-every and --eval-episodes need --env")
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
