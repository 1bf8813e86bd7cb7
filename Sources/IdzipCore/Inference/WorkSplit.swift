/// Splits 0..<count into consecutive pieces of about `grain` items. The pieces depend only
/// on `count` and `grain`, never on the thread count, so results are the same on any machine
/// load.
package struct WorkSplit: Sendable {
    package let count: Int
    package let pieces: Int

    package init(count: Int, grain: Int) {
        self.count = max(0, count)
        pieces = self.count == 0 ? 0 : (self.count + max(1, grain) - 1) / max(1, grain)
    }

    /// Items of piece `piece`.
    @inline(__always)
    package func range(_ piece: Int) -> Range<Int> {
        (count * piece / pieces)..<(count * (piece + 1) / pieces)
    }

    /// Runs `body` on every piece's range, on up to `threads` threads.
    @inline(__always)
    package func forEach(threads: Int, _ body: (Range<Int>) -> Void) {
        ParallelLoop.forEach(pieces: pieces, threads: threads) { piece in body(range(piece)) }
    }
}
