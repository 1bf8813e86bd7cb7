import IdzipCore

/// The algorithms that train a policy in an environment (`--algorithm`).
public enum ReinforcementAlgorithm: String, Sendable, CaseIterable, Hashable {
    /// Deep Q-learning (Mnih et al. 2013), as the paper's CartPole results (Sec. S6.1).
    case dqn
    /// Evolution strategies (Salimans et al. 2017), as the paper's MuJoCo and Atari results (Sec. S6.2).
    case es
}

/// A trainer of a policy: the frozen theta0, the trained numbers (theta or theta_d), and
/// training that reports every evaluation of the policy and may be stopped after one.
public protocol PolicyTrainer: ParameterTrainer {
    /// Trains to the configured budget; after it, `parameters` are the ones to keep.
    func train(onEvaluation: ((PolicyEvaluationReport) -> TrainingDecision)?) throws(TrainingError)
}

extension DQNTrainer: PolicyTrainer {
    public var progressCount: Int { stepsCompleted }
}

/// What a reinforcement-learning run learns: an environment, an algorithm and its settings.
public struct ReinforcementTask: Sendable, Hashable {
    public var environment: EnvironmentKind
    public var algorithm: ReinforcementAlgorithm
    public var dqn: DQNSettings
    public var es: ESSettings

    public init(
        environment: EnvironmentKind, algorithm: ReinforcementAlgorithm, dqn: DQNSettings = DQNSettings(), es: ESSettings = ESSettings()
    ) {
        self.environment = environment
        self.algorithm = algorithm
        self.dqn = dqn
        self.es = es
    }

    /// The training budget in the algorithm's units: environment steps (DQN) or iterations (ES).
    public var plannedProgress: Int {
        switch algorithm {
        case .dqn: dqn.steps
        case .es: es.iterations
        }
    }

    /// Episodes of each evaluation of the policy, and of the sealed model's.
    public var evaluationEpisodes: Int {
        switch algorithm {
        case .dqn: dqn.evaluationEpisodes
        case .es: es.evaluationEpisodes
        }
    }

    /// "cartpole", as reports and sweep settings name the problem.
    public var summary: String { environment.rawValue }

    /// The algorithm's settings in one line (recorded in the model and a sweep's settings).
    public var settingsSummary: String {
        switch algorithm {
        case .dqn: dqn.summary
        case .es: es.summary
        }
    }

    /// Refuses settings the algorithm cannot run.
    public func validate() throws(TrainingError) {
        switch algorithm {
        case .dqn: try dqn.validate()
        case .es: try es.validate()
        }
        let sample = try environment.makeChecked()
        if algorithm == .dqn, case .continuous = sample.actionSpace {
            throw .configuration("DQN needs discrete actions; \(environment.rawValue) has continuous ones (use --algorithm es)")
        }
    }

    /// The trainer of this task.
    public func makeTrainer(
        architecture: Architecture, theta0Seed: UInt64, space: ParameterSpace, configuration: TrainingConfiguration
    ) throws(TrainingError) -> any PolicyTrainer {
        switch algorithm {
        case .dqn:
            return try DQNTrainer(
                architecture: architecture, theta0Seed: theta0Seed, space: space, environment: environment,
                configuration: configuration, settings: dqn)
        case .es:
            return try ESTrainer(
                architecture: architecture, theta0Seed: theta0Seed, space: space, environment: environment,
                configuration: configuration, settings: es)
        }
    }
}

extension ReinforcementTask {
    /// The optimiser settings of a policy: Adam (0.9, 0.999, 1e-8; TensorFlow's defaults, as
    /// Baselines' `deepq` uses), constant rate, no L2, batch 32. The rate is 1e-3 for direct
    /// training (Baselines' CartPole example) and `subspaceLearningRate` in a subspace.
    ///
    /// For evolution strategies: Adam (0.9, 0.999, 1e-7: the paper's Table S3) at rate
    /// `esLearningRate` (direct and subspace alike), no L2.
    public static func recommendedConfiguration(
        subspace: Bool, algorithm: ReinforcementAlgorithm = .dqn, seed: UInt64 = 0
    ) -> TrainingConfiguration {
        switch algorithm {
        case .dqn:
            TrainingConfiguration(
                epochs: 1, batchSize: 32, optimizer: .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8),
                learningRate: subspace ? subspaceLearningRate : 1e-3, l2: 0, schedule: .constant, seed: seed)
        case .es:
            TrainingConfiguration(
                epochs: 1, batchSize: 32, optimizer: .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-7),
                learningRate: esLearningRate, l2: 0, schedule: .constant, seed: seed)
        }
    }

    /// Adam's rate for evolution strategies (see docs/reproduction.md, InvertedPendulum ES).
    public static let esLearningRate: Float = 0.1

    /// Adam's rate for theta_d. Measured on CartPole-v1, FC 4-64-64-2, Fastfood P, seed 1,
    /// 50,000 steps (the best evaluation's mean return over 30 episodes) at rates 0.01 / 0.03 /
    /// 0.1: d = 8: 52 / 43 / 28; d = 16: 85 / 19 / 63; d = 32: 95 / 102 / 111; d = 64:
    /// 301 / 263 / 419. Near the dimensions where policies pass 90% of 500, 0.1 does best.
    public static let subspaceLearningRate: Float = 0.1

    /// The default policy network for `environment`: FC observation-64-64-outputs, except
    /// InvertedPendulum's fc:4-20-20-2, the paper's D = 562 (two action bins, -3 and +3;
    /// `PolicyNetwork`).
    public static func defaultModel(for environment: EnvironmentKind) -> String {
        if environment == .invertedPendulum { return "fc:4-20-20-2" }
        let sample = environment.make()
        return "fc:\(sample.observationCount)-64-64-\(sample.actionSpace.outputCount)"
    }

    /// Refuses a network whose input is not the environment's observation or whose outputs
    /// are not one per action (one line naming both sizes).
    public static func check(architecture: Architecture, environment: EnvironmentKind) throws(TrainingError) {
        let plan: NetworkPlan
        do {
            plan = try NetworkPlan(architecture)
        } catch {
            throw .network(error.description)
        }
        try PolicyNetwork.check(plan: plan, environment: environment)
    }
}

/// A reinforcement-learning run's summary (`idzip train --env ... --json`).
public struct PolicyTrainSummary: Encodable, Sendable {
    public var model: String
    public var environment: String
    public var algorithm: String
    public var producer: String
    public var output: String
    public var file_bytes: Int
    public var parameters: Int
    public var d: Int?
    public var projection: String?
    public var encoding: String
    /// Returns of the stored policy on the evaluation episodes.
    public var return_mean: Double
    public var return_std: Double
    public var return_min: Double
    public var return_max: Double
    public var episodes: Int
    /// Mean return minus the environment's floor (the paper's RL performance).
    public var performance: Double
    public var steps: Int
    public var wall_seconds: Double
    public var settings: String
    public var seed: UInt64
    public var projection_seed: UInt64?
}

extension TrainingRun {
    /// The summary of a sealed reinforcement-learning run.
    public func policySummary(sealed: SealedRun, output: String, wallSeconds: Double) -> PolicyTrainSummary? {
        guard case .environment(let task) = problem, let returns = sealed.returns else { return nil }
        return PolicyTrainSummary(
            model: spec.model, environment: task.environment.rawValue, algorithm: task.algorithm.rawValue, producer: IdzipVersion.producer,
            output: output, file_bytes: sealed.fileBytes, parameters: parameterCount, d: spec.dimension,
            projection: spec.dimension == nil ? nil : spec.projection.name, encoding: spec.encoding.name, return_mean: returns.mean,
            return_std: returns.standardDeviation, return_min: returns.minimum, return_max: returns.maximum, episodes: returns.episodes,
            performance: sealed.performance, steps: epochsCompleted, wall_seconds: wallSeconds,
            settings: "\(spec.configuration.summary); \(task.settingsSummary)", seed: spec.seed,
            projection_seed: spec.dimension == nil ? nil : spec.projectionSeed)
    }
}
