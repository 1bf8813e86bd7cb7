import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

struct BenchCommandTests {
    @Test func quickJSONRecords() throws {
        let directory = try TemporaryDirectory()
        let result = try CommandRunner.run(["bench", "--quick", "--json", "--repetitions", "1", "--threads", "2"], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
        #expect(records.count == 23)
        for record in records {
            let name = try #require(record["name"] as? String)
            #expect(!name.isEmpty)
            if record["group"] as? String == "ceiling" {
                // The machine's ceilings: a positive rate with its unit.
                #expect((record["rate"] as? Double ?? 0) > 0, "\(name)")
                #expect(!(record["unit"] as? String ?? "").isEmpty, "\(name)")
                continue
            }
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
            // The roofline: every measured figure has its lower bound and the achieved fraction.
            let bound = record["bound_seconds"] as? Double ?? 0
            #expect(bound > 0 && bound.isFinite, "\(name): bound_seconds")
            #expect(["memory", "sgemm", "sha256", "normals"].contains(record["bound_by"] as? String ?? ""), "\(name): bound_by")
            #expect(!(record["bound_model"] as? String ?? "").isEmpty, "\(name): bound_model")
            let fraction = record["bound_fraction"] as? Double ?? 0
            #expect(fraction > 0 && abs(fraction - bound / (seconds ?? 1)) < 1e-9 * max(1, fraction), "\(name): bound_fraction")
        }
        let groups = Dictionary(grouping: records) { $0["group"] as? String ?? "" }
        #expect(groups["projection"]?.count == 6)
        #expect(groups["training"]?.count == 10)
        #expect(groups["expand"]?.count == 2)
        #expect(Set(groups["ceiling"]?.compactMap { $0["name"] as? String } ?? []) == [
            "ceiling memory copy", "ceiling memory triad", "ceiling sgemm", "ceiling sha256", "ceiling philox normals",
        ])
        // Direct training has no projection; subspace training and expansion name theirs.
        let direct = try #require(records.first { ($0["name"] as? String) == "train FC 784-200-200-10 direct" })
        #expect(direct["projection"] is NSNull)
        #expect((direct["examples_per_second"] as? Double ?? 0) > 0)
        // Training figures carry the CPU seconds of an epoch; other groups do not.
        #expect(groups["training"]?.allSatisfy { ($0["cpu_seconds"] as? Double ?? 0) > 0 } == true)
        #expect(groups["projection"]?.allSatisfy { $0["cpu_seconds"] == nil } == true)
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
        // --out belongs to --scaling, and --scaling takes no figure filters.
        #expect(try CommandRunner.run(["bench", "--out", "x"], in: directory.url).status == 64)
        #expect(try CommandRunner.run(["bench", "--scaling", "--only", "projection"], in: directory.url).status == 64)
    }

    /// `bench --scaling --quick --out DIR`: the JSON and SVG are written and well-formed
    /// (the times themselves are not checked: speed is not a test).
    @Test func scalingQuickWritesCurves() throws {
        let directory = try TemporaryDirectory()
        let out = directory.url.appendingPathComponent("curves/new")
        let result = try CommandRunner.run(
            ["bench", "--scaling", "--quick", "--threads", "2", "--out", out.path], in: directory.url)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("exponent"))
        let json = try Data(contentsOf: out.appendingPathComponent("scaling.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(report["threads"] as? Int == 2)
        #expect(report["quick"] as? Bool == true)
        let curves = try #require(report["curves"] as? [[String: Any]])
        // dense, sparse and Fastfood against D and against d; expansion time and memory; training (2 kinds).
        #expect(curves.count == 10)
        for curve in curves {
            let name = try #require(curve["name"] as? String)
            let points = try #require(curve["points"] as? [[String: Double]], "\(name)")
            #expect(points.count >= 2, "\(name)")
            #expect(points.allSatisfy { ($0["x"] ?? 0) > 0 && ($0["y"] ?? 0) > 0 && ($0["y"] ?? 0).isFinite }, "\(name)")
            #expect((curve["exponent"] as? Double)?.isFinite == true, "\(name): a fitted exponent")
            #expect(!(curve["model"] as? String ?? "").isEmpty, "\(name)")
        }
        let names = curves.compactMap { $0["name"] as? String }
        #expect(names.contains { $0.hasPrefix("expansion peak RSS vs D") })
        #expect(names.contains { $0.hasPrefix("fastfood fwd+bwd vs D") })
        let svg = try String(contentsOf: out.appendingPathComponent("scaling.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 10, "one line per curve")
        // Well-formed XML.
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    }
}
