import IdzipCore

/// Mean softmax cross-entropy of a batch and its gradient with respect to all of theta,
/// by a forward pass and backpropagation through every layer.
///
/// Not thread-safe; it uses its own threads inside.
public final class NetworkGradient {
    package let plan: NetworkPlan
    package let forward: ForwardPass
    private var gradientOf: [UnsafeMutablePointer<Float>: UnsafeMutablePointer<Float>] = [:]
    private var allocations: [UnsafeMutableBufferPointer<Float>] = []
    private let columnGradient: UnsafeMutableBufferPointer<Float>
    private let weightScratch: UnsafeMutableBufferPointer<Float>

    /// Loss and accuracy of one batch.
    public struct BatchResult: Sendable, Hashable {
        /// Sum of the per-example cross-entropy losses (not the mean).
        public var lossSum: Double
        /// Examples whose largest logit is the label.
        public var correct: Int
    }

    package init(plan: NetworkPlan, batchCapacity: Int) throws(InferenceError) {
        self.plan = plan
        forward = try ForwardPass(plan: plan, batchCapacity: batchCapacity)
        var largestColumns = 1
        var largestWeight = 1
        for (index, step) in plan.steps.enumerated() {
            let output = forward.output(ofStep: index)
            if output != forward.input.baseAddress!, gradientOf[output] == nil {
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, plan.outputCounts[index] * batchCapacity))
                buffer.initialize(repeating: 0)
                allocations.append(buffer)
                gradientOf[output] = buffer.baseAddress!
            }
            if case .convolution(let shape, _) = step {
                largestColumns = max(largestColumns, shape.patchSize * shape.output.planeSize * batchCapacity)
                largestWeight = max(largestWeight, shape.patchSize * shape.output.channels)
            }
        }
        columnGradient = .allocate(capacity: largestColumns)
        columnGradient.initialize(repeating: 0)
        weightScratch = .allocate(capacity: largestWeight)
        weightScratch.initialize(repeating: 0)
    }

    deinit {
        for buffer in allocations { buffer.deallocate() }
        columnGradient.deallocate()
        weightScratch.deallocate()
    }

    public var batchCapacity: Int { forward.batchCapacity }

    /// Runs the batch in `forward.input` (first `batch` rows) with parameters `theta` and
    /// writes d(loss sum / divisor)/d(theta) into `gradient` (plan.parameterCount numbers;
    /// every entry is overwritten). The divisor defaults to `batch` (the mean loss).
    public func compute(
        theta: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, divisor: Int? = nil,
        gradient: UnsafeMutablePointer<Float>, threads: Int
    ) -> BatchResult {
        forward.run(theta: theta, batch: batch, threads: threads)
        let lastIndex = plan.steps.count - 1
        guard let logitsGradient = gradientOf[forward.output(ofStep: lastIndex)] else {
            // The network does nothing to its input; no parameters.
            return BatchResult(lossSum: 0, correct: 0)
        }
        let loss = SoftmaxCrossEntropy.lossAndGradient(
            logits: forward.output(ofStep: lastIndex), labels: labels, batch: batch, classes: plan.classCount,
            divisor: divisor ?? batch, gradient: logitsGradient)
        backward(theta: theta, batch: batch, gradient: gradient, threads: threads)
        return BatchResult(lossSum: loss.lossSum, correct: loss.correct)
    }

    /// Runs the batch in `forward.input` (first `batch` rows) with parameters `theta`, lets
    /// `loss` read the outputs ([batch, classCount]) and write d(loss)/d(outputs) (same shape,
    /// every entry) into its second argument, and backpropagates that into `gradient`
    /// (plan.parameterCount numbers, every entry overwritten). Returns what `loss` returns.
    /// DQN's TD loss on the chosen action's Q-value uses it (`DQNTrainer`).
    package func compute(
        theta: UnsafePointer<Float>, batch: Int, gradient: UnsafeMutablePointer<Float>, threads: Int,
        loss: (_ outputs: UnsafePointer<Float>, _ outputGradient: UnsafeMutablePointer<Float>) -> Double
    ) -> Double {
        forward.run(theta: theta, batch: batch, threads: threads)
        let lastIndex = plan.steps.count - 1
        guard let outputGradient = gradientOf[forward.output(ofStep: lastIndex)] else { return 0 }
        let value = loss(forward.output(ofStep: lastIndex), outputGradient)
        backward(theta: theta, batch: batch, gradient: gradient, threads: threads)
        return value
    }

    /// Backpropagates the gradient at the last step's output through every layer.
    private func backward(theta: UnsafePointer<Float>, batch: Int, gradient: UnsafeMutablePointer<Float>, threads: Int) {
        let lastIndex = plan.steps.count - 1
        for index in stride(from: lastIndex, through: 0, by: -1) {
            let output = forward.output(ofStep: index)
            let input = forward.input(ofStep: index)
            guard let outputGradient = gradientOf[output] else { continue }
            let inputGradient = gradientOf[input]
            switch plan.steps[index] {
            case .dense(let inputs, let outputs, let weightOffset, let biasOffset, _):
                DenseGradient.backward(
                    outputGradient: outputGradient, input: input, batch: batch, inputs: inputs, outputs: outputs,
                    weight: theta + weightOffset, weightGradient: gradient + weightOffset, biasGradient: gradient + biasOffset,
                    inputGradient: inputGradient)
            case .convolution(let shape, _):
                ConvolutionGradient.backward(
                    shape, outputGradient: outputGradient, columns: forward.columns(ofStep: index)!, batch: batch,
                    weight: theta + shape.weightOffset, weightGradient: gradient + shape.weightOffset,
                    biasGradient: gradient + shape.biasOffset, weightScratch: weightScratch.baseAddress!,
                    columnGradient: columnGradient.baseAddress!,
                    inputGradient: inputGradient, threads: threads)
            case .maxPool(let shape):
                if let inputGradient {
                    MaxPoolGradient.backward(
                        shape, input: input, outputGradient: outputGradient, batch: batch,
                        inputGradient: inputGradient, threads: threads)
                }
            case .relu(let count):
                ReluGradient.backwardInPlace(output: output, gradient: outputGradient, count: count * batch, threads: threads)
            case .fusedRelu:
                ReluGradient.backwardInPlace(
                    output: output, gradient: outputGradient, count: plan.outputCounts[index] * batch, threads: threads)
            case .flatten(let shape, let layout):
                if layout == .channelMajor, let inputGradient {
                    ElementwiseKernels.unflattenToChannelMajor(
                        outputGradient, shape: shape, batch: batch, output: inputGradient, threads: threads)
                }
            }
        }
    }
}
