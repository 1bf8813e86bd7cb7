import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

/// `idzip sweep merge`: combines the directories of a sweep's shards (or of sweeps with the
/// same settings) into one directory with every run and the full report.
struct SweepMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the directories of a sweep's shards into one, with its summary, plot and page.",
        discussion: """
            Every input must hold a sweep with the same settings (settings.txt). Shards (--shard i/n) \
            must all be there, 1 to n, with all their runs finished, unless --allow-partial. Models \
            are copied into --out/models; an existing sweep in --out is merged with the inputs.
            """
    )

    @Argument(help: "Sweep directories: the shards' --out directories.", completion: .directory)
    var inputs: [String]

    @Option(name: .customLong("out"), help: "Directory of the merged sweep.", completion: .directory)
    var directory: String

    @Option(help: "Baseline: a number or 'local' (default: the one the shards were run with, else 1.0).")
    var baseline: String?

    @Option(help: "Threshold (default: the one the shards were run with, else 0.9).")
    var threshold: Double?

    @Flag(help: "Merge even when shards, or runs of them, are missing.")
    var allowPartial = false

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give the sweep directories to merge") }
        if let baseline, SweepBaseline(baseline) == nil { throw ValidationError("--baseline must be a positive number or 'local'") }
        if let threshold, !(threshold > 0 && threshold <= 1) { throw ValidationError("--threshold must be in (0, 1]") }
        let output = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard !inputs.contains(where: { URL(fileURLWithPath: $0).standardizedFileURL.path == output }) else {
            throw ValidationError("--out must not be one of the inputs")
        }
    }

    func run() throws {
        let started = Date()
        let sources = inputs.map(SweepDirectory.init)
        var settings: String?
        var shards: [SweepDirectory.ShardFile] = []
        for source in sources {
            guard let found = source.settings() else { throw CommandFailure("\(source.path): not a sweep directory (no settings.txt)") }
            if let settings, settings != found {
                throw CommandFailure("\(source.path) holds a sweep with other settings than \(sources[0].path); only one sweep's shards can be merged")
            }
            settings = found
            if let shard = try source.shardFile() { shards.append(shard) }
        }
        guard let settings else { throw CommandFailure("no sweep to merge") }

        var records: [SweepRecord] = []
        var origin: [SweepRunKey: SweepDirectory] = [:]
        for source in sources {
            for record in try source.records() where origin[record.key] == nil {
                records.append(record)
                origin[record.key] = source
            }
        }
        try checkComplete(shards, finished: Set(records.map(\.model)))

        let output = SweepDirectory(directory)
        try output.create()
        try output.adopt(settings: settings)
        guard try output.shardFile() == nil else { throw CommandFailure("\(output.path) holds a shard; merge into another directory") }
        for existing in try output.records() where origin[existing.key] == nil {
            records.append(existing)
        }
        for record in records {
            guard let source = origin[record.key] else { continue }
            let bytes: Data
            do {
                bytes = try Data(contentsOf: source.file(record.model))
            } catch {
                throw CommandFailure("cannot read \(source.file(record.model).path): \(error.localizedDescription)")
            }
            try output.write(bytes, to: record.model)
        }
        try output.save(records)

        let baselineText = baseline ?? shards.first?.baseline ?? "1.0"
        guard shards.allSatisfy({ $0.baseline == shards[0].baseline && $0.threshold == shards[0].threshold }) else {
            throw CommandFailure("the shards were run with different baselines or thresholds; give --baseline and --threshold")
        }
        let baselineKind = SweepBaseline(baselineText)!
        let threshold = self.threshold ?? shards.first?.threshold ?? 0.9
        let baselineValue: Double
        switch baselineKind {
        case .global(let value): baselineValue = value
        case .local:
            guard let direct = records.filter(\.isDirect).min(by: { $0.seed < $1.seed }) else {
                throw CommandFailure("a local baseline needs the direct run, which none of the inputs holds")
            }
            baselineValue = direct.performance
        }
        guard let model = SweepDirectory.setting("model", in: settings),
              let projection = SweepDirectory.setting("projection", in: settings),
              let architecture = try? Architecture(spec: model), let parameterCount = try? architecture.parameterCount()
        else { throw CommandFailure("\(output.file("settings.txt").path): no valid model and projection") }
        let data = SweepDirectory.setting("data", in: settings)
        let seedsPerDimension = shards.first?.runs
            ?? IntrinsicDimensionEstimate(records: records, baseline: baselineValue, threshold: threshold).means.map(\.runs).max() ?? 1
        let used = records.filter { !$0.isDirect || baselineKind == .local }
        let summary = SweepSummary(
            description: SweepDescription(model: model, data: data == "none" ? nil : data, parameters: parameterCount, projection: projection),
            baselineKind: baselineKind, baseline: baselineValue, threshold: threshold, runs: seedsPerDimension, records: used,
            wallSeconds: Date().timeIntervalSince(started))
        try output.publish(
            summary, records: used, json: json,
            closing: "merged \(sources.count) directories (\(records.count) runs) into \(output.path)")
    }

    /// Every shard 1...n present and every run it was given finished, unless --allow-partial.
    func checkComplete(_ shards: [SweepDirectory.ShardFile], finished: Set<String>) throws {
        guard !shards.isEmpty, !allowPartial else { return }
        let count = shards[0].shard.count
        guard shards.allSatisfy({ $0.shard.count == count }) else {
            throw CommandFailure("the inputs are shards of different splits (\(Set(shards.map(\.shard.name)).sorted().joined(separator: ", ")))")
        }
        let present = Set(shards.map(\.shard.index))
        let absent = (1...count).filter { !present.contains($0) }
        guard absent.isEmpty else {
            throw CommandFailure("shard\(absent.count == 1 ? "" : "s") \(absent.map { "\($0)/\(count)" }.joined(separator: ", ")) missing; "
                + "give every shard's directory, or --allow-partial")
        }
        let unfinished = shards.flatMap(\.assigned).filter { !finished.contains($0) }
        guard unfinished.isEmpty else {
            throw CommandFailure("\(unfinished.count) run\(unfinished.count == 1 ? "" : "s") of the shards unfinished "
                + "(\(unfinished.prefix(3).joined(separator: ", "))\(unfinished.count > 3 ? ", ..." : "")); "
                + "re-run those shards to resume them, or --allow-partial")
        }
    }
}
