/// Buffers for running a `NetworkPlan` on batches of up to `batchCapacity` examples, and
/// the forward computation. Every step's output (and each convolution's im2col matrix) is
/// kept until the next run, so training can run the backward pass from them.
///
/// Buffers handed out stay valid while the `ForwardPass` lives. Not thread-safe.
package final class ForwardPass {
    package let plan: NetworkPlan
    package let batchCapacity: Int
    /// Where the caller puts a batch: [batch, inputCount] rows in C, H, W order.
    package let input: UnsafeMutableBufferPointer<Float>
    private var allocations: [UnsafeMutableBufferPointer<Float>] = []
    private var stepOutputs: [UnsafeMutablePointer<Float>] = []
    private var stepColumns: [UnsafeMutablePointer<Float>?] = []
    /// Examples in the last run.
    package private(set) var batch = 0

    /// Largest number of floats one buffer may hold.
    package static let maxBufferCount = 1 << 31

    /// Floats one example takes in a pass's buffers: its input, every step's output and
    /// each convolution's im2col matrix (what `init` allocates per example).
    package static func floatsPerExample(_ plan: NetworkPlan) -> Int {
        var total = plan.inputCount
        for (index, step) in plan.steps.enumerated() {
            switch step {
            case .relu, .fusedRelu:
                break
            case .flatten(_, let layout) where layout == .exampleMajor:
                break
            case .convolution(let shape, _):
                total = MemoryBudget.sum(total, MemoryBudget.product([shape.patchSize, shape.output.planeSize]))
                total = MemoryBudget.sum(total, plan.outputCounts[index])
            default:
                total = MemoryBudget.sum(total, plan.outputCounts[index])
            }
        }
        return total
    }

    package init(plan: NetworkPlan, batchCapacity: Int) throws(InferenceError) {
        guard batchCapacity >= 1 else { throw .unsupported("a batch needs at least one example") }
        self.plan = plan
        self.batchCapacity = batchCapacity
        func allocate(_ perExample: Int) throws(InferenceError) -> UnsafeMutableBufferPointer<Float> {
            let (count, overflow) = perExample.multipliedReportingOverflow(by: batchCapacity)
            guard !overflow, count <= Self.maxBufferCount else {
                throw .unsupported("a batch of \(batchCapacity) needs a buffer of more than \(Self.maxBufferCount) numbers; use a smaller batch")
            }
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, count))
            buffer.initialize(repeating: 0)
            return buffer
        }
        do {
            let inputBuffer = try allocate(plan.inputCount)
            allocations.append(inputBuffer)
            input = inputBuffer
            var previous = inputBuffer.baseAddress!
            for (index, step) in plan.steps.enumerated() {
                var output = previous
                var columns: UnsafeMutablePointer<Float>? = nil
                switch step {
                case .relu, .fusedRelu:
                    break
                case .flatten(_, let layout) where layout == .exampleMajor:
                    break
                case .convolution(let shape, _):
                    let buffer = try allocate(shape.patchSize * shape.output.planeSize)
                    allocations.append(buffer)
                    columns = buffer.baseAddress!
                    fallthrough
                default:
                    let buffer = try allocate(plan.outputCounts[index])
                    allocations.append(buffer)
                    output = buffer.baseAddress!
                }
                stepOutputs.append(output)
                stepColumns.append(columns)
                previous = output
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

    /// The input of step `index` (the previous step's output, or the batch input).
    package func input(ofStep index: Int) -> UnsafeMutablePointer<Float> {
        index == 0 ? input.baseAddress! : stepOutputs[index - 1]
    }

    /// The im2col matrix of a convolution step from the last run.
    package func columns(ofStep index: Int) -> UnsafeMutablePointer<Float>? { stepColumns[index] }

    /// The logits of the last run: [batch, classCount].
    package var logits: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: stepOutputs[stepOutputs.count - 1], count: batch * plan.classCount)
    }

    /// Runs the network on the first `batch` examples in `input`, with parameters `theta`
    /// (plan.parameterCount numbers). Relu steps work in place, so `input` may be changed.
    package func run(theta: UnsafePointer<Float>, batch: Int, threads: Int) {
        precondition(batch >= 1 && batch <= batchCapacity, "batch outside 1...batchCapacity")
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
            case .maxPool(let shape):
                MaxPoolKernel.forward(shape, input: source, batch: batch, output: target, threads: threads)
            case .relu(let count):
                ElementwiseKernels.reluInPlace(target, count: count * batch, threads: threads)
            case .fusedRelu:
                break
            case .flatten(let shape, let layout):
                if layout == .channelMajor {
                    ElementwiseKernels.flattenChannelMajor(source, shape: shape, batch: batch, output: target, threads: threads)
                }
            }
        }
    }
}
