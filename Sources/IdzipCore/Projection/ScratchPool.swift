import Foundation

/// Work buffers reused across the pieces of a parallel loop: a piece borrows one set,
/// uses it and returns it, so large buffers are allocated once per thread rather than once
/// per piece. Every piece overwrites what it reads, so results never depend on which set
/// a piece gets.
final class ScratchPool<Scratch: AnyObject>: @unchecked Sendable {
    private var available: [Scratch] = []
    private let lock = NSLock()
    private let make: () -> Scratch

    init(make: @escaping () -> Scratch) {
        self.make = make
    }

    func withScratch<Result>(_ body: (Scratch) -> Result) -> Result {
        lock.lock()
        let reused = available.popLast()
        lock.unlock()
        let scratch = reused ?? make()
        defer {
            lock.lock()
            available.append(scratch)
            lock.unlock()
        }
        return body(scratch)
    }
}

/// Floats or words owned by a class, so that a `ScratchPool` can hand them around and free
/// them when the pool goes away. Aligned to a cache line (64 bytes), so that the SIMD
/// kernels' vector loads and stores do not straddle two lines.
final class OwnedBuffer<Element> {
    let buffer: UnsafeMutableBufferPointer<Element>

    init(count: Int) {
        let count = max(1, count)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: count * MemoryLayout<Element>.stride, alignment: max(64, MemoryLayout<Element>.alignment))
        buffer = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Element.self, capacity: count), count: count)
    }

    deinit {
        UnsafeMutableRawPointer(buffer.baseAddress!).deallocate()
    }
}
