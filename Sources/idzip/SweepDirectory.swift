import Foundation
import IdzipCore
import IdzipTraining

/// A sweep's output directory: settings.txt (the settings its runs share), results.json and
/// results.csv (one row per finished run), models/, shard.json for a shard, and the report:
/// summary.json, plot.svg and index.html.
struct SweepDirectory {
    let root: URL

    init(_ path: String) { root = URL(fileURLWithPath: path) }

    var path: String { root.path }
    var models: URL { root.appendingPathComponent("models") }
    func file(_ name: String) -> URL { root.appendingPathComponent(name) }

    func create() throws {
        do {
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("cannot create \(models.path): \(error.localizedDescription)")
        }
    }

    /// The settings of an existing sweep here, if any.
    func settings() -> String? { try? String(contentsOf: file("settings.txt"), encoding: .utf8) }

    /// Records the settings, or refuses a directory holding a sweep with other settings (its
    /// finished runs would not be comparable).
    func adopt(settings: String) throws {
        if let existing = self.settings() {
            guard existing == settings else {
                let old = existing.split(separator: "\n").joined(separator: "; ")
                throw CommandFailure("\(path) holds a sweep with other settings (\(old)); use another --out or the same settings")
            }
        } else {
            try write(Data(settings.utf8), to: "settings.txt")
        }
    }

    /// One setting of settings.txt ("model", "data", "projection", ...).
    static func setting(_ name: String, in settings: String) -> String? {
        settings.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// Finished runs: rows of results.json whose model file exists.
    func records() throws -> [SweepRecord] {
        let url = file("results.json")
        let records: [SweepRecord]
        do {
            records = try SweepResultsFile.read(url)
        } catch {
            throw CommandFailure("\(url.path): not a sweep's results (\(error.localizedDescription))")
        }
        return records.filter { FileManager.default.fileExists(atPath: file($0.model).path) }
    }

    func save(_ records: [SweepRecord]) throws {
        let sorted = SweepResultsFile.sorted(records)
        try write(SweepResultsFile.json(sorted), to: "results.json")
        try write(Data(SweepResultsFile.csv(sorted).utf8), to: "results.csv")
    }

    /// shard.json: which share of which plan this directory holds.
    struct ShardFile: Codable {
        var shard: SweepShard
        var baseline: String
        var threshold: Double
        var runs: Int
        /// The model files of the runs this shard was given.
        var assigned: [String]
    }

    func shardFile() throws -> ShardFile? {
        let url = file("shard.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(ShardFile.self, from: Data(contentsOf: url))
        } catch {
            throw CommandFailure("\(url.path): not a sweep shard's description (\(error.localizedDescription))")
        }
    }

    func saveShardFile(_ shard: ShardFile) throws {
        try write(prettyJSON(shard), to: "shard.json")
    }

    /// Writes summary.json, plot.svg and index.html for `records` (the runs behind
    /// `summary`), then prints the summary (as JSON with `json`) and `closing`.
    func publish(_ summary: SweepSummary, records: [SweepRecord], json: Bool, closing: String) throws {
        try writeReport(summary, records: records)
        if json {
            try printJSON(summary)
        } else {
            summary.text.forEach { print($0) }
            print(closing)
        }
    }

    private func writeReport(_ summary: SweepSummary, records: [SweepRecord]) throws {
        try write(prettyJSON(summary), to: "summary.json")
        let estimate = summary.estimate
        let title = "\(summary.model) (D = \(grouped(summary.parameters))), \(summary.projection): d_int90 = "
            + (summary.d_int90.map(String.init) ?? "not reached")
        let svg = SweepPlot.svg(records: records, estimate: estimate, title: title)
        try write(Data(svg.utf8), to: "plot.svg")
        var facts: [(String, String)] = [
            ("model", "\(summary.model), D = \(grouped(summary.parameters))"),
            ("data", summary.data ?? "none"),
            ("projection", summary.projection),
            ("baseline", "\(summary.baseline_kind) \(summary.baseline)"),
            ("threshold", "\(summary.threshold) (level \(summary.threshold * summary.baseline))"),
            ("d_int90", summary.d_int90.map { grouped($0) } ?? "not reached"),
            ("d_int100", summary.d_int100.map { grouped($0) } ?? (summary.d_int100_measured ? "not reached" : "not measured (runs stopped early)")),
            ("seeds per d", "\(summary.runs)"),
            ("training runs", "\(summary.training_runs) (\(summary.stopped_early) stopped early), \(summary.epochs_trained) epochs, "
                + String(format: "%.1f s", summary.run_seconds)),
        ]
        if let interval = summary.d_int90_bootstrap?.interval {
            facts.append(("d_int90 bootstrap", interval))
        }
        if let settings = settings(), let training = Self.setting("training", in: settings) {
            facts.append(("training", training))
        }
        let page = SweepPage.html(title: title, facts: facts, svg: svg, estimate: estimate, records: records)
        try write(Data(page.utf8), to: "index.html")
    }

    func write(_ data: Data, to name: String) throws {
        let url = file(name)
        do {
            let writer = try AtomicFileWriter(destination: url)
            try writer.write([UInt8](data))
            try writer.commit()
        } catch {
            throw CommandFailure("cannot write \(url.path): \(error)")
        }
    }
}
