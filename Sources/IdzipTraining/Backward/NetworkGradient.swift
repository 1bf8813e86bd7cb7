import IdzipCore

/// Mean softmax cross-entropy of a batch and its gradient with respect to all of theta,
/// by a forward pass and backpropagation through every layer of the layer graph.
///
/// Where an output feeds several layers (a residual block's input feeds the block and its
/// shortcut), the gradients of its readers add up: they are delivered in reverse step
/// order, the first written in place, the later ones added (a fixed order, so results do
/// not depend on the thread count).
///
/// Not thread-safe; it uses its own threads inside.
public final class NetworkGradient {
    package let plan: NetworkPlan
    package let forward: ForwardPass
    /// The running statistics the training forward pass updates (plan.bufferCount
    /// numbers); when nil, statistics of its own are updated and nobody reads them
    /// (a benchmark, a gradient check).
    package var buffers: UnsafeMutablePointer<Float>?
    private let ownBuffers: UnsafeMutableBufferPointer<Float>
    /// The training step and dropout seed of the next `compute` (see `ForwardPass.TrainingContext`).
    package var context = ForwardPass.TrainingContext()
    private var gradientOf: [UnsafeMutablePointer<Float>: UnsafeMutablePointer<Float>] = [:]
    private var allocations: [UnsafeMutableBufferPointer<Float>] = []
    /// The im2col gradient of a `.convolution` step (the whole batch).
    private let columnGradient: UnsafeMutableBufferPointer<Float>
    private let weightScratch: UnsafeMutableBufferPointer<Float>
    /// The weight gradients of a `.stridedConvolution` step's pieces 1, 2, ...
    private let weightPartials: UnsafeMutableBufferPointer<Float>
    /// Per-thread im2col matrices and their gradients of the `.stridedConvolution` steps.
    private let workspace: ConvolutionWorkspace
    /// Where a gradient that must be added to one already delivered is computed first.
    private let deliveryScratch: UnsafeMutableBufferPointer<Float>
    /// Per step and operand (0: source, 1: second operand of an add): whether its
    /// gradient is added to an earlier delivery rather than written.
    private let accumulates: [[Bool]]
    /// Gradient buffers nothing writes (outputs no step reads): zeroed before each backward pass.
    private var unread: [(UnsafeMutablePointer<Float>, perExample: Int)] = []

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
        var largestOutput = 1
        var largestPartials = 1
        var largestWorkspace = 0
        for (index, step) in plan.steps.enumerated() {
            let output = forward.output(ofStep: index)
            largestOutput = max(largestOutput, plan.outputCounts[index] * batchCapacity)
            if output != forward.input.baseAddress!, gradientOf[output] == nil {
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, plan.outputCounts[index] * batchCapacity))
                buffer.initialize(repeating: 0)
                allocations.append(buffer)
                gradientOf[output] = buffer.baseAddress!
            }
            switch step {
            case .convolution(let shape, _):
                largestColumns = max(largestColumns, shape.patchSize * shape.output.planeSize * batchCapacity)
                largestWeight = max(largestWeight, shape.patchSize * shape.output.channels)
            case .stridedConvolution(let shape, _, _, _):
                largestPartials = max(largestPartials, StridedConvolutionGradient.partialFloats(shape, batchCapacity: batchCapacity))
                largestWorkspace = max(largestWorkspace, StridedConvolutionGradient.workspaceFloats(shape, batchCapacity: batchCapacity))
            default:
                break
            }
        }
        ownBuffers = .allocate(capacity: max(1, plan.bufferCount))
        ownBuffers.initialize(repeating: 1)
        columnGradient = .allocate(capacity: largestColumns)
        columnGradient.initialize(repeating: 0)
        weightScratch = .allocate(capacity: largestWeight)
        weightScratch.initialize(repeating: 0)
        weightPartials = .allocate(capacity: largestPartials)
        weightPartials.initialize(repeating: 0)
        workspace = ConvolutionWorkspace(floatsPerWorker: largestWorkspace)

        // Deliveries in backward order: the first to a buffer writes, later ones add.
        var written = Set<UnsafeMutablePointer<Float>>()
        written.insert(forward.output(ofStep: plan.steps.count - 1))
        var accumulates = [[Bool]](repeating: [false, false], count: plan.steps.count)
        var needsScratch = false
        for index in plan.steps.indices.reversed() where !plan.aliasesSource[index] {
            for (operand, step) in [plan.sources[index], plan.others[index]].enumerated() {
                guard let step, step >= 0 else { continue }
                if !written.insert(forward.output(ofStep: step)).inserted {
                    accumulates[index][operand] = true
                    needsScratch = true
                }
            }
        }
        self.accumulates = accumulates
        deliveryScratch = .allocate(capacity: needsScratch ? largestOutput : 1)
        deliveryScratch.initialize(repeating: 0)
        for (index, _) in plan.steps.enumerated() where !plan.aliasesSource[index] {
            let output = forward.output(ofStep: index)
            if !written.contains(output), let gradient = gradientOf[output] {
                unread.append((gradient, plan.outputCounts[index]))
            }
        }
    }

    deinit {
        for buffer in allocations { buffer.deallocate() }
        columnGradient.deallocate()
        weightScratch.deallocate()
        weightPartials.deallocate()
        deliveryScratch.deallocate()
        ownBuffers.deallocate()
    }

    public var batchCapacity: Int { forward.batchCapacity }

    /// Runs the batch in `forward.input` (first `batch` rows) with parameters `theta` and
    /// writes d(loss sum / divisor)/d(theta) into `gradient` (plan.parameterCount numbers;
    /// every entry is overwritten). The divisor defaults to `batch` (the mean loss).
    /// Training mode: batch norm uses batch statistics and updates `buffers` as `context`
    /// says; dropout draws its masks from `context`.
    public func compute(
        theta: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, divisor: Int? = nil,
        gradient: UnsafeMutablePointer<Float>, threads: Int
    ) -> BatchResult {
        forward.run(theta: theta, batch: batch, threads: threads, buffers: buffers ?? ownBuffers.baseAddress, training: context)
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
        forward.run(theta: theta, batch: batch, threads: threads, buffers: buffers ?? ownBuffers.baseAddress, training: context)
        let lastIndex = plan.steps.count - 1
        guard let outputGradient = gradientOf[forward.output(ofStep: lastIndex)] else { return 0 }
        let value = loss(forward.output(ofStep: lastIndex), outputGradient)
        backward(theta: theta, batch: batch, gradient: gradient, threads: threads)
        return value
    }

    /// Hands the gradient of step `index`'s operand (0: source, 1: an add's second
    /// operand) to `write`, which overwrites the `count * batch` numbers it is given: the
    /// operand's gradient buffer, or scratch added to it when an earlier delivery wrote it.
    /// Nothing happens for the network input.
    private func deliver(
        _ index: Int, operand: Int, count: Int, batch: Int, threads: Int,
        _ write: (UnsafeMutablePointer<Float>) -> Void
    ) {
        let step = operand == 0 ? plan.sources[index] : plan.others[index]!
        guard step >= 0, let target = gradientOf[forward.output(ofStep: step)] else { return }
        guard accumulates[index][operand] else { return write(target) }
        let scratch = deliveryScratch.baseAddress!
        write(scratch)
        WorkSplit(count: count * batch, grain: 65_536).forEach(threads: threads) { range in
            SIMDMemory.add(scratch + range.lowerBound, into: target + range.lowerBound, count: range.count)
        }
    }

    /// Backpropagates the gradient at the last step's output through every step.
    private func backward(theta: UnsafePointer<Float>, batch: Int, gradient: UnsafeMutablePointer<Float>, threads: Int) {
        for (buffer, perExample) in unread { buffer.update(repeating: 0, count: perExample * batch) }
        let lastIndex = plan.steps.count - 1
        for index in stride(from: lastIndex, through: 0, by: -1) {
            let output = forward.output(ofStep: index)
            let input = forward.input(ofStep: index)
            guard let outputGradient = gradientOf[output] else { continue }
            let inputCount = plan.sources[index] < 0 ? plan.inputCount : plan.outputCounts[plan.sources[index]]
            let inPlace = plan.aliasesSource[index]
            func deliverInput(_ write: (UnsafeMutablePointer<Float>) -> Void) {
                deliver(index, operand: 0, count: inputCount, batch: batch, threads: threads, write)
            }
            /// The input gradient when a kernel may skip computing it (nil for the network input).
            var wantsInput: Bool { plan.sources[index] >= 0 && gradientOf[input] != nil }
            switch plan.steps[index] {
            case .dense(let inputs, let outputs, let weightOffset, let biasOffset, _):
                if wantsInput {
                    deliverInput { target in
                        DenseGradient.backward(
                            outputGradient: outputGradient, input: input, batch: batch, inputs: inputs, outputs: outputs,
                            weight: theta + weightOffset, weightGradient: gradient + weightOffset, biasGradient: gradient + biasOffset,
                            inputGradient: target)
                    }
                } else {
                    DenseGradient.backward(
                        outputGradient: outputGradient, input: input, batch: batch, inputs: inputs, outputs: outputs,
                        weight: theta + weightOffset, weightGradient: gradient + weightOffset, biasGradient: gradient + biasOffset,
                        inputGradient: nil)
                }
            case .convolution(let shape, _):
                func run(_ target: UnsafeMutablePointer<Float>?) {
                    ConvolutionGradient.backward(
                        shape, outputGradient: outputGradient, columns: forward.columns(ofStep: index)!, batch: batch,
                        weight: theta + shape.weightOffset, weightGradient: gradient + shape.weightOffset,
                        biasGradient: gradient + shape.biasOffset, weightScratch: weightScratch.baseAddress!,
                        columnGradient: columnGradient.baseAddress!,
                        inputGradient: target, threads: threads)
                }
                if wantsInput { deliverInput { run($0) } } else { run(nil) }
            case .stridedConvolution(let shape, let weightOffset, let biasOffset, _):
                func run(_ target: UnsafeMutablePointer<Float>?) {
                    StridedConvolutionGradient.backward(
                        shape, outputGradient: outputGradient, input: input, batch: batch,
                        weight: theta + weightOffset, weightGradient: gradient + weightOffset,
                        biasGradient: biasOffset.map { gradient + $0 }, inputGradient: target,
                        partials: weightPartials.baseAddress!, workspace: workspace, threads: threads)
                }
                if wantsInput { deliverInput { run($0) } } else { run(nil) }
            case .batchNorm(let shape, let weightOffset, let biasOffset, _, _):
                func run(_ target: UnsafeMutablePointer<Float>?) {
                    BatchNormGradient.backward(
                        shape, input: input, outputGradient: outputGradient, batch: batch,
                        saved: forward.saved(ofStep: index)!, gamma: theta + weightOffset,
                        gammaGradient: gradient + weightOffset, betaGradient: gradient + biasOffset,
                        inputGradient: target, threads: threads)
                }
                if wantsInput { deliverInput { run($0) } } else { run(nil) }
            case .maxPool(let shape):
                if wantsInput {
                    deliverInput { target in
                        MaxPoolGradient.backward(
                            shape, input: input, outputGradient: outputGradient, batch: batch,
                            inputGradient: target, threads: threads)
                    }
                }
            case .averagePool(let shape):
                if wantsInput {
                    deliverInput { target in
                        AveragePoolGradient.backward(shape, outputGradient: outputGradient, batch: batch, inputGradient: target, threads: threads)
                    }
                }
            case .globalAveragePool(let shape, let layout):
                if wantsInput {
                    deliverInput { target in
                        AveragePoolGradient.globalBackward(
                            shape, layout: layout, outputGradient: outputGradient, batch: batch, inputGradient: target, threads: threads)
                    }
                }
            case .add(let shape, let firstLayout, let secondLayout, let outputLayout, _):
                // A fused ReLU was differentiated by the `.fusedRelu` step that reads this one.
                for (operand, layout) in [(0, firstLayout), (1, secondLayout)] {
                    let step = operand == 0 ? plan.sources[index] : plan.others[index]!
                    guard step >= 0, let target = gradientOf[forward.output(ofStep: step)] else { continue }
                    AddGradient.backward(
                        shape, outputGradient: outputGradient, outputLayout: outputLayout, batch: batch,
                        inputGradient: target, inputLayout: layout, accumulate: accumulates[index][operand], threads: threads)
                }
            case .relu(let count):
                if inPlace {
                    ReluGradient.backwardInPlace(output: output, gradient: outputGradient, count: count * batch, threads: threads)
                } else if wantsInput {
                    deliverInput { target in
                        target.update(from: outputGradient, count: count * batch)
                        ReluGradient.backwardInPlace(output: output, gradient: target, count: count * batch, threads: threads)
                    }
                }
            case .fusedRelu:
                ReluGradient.backwardInPlace(
                    output: output, gradient: outputGradient, count: plan.outputCounts[index] * batch, threads: threads)
            case .dropout(let shape, let layout, let rate, let layer):
                let stream = ForwardPass.dropoutStream(context)
                let start = ForwardPass.dropoutStart(context, layer: layer, count: shape.count)
                if inPlace {
                    DropoutKernel.apply(
                        shape, layout: layout, input: outputGradient, batch: batch, rate: rate, stream: stream, start: start,
                        output: outputGradient, threads: threads)
                } else if wantsInput {
                    deliverInput { target in
                        DropoutKernel.apply(
                            shape, layout: layout, input: outputGradient, batch: batch, rate: rate, stream: stream, start: start,
                            output: target, threads: threads)
                    }
                }
            case .activation(let function, let count):
                if wantsInput {
                    deliverInput { target in
                        ActivationGradient.backward(
                            function, input: input, output: output, outputGradient: outputGradient, inputGradient: target,
                            count: count * batch, threads: threads)
                    }
                }
            case .flatten(let shape, let layout):
                if inPlace { break }
                if wantsInput {
                    deliverInput { target in
                        if layout == .channelMajor {
                            ElementwiseKernels.unflattenToChannelMajor(
                                outputGradient, shape: shape, batch: batch, output: target, threads: threads)
                        } else {
                            target.update(from: outputGradient, count: shape.count * batch)
                        }
                    }
                }
            }
        }
    }
}
