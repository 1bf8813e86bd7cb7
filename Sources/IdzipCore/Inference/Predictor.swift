import Foundation

/// Runs a network with fixed parameters theta on examples: logits, predictions and
/// evaluation against labels. This is what `idzip eval` and deployments use.
///
/// Inputs come two ways. Raw inputs (`raw:` labels: the bytes 0 ... 255 of an image, or
/// float features as a data file stores them) go through the model's `Preprocessing`
/// exactly once, x = (raw * inputScale - mean[c]) / std[c] in float32 (Formats/idz-v1.md
/// section 13). Unlabelled `[Float]` inputs are network inputs, already preprocessed.
/// Examples are consecutive rows of `inputCount` values in the architecture's input layout
/// ([C, H, W] C order for images). Results do not depend on `threads`.
public final class Predictor {
    package let plan: NetworkPlan
    /// How raw inputs become network inputs (from the `.idz` file).
    public let preprocessing: Preprocessing
    private let theta: [Float]
    private let evaluator: ParallelEvaluator

    /// - Parameters:
    ///   - theta: the full parameter vector (D numbers in parameter order), e.g.
    ///     `ModelExpansion.weights(of:)`.
    ///   - preprocessing: the model's (`IdzModel.preprocessing`); the default scales bytes by 1/255.
    ///   - batchSize: examples run together on one thread.
    ///   - threads: batches run at once. Results do not depend on it.
    ///   - buffers: the batch-norm running statistics (`IdzModel.buffers`, the
    ///     architecture's bufferCount numbers); empty for a network without batch norm.
    /// - Throws: `InferenceError.architecture`/`.unsupported` for a network that cannot run
    ///   or buffers of the wrong size,
    ///   `.parameterCount` when theta does not have D values, `.preprocessing` when the
    ///   preprocessing does not fit the input (channel count, finite values, std > 0).
    public init(
        architecture: Architecture, theta: [Float], preprocessing: Preprocessing = Preprocessing(),
        batchSize: Int = 256, threads: Int = ParallelLoop.defaultThreads, buffers: [Float] = []
    ) throws(InferenceError) {
        plan = try NetworkPlan(architecture)
        guard theta.count == plan.parameterCount else {
            throw .parameterCount(expected: plan.parameterCount, actual: theta.count)
        }
        do {
            try IdzModelCheck.checkPreprocessing(preprocessing, inputShape: architecture.inputShape)
        } catch {
            throw .preprocessing(error.message)
        }
        self.theta = theta
        self.preprocessing = preprocessing
        evaluator = try ParallelEvaluator(plan: plan, batchSize: batchSize, threads: threads, buffers: buffers)
    }

    /// What running `architecture` on `examples` examples holds besides the weights: one
    /// forward pass of `batchSize` examples per thread that gets a batch (`passFloats`;
    /// see `init`) and two copies of the batch-norm statistics. Empty for an architecture
    /// that cannot run (`init` then throws).
    public static func memoryBudget(architecture: Architecture, examples: Int, batchSize: Int = 256, threads: Int) -> MemoryBudget {
        var budget = MemoryBudget()
        guard let plan = try? NetworkPlan(architecture) else { return budget }
        let batch = max(1, batchSize)
        let passes = min(max(1, threads), max(1, (examples + batch - 1) / batch))
        budget.add(
            "activations (\(passes) thread\(passes == 1 ? "" : "s") x \(batch) examples)",
            floats: MemoryBudget.sum(
                MemoryBudget.product([passFloats(plan, batchCapacity: batch, keepsOutputs: false), passes]), 2 * (plan.bufferCount + allocationSlackFloats)))
        return budget
    }

    /// What `classify(raw:)` of `examples` examples holds besides the weights and the
    /// activations: the inputs as decoded, gathered into one array when they come from
    /// `inputFiles` > 1 files, and preprocessed (2 or 3 copies of inputCount floats per
    /// example), the logits (float32) and the probabilities (float64) of every class.
    public static func inputsAndOutputs(architecture: Architecture, examples: Int, inputFiles: Int = 1) -> MemoryBudget {
        var budget = MemoryBudget()
        let inputs = architecture.inputShape.reduce(1) { MemoryBudget.product([$0, $1]) }
        let classes = (try? architecture.outputCount()) ?? Int.max
        budget.add("inputs, logits and probabilities of \(examples) example\(examples == 1 ? "" : "s")",
            floats: MemoryBudget.sum(
                MemoryBudget.product([examples, inputs, inputFiles > 1 ? 3 : 2]), MemoryBudget.product([examples, classes, 3])))
        return budget
    }

    /// Floats one `ForwardPass` of `batchCapacity` examples allocates: per example its
    /// buffers (`ForwardPass.bufferLayout`: the input, the outputs, kept or reused, and the
    /// im2col matrices), once per batch norm its saved batch statistics (2 C), one
    /// thread's im2col scratch of the strided convolutions (`ForwardPass.workspaceFloats`),
    /// and `allocationSlackFloats` per buffer; saturates at `Int.max`.
    /// - Parameter keepsOutputs: as the pass is built: true for training, false for
    ///   inference (`ParallelEvaluator`).
    package static func passFloats(_ plan: NetworkPlan, batchCapacity: Int, keepsOutputs: Bool = true) -> Int {
        let layout = ForwardPass.bufferLayout(plan, keepsOutputs: keepsOutputs)
        var total = MemoryBudget.product([layout.floatsPerExample, max(1, batchCapacity)])
        total = MemoryBudget.sum(total, ForwardPass.workspaceFloats(plan, batchCapacity: max(1, batchCapacity)))
        var buffers = layout.allocationCount + 1  // and the workspace
        for step in plan.steps {
            if case .batchNorm(let shape, _, _, _, _) = step {
                buffers += 1
                total = MemoryBudget.sum(total, 2 * shape.channels)
            }
        }
        return MemoryBudget.sum(total, MemoryBudget.product([buffers, allocationSlackFloats]))
    }

    /// What one buffer may take beyond its size, in floats: the allocator maps a large
    /// block in whole pages, so up to a page more (and its header); one page, at least 4 kB.
    package static let allocationSlackFloats = max(4096, Int(sysconf(Int32(_SC_PAGESIZE)))) / 4

    /// Values per example.
    public var inputCount: Int { plan.inputCount }
    /// Outputs (classes) per example.
    public var classCount: Int { plan.classCount }

    // MARK: Raw inputs

    /// `raw` (rows of `inputCount` bytes, e.g. pixels 0 ... 255) preprocessed once into network inputs.
    /// - Throws: `InferenceError.inputCount` when raw.count is not a multiple of inputCount.
    public func preprocessed(_ raw: [UInt8]) throws(InferenceError) -> [Float] {
        try preprocessedRows(raw)
    }

    /// `raw` (rows of `inputCount` float features as stored) preprocessed once into network inputs.
    /// - Throws: `InferenceError.inputCount` when raw.count is not a multiple of inputCount.
    public func preprocessed(_ raw: [Float]) throws(InferenceError) -> [Float] {
        try preprocessedRows(raw)
    }

    /// Logits ([examples, classCount], row-major) for raw byte inputs.
    public func logits(raw: [UInt8]) throws(InferenceError) -> [Float] { try logits(preprocessed(raw)) }
    /// Logits ([examples, classCount], row-major) for raw float inputs.
    public func logits(raw: [Float]) throws(InferenceError) -> [Float] { try logits(preprocessed(raw)) }
    /// Predicted class (0 ..< classCount) of each raw byte example.
    public func predictions(raw: [UInt8]) throws(InferenceError) -> [Int] { try predictions(preprocessed(raw)) }
    /// Predicted class (0 ..< classCount) of each raw float example.
    public func predictions(raw: [Float]) throws(InferenceError) -> [Int] { try predictions(preprocessed(raw)) }

    /// Accuracy, loss and confusion matrix on raw byte examples and their `labels` (0 ..< classCount).
    /// - Throws: `.inputCount` when the sizes disagree, `.label` for a label out of range.
    public func evaluate(raw: [UInt8], labels: [Int32]) throws(InferenceError) -> Evaluation {
        try checkCount(raw.count, labels: labels)
        let width = inputCount
        return try evaluateRaw(labels: labels) { range, buffer in
            raw.withUnsafeBufferPointer { raw in
                let source = raw.baseAddress! + range.lowerBound * width
                for i in 0..<(range.count * width) { buffer[i] = Float(source[i]) }
            }
        }
    }

    /// Accuracy, loss and confusion matrix on raw float examples and their `labels` (0 ..< classCount).
    /// - Throws: `.inputCount` when the sizes disagree, `.label` for a label out of range.
    public func evaluate(raw: [Float], labels: [Int32]) throws(InferenceError) -> Evaluation {
        try checkCount(raw.count, labels: labels)
        return try evaluateRaw(labels: labels) { range, buffer in copyRows(raw, range, buffer) }
    }

    /// Evaluation where `fill(range, buffer)` writes the raw inputs of examples `range`
    /// into `buffer` (range.count rows, as floats: a byte b as Float(b)); the predictor
    /// then preprocesses them in place. `fill` is called from several threads at once,
    /// so a large set never has to exist as floats at once.
    /// - Throws: `.label` for a label out of range.
    public func evaluateRaw(
        labels: [Int32], fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(InferenceError) -> Evaluation {
        let inputShape = plan.architecture.inputShape
        return try evaluate(labels: labels) { range, buffer in
            fill(range, buffer)
            preprocessing.apply(to: buffer, inputShape: inputShape)
        }
    }

    private func checkCount(_ count: Int, labels: [Int32]) throws(InferenceError) {
        guard try exampleCount(of: count) == labels.count else { throw .inputCount(expected: inputCount, actual: count) }
    }

    private func preprocessedRows(_ raw: [UInt8]) throws(InferenceError) -> [Float] {
        _ = try exampleCount(of: raw.count)
        var result = raw.map { Float($0) }
        result.withUnsafeMutableBufferPointer { preprocessing.apply(to: $0, inputShape: plan.architecture.inputShape) }
        return result
    }

    private func preprocessedRows(_ raw: [Float]) throws(InferenceError) -> [Float] {
        _ = try exampleCount(of: raw.count)
        var result = raw
        result.withUnsafeMutableBufferPointer { preprocessing.apply(to: $0, inputShape: plan.architecture.inputShape) }
        return result
    }

    // MARK: Network inputs

    /// Logits ([examples, classCount], row-major) for network inputs (already
    /// preprocessed), given as consecutive rows of `inputCount` numbers.
    /// - Throws: `InferenceError.inputCount` when inputs.count is not a multiple of inputCount.
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

    /// Predicted class (0 ..< classCount) of each example of network inputs.
    /// - Throws: `InferenceError.inputCount` as `logits(_:)`.
    public func predictions(_ inputs: [Float]) throws(InferenceError) -> [Int] {
        let classes = classCount
        let all = try logits(inputs)
        return all.withUnsafeBufferPointer { all in
            (0..<(all.count / classes)).map { SoftmaxCrossEntropy.argmax(all.baseAddress! + $0 * classes, count: classes) }
        }
    }

    /// Softmax probabilities of network inputs, rows of `classCount` (float64, each row sums to 1).
    /// - Throws: `InferenceError.inputCount` as `logits(_:)`.
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

    /// Accuracy, loss and confusion matrix on rows of network `inputs` with their `labels`.
    /// - Throws: `.inputCount` when the sizes disagree, `.label` for a label out of range.
    public func evaluate(inputs: [Float], labels: [Int32]) throws(InferenceError) -> Evaluation {
        let count = try exampleCount(of: inputs)
        guard count == labels.count else { throw .inputCount(expected: inputCount, actual: inputs.count) }
        return try evaluate(labels: labels) { range, buffer in copyRows(inputs, range, buffer) }
    }

    /// Evaluation where `fill(range, buffer)` writes the network inputs (already
    /// preprocessed) of examples `range` into `buffer` (range.count rows), so a large set
    /// never has to exist as floats at once. `fill` is called from several threads at once.
    /// - Throws: `.label` for a label out of range.
    public func evaluate(
        labels: [Int32], fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(InferenceError) -> Evaluation {
        try theta.withUnsafeBufferPointer { theta throws(InferenceError) in
            try evaluator.evaluate(labels: labels, theta: theta.baseAddress!, fill: fill)
        }
    }

    private func exampleCount(of inputs: [Float]) throws(InferenceError) -> Int {
        try exampleCount(of: inputs.count)
    }

    private func exampleCount(of count: Int) throws(InferenceError) -> Int {
        guard count % inputCount == 0 else { throw .inputCount(expected: inputCount, actual: count) }
        return count / inputCount
    }

    private func copyRows(_ inputs: [Float], _ range: Range<Int>, _ buffer: UnsafeMutableBufferPointer<Float>) {
        inputs.withUnsafeBufferPointer { inputs in
            buffer.baseAddress!.update(from: inputs.baseAddress! + range.lowerBound * inputCount, count: range.count * inputCount)
        }
    }
}
