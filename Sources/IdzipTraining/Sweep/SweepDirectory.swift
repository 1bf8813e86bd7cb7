import Foundation
import IdzipCore

/// Why a sweep cannot run, resume or merge: one line.
public struct SweepError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A sweep's output directory: settings.txt (the settings its runs share), results.json and
/// results.csv (one row per finished run), models/, shard.json for a shard, and the report:
/// summary.json, plot.svg and index.html.
public struct SweepDirectory: Sendable {
    public let root: URL
    /// The directory as the user named it, for messages.
    public let path: String

    public init(_ path: String) {
        root = URL(fileURLWithPath: path)
        self.path = path
    }
    public var models: URL { root.appendingPathComponent("models") }
    public func file(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// Creates the directory and its models/ folder.
    /// - Throws: `SweepError` when they cannot be created.
    public func create() throws(SweepError) {
        do {
            try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        } catch {
            throw SweepError("cannot create \(models.path): \(error.localizedDescription)")
        }
    }

    /// An exclusive lock on the directory (`flock` on its `.lock` file), released when
    /// the value is released or the process ends (also on `kill -9`).
    public final class Lock: @unchecked Sendable {
        private let descriptor: Int32
        init(descriptor: Int32) { self.descriptor = descriptor }
        deinit { close(descriptor) }
    }

    /// The name of the lock file in the directory.
    public static let lockFileName = ".lock"

    /// Takes the directory's lock, so that two sweeps never write the same results.json at
    /// once (one would lose the other's rows). The holder's process id is written into
    /// the lock file for the refusal message.
    /// - Throws: `SweepError` when another process holds the lock (naming its process id)
    ///   or the lock file cannot be opened.
    public func lock() throws(SweepError) -> Lock {
        let url = file(Self.lockFileName)
        let descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SweepError("cannot open \(url.path): \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let reason = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw SweepError("cannot lock \(url.path): \(String(cString: strerror(reason)))")
            }
            let holder = count > 0 ? Int(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
            throw SweepError("\(path) is in use by another sweep" + (holder.map { " (process \($0))" } ?? "")
                + "; wait for it to finish, or give this one another --out")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        return Lock(descriptor: descriptor)
    }

    /// The settings of an existing sweep here, if any.
    public func settings() -> String? { try? String(contentsOf: file("settings.txt"), encoding: .utf8) }

    /// Records the settings, or refuses a directory holding a sweep with other settings (its
    /// finished runs would not be comparable).
    public func adopt(settings: String) throws(SweepError) {
        if let existing = self.settings() {
            guard existing == settings else {
                throw SweepError("\(path) holds a sweep with other settings (\(Self.differences(from: existing, to: settings))); "
                    + "use another --out or the same settings")
            }
        } else {
            try write(Data(settings.utf8), to: "settings.txt")
        }
    }

    /// The settings that differ between two settings.txt texts, each named with its old and
    /// new value: "training was 'adam ... epochs=5', now 'adam ... epochs=10'".
    public static func differences(from old: String, to new: String) -> String {
        func lines(_ text: String) -> [(String, String)] {
            text.split(separator: "\n").map { line in
                let parts = line.split(separator: " ", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
        }
        let before = lines(old), after = lines(new)
        var names: [String] = []
        for (name, _) in before + after where !names.contains(name) { names.append(name) }
        let changes = names.compactMap { name -> String? in
            let was = before.first { $0.0 == name }?.1, now = after.first { $0.0 == name }?.1
            guard was != now else { return nil }
            return "\(name) was '\(was ?? "unset")', now '\(now ?? "unset")'"
        }
        return changes.isEmpty ? "settings.txt differs in layout" : changes.joined(separator: "; ")
    }

    /// One setting of settings.txt ("model", "data", "projection", ...).
    public static func setting(_ name: String, in settings: String) -> String? {
        settings.split(separator: "\n").first { $0.hasPrefix(name + " ") }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// Finished runs: rows of results.json whose model file exists, and failed runs (which wrote none).
    public func records() throws(SweepError) -> [SweepRecord] {
        let url = file("results.json")
        let records: [SweepRecord]
        do {
            records = try SweepResultsFile.read(url)
        } catch {
            throw SweepError("\(url.path): not a sweep's results (\(error.localizedDescription))")
        }
        // A run's model lives at models/<stem>.idz: any other path (`../x`) is a damaged or
        // crafted file, never read from or written to.
        if let stray = records.first(where: { $0.model != "models/\($0.key.fileStem).idz" }) {
            throw SweepError("\(url.path): run \(stray.key.fileStem) names the model file '\(stray.model)', not models/\(stray.key.fileStem).idz")
        }
        return records.filter { $0.failure != nil || FileManager.default.fileExists(atPath: file($0.model).path) }
    }

    public func save(_ records: [SweepRecord]) throws(SweepError) {
        let sorted = SweepResultsFile.sorted(records)
        try write(encoding: sorted, to: "results.json")
        try write(Data(SweepResultsFile.csv(sorted).utf8), to: "results.csv")
    }

    /// shard.json: which share of which plan this directory holds.
    public struct ShardFile: Codable, Sendable, Equatable {
        public var shard: SweepShard
        /// The baseline as given: a number or "local".
        public var baseline: String
        public var threshold: Double
        /// Seeds per d.
        public var runs: Int
        /// The model files of the runs this shard was given.
        public var assigned: [String]

        public init(shard: SweepShard, baseline: String, threshold: Double, runs: Int, assigned: [String]) {
            self.shard = shard
            self.baseline = baseline
            self.threshold = threshold
            self.runs = runs
            self.assigned = assigned
        }
    }

    public func shardFile() throws(SweepError) -> ShardFile? {
        let url = file("shard.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(ShardFile.self, from: Data(contentsOf: url))
        } catch {
            throw SweepError("\(url.path): not a sweep shard's description (\(error.localizedDescription))")
        }
    }

    public func saveShardFile(_ shard: ShardFile) throws(SweepError) {
        try write(encoding: shard, to: "shard.json")
    }

    /// Writes the report of `records` (the runs behind `summary`): summary.json, plot.svg
    /// and index.html.
    public func writeReport(_ summary: SweepSummary, records: [SweepRecord]) throws(SweepError) {
        try write(encoding: summary, to: "summary.json")
        let estimate = summary.estimate
        let name = estimate.name
        let title = "\(summary.model) (D = \(grouped(summary.parameters))), \(summary.projection): \(name) "
            + (summary.d_int90.map { "= \(grouped($0))" } ?? "not reached") + " at threshold \(SweepPlot.number(summary.threshold))"
        let svg = SweepPlot.svg(records: records, estimate: estimate, title: title)
        try write(Data(svg.utf8), to: "plot.svg")
        var facts: [(String, String)] = [
            ("model", "\(summary.model), D = \(grouped(summary.parameters))"),
            ("data", summary.data ?? "none"),
            ("projection", summary.projection),
            ("performance measured on", summary.selected_on ?? "exp(-loss) of the toy objective"),
            ("baseline", "\(summary.baseline_kind) \(summary.baseline)"),
            ("threshold", "\(summary.threshold) (level \(SweepPlot.number(summary.threshold * summary.baseline)))"),
            (name, summary.d_int90.map { grouped($0) } ?? "not reached"),
            ("d_int100", summary.d_int100.map { grouped($0) } ?? (summary.d_int100_measured ? "not reached" : "not measured (runs stopped early)")),
            ("seeds per d", "\(summary.runs)"),
            ("training runs", "\(summary.training_runs) (\(summary.stopped_early) stopped early), "
                + "\(counted(summary.epochs_trained, summary.data == nil ? "step" : "epoch")), "
                + String(format: "%.1f s", summary.run_seconds)),
        ]
        if let interval = summary.d_int90_bootstrap?.interval {
            facts.append(("\(name) bootstrap", interval))
        }
        if let settings = settings(), let training = Self.setting("training", in: settings) {
            facts.append(("training", training))
        }
        let page = SweepPage.html(title: title, facts: facts, svg: svg, estimate: estimate, records: records)
        try write(Data(page.utf8), to: "index.html")
    }

    /// `value` as pretty JSON into the file `name`, atomically.
    public func write<Value: Encodable>(encoding value: Value, to name: String) throws(SweepError) {
        let data: Data
        do {
            data = try prettyJSON(value)
        } catch {
            throw SweepError("cannot encode \(name): \(error)")
        }
        try write(data, to: name)
    }

    /// `data` into the file `name` (relative to the directory), atomically.
    public func write(_ data: Data, to name: String) throws(SweepError) {
        let url = file(name)
        do {
            let writer = try AtomicFileWriter(destination: url)
            try writer.write([UInt8](data))
            try writer.commit()
        } catch {
            throw SweepError("cannot write \(url.path): \(error)")
        }
    }
}
