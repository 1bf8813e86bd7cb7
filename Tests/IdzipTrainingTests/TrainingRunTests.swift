import Crypto
import Foundation
import IdzipCore
import IdzipTraining
import Testing

/// The training run and the model sealer: the files they write are the ones the command
/// line wrote before the engines moved into the library (digests pinned from
/// `idzip train` at commit 4ccc26e), resume gives the same bits, checkpoints of other runs
/// are refused.
@Suite(.serialized) struct TrainingRunTests {
    static func temporaryURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("idzip-run-\(UUID().uuidString)-\(name)")
    }

    static func sha256(_ url: URL) throws -> String {
        hexString(Array(SHA256.hash(data: try Data(contentsOf: url))))
    }

    @Test func projectionSeedDerivation() {
        let expected: UInt64 = 11_400_714_819_323_198_484
        #expect(TrainingRunSpec.derivedProjectionSeed(1) == expected)
        let spec = TrainingRunSpec(model: "toy", architecture: .toy(), dimension: 10, seed: 7, configuration: ToyTrainer.recommended())
        let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
        #expect(spec.projectionSeed == 7 ^ golden)
        #expect(spec.projectionSpec == ProjectionSpec(kind: .fastfood, seed: spec.projectionSeed, dimension: 10))
    }

    /// `idzip train --model toy --dim 10 -o toy10.idz` (seed 1).
    @Test func toyRunWritesTheSameFileAsBefore() throws {
        var configuration = ToyTrainer.recommended()
        configuration.seed = 1
        let spec = TrainingRunSpec(model: "toy", architecture: .toy(), dimension: 10, seed: 1, configuration: configuration)
        let run = try TrainingRun(spec: spec, problem: .toy(ToyObjective()))
        try run.train()
        let url = Self.temporaryURL("toy10.idz")
        defer { try? FileManager.default.removeItem(at: url) }
        let sealed = try run.seal(to: url)
        // The file's bytes changed once, when it began to record its provenance (producer and
        // training settings in the metadata: 316 -> 450 bytes, before: 4f7b6d51...); the
        // weights it expands to did not.
        #expect(try Self.sha256(url) == "bd3ff5c58ba8f426078297bac34fec8202aaadad19c719e1171d73959a7587e1")
        #expect(sealed.fileBytes == 450 && sealed.performance > 0.99 && sealed.loss.map { $0 < 0.01 } == true)
        #expect(hexString(try IdzFile.read(contentsOf: url).weightsSHA256) == "475431a909f526e2b32b30912384002523cb04af07a111b6b0188267af6e15b6")
        #expect(run.epochsCompleted == 100_000)
    }

    /// `idzip train --model fc:784-200-200-10 --dim 300 --epochs 1 --train-fraction 0.1 -o fc.idz`.
    @Test func dataRunWritesTheSameFileAsBefore() throws {
        let selection = DataSelection(name: "mnist", variant: DatasetVariant(trainingFraction: 0.1))
        guard let data = try? SelectedData(selection) else { return }
        let configuration = try TrainingOverrides(epochs: 1, seed: 1, threads: 2).configuration(base: .recommendedSubspace())
        let spec = TrainingRunSpec(
            model: "fc:784-200-200-10", architecture: .fullyConnected(inputShape: [784], widths: [200, 200, 10]), dimension: 300,
            seed: 1, configuration: configuration)
        let run = try TrainingRun(spec: spec, problem: .dataset(data))
        let reports = try run.train()
        #expect(reports.count == 1)
        let url = Self.temporaryURL("fc.idz")
        defer { try? FileManager.default.removeItem(at: url) }
        let sealed = try run.seal(to: url)
        // With provenance in the metadata since issue 17 (1,539 -> 1,708 bytes, before:
        // 2928b8cf...); the weights digest is the one the file had before. Training's matrix
        // products run on OpenBLAS's kernels, whose summation order depends on the kernel
        // family it picks for the processor (`BLASLibrary.coreName`): the file is pinned for the
        // families it was recorded on.
        let pins: [String: (file: String, bytes: Int, weights: String)] = [
            "Prescott": (
                "e53bb43fe158fcfb24c91e3b28cb1c36a0483e0a6dd2c2c3721bd8cf793fc0f1", 1_708,
                "e4eef8a91ed6bed4d80eac9e4fd8a7b263f16715cde782bc882c139b1005a691"),
            "Cooperlake": (
                "0b4d46f76d21dbe5ee22bbad31a6f0cb2944d4130f4bf30601d583f75c8c981a", 1_705,
                "2b99ef1c493737883d9b6563ee105013dd90c30d0e6c0f0fe8b313dda038c660"),
        ]
        let fileDigest = try Self.sha256(url)
        let weightsDigest = hexString(try IdzFile.read(contentsOf: url).weightsSHA256)
        #expect(sealed.performance == sealed.test?.accuracy)
        if let pin = pins[BLASLibrary.coreName] {
            #expect(fileDigest == pin.file)
            #expect(sealed.fileBytes == pin.bytes)
            #expect(weightsDigest == pin.weights)
        }
        // The stored digest is what expansion reproduces.
        let model = try IdzFile.read(contentsOf: url)
        #expect(try ModelExpansion.digest(of: model) == model.weightsSHA256)
    }

    static let six: SelectedData = {
        var features: [Float] = []
        var labels: [Int32] = []
        for example in 0..<64 {
            let label = Int32(example % 2)
            labels.append(label)
            features += (0..<4).map { Float(($0 + example) % 5) / 5 + (label == 1 ? 0.5 : 0) }
        }
        let set = try! Dataset(features: .floats(features), exampleShape: [4], labels: labels, classNames: ["a", "b"])
        return SelectedData(selection: DataSelection(name: "synthetic"), pair: try! DatasetPair(name: "synthetic", train: set, test: set))
    }()

    static func spec(epochs: Int, dimension: Int? = 5) -> TrainingRunSpec {
        TrainingRunSpec(
            model: "fc:4-8-2", architecture: .fullyConnected(inputShape: [4], widths: [8, 2]), dimension: dimension,
            projection: .sparse, seed: 3,
            configuration: TrainingConfiguration(epochs: epochs, batchSize: 8, learningRate: 0.05, seed: 3, threads: 2))
    }

    @Test func resumeGivesTheBitsOfAnUninterruptedRun() throws {
        let checkpoint = Self.temporaryURL("run.checkpoint")
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        let whole = try TrainingRun(spec: Self.spec(epochs: 4), problem: .dataset(Self.six))
        try whole.train()

        final class StopAfterTwo: TrainingObserver {
            func epoch(_ report: EpochReport) -> TrainingDecision { report.epoch == 1 ? .stop : .proceed }
        }
        let first = try TrainingRun(spec: Self.spec(epochs: 4), problem: .dataset(Self.six))
        try first.train(observer: StopAfterTwo(), checkpoint: checkpoint)
        #expect(first.epochsCompleted == 2)
        let second = try TrainingRun(spec: Self.spec(epochs: 4), problem: .dataset(Self.six))
        try second.resume(from: checkpoint)
        #expect(second.epochsCompleted == 2)
        try second.train(checkpoint: checkpoint)

        let a = Self.temporaryURL("a.idz"), b = Self.temporaryURL("b.idz")
        defer { for url in [a, b] { try? FileManager.default.removeItem(at: url) } }
        _ = try whole.seal(to: a)
        _ = try second.seal(to: b)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))

        // A checkpoint of another run (here: another d) is refused with one line.
        let other = try TrainingRun(spec: Self.spec(epochs: 4, dimension: 6), problem: .dataset(Self.six))
        #expect(throws: TrainingError.self) { try other.resume(from: checkpoint) }
        #expect(throws: TrainingError.self) { try TrainingRun(spec: Self.spec(epochs: 1, dimension: 1000), problem: .dataset(Self.six)) }
    }

    @Test func directRunSealsAsIdentityOrSafetensors() throws {
        let run = try TrainingRun(spec: Self.spec(epochs: 2, dimension: nil), problem: .dataset(Self.six))
        try run.train()
        let idz = Self.temporaryURL("direct.idz"), weights = Self.temporaryURL("direct.safetensors")
        defer { for url in [idz, weights] { try? FileManager.default.removeItem(at: url) } }
        let stored = try run.seal(to: idz)
        let model = try IdzFile.read(contentsOf: idz)
        #expect(model.projection.kind == .identity && model.projection.dimension == run.parameterCount)
        let expanded = try ModelExpansion.weights(of: model)
        let direct = try run.seal(to: weights)
        let file = try SafetensorsFile(contentsOf: weights)
        #expect(file.metadata["idzip.architecture"] == "fc:4-8-2" && file.metadata["idzip.dataset"] == "synthetic")
        #expect(direct.test?.accuracy == stored.test?.accuracy)
        // theta0 + I (theta - theta0) rounds, so the stored weights are within a few ulps of theta.
        let theta = try file.parameters(for: run.spec.architecture)
        #expect(zip(theta, expanded).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($0)) })
    }

    @Test func sealerDigestIsTheSameStreamedOrInMemory() throws {
        let sealer = ModelSealer(architecture: .toy(), theta0Seed: 5, preprocessing: Preprocessing(inputScale: 1))
        let draft = try sealer.draft(
            projection: ProjectionSpec(kind: .dense, seed: 9, dimension: 7), thetaD: (0..<7).map { Float($0) / 10 }, encoding: .float16)
        let a = Self.temporaryURL("a.idz"), b = Self.temporaryURL("b.idz")
        defer { for url in [a, b] { try? FileManager.default.removeItem(at: url) } }
        let inMemory = try sealer.write(draft, weights: try sealer.weights(of: draft), metadata: [], to: a)
        let streamed = try sealer.write(draft, weights: nil, metadata: [], to: b)
        #expect(inMemory.model.weightsSHA256 == streamed.model.weightsSHA256)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        let coordinates = ModelSealer.coordinates(trained: [3, 4], theta0: [1, 1], projection: nil)
        #expect(coordinates.projection == ProjectionSpec(kind: .identity, seed: 0, dimension: 2) && coordinates.thetaD == [2, 3])
    }

    @Test func overridesApplyToTheirBase() throws {
        let sgd = try TrainingOverrides(optimizer: .sgd, learningRate: 0.5, seed: 4).configuration(base: .recommended())
        #expect(sgd.optimizer == .sgd(momentum: 0.9, nesterov: false) && sgd.learningRate == 0.5 && sgd.seed == 4)
        #expect(sgd.schedule == .step(every: 3, factor: 0.5))
        let decay = try TrainingOverrides(lrDecay: 0.1).configuration(base: .recommendedSubspace())
        #expect(decay.schedule == .step(every: 3, factor: 0.1))
        let overrides = TrainingOverrides(optimizer: .sgd, learningRate: 0.5, lrDecayEvery: 2, seed: 9, threads: 1)
        #expect(overrides.withoutOptimizerChoices == TrainingOverrides(seed: 9, threads: 1))
        #expect(throws: TrainingError.self) { try TrainingOverrides(learningRate: -1).configuration(base: .recommended()) }
        #expect(TrainingConfiguration.recommendedSubspace().summary == "adam b1=0.9 b2=0.99 lr=0.1 cosine=0.05 batch=128 l2=1e-05")
        #expect(ToyTrainer.recommended().toySummary == "adam b1=0.9 b2=0.999 lr=1.0 cosine=0.001 l2=0.0")
    }
}

/// The sweep engine as a library: d_int90 of the toy problem, shards merged equal the
/// whole sweep, a directory of other settings is refused.
@Suite(.serialized) struct SweepRunnerTests {
    static func settings(earlyStop: Bool = true) -> SweepSettings {
        SweepSettings(
            model: "toy", architecture: .toy(), data: nil, projection: .fastfood, overrides: TrainingOverrides(seed: 1),
            encoding: .float32, earlyStop: earlyStop)
    }

    @Test func toySweepShardsAndMerge() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-sweep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        func directory(_ name: String) -> SweepDirectory { SweepDirectory(root.appendingPathComponent(name).path) }

        var lines: [String] = []
        let whole = SweepRunner(
            settings: Self.settings(), dimensions: .list([8, 9, 10, 11]), runs: 2, baseline: .global(1), threshold: 0.9,
            shard: nil, directory: directory("whole"))
        whole.say = { lines.append($0) }
        guard case .complete(let summary, let records, let models) = try whole.run() else {
            Issue.record("a whole sweep completes")
            return
        }
        #expect(summary.d_int90 == 10 && records.count == 8 && models == 8)
        #expect(lines.first?.hasPrefix("sweep toy (D = 1,000) with no data: fastfood, 4 dimensions x 2 runs") == true)

        for index in 1...3 {
            let shard = try #require(SweepShard(index: index, count: 3))
            let runner = SweepRunner(
                settings: Self.settings(), dimensions: .list([8, 9, 10, 11]), runs: 2, baseline: .global(1), threshold: 0.9,
                shard: shard, directory: directory("shard\(index)"))
            guard case .shard(_, let planned, let finished) = try runner.run() else {
                Issue.record("a shard reports its share")
                return
            }
            #expect(planned == finished && planned >= 2)
        }
        let merger = SweepMerger(
            inputs: (1...3).map { directory("shard\($0)") }, output: directory("merged"), baseline: nil, threshold: nil, allowPartial: false)
        let merged = try merger.merge()
        #expect(merged.summary.d_int90 == summary.d_int90 && merged.summary.means.map(\.mean_performance) == summary.means.map(\.mean_performance))
        #expect(merged.runCount == 8)
        let partial = SweepMerger(
            inputs: [directory("shard1")], output: directory("partial"), baseline: nil, threshold: nil, allowPartial: false)
        #expect(throws: SweepError.self) { try partial.merge() }

        // Other settings in the same directory are refused.
        let other = SweepRunner(
            settings: Self.settings(earlyStop: false), dimensions: .list([8]), runs: 1, baseline: .global(1), threshold: 0.9,
            shard: nil, directory: directory("whole"))
        let refused = SweepRunner(
            settings: SweepSettings(
                model: "toy", architecture: .toy(), data: nil, projection: .sparse, overrides: TrainingOverrides(seed: 1),
                encoding: .float32, earlyStop: true),
            dimensions: .list([8]), runs: 1, baseline: .global(1), threshold: 0.9, shard: nil, directory: directory("whole"))
        _ = try other.run()  // early stopping is off for the toy problem either way: same settings
        #expect(throws: SweepError.self) { try refused.run() }
    }
}

/// Sweep directories are read as untrusted input.
struct SweepDirectoryTests {
    @Test func modelPathsOutsideModelsAreRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-sweepdir-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = SweepDirectory(root.path)
        try directory.create()
        let record = SweepRecord(d: 8, seed: 1, projection: "fastfood", performance: 0.5, epochs: 1, seconds: 0.1, model: "../../escaped.idz")
        try directory.save([record])
        #expect(throws: SweepError.self) { try directory.records() }
        var fine = record
        fine.model = "models/d8-seed1.idz"
        try directory.save([fine])
        #expect(try directory.records().isEmpty, "a record without its model file is not finished")
    }

    @Test func shardsWithDifferentBaselinesMergeWhenOneIsGiven() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("idzip-merge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        func directory(_ name: String) -> SweepDirectory { SweepDirectory(root.appendingPathComponent(name).path) }
        for (index, value) in [(1, 0.5), (2, 0.6)] {
            let runner = SweepRunner(
                settings: SweepRunnerTests.settings(), dimensions: .list([9, 10]), runs: 1, baseline: .global(value), threshold: 0.9,
                shard: SweepShard(index: index, count: 2), directory: directory("s\(index)"))
            _ = try runner.run()
        }
        let refused = SweepMerger(
            inputs: [directory("s1"), directory("s2")], output: directory("a"), baseline: nil, threshold: nil, allowPartial: false)
        #expect(throws: SweepError.self) { try refused.merge() }
        #expect(!FileManager.default.fileExists(atPath: directory("a").path), "a refused merge leaves no directory")
        let merged = try SweepMerger(
            inputs: [directory("s1"), directory("s2")], output: directory("b"), baseline: .global(1), threshold: 0.9, allowPartial: false
        ).merge()
        #expect(merged.summary.d_int90 == 10)
    }
}
