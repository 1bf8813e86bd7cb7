import Foundation

/// Runs independent pieces of work on several threads; public for `defaultThreads`, the
/// default of every `threads:` parameter.
///
/// Callers split work into pieces whose boundaries do not depend on the thread count, so
/// results are identical whatever `threads` is.
public enum ParallelLoop {
    /// Threads used when a caller does not say: the machine's active processors, or the
    /// value of the environment variable IDZIP_THREADS when it is a positive integer.
    public static let defaultThreads: Int = {
        if let text = ProcessInfo.processInfo.environment["IDZIP_THREADS"], let value = Int(text), value > 0 {
            return value
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body(piece)` once for every piece in 0..<pieces, on up to `threads` threads.
    /// Pieces are handed out dynamically; `body` must not depend on which thread runs it.
    package static func forEach(pieces: Int, threads: Int = defaultThreads, _ body: (Int) -> Void) {
        guard pieces > 0 else { return }
        let workers = max(1, min(threads, pieces))
        if workers == 1 {
            for piece in 0..<pieces { body(piece) }
            return
        }
        let next = NextPiece()
        withoutActuallyEscaping(body) { body in
            let work = UncheckedBody(body)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while let piece = next.take(below: pieces) { work.body(piece) }
            }
        }
    }

    /// Threads that `forEach(pieces:threads:)` and `forEachWithWorker` use: 1 to
    /// min(threads, pieces).
    package static func workers(pieces: Int, threads: Int) -> Int { max(1, min(threads, pieces)) }

    /// As `forEach(pieces:threads:_:)`, also telling `body` which of the
    /// `workers(pieces:threads:)` workers runs it (0-based), so a piece can use that
    /// worker's scratch memory. Which worker runs a piece varies from run to run: `body`
    /// must overwrite the scratch it reads, so that its results do not depend on it.
    package static func forEachWithWorker(pieces: Int, threads: Int = defaultThreads, _ body: (_ piece: Int, _ worker: Int) -> Void) {
        guard pieces > 0 else { return }
        let workers = Self.workers(pieces: pieces, threads: threads)
        if workers == 1 {
            for piece in 0..<pieces { body(piece, 0) }
            return
        }
        let next = NextPiece()
        withoutActuallyEscaping(body) { body in
            let work = UncheckedWorkerBody(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while let piece = next.take(below: pieces) { work.body(piece, worker) }
            }
        }
    }
}

/// A shared counter handing out piece numbers.
private final class NextPiece: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()

    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

/// Carries a non-escaping closure into `concurrentPerform`. Safe because the callers'
/// pieces write disjoint memory, and the closure does not outlive the call.
private struct UncheckedBody: @unchecked Sendable {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}

/// `UncheckedBody` for `forEachWithWorker`'s two-argument closure.
private struct UncheckedWorkerBody: @unchecked Sendable {
    let body: (Int, Int) -> Void
    init(_ body: @escaping (Int, Int) -> Void) { self.body = body }
}
