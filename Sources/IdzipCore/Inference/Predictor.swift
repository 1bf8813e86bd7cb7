/// Runs a network with fixed parameters theta on examples: logits, predictions and
/// evaluation against labels. This is what `idzip eval` and deployments use.
public final class Predictor {
    public let plan: NetworkPlan
    public let threads: Int
    private let theta: [Float]
    private let pass: ForwardPass

    /// - Parameters:
    ///   - theta: the full parameter vector (D numbers), e.g. theta0 + P theta_d.
    ///   - batchSize: examples run together; larger is faster up to cache limits.
    public init(
        architecture: Architecture, theta: [Float], batchSize: Int = 256, threads: Int = ParallelLoop.defaultThreads
    ) throws(InferenceError) {
        plan = try NetworkPlan(architecture)
        guard theta.count == plan.parameterCount else {
            throw .parameterCount(expected: plan.parameterCount, actual: theta.count)
        }
        self.theta = theta
        self.threads = max(1, threads)
        pass = try ForwardPass(plan: plan, batchCapacity: max(1, batchSize))
    }

    public var inputCount: Int { plan.inputCount }
    public var classCount: Int { plan.classCount }

    /// Logits for examples given as consecutive rows of `inputCount` numbers.
    public func logits(_ inputs: [Float]) throws(InferenceError) -> [Float] {
        let count = try exampleCount(of: inputs)
        var result = [Float](repeating: 0, count: count * classCount)
        let classes = classCount
        result.withUnsafeMutableBufferPointer { result in
            forEachBatch(count: count, fill: { range, buffer in copyRows(inputs, range, buffer) }) { range, logits in
                (result.baseAddress! + range.lowerBound * classes).update(from: logits.baseAddress!, count: logits.count)
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
    public func evaluate(
        labels: [Int32], fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(InferenceError) -> Evaluation {
        try theta.withUnsafeBufferPointer { theta throws(InferenceError) in
            try Self.evaluate(pass: pass, theta: theta.baseAddress!, labels: labels, threads: threads, fill: fill)
        }
    }

    /// Evaluation with any forward pass and parameters; the trainer uses it every epoch.
    public static func evaluate(
        pass: ForwardPass, theta: UnsafePointer<Float>, labels: [Int32], threads: Int,
        fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(InferenceError) -> Evaluation {
        let classes = pass.plan.classCount
        for (index, label) in labels.enumerated() where label < 0 || Int(label) >= classes {
            throw .label(index: index, value: Int(label), classes: classes)
        }
        var evaluation = Evaluation(classCount: classes)
        var start = 0
        while start < labels.count {
            let range = start..<min(labels.count, start + pass.batchCapacity)
            fill(range, UnsafeMutableBufferPointer(rebasing: pass.input[0..<(range.count * pass.plan.inputCount)]))
            pass.run(theta: theta, batch: range.count, threads: threads)
            let logits = pass.logits.baseAddress!
            for (row, index) in range.enumerated() {
                let line = logits + row * classes
                let label = Int(labels[index])
                evaluation.record(
                    actual: label,
                    predicted: SoftmaxCrossEntropy.argmax(line, count: classes),
                    loss: SoftmaxCrossEntropy.loss(line, classes: classes, label: label))
            }
            start = range.upperBound
        }
        return evaluation
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

    private func forEachBatch(
        count: Int, fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void,
        _ body: (Range<Int>, UnsafeBufferPointer<Float>) -> Void
    ) {
        theta.withUnsafeBufferPointer { theta in
            var start = 0
            while start < count {
                let range = start..<min(count, start + pass.batchCapacity)
                fill(range, UnsafeMutableBufferPointer(rebasing: pass.input[0..<(range.count * inputCount)]))
                pass.run(theta: theta.baseAddress!, batch: range.count, threads: threads)
                body(range, UnsafeBufferPointer(pass.logits))
                start = range.upperBound
            }
        }
    }
}
