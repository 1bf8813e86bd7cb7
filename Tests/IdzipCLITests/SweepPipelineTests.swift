import Foundation
import Testing

/// Issue 10, section 5: pipelines and newcomers. Two sweeps on one --out never lose runs
/// (the directory's lock), and a sweep without --dims or --search runs a default search.
struct SweepPipelineTests {
    /// Rows of results.json and model files in models/.
    static func counts(_ directory: URL) throws -> [Int] {
        let results = directory.appendingPathComponent("results.json")
        let rows = FileManager.default.fileExists(atPath: results.path)
            ? ((try JSONSerialization.jsonObject(with: Data(contentsOf: results))) as? [Any])?.count ?? -1 : 0
        let models = ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("models").path)) ?? [])
            .filter { $0.hasSuffix(".idz") }.count
        return [rows, models]
    }

    @Test func aSweepOnADirectoryAnotherSweepHoldsIsRefusedNamingTheHolder() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("s")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // This test process holds the lock, as a running sweep would.
        let descriptor = open(out.appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        #expect(descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        let pid = Array("\(getpid())\n".utf8)
        #expect(pwrite(descriptor, pid, pid.count, 0) == pid.count)
        let arguments = ["sweep", "--model", "toy", "--dims", "1-3", "--out", "s"]
        let refused = try CommandRunner.run(arguments, in: directory.url)
        #expect(refused.status == 1, "\(refused.standardError)")
        #expect(refused.standardError.split(separator: "\n").count == 1, "one line: \(refused.standardError)")
        #expect(refused.standardError.contains("in use by another sweep (process \(getpid()))"), "\(refused.standardError)")
        #expect(try Self.counts(out) == [0, 0])
        // Released (as when the holder ends, even by kill -9): the sweep runs.
        close(descriptor)
        let result = try CommandRunner.run(arguments, in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try Self.counts(out) == [3, 3])
        // A merge into a directory a sweep holds is refused too.
        let merged = directory.file("m")
        try FileManager.default.createDirectory(at: merged, withIntermediateDirectories: true)
        let holder = open(merged.appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        #expect(holder >= 0 && flock(holder, LOCK_EX | LOCK_NB) == 0)
        let merge = try CommandRunner.run(["sweep", "merge", "--out", "m", "s"], in: directory.url)
        #expect(merge.status == 1 && merge.standardError.contains("in use by another sweep"), "\(merge.standardError)")
        close(holder)
        let again = try CommandRunner.run(["sweep", "merge", "--out", "m", "s"], in: directory.url)
        #expect(again.status == 0, "\(again.standardError)")
        #expect(try Self.counts(merged) == [3, 3])
    }

    @Test func twoConcurrentSweepsOnOneDirectoryLoseNoRuns() throws {
        let directory = try TemporaryDirectory()
        func start(_ dims: String) throws -> (Process, Pipe) {
            let process = Process()
            process.executableURL = CommandRunner.executable
            process.arguments = ["sweep", "--model", "toy", "--dims", dims, "--out", "s"]
            process.currentDirectoryURL = directory.url
            let error = Pipe()
            process.standardError = error
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            return (process, error)
        }
        let (first, firstError) = try start("1-20")
        let (second, secondError) = try start("21-40")
        let messages = [firstError, secondError].map { String(decoding: $0.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        first.waitUntilExit()
        second.waitUntilExit()
        let statuses = [first.terminationStatus, second.terminationStatus]
        // Either one ran while the other was refused, or they ran one after the other.
        for (status, message) in zip(statuses, messages) where status != 0 {
            #expect(status == 1 && message.contains("in use by another sweep"), "\(message)")
        }
        #expect(statuses.contains(0))
        let counted = try Self.counts(directory.file("s"))
        let (rows, models) = (counted[0], counted[1])
        #expect(rows == models, "every model has its row: \(rows) rows, \(models) models")
        #expect(rows == statuses.filter { $0 == 0 }.count * 20)
        // The refused sweep, run again, adds its runs.
        if let index = statuses.firstIndex(where: { $0 != 0 }) {
            let again = try CommandRunner.run(["sweep", "--model", "toy", "--dims", index == 0 ? "1-20" : "21-40", "--out", "s"], in: directory.url)
            #expect(again.status == 0, "\(again.standardError)")
            #expect(try Self.counts(directory.file("s")) == [40, 40])
        }
    }

    @Test func aSweepWithoutDimsOrSearchSearchesOneToATenthOfD() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(["sweep", "--model", "toy", "--out", "s", "--json"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("no --dims or --search given: searching d in 1-100 (D/10)"), "\(result.standardError)")
        let summary = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        #expect(summary?["d_int90"] as? Int == 10, "the toy problem's d_int90 is 10: \(result.standardOutput)")
        let both = try CommandRunner.run(["sweep", "--model", "toy", "--dims", "5", "--search", "1-10", "--out", "t"], in: directory.url)
        #expect(both.status == 64 && both.standardError.contains("give either --dims or --search, not both"), "\(both.standardError)")
        let shard = try CommandRunner.run(["sweep", "--model", "toy", "--shard", "1/2", "--out", "t"], in: directory.url)
        #expect(shard.status == 64 && shard.standardError.contains("--shard needs --dims"), "\(shard.standardError)")
    }

    @Test func projectionAndEncodingShowTheirNames() throws {
        let directory = try TemporaryDirectory()
        for command in [["train"], ["sweep", "run"], ["create"]] {
            let help = try CommandRunner.run(command + ["--help"], in: directory.url, environment: ["COLUMNS": "200"])
            #expect(help.standardOutput.contains("dense, sparse or fastfood"), "\(command)")
            #expect(help.standardOutput.contains("float32, float16, int8, or codebook:K"), "\(command)")
            #expect(!help.standardOutput.contains("values: 0, 1"), "\(command)")
        }
        for (option, value, names) in [
            ("--projection", "3", "use identity, dense, sparse, fastfood"), ("--encoding", "2", "use float32, float16, int8"),
        ] {
            let result = try CommandRunner.run(["train", "--model", "toy", "--dim", "5", option, value, "-o", "t.idz"], in: directory.url)
            #expect(result.status == 64 && result.standardError.contains("'\(value)' is not") && result.standardError.contains(names), "\(result.standardError)")
        }
        let named = try CommandRunner.run(
            ["train", "--model", "toy", "--dim", "5", "--projection", "sparse", "--encoding", "float16", "-o", "t.idz"], in: directory.url)
        #expect(named.status == 0, "\(named.standardError)")
    }
}
