import Foundation
import IdzipCore

/// Combines the directories of a sweep's shards (or of sweeps with the same settings) into
/// one directory with every run, its models and the full report.
public struct SweepMerger: Sendable {
    public var inputs: [SweepDirectory]
    public var output: SweepDirectory
    /// nil: the baseline the shards were run with, else global 1.0.
    public var baseline: SweepBaseline?
    /// nil: the threshold the shards were run with, else 0.9.
    public var threshold: Double?
    /// Merge even when shards, or runs of them, are missing.
    public var allowPartial: Bool

    public init(inputs: [SweepDirectory], output: SweepDirectory, baseline: SweepBaseline?, threshold: Double?, allowPartial: Bool) {
        self.inputs = inputs
        self.output = output
        self.baseline = baseline
        self.threshold = threshold
        self.allowPartial = allowPartial
    }

    /// Merges, writes results, models and report into `output`.
    /// - Returns: the summary, the runs behind it and the number of runs merged.
    /// - Throws: `SweepError` for inputs of different sweeps, missing shards or runs (unless
    ///   `allowPartial`), or files that cannot be read or written.
    public func merge() throws(SweepError) -> (summary: SweepSummary, records: [SweepRecord], runCount: Int) {
        let started = Date()
        var settings: String?
        var shards: [SweepDirectory.ShardFile] = []
        for source in inputs {
            guard let found = source.settings() else { throw SweepError("\(source.path): not a sweep directory (no settings.txt)") }
            if let settings, settings != found {
                throw SweepError("\(source.path) holds a sweep with other settings than \(inputs[0].path) "
                    + "(\(SweepDirectory.differences(from: settings, to: found))); only one sweep's shards can be merged")
            }
            settings = found
            if let shard = try source.shardFile() { shards.append(shard) }
        }
        guard let settings else { throw SweepError("no sweep to merge") }

        var records: [SweepRecord] = []
        var origin: [SweepRunKey: SweepDirectory] = [:]
        for source in inputs {
            for record in try source.records() where origin[record.key] == nil {
                records.append(record)
                origin[record.key] = source
            }
        }
        try checkComplete(shards, finished: Set(records.map(\.model)))
        if baseline == nil, !shards.allSatisfy({ $0.baseline == shards[0].baseline }) {
            throw SweepError("the shards were run with different baselines (\(Self.distinct(shards.map(\.baseline)))); give --baseline")
        }
        let thresholds = Self.distinct(shards.map { "\($0.threshold)" } + records.compactMap { $0.threshold.map { "\($0)" } })
        if threshold == nil, thresholds.contains(",") {
            throw SweepError("the shards were run with different thresholds (\(thresholds)); give --threshold")
        }
        // Runs that early stopping ended were judged against their sweep's level: merged under
        // another threshold they would mix with runs judged differently.
        if let threshold, let stopped = records.first(where: { record in
            record.stopped != nil && (record.threshold ?? shards.first?.threshold).map { $0 != threshold } ?? false
        }), let old = stopped.threshold ?? shards.first?.threshold {
            throw SweepError("run \(stopped.key.fileStem) stopped early under --threshold \(old); merging with "
                + "--threshold \(threshold) would mix runs judged against different levels: merge with --threshold \(old)")
        }

        try output.create()
        // No sweep may write the output while the merge does (it would lose rows).
        let lock = try output.lock()
        defer { withExtendedLifetime(lock) {} }
        try output.adopt(settings: settings)
        guard try output.shardFile() == nil else { throw SweepError("\(output.path) holds a shard; merge into another directory") }
        for existing in try output.records() where origin[existing.key] == nil {
            records.append(existing)
        }
        for record in records {
            guard let source = origin[record.key], record.failure == nil else { continue }
            let bytes: Data
            do {
                bytes = try Data(contentsOf: source.file(record.model))
            } catch {
                throw SweepError("cannot read \(source.file(record.model).path): \(error.localizedDescription)")
            }
            try output.write(bytes, to: record.model)
        }
        try output.save(records)


        let baselineText = shards.first?.baseline ?? "1.0"
        guard let baselineKind = baseline ?? SweepBaseline(baselineText) else {
            throw SweepError("\(inputs[0].file("shard.json").path): the baseline '\(baselineText)' is not a number or 'local'")
        }
        let threshold = self.threshold ?? shards.first?.threshold ?? 0.9
        let baselineValue: Double
        switch baselineKind {
        case .global(let value): baselineValue = value
        case .local:
            guard let direct = records.filter(\.isDirect).min(by: { $0.seed < $1.seed }) else {
                throw SweepError("a local baseline needs the direct run, which none of the inputs holds")
            }
            baselineValue = direct.performance
        }
        guard let model = SweepDirectory.setting("model", in: settings),
              let projection = SweepDirectory.setting("projection", in: settings),
              let architecture = try? Architecture(spec: model), let parameterCount = try? architecture.parameterCount()
        else { throw SweepError("\(output.file("settings.txt").path): no valid model and projection") }
        let data = SweepDirectory.setting("data", in: settings)
        let seedsPerDimension = shards.first?.runs
            ?? IntrinsicDimensionEstimate(records: records, baseline: baselineValue, threshold: threshold).means.map(\.runs).max() ?? 1
        let used = records.filter { !$0.isDirect || baselineKind == .local }
        var description = SweepDescription(model: model, data: data == "none" ? nil : data, parameters: parameterCount, projection: projection)
        // A reinforcement-learning sweep ("environment cartpole dqn ..."): its problem and measure.
        if let environment = SweepDirectory.setting("environment", in: settings) {
            let words = environment.split(separator: " ")
            description.data = words.count >= 2 ? "\(words[0]) (\(words[1]))" : environment
            description.selectedOn = "best evaluation's mean return, minus the lowest possible return (the paper's rule for RL)"
        }
        let summary = SweepSummary(
            description: description,
            baselineKind: baselineKind, baseline: baselineValue, threshold: threshold, runs: seedsPerDimension, records: used,
            wallSeconds: Date().timeIntervalSince(started))
        try output.writeReport(summary, records: used)
        return (summary, used, records.count)
    }

    /// Every shard 1...n present and every run it was given finished, unless `allowPartial`.
    func checkComplete(_ shards: [SweepDirectory.ShardFile], finished: Set<String>) throws(SweepError) {
        guard !shards.isEmpty, !allowPartial else { return }
        let count = shards[0].shard.count
        guard shards.allSatisfy({ $0.shard.count == count }) else {
            throw SweepError("the inputs are shards of different splits (\(Set(shards.map(\.shard.name)).sorted().joined(separator: ", ")))")
        }
        let present = Set(shards.map(\.shard.index))
        let absent = (1...count).filter { !present.contains($0) }
        guard absent.isEmpty else {
            throw SweepError("shard\(absent.count == 1 ? "" : "s") \(absent.map { "\($0)/\(count)" }.joined(separator: ", ")) missing; "
                + "give every shard's directory, or --allow-partial")
        }
        let unfinished = shards.flatMap(\.assigned).filter { !finished.contains($0) }
        guard unfinished.isEmpty else {
            throw SweepError("\(unfinished.count) run\(unfinished.count == 1 ? "" : "s") of the shards unfinished "
                + "(\(unfinished.prefix(3).joined(separator: ", "))\(unfinished.count > 3 ? ", ..." : "")); "
                + "re-run those shards to resume them, or --allow-partial")
        }
    }

    /// The distinct values, in order of first appearance, joined with ", ".
    static func distinct(_ values: [String]) -> String {
        var seen: [String] = []
        for value in values where !seen.contains(value) { seen.append(value) }
        return seen.joined(separator: ", ")
    }
}
