/// Scratch memory for the convolution kernels' pieces of work: one slot of
/// `floatsPerWorker` numbers per worker thread (`ParallelLoop.forEachWithWorker`), so a
/// piece builds the im2col matrix of its few examples (or, for a direct convolution, one
/// example's zero-bordered copy, never larger) where its own thread's cache holds it,
/// instead of one matrix for the whole batch (`StridedConvolutionKernel.forward`,
/// IdzipTraining's `StridedConvolutionGradient.backward`).
///
/// Slots are allocated for the largest worker count asked for so far and kept, so a
/// training run allocates them once. Not thread-safe: `reserve` is called before the
/// parallel loop, `slot` inside it.
package final class ConvolutionWorkspace {
    /// Numbers in one worker's slot.
    package let floatsPerWorker: Int
    private var buffer: UnsafeMutableBufferPointer<Float>
    /// Workers that have a slot.
    package private(set) var workers = 0

    package init(floatsPerWorker: Int) {
        self.floatsPerWorker = max(0, floatsPerWorker)
        buffer = .allocate(capacity: 1)
    }

    deinit { buffer.deallocate() }

    /// Makes sure workers 0..<count have a slot (allocating, not zeroing: every piece
    /// writes what it reads).
    package func reserve(workers count: Int) {
        guard count > workers else { return }
        let (floats, overflow) = floatsPerWorker.multipliedReportingOverflow(by: count)
        precondition(!overflow, "convolution workspace size overflows")
        buffer.deallocate()
        buffer = .allocate(capacity: max(1, floats))
        workers = count
    }

    /// Worker `worker`'s slot (`floatsPerWorker` numbers); `reserve` must have covered it.
    @inline(__always)
    package func slot(_ worker: Int) -> UnsafeMutablePointer<Float> {
        precondition(worker < workers || floatsPerWorker == 0, "no workspace slot reserved for this worker")
        return buffer.baseAddress! + worker * floatsPerWorker
    }
}
