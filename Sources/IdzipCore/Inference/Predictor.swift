/// Runs a network with fixed parameters theta on examples: logits, predictions and
/// evaluation against labels. This is what `idzip eval` and deployments use.
public final class Predictor {
    public let plan: NetworkPlan
    private let theta: [Float]
    private let evaluator: ParallelEvaluator

    /// - Parameters:
    ///   - theta: the full parameter vector (D numbers), e.g. theta0 + P theta_d.
    ///   - batchSize: examples run together on one thread.
    ///   - threads: batches run at once. Results do not depend on it.
    public init(
        architecture: Architecture, theta: [Float], batchSize: Int = 256, threads: Int = ParallelLoop.defaultThreads
    ) throws(InferenceError) {
        plan = try NetworkPlan(architecture)
        guard theta.count == plan.parameterCount else {
            throw .parameterCount(expected: plan.parameterCount, actual: theta.count)
        }
        self.theta = theta
        evaluator = try ParallelEvaluator(plan: plan, batchSize: batchSize, threads: threads)
    }

    public var inputCount: Int { plan.inputCount }
    public var classCount: Int { plan.classCount }

    /// Logits for examples given as consecutive rows of `inputCount` numbers.
    public func logits(_ inputs: [Float]) throws(InferenceError) -> [Float] {
        let count = try exampleCount(of: inputs)
        let classes = classCount
        var result = [Float](repeating: 0, count: count * classes)
        result.withUnsafeMutableBufferPointer { result in
            let target = result.baseAddress!
            theta.withUnsafeBufferPointer { theta in
                _ = evaluator.run(
                    exampleCount: count, theta: theta.baseAddress!,
                    fill: { range, buffer in copyRows(inputs, range, buffer) },
                    body: { range, logits in
                        (target + range.lowerBound * classes).update(from: logits, count: range.count * classes)
                        return Evaluation(classCount: classes)
                    })
            }
        }
        return result
    }

    /// Predicted class of each example.
    public func predictions(_ inputs: [Float]) throws(InferenceError) -> [Int] {
        let classes = classCount
        let all = try logits(inputs)
        return all.withUnsafeBufferPointer { all in
            (0..<(all.count / classes)).map { SoftmaxCrossEntropy.argmax(all.baseAddress! + $0 * classes, count: classes) }
        }
    }

    /// Softmax probabilities, rows of `classCount`.
    public func probabilities(_ inputs: [Float]) throws(InferenceError) -> [Double] {
        let classes = classCount
        let all = try logits(inputs)
        var result = [Double](repeating: 0, count: all.count)
        all.withUnsafeBufferPointer { all in
            result.withUnsafeMutableBufferPointer { result in
                for row in 0..<(all.count / classes) {
                    SoftmaxCrossEntropy.softmax(all.baseAddress! + row * classes, classes: classes, into: result.baseAddress! + row * classes)
                }
            }
        }
        return result
    }

    /// Accuracy, loss and confusion matrix on rows of `inputs` with their `labels`.
    public func evaluate(inputs: [Float], labels: [Int32]) throws(InferenceError) -> Evaluation {
        let count = try exampleCount(of: inputs)
        guard count == labels.count else { throw .inputCount(expected: inputCount, actual: inputs.count) }
        return try evaluate(labels: labels) { range, buffer in copyRows(inputs, range, buffer) }
    }

    /// Evaluation where `fill(range, buffer)` writes the inputs of examples `range` into
    /// `buffer` (range.count rows), so a large set never has to exist as floats at once.
    /// `fill` is called from several threads at once.
    public func evaluate(
        labels: [Int32], fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(InferenceError) -> Evaluation {
        try theta.withUnsafeBufferPointer { theta throws(InferenceError) in
            try evaluator.evaluate(labels: labels, theta: theta.baseAddress!, fill: fill)
        }
    }

    private func exampleCount(of inputs: [Float]) throws(InferenceError) -> Int {
        guard inputs.count % inputCount == 0 else { throw .inputCount(expected: inputCount, actual: inputs.count) }
        return inputs.count / inputCount
    }

    private func copyRows(_ inputs: [Float], _ range: Range<Int>, _ buffer: UnsafeMutableBufferPointer<Float>) {
        inputs.withUnsafeBufferPointer { inputs in
            buffer.baseAddress!.update(from: inputs.baseAddress! + range.lowerBound * inputCount, count: range.count * inputCount)
        }
    }
}
