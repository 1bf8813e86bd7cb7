import Foundation
import Testing

struct BenchCommandTests {
    @Test func quickJSONRecords() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(["bench", "--quick", "--json", "--repetitions", "1", "--threads", "2"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
        #expect(records.count == 14)
        for record in records {
            let name = try #require(record["name"] as? String)
            #expect(!name.isEmpty)
            #expect(record.keys.contains("projection"), "\(name): projection is present (null for direct training)")
            #expect((record["D"] as? Int ?? 0) > 0, "\(name)")
            #expect((record["d"] as? Int ?? 0) > 0, "\(name)")
            #expect(record["threads"] as? Int == 2, "\(name)")
            #expect((record["machine_threads"] as? Int ?? 0) >= 1, "\(name)")
            #expect(record["repetitions"] as? Int == 1, "\(name)")
            if record["skipped"] != nil { continue }
            let seconds = record["seconds"] as? Double
            let rate = record["examples_per_second"] as? Double
            #expect(seconds != nil || rate != nil, "\(name) has a figure")
            if let seconds { #expect(seconds > 0 && seconds.isFinite, "\(name)") }
            if let rate { #expect(rate > 0 && rate.isFinite, "\(name)") }
        }
        let groups = Dictionary(grouping: records) { $0["group"] as? String ?? "" }
        #expect(groups["projection"]?.count == 6)
        #expect(groups["training"]?.count == 6)
        #expect(groups["expand"]?.count == 2)
        // Direct training has no projection; subspace training and expansion name theirs.
        let direct = try #require(records.first { ($0["name"] as? String) == "train FC 784-200-200-10 direct" })
        #expect(direct["projection"] is NSNull)
        #expect((direct["examples_per_second"] as? Double ?? 0) > 0)
        let fastfood = try #require(records.first { ($0["name"] as? String) == "train FC 784-200-200-10 fastfood" })
        #expect(fastfood["projection"] as? String == "fastfood")
        #expect(fastfood["d"] as? Int == 750)
        for expand in groups["expand"] ?? [] {
            #expect((expand["peak_rss_bytes"] as? Int ?? 0) > 0)
            #expect((expand["output_gb_per_second"] as? Double ?? 0) > 0)
        }
        #expect(groups["projection"]?.allSatisfy { ($0["build_seconds"] as? Double ?? 0) > 0 } == true)
    }

    @Test func onlyFilterAndTable() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(["bench", "--quick", "--only", "projection", "--repetitions", "1"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.range(of: #"[0-9]+ threads? of [0-9]+"#, options: .regularExpression) != nil)
        #expect(result.standardOutput.contains("fastfood fwd+bwd"))
        #expect(!result.standardOutput.contains("train "))
        #expect(!result.standardOutput.contains("expand "))

        let bad = try CommandRunner.run(["bench", "--only", "everything"], in: directory.url)
        #expect(bad.status == 64)
    }
}
