import Foundation

/// Evaluates a network on many examples with one inference forward pass per thread
/// (`ForwardPass` with `keepsOutputs: false`: buffers reused along the graph), each taking
/// whole batches; batch results are added in batch order, so the result does not depend
/// on the thread count.
package final class ParallelEvaluator {
    package let plan: NetworkPlan
    package let batchSize: Int
    package let threads: Int
    /// The running statistics of batch norm (plan.bufferCount numbers), read at inference.
    /// A trainer sets them before each evaluation.
    package var buffers: [Float]
    private var passes: [ForwardPass]
    private let lock = NSLock()

    /// - Throws: `InferenceError.unsupported` when `buffers` does not hold the plan's
    ///   bufferCount numbers, or a batch's buffers would be too large.
    package init(plan: NetworkPlan, batchSize: Int, threads: Int, buffers: [Float]? = nil) throws(InferenceError) {
        self.plan = plan
        let buffers = buffers ?? [Float](repeating: 0, count: plan.bufferCount)
        guard buffers.count == plan.bufferCount else {
            throw .unsupported("the network needs \(plan.bufferCount) batch-norm statistics, \(buffers.count) were given")
        }
        self.buffers = buffers
        self.batchSize = max(1, batchSize)
        self.threads = max(1, threads)
        // One pass now (it checks the buffer sizes); the others when a run has work for them,
        // so threads that would get no batch never get buffers.
        passes = [try ForwardPass(plan: plan, batchCapacity: self.batchSize, keepsOutputs: false)]
    }

    /// Forward passes built so far: at most min(threads, batches of the largest run).
    package var passCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return passes.count
    }

    /// Builds passes until there are `count` (one per thread with work); returns how many there are.
    private func preparePasses(_ count: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        while passes.count < count, let pass = try? ForwardPass(plan: plan, batchCapacity: batchSize, keepsOutputs: false) { passes.append(pass) }
        return passes.count
    }

    /// `fill(range, buffer)` must write the inputs of examples `range` into `buffer`; it is
    /// called from several threads at once. `body(range, logits)` sees each batch's logits
    /// ([range.count, classCount]) and returns its evaluation.
    package func run(
        exampleCount: Int, theta: UnsafePointer<Float>,
        fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void,
        body: (Range<Int>, UnsafePointer<Float>) -> Evaluation
    ) -> Evaluation {
        let batches = (exampleCount + batchSize - 1) / batchSize
        var results = [Evaluation?](repeating: nil, count: batches)
        let inputCount = plan.inputCount
        // Parallel over batches, so the matrix library itself runs on one thread.
        Gemm.setThreadCount(1)
        let workers = preparePasses(min(threads, max(1, batches)))
        precondition(buffers.count == plan.bufferCount, "batch-norm statistics of the wrong size")
        let buffers = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, self.buffers.count))
        defer { buffers.deallocate() }
        _ = buffers.initialize(from: self.buffers)
        let bufferPointer = plan.bufferCount > 0 ? buffers.baseAddress! : nil
        results.withUnsafeMutableBufferPointer { results in
            ParallelLoop.forEach(pieces: batches, threads: workers) { batch in
                let pass = takePass()
                defer { returnPass(pass) }
                let range = (batch * batchSize)..<min(exampleCount, (batch + 1) * batchSize)
                fill(range, UnsafeMutableBufferPointer(rebasing: pass.input[0..<(range.count * inputCount)]))
                pass.run(theta: theta, batch: range.count, threads: 1, buffers: bufferPointer)
                results[batch] = body(range, pass.logits.baseAddress!)
            }
        }
        var total = Evaluation(classCount: plan.classCount)
        for result in results { if let result { total.add(result) } }
        return total
    }

    /// Accuracy, loss and confusion counts against `labels` (already checked to be in range).
    package func evaluate(
        labels: [Int32], theta: UnsafePointer<Float>, fill: (Range<Int>, UnsafeMutableBufferPointer<Float>) -> Void
    ) throws(InferenceError) -> Evaluation {
        let classes = plan.classCount
        for (index, label) in labels.enumerated() where label < 0 || Int(label) >= classes {
            throw .label(index: index, value: Int(label), classes: classes)
        }
        return labels.withUnsafeBufferPointer { labels in
            run(exampleCount: labels.count, theta: theta, fill: fill) { range, logits in
                var evaluation = Evaluation(classCount: classes)
                for (row, index) in range.enumerated() {
                    let line = logits + row * classes
                    let label = Int(labels[index])
                    evaluation.record(
                        actual: label, predicted: SoftmaxCrossEntropy.argmax(line, count: classes),
                        loss: SoftmaxCrossEntropy.loss(line, classes: classes, label: label))
                }
                return evaluation
            }
        }
    }

    private func takePass() -> ForwardPass {
        lock.lock()
        defer { lock.unlock() }
        return passes.removeLast()
    }

    private func returnPass(_ pass: ForwardPass) {
        lock.lock()
        defer { lock.unlock() }
        passes.append(pass)
    }
}
