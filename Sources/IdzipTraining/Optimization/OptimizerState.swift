/// The per-parameter state of an optimiser, kept apart from its update rule so that it can
/// be saved and restored at an epoch boundary.
public struct OptimizerState: Sendable, Hashable {
    /// Updates applied so far.
    public var step: Int
    /// Number of per-parameter buffers (SGD: velocity; Adam: first and second moments).
    public let slotCount: Int
    /// The buffers one after another, each as long as the parameter vector.
    public var storage: [Float]

    public init(step: Int, slots: [[Float]]) {
        self.step = step
        slotCount = slots.count
        storage = slots.flatMap { $0 }
    }

    /// Fresh state for `rule` on `count` parameters.
    public init(rule: any UpdateRule, parameterCount count: Int) {
        step = 0
        slotCount = rule.slotCount
        storage = [Float](repeating: 0, count: rule.slotCount * count)
    }

    /// Parameters each slot covers.
    public var parameterCount: Int { slotCount == 0 ? 0 : storage.count / slotCount }

    /// The buffers as separate arrays.
    public var slots: [[Float]] {
        let count = parameterCount
        return (0..<slotCount).map { Array(storage[($0 * count)..<(($0 + 1) * count)]) }
    }
}
