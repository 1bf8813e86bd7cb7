import Foundation

/// Double buffering: a background thread produces item k+1 while the calling thread
/// consumes item k, so generating theta overlaps hashing and writing it. Items are
/// consumed in order, each exactly once; what is produced does not depend on the timing.
enum ChunkPipeline {
    /// Calls `produce(item, slot)` for items 0 ..< count on a background thread and
    /// `consume(item, slot)` on the calling thread, in order, through two slots of
    /// `slotCapacity` floats. If `consume` throws, production stops and the error is
    /// rethrown once the background thread has finished.
    static func run<Failure: Error>(
        count: Int, slotCapacity: Int,
        produce: @escaping @Sendable (_ item: Int, _ slot: UnsafeMutableBufferPointer<Float>) -> Void,
        consume: (_ item: Int, _ slot: UnsafeMutableBufferPointer<Float>) throws(Failure) -> Void
    ) throws(Failure) {
        let slots = Slots(count: 2, capacity: slotCapacity)
        // Both slots start free. (Created at 0 and signalled: libdispatch traps when a
        // semaphore is freed below its initial value, as `free` can be after a failure.)
        let free = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        free.forEach { $0.signal() }
        let ready = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let finished = DispatchSemaphore(value: 0)
        let stop = StopFlag()
        let producer = Thread {
            for item in 0..<count {
                free[item % 2].wait()
                if stop.isSet { break }
                produce(item, slots.slot(item % 2))
                ready[item % 2].signal()
            }
            finished.signal()
        }
        producer.name = "idzip expansion"
        producer.start()
        do throws(Failure) {
            for item in 0..<count {
                ready[item % 2].wait()
                try consume(item, slots.slot(item % 2))
                free[item % 2].signal()
            }
        } catch {
            stop.set()
            free[0].signal()
            free[1].signal()
            finished.wait()
            throw error
        }
        finished.wait()
    }

    /// The slots' memory, shared by the two threads (which never touch the same slot at
    /// the same time: the semaphores hand each slot back and forth).
    private final class Slots: @unchecked Sendable {
        private let storage: UnsafeMutableBufferPointer<Float>
        private let capacity: Int

        init(count: Int, capacity: Int) {
            self.capacity = max(1, capacity)
            storage = .allocate(capacity: count * self.capacity)
            storage.initialize(repeating: 0)
        }

        func slot(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
            UnsafeMutableBufferPointer(rebasing: storage[(index * capacity)..<((index + 1) * capacity)])
        }

        deinit { storage.deallocate() }
    }

    private final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false

        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }
}
