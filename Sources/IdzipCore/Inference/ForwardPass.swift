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
/// An inference pass (`keepsOutputs: false`, what `ParallelEvaluator` runs for `idzip
/// eval`, `predict` and training's evaluations) keeps only what is still to be read: a
/// step's output buffer is handed to a later step once the output's last reader (skip
/// connections included) has run (`BufferLayout`), and the `.convolution` steps share
/// one im2col matrix, so its memory is the widest set of live outputs, not their sum.
/// Every kernel writes all of its output, so the logits are the same bits either way;
/// only the logits (and, while their readers have not run, intermediate outputs) can be
/// read after such a run.
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

    /// Which buffer holds each value of a pass, and the buffers' sizes per example.
    package struct BufferLayout: Sendable, Equatable {
        /// The buffer of value v at index v + 1: index 0 is the network input, index
        /// i + 1 the output of step i.
        package var bufferOfValue: [Int]
        /// Floats per example of each buffer (the largest value it holds).
        package var bufferFloats: [Int]
        /// Floats per example of the im2col matrices: one per `.convolution` step when
        /// outputs are kept, else one shared matrix of the largest (empty without such steps).
        package var columnFloats: [Int]

        /// Floats per example of all buffers and im2col matrices.
        package var floatsPerExample: Int {
            (bufferFloats + columnFloats).reduce(0) { MemoryBudget.sum($0, $1) }
        }
        /// Buffers allocated (for the allocator's slack per buffer).
        package var allocationCount: Int { bufferFloats.count + columnFloats.count }
    }

    /// The buffers of a pass over `plan`. With `keepsOutputs` (training: the backward pass
    /// reads every output) each output that does not alias its source has its own buffer.
    /// Without, buffers are reused: values that share storage (a step that aliases its
    /// source) form one stored value, which lives from the step that writes it to its
    /// last reader (the logits: to the end); a step's output takes a free buffer, the
    /// smallest that holds it, else the largest free one (grown), else a new one. The
    /// step's own operands are still live while it runs, so no step writes a buffer it
    /// reads.
    package static func bufferLayout(_ plan: NetworkPlan, keepsOutputs: Bool) -> BufferLayout {
        let steps = plan.steps.count
        var columns: [Int] = []
        for step in plan.steps {
            if case .convolution(let shape, _) = step { columns.append(MemoryBudget.product([shape.patchSize, shape.output.planeSize])) }
        }
        if !keepsOutputs, let largest = columns.max() { columns = [largest] }
        // The stored value of each value (index v + 1), in order of writing.
        var stored = [Int](repeating: 0, count: steps + 1)
        var storedCount = 1
        for index in 0..<steps {
            if plan.aliasesSource[index] {
                stored[index + 1] = stored[plan.sources[index] + 1]
            } else {
                stored[index + 1] = storedCount
                storedCount += 1
            }
        }
        if keepsOutputs {
            var floats = [plan.inputCount]
            for index in 0..<steps where !plan.aliasesSource[index] { floats.append(plan.outputCounts[index]) }
            return BufferLayout(bufferOfValue: stored, bufferFloats: floats, columnFloats: columns)
        }
        // The last step that reads (or writes in place) each stored value.
        var lastUse = [Int](repeating: -1, count: storedCount)
        for index in 0..<steps {
            for operand in [plan.sources[index], plan.others[index]].compactMap({ $0 }) {
                lastUse[stored[operand + 1]] = max(lastUse[stored[operand + 1]], index)
            }
            lastUse[stored[index + 1]] = max(lastUse[stored[index + 1]], index)
        }
        if steps > 0 { lastUse[stored[steps]] = steps }
        var bufferOfStored = [Int](repeating: -1, count: storedCount)
        var floats = [plan.inputCount]
        bufferOfStored[0] = 0
        var live: [Int] = [0]  // stored values that hold a buffer
        var free: [Int] = []
        for index in 0..<steps where !plan.aliasesSource[index] {
            // Buffers whose value's last reader ran before this step are free.
            live.removeAll { value in
                guard lastUse[value] < index else { return false }
                free.append(bufferOfStored[value])
                return true
            }
            let need = plan.outputCounts[index]
            let buffer: Int
            if let fitting = free.filter({ floats[$0] >= need }).min(by: { floats[$0] < floats[$1] }) {
                buffer = fitting
            } else if let largest = free.max(by: { floats[$0] < floats[$1] }) {
                buffer = largest
                floats[buffer] = need
            } else {
                buffer = floats.count
                floats.append(need)
            }
            free.removeAll { $0 == buffer }
            let value = stored[index + 1]
            bufferOfStored[value] = buffer
            live.append(value)
        }
        return BufferLayout(bufferOfValue: stored.map { bufferOfStored[$0] }, bufferFloats: floats, columnFloats: columns)
    }

    /// Floats one example takes in a pass's buffers (`bufferLayout`): its input, the
    /// steps' outputs and the im2col matrices (what `init` allocates per example; the
    /// per-thread `workspaceFloats` come on top).
    package static func floatsPerExample(_ plan: NetworkPlan, keepsOutputs: Bool = true) -> Int {
        bufferLayout(plan, keepsOutputs: keepsOutputs).floatsPerExample
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

    /// Whether every step's output is kept until the next run (training), or buffers are
    /// reused once their value's last reader ran (inference; see `bufferLayout`).
    package let keepsOutputs: Bool

    /// - Parameters:
    ///   - keepsOutputs: false for a pass that only runs inference (`ParallelEvaluator`):
    ///     less memory, and only the logits stay readable after `run`.
    /// - Throws: `InferenceError.unsupported` for a batch whose buffers would be too large.
    package init(plan: NetworkPlan, batchCapacity: Int, keepsOutputs: Bool = true) throws(InferenceError) {
        guard batchCapacity >= 1 else { throw .unsupported("a batch needs at least one example") }
        self.plan = plan
        self.batchCapacity = batchCapacity
        self.keepsOutputs = keepsOutputs
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
        let layout = Self.bufferLayout(plan, keepsOutputs: keepsOutputs)
        do {
            var buffers: [UnsafeMutablePointer<Float>] = []
            for floats in layout.bufferFloats {
                let buffer = try allocate(floats, examples: batchCapacity)
                allocations.append(buffer)
                buffers.append(buffer.baseAddress!)
            }
            var columnBuffers: [UnsafeMutablePointer<Float>] = []
            for floats in layout.columnFloats {
                let buffer = try allocate(floats, examples: batchCapacity)
                allocations.append(buffer)
                columnBuffers.append(buffer.baseAddress!)
            }
            input = UnsafeMutableBufferPointer(start: buffers[layout.bufferOfValue[0]], count: max(1, plan.inputCount * batchCapacity))
            var convolutions = 0
            for index in plan.steps.indices {
                var columns: UnsafeMutablePointer<Float>? = nil
                if case .convolution = plan.steps[index] {
                    columns = columnBuffers[keepsOutputs ? convolutions : 0]
                    convolutions += 1
                }
                let output = buffers[layout.bufferOfValue[index + 1]]
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
