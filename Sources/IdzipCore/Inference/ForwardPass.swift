/// Buffers for running a `NetworkPlan` on batches of up to `batchCapacity` examples, and
/// the forward computation. Every step's output (and each `.convolution` step's im2col
/// matrix, each batch norm's statistics) is kept until the next run, so training can run
/// the backward pass from them. A `.stridedConvolution` step keeps no im2col matrix: it
/// builds one chunk of examples at a time in a per-thread `ConvolutionWorkspace`, and its
/// backward pass rebuilds them from the step's input.
///
/// A step reads its source's output (`NetworkPlan.sources`; an add step also
/// `NetworkPlan.others`). A step that `aliasesSource` works in its source's buffer; the
/// plan allows that only where no other step reads the source.
///
/// Buffers handed out stay valid while the `ForwardPass` lives. Not thread-safe.
package final class ForwardPass {
    /// What training changes in a forward pass: batch statistics and running averages in
    /// batch normalisation, random masks in dropout.
    ///
    /// Dropout masks: dropout layer j (`NetworkPlan.Step.dropout`'s `layer`) of training
    /// step `step` takes its mask from `RandomStream(seed: dropoutSeed, purpose: .dropout,
    /// substream: UInt32(truncatingIfNeeded: step))` at positions starting at
    /// j * 2^40 + (firstExample + e) * count for example e of the pass (count = the
    /// layer's numbers per example; `DropoutKernel` fixes the order within an example), so
    /// a minibatch split into pieces gets the same masks as one pass over it.
    package struct TrainingContext: Sendable, Hashable {
        /// The seed of the run's dropout masks.
        package var dropoutSeed: UInt64
        /// The optimiser step the pass belongs to (the masks' sub-stream).
        package var step: UInt64
        /// Index of the pass's first example within the minibatch.
        package var firstExample: Int
        /// Whether batch norm updates the running mean and variance.
        package var updateRunningStatistics: Bool

        package init(dropoutSeed: UInt64 = 0, step: UInt64 = 0, firstExample: Int = 0, updateRunningStatistics: Bool = true) {
            self.dropoutSeed = dropoutSeed
            self.step = step
            self.firstExample = firstExample
            self.updateRunningStatistics = updateRunningStatistics
        }
    }

    package let plan: NetworkPlan
    package let batchCapacity: Int
    /// Where the caller puts a batch: [batch, inputCount] rows in C, H, W order.
    package let input: UnsafeMutableBufferPointer<Float>
    private var allocations: [UnsafeMutableBufferPointer<Float>] = []
    private var stepOutputs: [UnsafeMutablePointer<Float>] = []
    private var stepColumns: [UnsafeMutablePointer<Float>?] = []
    private var stepSaved: [UnsafeMutablePointer<Float>?] = []
    /// Per-thread im2col scratch of the `.stridedConvolution` steps.
    private let workspace: ConvolutionWorkspace
    /// Examples in the last run.
    package private(set) var batch = 0

    /// Largest number of floats one buffer may hold.
    package static let maxBufferCount = 1 << 31

    /// What a step allocates per example: an output buffer (unless it aliases its source)
    /// and an im2col matrix for a `.convolution` step.
    private static func allocation(_ plan: NetworkPlan, step index: Int) -> (output: Int?, columns: Int?) {
        let output = plan.aliasesSource[index] ? nil : plan.outputCounts[index]
        switch plan.steps[index] {
        case .convolution(let shape, _):
            return (output, MemoryBudget.product([shape.patchSize, shape.output.planeSize]))
        default:
            return (output, nil)
        }
    }

    /// Floats one example takes in a pass's buffers: its input, every step's output and
    /// each `.convolution` step's im2col matrix (what `init` allocates per example; the
    /// per-thread `workspaceFloats` come on top).
    package static func floatsPerExample(_ plan: NetworkPlan) -> Int {
        var total = plan.inputCount
        for index in plan.steps.indices {
            let (output, columns) = allocation(plan, step: index)
            total = MemoryBudget.sum(total, output ?? 0)
            total = MemoryBudget.sum(total, columns ?? 0)
        }
        return total
    }

    /// Floats of one thread's im2col scratch (`ConvolutionWorkspace`): the largest chunk
    /// matrix of the `.stridedConvolution` steps for batches of up to `batchCapacity`. A
    /// run on `threads` threads holds up to `threads` of them.
    package static func workspaceFloats(_ plan: NetworkPlan, batchCapacity: Int) -> Int {
        plan.steps.reduce(0) { largest, step in
            guard case .stridedConvolution(let shape, _, _, _) = step else { return largest }
            return max(largest, StridedConvolutionKernel.chunkColumnFloats(shape, batchCapacity: batchCapacity))
        }
    }

    package init(plan: NetworkPlan, batchCapacity: Int) throws(InferenceError) {
        guard batchCapacity >= 1 else { throw .unsupported("a batch needs at least one example") }
        self.plan = plan
        self.batchCapacity = batchCapacity
        let workspaceFloats = Self.workspaceFloats(plan, batchCapacity: batchCapacity)
        guard workspaceFloats <= Self.maxBufferCount else {
            throw .unsupported("a batch of \(batchCapacity) needs a buffer of more than \(Self.maxBufferCount) numbers; use a smaller batch")
        }
        workspace = ConvolutionWorkspace(floatsPerWorker: workspaceFloats)
        func allocate(_ perExample: Int, examples: Int) throws(InferenceError) -> UnsafeMutableBufferPointer<Float> {
            let (count, overflow) = perExample.multipliedReportingOverflow(by: examples)
            guard !overflow, count <= Self.maxBufferCount else {
                throw .unsupported("a batch of \(batchCapacity) needs a buffer of more than \(Self.maxBufferCount) numbers; use a smaller batch")
            }
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, count))
            buffer.initialize(repeating: 0)
            return buffer
        }
        do {
            let inputBuffer = try allocate(plan.inputCount, examples: batchCapacity)
            allocations.append(inputBuffer)
            input = inputBuffer
            for index in plan.steps.indices {
                let (outputCount, columnCount) = Self.allocation(plan, step: index)
                var columns: UnsafeMutablePointer<Float>? = nil
                if let columnCount {
                    let buffer = try allocate(columnCount, examples: batchCapacity)
                    allocations.append(buffer)
                    columns = buffer.baseAddress!
                }
                let output: UnsafeMutablePointer<Float>
                if let outputCount {
                    let buffer = try allocate(outputCount, examples: batchCapacity)
                    allocations.append(buffer)
                    output = buffer.baseAddress!
                } else {
                    let source = plan.sources[index]
                    output = source < 0 ? inputBuffer.baseAddress! : stepOutputs[source]
                }
                var saved: UnsafeMutablePointer<Float>? = nil
                if case .batchNorm(let shape, _, _, _, _) = plan.steps[index] {
                    let buffer = try allocate(2 * shape.channels, examples: 1)
                    allocations.append(buffer)
                    saved = buffer.baseAddress!
                }
                stepOutputs.append(output)
                stepColumns.append(columns)
                stepSaved.append(saved)
            }
        } catch {
            for buffer in allocations { buffer.deallocate() }
            throw error
        }
    }

    deinit {
        for buffer in allocations { buffer.deallocate() }
    }

    /// The output of step `index`: [batch, outputCounts[index]] in the step's layout.
    package func output(ofStep index: Int) -> UnsafeMutablePointer<Float> { stepOutputs[index] }

    /// The output of step `index`, or the batch input for -1.
    package func value(_ index: Int) -> UnsafeMutablePointer<Float> {
        index < 0 ? input.baseAddress! : stepOutputs[index]
    }

    /// The input of step `index`: its source's output (or the batch input).
    package func input(ofStep index: Int) -> UnsafeMutablePointer<Float> { value(plan.sources[index]) }

    /// The im2col matrix of a `.convolution` step from the last run (nil for other steps).
    package func columns(ofStep index: Int) -> UnsafeMutablePointer<Float>? { stepColumns[index] }

    /// A batch norm step's batch means (C numbers) and 1 / sqrt(var + eps) (C numbers) of
    /// the last training run.
    package func saved(ofStep index: Int) -> UnsafeMutablePointer<Float>? { stepSaved[index] }

    /// The logits of the last run: [batch, classCount].
    package var logits: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: stepOutputs[stepOutputs.count - 1], count: batch * plan.classCount)
    }

    /// Runs the network on the first `batch` examples in `input`, with parameters `theta`
    /// (plan.parameterCount numbers). Steps that work in place may change `input`.
    /// - Parameters:
    ///   - buffers: the running means and variances (plan.bufferCount numbers): read at
    ///     inference, updated in training when the context says so. May be nil only
    ///     without batch norm.
    ///   - training: nil for inference (running statistics, no dropout); otherwise batch
    ///     statistics and dropout masks as the context says.
    package func run(
        theta: UnsafePointer<Float>, batch: Int, threads: Int,
        buffers: UnsafeMutablePointer<Float>? = nil, training: TrainingContext? = nil
    ) {
        precondition(batch >= 1 && batch <= batchCapacity, "batch outside 1...batchCapacity")
        precondition(buffers != nil || plan.bufferCount == 0, "a network with batch norm runs with its buffers")
        self.batch = batch
        for (index, step) in plan.steps.enumerated() {
            let source = input(ofStep: index)
            let target = stepOutputs[index]
            switch step {
            case .dense(let inputs, let outputs, let weightOffset, let biasOffset, let relu):
                DenseKernel.forward(
                    input: source, batch: batch, inputs: inputs, outputs: outputs,
                    weight: theta + weightOffset, bias: theta + biasOffset, relu: relu,
                    output: target, threads: threads)
            case .convolution(let shape, let relu):
                let columns = stepColumns[index]!
                ConvolutionKernel.im2col(shape, input: source, batch: batch, columns: columns, threads: threads)
                ConvolutionKernel.forward(
                    shape, columns: columns, batch: batch,
                    weight: theta + shape.weightOffset, bias: theta + shape.biasOffset, relu: relu,
                    output: target, threads: threads)
            case .stridedConvolution(let shape, let weightOffset, let biasOffset, let relu):
                StridedConvolutionKernel.forward(
                    shape, input: source, batch: batch, weight: theta + weightOffset,
                    bias: biasOffset.map { theta + $0 }, relu: relu, output: target, workspace: workspace, threads: threads)
            case .batchNorm(let shape, let weightOffset, let biasOffset, let bufferOffset, let relu):
                let mean = buffers.map { $0 + bufferOffset }
                let variance = buffers.map { $0 + bufferOffset + shape.channels }
                if let training {
                    let update = training.updateRunningStatistics
                    BatchNormKernel.trainingForward(
                        shape, input: source, batch: batch, gamma: theta + weightOffset, beta: theta + biasOffset,
                        output: target, saved: stepSaved[index]!,
                        runningMean: update ? mean : nil, runningVariance: update ? variance : nil,
                        relu: relu, threads: threads)
                } else {
                    BatchNormKernel.inferenceForward(
                        shape, input: source, batch: batch, gamma: theta + weightOffset, beta: theta + biasOffset,
                        runningMean: mean!, runningVariance: variance!, output: target, relu: relu, threads: threads)
                }
            case .maxPool(let shape):
                MaxPoolKernel.forward(shape, input: source, batch: batch, output: target, threads: threads)
            case .averagePool(let shape):
                AveragePoolKernel.forward(shape, input: source, batch: batch, output: target, threads: threads)
            case .globalAveragePool(let shape, let layout):
                AveragePoolKernel.globalForward(shape, layout: layout, input: source, batch: batch, output: target, threads: threads)
            case .add(let shape, let firstLayout, let secondLayout, let outputLayout, let relu):
                AddKernel.forward(
                    shape, first: source, firstLayout: firstLayout, second: value(plan.others[index]!), secondLayout: secondLayout,
                    batch: batch, output: target, outputLayout: outputLayout, relu: relu, threads: threads)
            case .relu(let count):
                if target != source { target.update(from: source, count: count * batch) }
                ElementwiseKernels.reluInPlace(target, count: count * batch, threads: threads)
            case .fusedRelu:
                break
            case .dropout(let shape, let layout, let rate, let layer):
                if let training {
                    DropoutKernel.apply(
                        shape, layout: layout, input: source, batch: batch, rate: rate,
                        stream: Self.dropoutStream(training), start: Self.dropoutStart(training, layer: layer, count: shape.count),
                        output: target, threads: threads)
                } else if target != source {
                    target.update(from: source, count: shape.count * batch)
                }
            case .activation(let function, let count):
                ActivationKernels.forward(function, input: source, output: target, count: count * batch, threads: threads)
            case .flatten(let shape, let layout):
                if layout == .channelMajor {
                    ElementwiseKernels.flattenChannelMajor(source, shape: shape, batch: batch, output: target, threads: threads)
                } else if target != source {
                    target.update(from: source, count: shape.count * batch)
                }
            }
        }
    }

    /// The stream of a training step's dropout masks (see `TrainingContext`).
    package static func dropoutStream(_ training: TrainingContext) -> RandomStream {
        RandomStream(seed: training.dropoutSeed, purpose: .dropout, substream: UInt32(truncatingIfNeeded: training.step))
    }

    /// The first stream position of dropout layer `layer`'s mask in a pass (see `TrainingContext`).
    package static func dropoutStart(_ training: TrainingContext, layer: Int, count: Int) -> UInt64 {
        UInt64(layer) << 40 + UInt64(training.firstExample) * UInt64(count)
    }
}
