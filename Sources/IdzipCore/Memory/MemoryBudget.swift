import Foundation

/// What a command is about to hold in memory, added up item by item (weights: D floats
/// times the copies it makes; activations per batch and thread; a data set's bytes) and
/// checked against the memory this machine may give before anything is allocated. Every
/// command that holds a model, a network's activations or a data set in memory checks
/// one of these first; `idzip expand` streams instead and needs none.
///
/// The limit is the smaller of the physical memory and the cgroup limit
/// (`/sys/fs/cgroup/memory.max`, as a Slurm job or a container sets it). The environment
/// variable `IDZIP_MEMORY_LIMIT` replaces it: a size in bytes with an optional decimal
/// suffix (`500M`, `64G`, `1.5T`; K = 10^3, M = 10^6, G = 10^9, T = 10^12, a trailing
/// `B` allowed) or `unlimited`.
public struct MemoryBudget: Sendable, Equatable {
    /// One thing held in memory.
    public struct Item: Sendable, Equatable {
        /// What it is, for the message ("theta (D floats x 3 copies)").
        public var what: String
        /// Bytes; `Int.max` when the size overflows.
        public var bytes: Int
    }

    /// The environment variable that replaces the limit.
    public static let environmentVariable = "IDZIP_MEMORY_LIMIT"

    /// What will be held, in the order added.
    public private(set) var items: [Item] = []

    public init() {}

    /// Adds `count` float32 values held `copies` times (overflow saturates at `Int.max`).
    public mutating func add(_ what: String, floats count: Int, copies: Int = 1) {
        add(what, bytes: Self.product([count, copies, 4]))
    }

    /// Adds `bytes` bytes (negative counts as 0).
    public mutating func add(_ what: String, bytes: Int) {
        items.append(Item(what: what, bytes: max(0, bytes)))
    }

    /// Adds every item of `other`.
    public mutating func add(_ other: MemoryBudget) {
        items += other.items
    }

    /// What the program holds before any model, activation or data set: its code and
    /// libraries (Foundation, OpenBLAS and its buffers), thread stacks and the allocator's
    /// arenas. Measured with GNU time (`/usr/bin/time -f %M`, `TrainingMemoryCommandTests`):
    /// `idzip eval`, `predict` and `train` of a 650-parameter network on a small set peak
    /// at 29 to 32 MB on Linux x86-64; this is that with some room.
    public static let processBaselineBytes = 34_000_000

    /// Adds the program's own memory (`processBaselineBytes`): every command's whole-task
    /// budget starts with it.
    public mutating func addProcessBaseline() {
        add("the program itself (code, libraries, stacks)", bytes: Self.processBaselineBytes)
    }

    /// Adds what is held only for a while before `later` bytes of the budget are allocated
    /// and freed before them (a data set's files while they are read, before the buffers
    /// of the run): the peak is the larger of the two, so only the part of `bytes` above
    /// `later` counts.
    public mutating func add(_ what: String, bytes: Int, freedBefore later: Int) {
        add(what, bytes: max(0, bytes - max(0, later)))
    }

    /// A budget holding the weights of `architecture` once.
    public static func weights(of architecture: Architecture, copies: Int = 1) -> MemoryBudget {
        var budget = MemoryBudget()
        budget.addWeights(of: architecture, copies: copies)
        return budget
    }

    /// The weights of a model of `architecture` (D float32 values) held `copies` times;
    /// an architecture whose D cannot be computed counts as `Int.max` bytes.
    public mutating func addWeights(of architecture: Architecture, copies: Int = 1, what: String = "weights") {
        guard let count = try? architecture.parameterCount() else {
            return add(what, bytes: Int.max)
        }
        add("\(what) (D = \(count) floats\(copies == 1 ? "" : " x \(copies)"))", floats: count, copies: copies)
    }

    /// The sum of all items in bytes, saturating at `Int.max`.
    public var totalBytes: Int {
        items.reduce(0) { Self.sum($0, $1.bytes) }
    }

    /// `a + b`, saturating at `Int.max`.
    public static func sum(_ a: Int, _ b: Int) -> Int {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : result
    }

    /// `values` multiplied, saturating at `Int.max` (negative factors count as 0).
    public static func product(_ values: [Int]) -> Int {
        var result = 1
        for value in values {
            let (next, overflow) = result.multipliedReportingOverflow(by: max(0, value))
            if overflow { return Int.max }
            result = next
        }
        return result
    }

    /// The limit in bytes (nil: unlimited) and where it comes from, for messages.
    /// - Throws: `MemoryBudgetError` when `IDZIP_MEMORY_LIMIT` is not a size.
    public static func limit(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(MemoryBudgetError) -> (bytes: Int?, source: String) {
        if let text = environment[environmentVariable] {
            guard let bytes = parseSize(text) else {
                throw MemoryBudgetError(
                    "\(environmentVariable)='\(text)' is not a size; give bytes with an optional suffix K, M, G or T (decimal), such as 64G, or unlimited")
            }
            return (bytes, "the \(environmentVariable) limit")
        }
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let cgroup = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), cgroup > 0, cgroup < physical {
            return (cgroup, "this job's cgroup limit")
        }
        return (physical, "this machine's memory")
    }

    /// Parses `64G`, `500M`, `1.5T`, `123456`, `64GB` or `unlimited` (nil result: not a size;
    /// `.some(nil)`: unlimited).
    public static func parseSize(_ text: String) -> Int?? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        if trimmed == "UNLIMITED" || trimmed == "NONE" { return .some(nil) }
        var digits = trimmed.hasSuffix("B") ? String(trimmed.dropLast()) : trimmed
        var scale = 1.0
        if let last = digits.last, let factor = ["K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12][String(last)] {
            scale = factor
            digits.removeLast()
        }
        guard let value = Double(digits), value.isFinite, value > 0, value * scale < 9e18 else { return nil }
        return .some(Int(value * scale))
    }

    /// Throws unless everything added fits in the limit.
    /// - Parameters:
    ///   - task: what needs the memory, starting the message ("evaluating huge.idz").
    ///   - hint: a way around it for this task, appended to the message.
    /// - Throws: `MemoryBudgetError`, one line: "task needs 160.4 GB (theta ...: 160.4 GB,
    ///   ...), more than the 24.0 GB of this machine's memory; ...".
    public func check(_ task: String, hint: String? = nil) throws(MemoryBudgetError) {
        try check(task, hint: hint, limit: Self.limit())
    }

    /// `check(_:hint:)` against a given limit.
    public func check(_ task: String, hint: String? = nil, limit: (bytes: Int?, source: String)) throws(MemoryBudgetError) {
        guard let bytes = limit.bytes, totalBytes > bytes else { return }
        let parts = items.filter { $0.bytes >= totalBytes / 100 }.map { "\($0.what): \(Self.sizeText($0.bytes))" }
        throw MemoryBudgetError(
            "\(task) needs \(Self.sizeText(totalBytes)) (\(parts.joined(separator: ", "))), more than the "
                + "\(Self.sizeText(bytes)) of \(limit.source); set \(Self.environmentVariable) (e.g. \(Self.environmentVariable)=\(Self.suggestion(totalBytes))) "
                + "to allow more" + (hint.map { "; " + $0 } ?? ""))
    }

    /// "53 GB", "2.4 GB", "310.5 MB", "51 kB"; "more than 9 EB" for a saturated size.
    public static func sizeText(_ bytes: Int) -> String {
        if bytes == Int.max { return "more than 9 EB" }
        let value = Double(bytes)
        if value >= 10e9 { return String(format: "%.0f GB", value / 1e9) }
        if value >= 1e9 { return String(format: "%.1f GB", value / 1e9) }
        if value >= 1e6 { return String(format: "%.1f MB", value / 1e6) }
        return String(format: "%.0f kB", (value / 1e3).rounded(.up))
    }

    private static func suggestion(_ bytes: Int) -> String {
        bytes == Int.max ? "unlimited" : "\(Int((Double(bytes) / 1e9).rounded(.up)))G"
    }
}

/// A task that needs more memory than the limit, or a limit that is not a size: one line.
public struct MemoryBudgetError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
