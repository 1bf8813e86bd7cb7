import Foundation
import IdzipCore

/// One measured (or skipped) figure of `idzip bench`.
public struct BenchmarkRecord: Sendable, Encodable {
    public enum Group: String, Sendable, CaseIterable, Codable {
        case projection, training, expand
        /// The machine's ceilings (memory bandwidth, sgemm, SHA-256, normals), measured once.
        case ceiling
    }

    public var name: String
    public var group: Group
    /// Projection kind, nil for direct training.
    public var projection: String?
    /// Parameters (rows of P).
    public var D: Int
    /// Subspace dimension (columns of P); D for direct training.
    public var d: Int
    public var threads: Int
    /// Processors the machine reports.
    public var machineThreads: Int
    /// Timed runs after the warm-up; figures are their median.
    public var repetitions: Int
    /// Median seconds of one run (projection: P v then P^T g; expand: one whole expansion).
    public var seconds: Double?
    /// Median seconds to build the projection (Fastfood tables, sparse nonzeros).
    public var buildSeconds: Double?
    /// Training: median examples per second over `steps` steps of batch 128.
    public var examplesPerSecond: Double?
    public var steps: Int?
    public var batchSize: Int?
    /// Training: median CPU seconds (user + system, all the process's threads, getrusage) of
    /// one timed epoch; other processes' load inflates it far less than wall-clock time, so
    /// ratios between training figures stay comparable on a busy machine.
    public var cpuSeconds: Double?
    /// Expand: float32 output bytes per second / 1e9.
    public var outputGBPerSecond: Double?
    public var outputBytes: Int?
    /// Expand: peak resident set size of the process (getrusage ru_maxrss) after this figure.
    public var peakRSSBytes: Int?
    /// Expand: resident set size just before this figure.
    public var rssBeforeBytes: Int?
    /// Why the figure was not measured.
    public var skipped: String?
    public var note: String?
    /// Ceiling records: the measured rate, in `unit`.
    public var rate: Double?
    public var unit: String?
    /// The figure's lower bound from the machine's ceilings (seconds of one run, as `seconds`),
    /// the ceiling that gives it, and its cost model (`RooflineBound`).
    public var boundSeconds: Double?
    public var boundBy: String?
    public var boundModel: String?
    /// boundSeconds / seconds: the achieved fraction of the bound (1 = at the limit).
    public var boundFraction: Double? {
        guard let boundSeconds, let seconds, seconds > 0 else { return nil }
        return boundSeconds / seconds
    }

    enum CodingKeys: String, CodingKey {
        case name, group, projection, D, d, threads, machine_threads, repetitions, seconds, build_seconds
        case examples_per_second, steps, batch_size, cpu_seconds, output_gb_per_second, output_bytes, peak_rss_bytes
        case rss_before_bytes, skipped, note, rate, unit, bound_seconds, bound_by, bound_model, bound_fraction
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(group, forKey: .group)
        try c.encode(projection, forKey: .projection)  // null for direct training
        try c.encode(D, forKey: .D)
        try c.encode(d, forKey: .d)
        try c.encode(threads, forKey: .threads)
        try c.encode(machineThreads, forKey: .machine_threads)
        try c.encode(repetitions, forKey: .repetitions)
        try c.encodeIfPresent(seconds, forKey: .seconds)
        try c.encodeIfPresent(buildSeconds, forKey: .build_seconds)
        try c.encodeIfPresent(examplesPerSecond, forKey: .examples_per_second)
        try c.encodeIfPresent(steps, forKey: .steps)
        try c.encodeIfPresent(batchSize, forKey: .batch_size)
        try c.encodeIfPresent(cpuSeconds, forKey: .cpu_seconds)
        try c.encodeIfPresent(outputGBPerSecond, forKey: .output_gb_per_second)
        try c.encodeIfPresent(outputBytes, forKey: .output_bytes)
        try c.encodeIfPresent(peakRSSBytes, forKey: .peak_rss_bytes)
        try c.encodeIfPresent(rssBeforeBytes, forKey: .rss_before_bytes)
        try c.encodeIfPresent(skipped, forKey: .skipped)
        try c.encodeIfPresent(note, forKey: .note)
        try c.encodeIfPresent(rate, forKey: .rate)
        try c.encodeIfPresent(unit, forKey: .unit)
        try c.encodeIfPresent(boundSeconds, forKey: .bound_seconds)
        try c.encodeIfPresent(boundBy, forKey: .bound_by)
        try c.encodeIfPresent(boundModel, forKey: .bound_model)
        try c.encodeIfPresent(boundFraction, forKey: .bound_fraction)
    }

    mutating func setBound(_ bound: RooflineBound?) {
        boundSeconds = bound?.seconds
        boundBy = bound?.boundBy
        boundModel = bound?.model
    }
}

/// What `idzip bench` measures and how often.
public struct BenchmarkOptions: Sendable {
    public var threads: Int
    public var repetitions: Int
    /// Small sizes, for tests.
    public var quick: Bool
    public var groups: [BenchmarkRecord.Group]
    /// When set, only figures whose name contains this text are measured.
    public var nameFilter: String?

    public init(
        threads: Int = ParallelLoop.defaultThreads, repetitions: Int = 3, quick: Bool = false,
        groups: [BenchmarkRecord.Group] = [.ceiling, .expand, .projection, .training], nameFilter: String? = nil
    ) {
        self.threads = threads
        self.repetitions = repetitions
        self.quick = quick
        self.groups = groups
        self.nameFilter = nameFilter
    }

    /// Whether the figure called `name` is measured.
    func includes(_ name: String) -> Bool {
        nameFilter.map { name.contains($0) } ?? true
    }
}

/// The measurements of `idzip bench`: the paper's Table S4 (projection alone), training
/// throughput on MNIST-shaped random data, and model expansion. Every figure is the median
/// of `repetitions` timed runs after one untimed warm-up run.
///
/// Expansion runs first, so that the process's peak RSS (which only grows) belongs to it.
public enum Benchmark {
    /// Dense products over the matrix cache limit regenerate all D x d Gaussian entries per
    /// product; above this many entries a figure would take minutes and is skipped.
    public static let denseEntryLimit = 100_000_000
    /// Sparse projections above this many nonzeros (about sqrt(D) d) are skipped.
    public static let sparseNonzeroLimit = 1_000_000_000

    public static func run(
        _ options: BenchmarkOptions, onRecord: (BenchmarkRecord) -> Void = { _ in }
    ) throws -> [BenchmarkRecord] {
        var records: [BenchmarkRecord] = []
        let emit = { (record: BenchmarkRecord) in
            records.append(record)
            onRecord(record)
        }
        // The ceilings come first (every figure's bound needs them), measured once.
        let ceilings = MachineCeilings.measure(threads: options.threads, quick: options.quick)
        if options.groups.contains(.ceiling) { ceilingRecords(ceilings, options).filter { options.includes($0.name) }.forEach(emit) }
        for group in [BenchmarkRecord.Group.expand, .projection, .training] where options.groups.contains(group) {
            switch group {
            case .expand: try expansion(options, ceilings, emit)
            case .projection: projection(options, ceilings, emit)
            case .training: try training(options, ceilings, emit)
            case .ceiling: break
            }
        }
        return records
    }

    // MARK: Timing

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return now() - start
    }

    /// One untimed warm-up, then the median of `repetitions` timed runs.
    static func median(repetitions: Int, warmUp: Bool = true, _ body: () throws -> Void) rethrows -> Double {
        if warmUp { try body() }
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) { times.append(try time(body)) }
        return medianOf(times)
    }

    static func medianOf(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func record(
        _ name: String, _ group: BenchmarkRecord.Group, projection: String?, D: Int, d: Int, _ options: BenchmarkOptions
    ) -> BenchmarkRecord {
        BenchmarkRecord(
            name: name, group: group, projection: projection, D: D, d: d, threads: options.threads,
            machineThreads: ProcessInfo.processInfo.activeProcessorCount, repetitions: max(1, options.repetitions))
    }

    // MARK: Ceilings

    /// The ceilings as records (D and d are 0): rate and unit.
    static func ceilingRecords(_ ceilings: MachineCeilings, _ options: BenchmarkOptions) -> [BenchmarkRecord] {
        let items: [(String, Double, String, String)] = [
            ("ceiling memory copy", ceilings.copyGBPerSecond, "GB/s", "STREAM copy of float32 arrays, bytes read + written"),
            ("ceiling memory triad", ceilings.triadGBPerSecond, "GB/s", "STREAM triad a = b + s c, bytes read + written"),
            ("ceiling sgemm", ceilings.sgemmGFLOPPerSecond, "GFLOP/s", "OpenBLAS sgemm, square matrices"),
            ("ceiling sha256", ceilings.sha256GBPerSecond, "GB/s", "SHA-256 of float32 weights, one thread (serial)"),
            ("ceiling philox normals", ceilings.normalsPerSecond / 1e9, "G normals/s", "Philox4x32-10 + Box-Muller float normals"),
        ]
        return items.map { name, rate, unit, note in
            var result = record(name, .ceiling, projection: nil, D: 0, d: 0, options)
            result.rate = rate
            result.unit = unit
            result.note = note + (options.quick ? " (quick: small, cache-resident sizes)" : "") + "; best of several runs"
            return result
        }
    }

    // MARK: Projection (Table S4)

    static func projection(_ options: BenchmarkOptions, _ ceilings: MachineCeilings, _ emit: (BenchmarkRecord) -> Void) {
        let sizes = options.quick ? [10_000, 50_000] : [100_000, 1_000_000, 60_000_000]
        var denseSecondsPerEntry: Double?
        for D in sizes {
            let d = D / 100
            for kind in [ProjectionKind.dense, .sparse, .fastfood] {
                var result = record("\(kind.name) fwd+bwd", .projection, projection: kind.name, D: D, d: d, options)
                guard options.includes("\(result.name) \(D) \(d)") else { continue }
                if let reason = skipReason(kind: kind, D: D, d: d, denseSecondsPerEntry: denseSecondsPerEntry) {
                    result.skipped = reason
                    emit(result)
                    continue
                }
                // The last projection built is the one timed; each build is freed before the next.
                var built: (any Projection)?
                result.buildSeconds = median(repetitions: options.repetitions, warmUp: false) {
                    built = nil
                    built = trainingProjection(kind: kind, rowCount: D, columnCount: d, seed: 1, threads: options.threads)
                }
                guard let projection = built else { continue }
                let v = randomVector(d, seed: 3)
                let g = randomVector(D, seed: 4)
                var output = [Float](repeating: 0, count: D)
                var transposed = [Float](repeating: 0, count: d)
                result.seconds = median(repetitions: options.repetitions) {
                    v.withUnsafeBufferPointer { v in
                        output.withUnsafeMutableBufferPointer { projection.project(v, rows: 0..<D, into: $0) }
                    }
                    g.withUnsafeBufferPointer { g in
                        transposed.withUnsafeMutableBufferPointer { projection.projectTranspose(g, into: $0) }
                    }
                }
                switch kind {
                case .fastfood: result.note = "tables cached (about 8 D bytes); build = making them"
                case .sparse:
                    if let rows = projection as? SparseRowsProjection {
                        let megabytes = Double(SparseRowsProjection.byteCount(rowCount: D, nonzeros: rows.nonzeroCount)) / 1e6
                        result.note = String(format: "nonzeros cached row-compressed (%.0f MB), products summed in float32; build = drawing them", megabytes)
                    } else {
                        result.note = "nonzeros regenerated per product (over the 256 MiB cache)"
                    }
                case .dense:
                    if projection is MaterializedProjection {
                        let megabytes = Double(MaterializedProjection.byteCount(rowCount: D, columnCount: d, storage: MaterializedProjection.trainingStorage)) / 1e6
                        result.note = String(format: "P materialised as binary16 (%.0f MB, under the %@ cache limit), products summed in float32; build = generating it", megabytes, denseCacheLimitText)
                    } else {
                        result.note = "entries regenerated from Philox per product (over the \(denseCacheLimitText) cache limit)"
                        denseSecondsPerEntry = (result.seconds ?? 0) / (Double(D) * Double(d))
                    }
                case .identity: break
                }
                result.setBound(RooflineBound.projection(kind: kind, D: D, d: d, ceilings: ceilings))
                emit(result)
            }
        }
    }

    /// The dense matrix cache limit of training, as text.
    static var denseCacheLimitText: String {
        "\(MaterializedProjection.trainingLimitBytes >> 30) GiB"
    }

    static func skipReason(kind: ProjectionKind, D: Int, d: Int, denseSecondsPerEntry: Double? = nil) -> String? {
        let denseBytes = MaterializedProjection.byteCount(rowCount: D, columnCount: d, storage: MaterializedProjection.trainingStorage)
        let denseFits = denseBytes <= MaterializedProjection.trainingLimitBytes
        // What the figure holds: P v and P^T g's vectors, and the projection's cache.
        var budget = MemoryBudget()
        budget.add("vectors (D floats x 2, d floats x 2)", floats: MemoryBudget.sum(MemoryBudget.product([2, D]), MemoryBudget.product([2, d])))
        switch kind {
        case .dense where denseFits: budget.add("dense matrix", bytes: denseBytes)
        case .fastfood: budget.add("Fastfood tables", bytes: MemoryBudget.product([8, D]))
        case .sparse: budget.add("sparse nonzeros (cache)", bytes: 1 << 28)
        default: break
        }
        do {
            try budget.check("this figure")
        } catch {
            return error.description
        }
        switch kind {
        case .dense where !denseFits && D * d > denseEntryLimit:
            let entries = Double(D) * Double(d)
            let estimate = denseSecondsPerEntry.map { seconds in
                let total = seconds * entries
                return total < 3600 ? String(format: ", about %.0f s per P v plus P^T g at the measured rate", total)
                    : String(format: ", about %.1f hours per P v plus P^T g at the measured rate", total / 3600)
            } ?? ""
            return "the binary16 matrix would need \(String(format: "%.0f", Double(MaterializedProjection.trainingStorage.bytesPerEntry) * entries / 1e9)) GB, over the "
                + "\(denseCacheLimitText) cache limit, and regenerating all D x d = \(String(format: "%.1e", entries)) "
                + "Gaussian entries per product is over the \(String(format: "%.0e", Double(denseEntryLimit))) limit\(estimate)"
        case .sparse where Double(d) * Double(D).squareRoot() > Double(sparseNonzeroLimit):
            let nonzeros = Double(d) * Double(D).squareRoot()
            return "sparse has about sqrt(D) d = \(String(format: "%.1e", nonzeros)) nonzeros "
                + "(\(String(format: "%.0f", nonzeros * 4 / 1e9)) GB as 4-byte codes), over the \(String(format: "%.0e", Double(sparseNonzeroLimit))) limit"
        default:
            return nil
        }
    }

    static func randomVector(_ count: Int, seed: UInt64) -> [Float] {
        let stream = RandomStream(seed: seed, purpose: .sampleTheta)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { stream.fillNormals($0, start: 0) }
        return values
    }

    // MARK: Training

    static func training(_ options: BenchmarkOptions, _ ceilings: MachineCeilings, _ emit: (BenchmarkRecord) -> Void) throws {
        let fc = Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])
        let lenet = Architecture.leNet()
        let resNet = Architecture.resNet20()
        let mnistBN = Architecture.mnistBatchNorm()
        let steps = options.quick ? 4 : 200
        let denseSteps = options.quick ? 1 : 20
        // ResNet-20 takes about 60 times LeNet's multiply-adds per example.
        let resNetSteps = options.quick ? 1 : 10
        let mnistBNSteps = options.quick ? 2 : 40
        let resNetD = try resNet.parameterCount()
        let cases: [(name: String, architecture: Architecture, kind: ProjectionKind?, d: Int, steps: Int)] = [
            ("FC 784-200-200-10 direct", fc, nil, 0, steps),
            ("FC 784-200-200-10 fastfood", fc, .fastfood, 750, steps),
            ("FC 784-200-200-10 sparse", fc, .sparse, 750, steps),
            ("FC 784-200-200-10 dense", fc, .dense, 750, denseSteps),
            ("LeNet direct", lenet, nil, 0, steps),
            ("LeNet fastfood", lenet, .fastfood, 300, steps),
            ("ResNet-20 direct", resNet, nil, 0, resNetSteps),
            ("ResNet-20 fastfood", resNet, .fastfood, resNetD / 100, resNetSteps),
            ("MNIST-BN direct", mnistBN, nil, 0, mnistBNSteps),
            ("MNIST-BN fastfood", mnistBN, .fastfood, 150, mnistBNSteps),
        ]
        let batch = 128
        for item in cases where options.includes("train \(item.name)") {
            let D = try item.architecture.parameterCount()
            var result = record(
                "train \(item.name)", .training, projection: item.kind?.name, D: D, d: item.kind == nil ? D : item.d, options)
            let space: ParameterSpace
            if let kind = item.kind {
                var projection: (any Projection)?
                result.buildSeconds = time {
                    projection = trainingProjection(kind: kind, rowCount: D, columnCount: item.d, seed: 1, threads: options.threads)
                }
                space = .subspace(projection!)
            } else {
                space = .direct
            }
            let configuration = TrainingConfiguration(
                epochs: 1, batchSize: batch, seed: 1, threads: options.threads, evaluationBatchSize: 500, evaluateEveryEpoch: false)
            // CIFAR-shaped for ResNet-20, MNIST-shaped otherwise; made per row, so a
            // --match run builds only its own.
            let pair = item.architecture.inputShape == [3, 32, 32]
                ? try randomImages(count: item.steps * batch, shape: [3, 32, 32])
                : try randomImages(count: item.steps * batch, shape: [1, 28, 28])
            var rates: [Double] = []
            var cpuSeconds: [Double] = []
            for repetition in 0...max(1, options.repetitions) {
                let trainer = try Trainer(architecture: item.architecture, theta0Seed: 1, space: space, configuration: configuration)
                let cpuStart = processCPUSeconds()
                let reports = try trainer.train(on: pair)
                let cpu = processCPUSeconds() - cpuStart
                if repetition > 0, let report = reports.last {  // 0 is the warm-up
                    rates.append(report.examplesPerSecond)
                    cpuSeconds.append(cpu)
                }
            }
            result.examplesPerSecond = medianOf(rates)
            result.cpuSeconds = medianOf(cpuSeconds)
            result.seconds = Double(item.steps * batch) / max(result.examplesPerSecond ?? 1, 1e-9)
            result.steps = item.steps
            result.batchSize = batch
            result.note = "\(item.architecture.inputShape == [3, 32, 32] ? "CIFAR" : "MNIST")-shaped random data, Adam; seconds = one epoch of \(item.steps) steps"
                + (item.kind == nil ? "" : item.kind == .dense ? "; P materialised as float32, products summed in float32 (build timed once)"
                    : "; projection tables cached (build timed once)")
            result.setBound(try RooflineBound.training(
                architecture: item.architecture, projection: item.kind.map { ($0, item.d) }, steps: item.steps, batch: batch,
                ceilings: ceilings))
            emit(result)
        }
    }

    /// `count` random 28 x 28 byte images with random labels; the test split is the first 128.
    static func randomMNIST(count: Int) throws -> DatasetPair {
        try randomImages(count: count, shape: [1, 28, 28])
    }

    /// `count` random byte images of `shape` ([C, H, W]) with random labels of 10 classes;
    /// the test split is the first 128.
    static func randomImages(count: Int, shape: [Int]) throws -> DatasetPair {
        let stream = RandomStream(seed: 5, purpose: .sampleTheta)
        let size = shape.reduce(1, *)
        let images = (0..<(count * size)).map { UInt8(truncatingIfNeeded: stream.word(UInt64($0))) }
        let labels = (0..<count).map { Int32(stream.word(UInt64(1 << 40 + $0)) % 10) }
        let train = try Dataset(features: .bytes(images), exampleShape: shape, labels: labels, classNames: (0..<10).map(String.init))
        return try DatasetPair(name: "random", train: train, test: train.subset(Array(0..<min(count, 128))))
    }

    // MARK: Expansion

    static func expansion(_ options: BenchmarkOptions, _ ceilings: MachineCeilings, _ emit: (BenchmarkRecord) -> Void) throws {
        let models: [(name: String, architecture: Architecture)] = [
            ("FC 784-200-200-10", .fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])),
            options.quick
                ? ("FC 784-1000-1000-10", .fullyConnected(inputShape: [784], widths: [1000, 1000, 10]))
                : ("FC 784-18420-18420-10", .fullyConnected(inputShape: [784], widths: [18420, 18420, 10])),
        ]
        let d = 1000
        for (name, architecture) in models where options.includes("expand \(name)") {
            let D = try architecture.parameterCount()
            var result = record("expand \(name)", .expand, projection: "fastfood", D: D, d: d, options)
            let model = IdzModel(
                architecture: architecture, theta0Seed: 1,
                projection: ProjectionSpec(kind: .fastfood, seed: 2, dimension: d),
                theta: StoredTheta.encode(randomVector(d, seed: 6).map { $0 * 0.1 }, as: .float32),
                preprocessing: Preprocessing(inputScale: 1.0 / 255, mean: [0], standardDeviation: [1]),
                labels: [], metadata: [], weightsSHA256: [UInt8](repeating: 0, count: 32))
            result.rssBeforeBytes = currentRSSBytes()
            var digest: [UInt8] = []
            result.seconds = try median(repetitions: options.repetitions) {
                digest = try ModelExpansion.digest(of: model, threads: options.threads)
            }
            result.peakRSSBytes = peakRSSBytes()
            result.outputBytes = D * 4
            result.outputGBPerSecond = Double(D * 4) / max(result.seconds ?? 1, 1e-12) / 1e9
            result.note = "streamed chunk by chunk into SHA-256 (as idzip expand verifies; nothing written to disk), "
                + "tables regenerated (not cached); sha256 \(hexString(digest).prefix(16))..."
            result.setBound(RooflineBound.expansion(D: D, ceilings: ceilings))
            emit(result)
        }
    }

    /// CPU seconds (user + system, all threads) this process has used so far (getrusage).
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Peak resident set size of this process so far (getrusage; Linux reports kilobytes).
    public static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #if os(Linux)
        return usage.ru_maxrss * 1024
        #else
        return usage.ru_maxrss
        #endif
    }

    /// Resident set size now (Linux /proc/self/statm), or nil elsewhere.
    public static func currentRSSBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
