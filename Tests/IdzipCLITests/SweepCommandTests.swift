import Foundation
import IdzipCore
import Testing

/// `idzip train --model toy` and `idzip sweep` end to end.
struct SweepCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func toyTrainsWithoutData() throws {
        let directory = try TemporaryDirectory()
        let ten = try CommandRunner.run(["train", "--model", "toy", "--dim", "10", "-o", "toy.idz", "--json"], in: directory.url)
        #expect(ten.status == 0, "\(ten.standardError)")
        let summary = try Self.json(ten.standardOutput)
        let performance = try #require(summary["performance"] as? Double)
        #expect(performance > 0.99)
        let model = try IdzFile.read(contentsOf: directory.file("toy.idz"))
        #expect(model.projection.dimension == 10)
        guard case .double(let stored) = model.metadata["performance"] else {
            Issue.record("no performance in the metadata")
            return
        }
        #expect(abs(stored - performance) < 1e-12, "the file records what was reported")

        let five = try CommandRunner.run(["train", "--model", "toy", "--dim", "5", "-o", "toy5.idz", "--json"], in: directory.url)
        #expect(five.status == 0, "\(five.standardError)")
        #expect(try #require(try Self.json(five.standardOutput)["performance"] as? Double) < 0.5)
    }

    /// The paper's toy problem has d_int90 = d_int100 = 10 exactly.
    @Test func toySweepFindsTen() throws {
        let directory = try TemporaryDirectory()
        let arguments = ["sweep", "--model", "toy", "--dims", "1-20", "--runs", "2", "--out", "sweep", "--json"]
        let first = try CommandRunner.run(arguments, in: directory.url)
        #expect(first.status == 0, "\(first.standardError)")
        let summary = try Self.json(first.standardOutput)
        #expect(summary["d_int90"] as? Int == 10)
        #expect(summary["d_int100"] as? Int == 10)
        #expect(summary["baseline"] as? Double == 1 && summary["threshold"] as? Double == 0.9 && summary["runs"] as? Int == 2)
        #expect(summary["wall_seconds"] is Double)
        let bootstrap = try #require(summary["d_int90_bootstrap"] as? [String: Any])
        #expect(bootstrap["mean"] as? Double == 10 && bootstrap["standard_deviation"] as? Double == 0)

        let sweep = directory.url.appendingPathComponent("sweep")
        let files = try FileManager.default.contentsOfDirectory(atPath: sweep.path).sorted()
        #expect(files == [".lock", "index.html", "models", "plot.svg", "results.csv", "results.json", "settings.txt", "summary.json"])
        let svg = try String(contentsOf: sweep.appendingPathComponent("plot.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.components(separatedBy: "class=\"run complete panel0\"").count == 41 && svg.contains("d_int90 = 10"))
        let models = try FileManager.default.contentsOfDirectory(atPath: sweep.appendingPathComponent("models").path)
        #expect(models.count == 40 && models.contains("d10-seed2.idz"))
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: sweep.appendingPathComponent("results.json"))) as? [[String: Any]])
        #expect(rows.count == 40)
        #expect(Set(rows.compactMap { $0["seed"] as? Int }) == [1, 2])
        let csv = try String(contentsOf: sweep.appendingPathComponent("results.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 41 && csv[0] == "d,seed,projection,performance,epochs,seconds,model,stopped")

        // Re-running resumes: nothing is trained again, except a run whose model is gone.
        try FileManager.default.removeItem(at: sweep.appendingPathComponent("models/d3-seed1.idz"))
        let second = try CommandRunner.run(arguments, in: directory.url)
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardError.contains("39 done, 1 to run"), "\(second.standardError)")
        #expect(try Self.json(second.standardOutput)["d_int90"] as? Int == 10)
        #expect(FileManager.default.fileExists(atPath: sweep.appendingPathComponent("models/d3-seed1.idz").path))

        // Other training settings in the same directory would mix incomparable runs.
        let other = try CommandRunner.run(arguments + ["--epochs", "10"], in: directory.url)
        #expect(other.status == 1 && other.standardError.contains("other settings"), "\(other.standardError)")
    }

    @Test func toySearchFindsTen() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(["sweep", "--model", "toy", "--search", "1-1000", "--out", "s", "--json"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try Self.json(result.standardOutput)
        #expect(summary["d_int90"] as? Int == 10)
        #expect(summary["dims"] as? [Int] == [1, 2, 4, 8, 9, 10, 12, 16])
        let again = try CommandRunner.run(["sweep", "--model", "toy", "--search", "1-1000", "--out", "s", "--json"], in: directory.url)
        #expect(again.status == 0 && !again.standardError.contains("performance"), "resumes without training: \(again.standardError)")
    }

    @Test func localBaselineTrainsDirectlyOnce() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(
            ["sweep", "--model", "toy", "--dims", "8,9,10,12", "--baseline", "local", "--out", "s", "--json"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try Self.json(result.standardOutput)
        #expect(summary["baseline_kind"] as? String == "local")
        #expect(try #require(summary["baseline"] as? Double) > 0.99)
        #expect(summary["d_int90"] as? Int == 10)
        #expect(FileManager.default.fileExists(atPath: directory.file("s/models/direct-seed1.idz").path))
    }

    @Test func sweepOnData() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(
            ["sweep", "--model", "fc:784-32-10", "--data", "mnist", "--train-fraction", "0.05", "--batch-size", "64",
             "--epochs", "1", "--dims", "20,200", "--baseline", "1.0", "--threshold", "0.5", "--out", "s", "--json"],
            in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        let summary = try Self.json(result.standardOutput)
        let means = try #require(summary["means"] as? [[String: Any]])
        #expect(means.count == 2)
        let model = try IdzFile.read(contentsOf: directory.file("s/models/d200-seed1.idz"))
        #expect(model.projection.dimension == 200)
    }

    @Test func badSweepArguments() throws {
        let directory = try TemporaryDirectory()
        for bad in [["--dims", "0,1"], ["--dims", "x"], ["--dims", "5", "--baseline", "best"], ["--dims", "5", "--runs", "0"], ["--dims", "5", "--search", "1-9"], ["--search", "9-1"],
                    ["--dims", "5", "--shard", "0/2"], ["--dims", "5", "--shard", "3/2"], ["--search", "1-9", "--shard", "1/2"]] {
            let result = try CommandRunner.run(["sweep", "--model", "toy", "--out", "s"] + bad, in: directory.url)
            #expect(result.status == 64, "\(bad): \(result.standardError)")
        }
    }

    /// Shards run apart and merged give the sweep run in one go.
    @Test func shardsMergeIntoTheWholeSweep() throws {
        let directory = try TemporaryDirectory()
        let sweep = ["sweep", "--model", "toy", "--dims", "8-11", "--runs", "2", "--baseline", "local"]
        let whole = try CommandRunner.run(sweep + ["--out", "whole", "--json"], in: directory.url)
        #expect(whole.status == 0, "\(whole.standardError)")
        var assigned = 0
        for index in 1...3 {
            let shard = try CommandRunner.run(sweep + ["--out", "s\(index)", "--shard", "\(index)/3"], in: directory.url)
            #expect(shard.status == 0, "\(shard.standardError)")
            #expect(!FileManager.default.fileExists(atPath: directory.file("s\(index)/summary.json").path), "a shard has no summary")
            assigned += try FileManager.default.contentsOfDirectory(atPath: directory.file("s\(index)/models").path).count
        }
        #expect(assigned == 9, "8 subspace runs and the baseline, each in one shard")

        let partial = try CommandRunner.run(["sweep", "merge", "--out", "m", "s1", "s3"], in: directory.url)
        #expect(partial.status == 1 && partial.standardError.contains("shard 2/3 missing"), "\(partial.standardError)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("m/summary.json").path))

        let merged = try CommandRunner.run(["sweep", "merge", "--out", "m", "s1", "s2", "s3", "--json"], in: directory.url)
        #expect(merged.status == 0, "\(merged.standardError)")
        let a = try Self.json(whole.standardOutput), b = try Self.json(merged.standardOutput)
        for key in ["d_int90", "d_int100", "baseline", "baseline_kind", "threshold", "runs", "dims", "training_runs"] {
            #expect("\(a[key] ?? "none")" == "\(b[key] ?? "none")", "\(key)")
        }
        #expect(b["d_int90"] as? Int == 10 && b["baseline_kind"] as? String == "local")
        for name in ["index.html", "plot.svg", "results.csv", "results.json", "settings.txt", "models/d10-seed2.idz", "models/direct-seed1.idz"] {
            #expect(FileManager.default.fileExists(atPath: directory.file("m/\(name)").path), "\(name)")
        }
        let model = try IdzFile.read(contentsOf: directory.file("m/models/d9-seed1.idz"))
        #expect(model == (try IdzFile.read(contentsOf: directory.file("whole/models/d9-seed1.idz"))), "same run, same bits")

        // A shard resumes like a sweep; a directory cannot change shards; merging other settings is refused.
        let again = try CommandRunner.run(sweep + ["--out", "s2", "--shard", "2/3"], in: directory.url)
        #expect(again.status == 0 && again.standardError.contains("3 done, 0 to run"), "\(again.standardError)")
        let moved = try CommandRunner.run(sweep + ["--out", "s2", "--shard", "1/3"], in: directory.url)
        #expect(moved.status == 1 && moved.standardError.contains("holds shard 2/3"), "\(moved.standardError)")
        let other = try CommandRunner.run(["sweep", "--model", "toy", "--dims", "3", "--epochs", "50", "--out", "o"], in: directory.url)
        #expect(other.status == 0, "\(other.standardError)")
        let mixed = try CommandRunner.run(["sweep", "merge", "--out", "m2", "s1", "o"], in: directory.url)
        #expect(mixed.status == 1 && mixed.standardError.contains("other settings"), "\(mixed.standardError)")
        let notSweep = try CommandRunner.run(["sweep", "merge", "--out", "m3", "models"], in: directory.url)
        #expect(notSweep.status == 1 && notSweep.standardError.contains("not a sweep directory"), "\(notSweep.standardError)")
        let into = try CommandRunner.run(["sweep", "merge", "--out", "s1", "s1"], in: directory.url)
        #expect(into.status == 64, "\(into.standardError)")
    }

    /// Runs far below or clearly above the level stop before their last epoch.
    @Test func runsStopEarly() throws {
        let directory = try TemporaryDirectory()
        let arguments = ["sweep", "--model", "fc:784-32-10", "--data", "mnist", "--train-fraction", "0.1", "--epochs", "4",
                         "--dims", "2,400", "--threshold", "0.5", "--out", "s", "--json"]
        let result = try CommandRunner.run(arguments, in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        let rows = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: directory.file("s/results.json"))) as? [[String: Any]])
        let byDimension = Dictionary(uniqueKeysWithValues: rows.map { ($0["d"] as? Int ?? 0, $0) })
        #expect(byDimension[2]?["stopped"] as? String == "cannot_reach" && byDimension[2]?["epochs"] as? Int == 2, "\(rows)")
        #expect(byDimension[400]?["stopped"] as? String == "passed" && byDimension[400]?["epochs"] as? Int == 1, "\(rows)")
        let summary = try Self.json(result.standardOutput)
        #expect(summary["d_int90"] as? Int == 400 && summary["stopped_early"] as? Int == 2 && summary["epochs_trained"] as? Int == 3)
        #expect(summary["d_int100_measured"] as? Bool == false && summary["d_int100"] is NSNull)

        let full = try CommandRunner.run(arguments.map { $0 == "s" ? "f" : $0 } + ["--no-early-stop"], in: directory.url)
        #expect(full.status == 0, "\(full.standardError)")
        let fullSummary = try Self.json(full.standardOutput)
        #expect(fullSummary["stopped_early"] as? Int == 0 && fullSummary["epochs_trained"] as? Int == 8)
    }
}
