/// One deterministic share of a sweep's runs, for running a sweep as n independent jobs
/// (a cluster's job array): shard i of n takes runs i-1, i-1+n, i-1+2n, ... of the plan
/// in its fixed order, so the shards are disjoint, cover every run and balance small and
/// large d.
public struct SweepShard: Sendable, Hashable, Codable {
    /// 1-based.
    public var index: Int
    public var count: Int

    public init?(index: Int, count: Int) {
        guard count >= 1, count <= 100_000, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    /// "2/4".
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { return nil }
        self.init(index: index, count: count)
    }

    public var name: String { "\(index)/\(count)" }

    public func share<Item>(of items: [Item]) -> [Item] {
        items.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
    }
}
