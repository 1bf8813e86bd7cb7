/// Which update rule trains the parameters, with its settings.
public enum OptimizerKind: Sendable, Hashable {
    /// v = momentum v + g; p -= lr (g + momentum v) with Nesterov, else p -= lr v (PyTorch's form).
    case sgd(momentum: Float = 0.9, nesterov: Bool = false)
    /// Adam (Kingma and Ba 2015) with bias correction.
    case adam(beta1: Float = 0.9, beta2: Float = 0.99, epsilon: Float = 1e-8)

    /// The authors' setting: Adam with beta1 0.9, beta2 0.99.
    public static let paper = OptimizerKind.adam(beta1: 0.9, beta2: 0.99, epsilon: 1e-8)

    public var name: String {
        switch self {
        case .sgd: "sgd"
        case .adam: "adam"
        }
    }

    /// The rule that applies updates.
    public var rule: any UpdateRule {
        switch self {
        case .sgd(let momentum, let nesterov): MomentumRule(momentum: momentum, nesterov: nesterov)
        case .adam(let beta1, let beta2, let epsilon): AdamRule(beta1: beta1, beta2: beta2, epsilon: epsilon)
        }
    }

    /// Throws for settings outside their valid ranges.
    public func validate() throws(TrainingError) {
        switch self {
        case .sgd(let momentum, _):
            guard momentum >= 0, momentum < 1 else { throw .configuration("SGD momentum must be at least 0 and below 1, got \(momentum)") }
        case .adam(let beta1, let beta2, let epsilon):
            guard beta1 >= 0, beta1 < 1 else { throw .configuration("Adam beta1 must be at least 0 and below 1, got \(beta1)") }
            guard beta2 >= 0, beta2 < 1 else { throw .configuration("Adam beta2 must be at least 0 and below 1, got \(beta2)") }
            guard epsilon > 0, epsilon.isFinite else { throw .configuration("Adam epsilon must be positive, got \(epsilon)") }
        }
    }
}
