import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// Training speed on MNIST-shaped random data. Runs only with IDZIP_BENCHMARK=1, in release:
/// `IDZIP_BENCHMARK=1 swift test -c release --filter BenchmarkTests`
@Suite(.enabled(if: ProcessInfo.processInfo.environment["IDZIP_BENCHMARK"] == "1"))
struct BenchmarkTests {
    static let threads = Int(ProcessInfo.processInfo.environment["IDZIP_THREADS"] ?? "") ?? 2

    @Test(arguments: ["fc", "lenet"])
    func directTrainingSpeed(_ name: String) throws {
        if let only = ProcessInfo.processInfo.environment["IDZIP_BENCHMARK_ONLY"], only != name { return }
        let architecture = name == "fc"
            ? Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])
            : Architecture.leNet()
        let count = 12_800
        let images = TestData.uniform(count * 784, seed: 1).map { UInt8(($0 + 1) * 127) }
        let labels = TestData.labels(count, classes: 10, seed: 2)
        let train = try Dataset(features: .bytes(images), exampleShape: [1, 28, 28], labels: labels, classNames: (0..<10).map(String.init))
        let data = try DatasetPair(name: "random", train: train, test: train.subset(Array(0..<1000)))
        let piece = Int(ProcessInfo.processInfo.environment["IDZIP_PIECE"] ?? "")
        let configuration = TrainingConfiguration(epochs: 3, batchSize: 128, threads: Self.threads, pieceSize: piece, evaluateEveryEpoch: false)
        let trainer = try Trainer(architecture: architecture, theta0Seed: 1, space: .direct, configuration: configuration)
        let cpuBefore = Self.cpuSeconds()
        let reports = try trainer.train(on: data)
        let cpu = Self.cpuSeconds() - cpuBefore
        let best = reports.map(\.examplesPerSecond).max() ?? 0
        print("BENCHMARK \(name) direct, batch 128, piece \(trainer.pieceSize), \(Self.threads) threads: \(reports.map { Int($0.examplesPerSecond) }) examples/s, best \(Int(best)); \(Int(Double(3 * count) / cpu)) examples per CPU-second")
    }

    /// User plus system CPU time of this process.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// Full MNIST training runs for reporting, e.g.
/// `IDZIP_MNIST_RUN=lenet IDZIP_EPOCHS=10 swift test -c release --filter MNISTRuns`
/// (optional IDZIP_LR, IDZIP_DECAY_EVERY, IDZIP_DECAY, IDZIP_SCHEDULE=constant|step|cosine,
/// IDZIP_COSINE_FLOOR, IDZIP_OPTIMIZER=adam|sgd, IDZIP_BETA2, IDZIP_MOMENTUM, IDZIP_BATCH,
/// IDZIP_L2, IDZIP_SEED (theta0, projection and example order), IDZIP_DATA_SET,
/// IDZIP_RECOMMENDED=subspace|direct for the recommended settings).
/// IDZIP_SUBSPACE=d trains in a d-dimensional subspace with the projection IDZIP_PROJECTION
/// (fastfood, the default, sparse or dense; cached tables); IDZIP_PROFILE=1 also times the
/// projection alone.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["IDZIP_MNIST_RUN"] != nil))
struct MNISTRuns {
    @Test func train() throws {
        let environment = ProcessInfo.processInfo.environment
        let name = environment["IDZIP_MNIST_RUN"] ?? "fc"
        let data = try DatasetCatalog.load(environment["IDZIP_DATA_SET"] ?? "mnist")
        let architecture = name == "lenet"
            ? Architecture.leNet()
            : Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])
        let seed = UInt64(environment["IDZIP_SEED"] ?? "") ?? 1
        let epochs = Int(environment["IDZIP_EPOCHS"] ?? "") ?? 10
        let every = Int(environment["IDZIP_DECAY_EVERY"] ?? "") ?? 0
        let schedule: LearningRateSchedule
        switch environment["IDZIP_SCHEDULE"] ?? (every > 0 ? "step" : "constant") {
        case "cosine": schedule = .cosine(floor: Float(environment["IDZIP_COSINE_FLOOR"] ?? "") ?? 0)
        case "step": schedule = .step(every: max(1, every), factor: Float(environment["IDZIP_DECAY"] ?? "") ?? 0.5)
        default: schedule = .constant
        }
        let optimizer: OptimizerKind = environment["IDZIP_OPTIMIZER"] == "sgd"
            ? .sgd(momentum: Float(environment["IDZIP_MOMENTUM"] ?? "") ?? 0.9, nesterov: false)
            : .adam(beta1: 0.9, beta2: Float(environment["IDZIP_BETA2"] ?? "") ?? 0.99, epsilon: 1e-8)
        var configuration = TrainingConfiguration(
            epochs: epochs, batchSize: Int(environment["IDZIP_BATCH"] ?? "") ?? 128, optimizer: optimizer,
            learningRate: Float(environment["IDZIP_LR"] ?? "") ?? 1e-3,
            l2: Float(environment["IDZIP_L2"] ?? "") ?? 0,
            schedule: schedule, seed: seed, threads: BenchmarkTests.threads)
        // IDZIP_RECOMMENDED=subspace (or direct) uses the recommended settings, with
        // IDZIP_EPOCHS and IDZIP_L2 when given.
        switch environment["IDZIP_RECOMMENDED"] {
        case "subspace":
            configuration = .recommendedSubspace(
                epochs: Int(environment["IDZIP_EPOCHS"] ?? "") ?? 5, l2: Float(environment["IDZIP_L2"] ?? "") ?? 1e-5, seed: seed)
            configuration.threads = BenchmarkTests.threads
        case "direct":
            configuration = .recommended(epochs: Int(environment["IDZIP_EPOCHS"] ?? "") ?? 10, seed: seed)
            configuration.threads = BenchmarkTests.threads
        default:
            break
        }
        var space = ParameterSpace.direct
        var label = "\(name) direct"
        if let d = Int(environment["IDZIP_SUBSPACE"] ?? "") {
            let kindName = environment["IDZIP_PROJECTION"] ?? "fastfood"
            let kind = try #require(ProjectionKind(name: kindName))
            let parameterCount = try architecture.parameterCount()
            let made = Date()
            let projection = trainingProjection(
                kind: kind, rowCount: parameterCount, columnCount: d, seed: seed, threads: BenchmarkTests.threads)
            print(String(format: "RUN projection %@ %d x %d made in %.2f s", kindName, parameterCount, d, Date().timeIntervalSince(made)))
            if environment["IDZIP_PROFILE"] == "1" { Self.profile(projection) }
            space = .subspace(projection)
            label = "\(name) \(kindName) d=\(d)"
        }
        print("RUN \(label): \(configuration)")
        let trainer = try Trainer(architecture: architecture, theta0Seed: seed, space: space, configuration: configuration)
        let start = Date()
        var trainingSeconds = 0.0
        var examples = 0
        let reports = try trainer.train(on: data, onEpoch: { report in
            trainingSeconds += report.trainingSeconds
            examples += report.exampleCount
            print(String(
                format: "RUN %@ epoch %2d lr %.2e train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.1f s train (%.0f ex/s), %.2f s eval, %.1f s total",
                name, report.epoch + 1, report.learningRate, report.trainLoss, report.trainAccuracy,
                report.test?.meanLoss ?? 0, report.test?.accuracy ?? 0, report.trainingSeconds, report.examplesPerSecond,
                report.evaluationSeconds, Date().timeIntervalSince(start)))
            return .proceed
        })
        print(String(
            format: "RUN SUMMARY %@ seed %llu: %d epochs, test acc %@, %.1f s total, %.0f ex/s training",
            label, seed, reports.count, reports.map { String(format: "%.4f", $0.test?.accuracy ?? 0) }.joined(separator: " "),
            Date().timeIntervalSince(start), Double(examples) / trainingSeconds))
    }

    /// Times P v and P^T g alone (the projection's share of a training step).
    static func profile(_ projection: any Projection) {
        let rows = projection.rowCount, d = projection.columnCount
        let v = TestData.uniform(d, seed: 3)
        let g = TestData.uniform(rows, seed: 4)
        var theta = [Float](repeating: 0, count: rows)
        var back = [Float](repeating: 0, count: d)
        let repeats = 50
        let forwardStart = Date()
        v.withUnsafeBufferPointer { v in
            theta.withUnsafeMutableBufferPointer { theta in
                for _ in 0..<repeats { projection.project(v, rows: 0..<rows, into: theta) }
            }
        }
        let forward = Date().timeIntervalSince(forwardStart) / Double(repeats)
        let backStart = Date()
        g.withUnsafeBufferPointer { g in
            back.withUnsafeMutableBufferPointer { back in
                for _ in 0..<repeats { projection.projectTranspose(g, into: back) }
            }
        }
        let transpose = Date().timeIntervalSince(backStart) / Double(repeats)
        print(String(format: "RUN PROFILE projection: P v %.3f ms, P^T g %.3f ms per call", forward * 1e3, transpose * 1e3))
    }
}
