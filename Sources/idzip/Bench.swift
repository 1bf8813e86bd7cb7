import ArgumentParser
import Foundation
import IdzipCore
import IdzipTraining

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure projection, training and expansion speed on this machine.",
        discussion: """
            Like `zstd -b` or `openssl speed`: the paper's Table S4 (one P v plus P^T g, d = D/100, \
            for D = 100k, 1M and 60M), training throughput on MNIST-shaped random data (batch 128), \
            and expansion of a 199,210- and a 354M-parameter Fastfood model (d = 1000, streamed into \
            SHA-256). Each figure is the median of --repetitions runs after one warm-up. Figures \
            that would take minutes or too much memory are printed as "skipped" with the reason.

            First it measures this machine's ceilings once (STREAM copy and triad bandwidth, OpenBLAS \
            sgemm GFLOP/s, SHA-256 GB/s, Philox + Box-Muller normals/s) and gives each figure its \
            lower bound from them (a roofline) and the fraction of that bound it achieves.

            --scaling measures how the costs grow instead: projection time against D (d = D/100) and \
            against d (fixed D) for each kind, expansion time and peak memory against D (1M to 1B \
            parameters, streamed), training throughput against d; it prints each curve's fitted \
            exponent (log-log least squares) and, with --out DIR, writes DIR/scaling.json and \
            DIR/scaling.svg. With --quick it takes seconds.
            """
    )

    @Option(help: "Threads (default: IDZIP_THREADS or the machine's processors).")
    var threads: Int?

    @Option(help: "Timed runs per figure, after one warm-up; the median is reported.")
    var repetitions = 3

    @Flag(help: "Small sizes (seconds, for tests).")
    var quick = false

    @Option(help: "Measure only this group: projection, training, expand or ceiling.")
    var only: BenchmarkRecord.Group?

    @Option(help: "Measure only the figures whose name contains this text (e.g. \"FC 784-200-200-10 fastfood\").")
    var match: String?

    @Flag(help: "Print a JSON list of records instead of a table.")
    var json = false

    @Flag(help: "Measure how costs grow with D and d (curves and fitted exponents) instead of the figures.")
    var scaling = false

    @Option(name: .customLong("out"), help: "With --scaling: directory that receives scaling.json and scaling.svg (created).", completion: .directory)
    var directory: String?

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        guard repetitions >= 1, repetitions <= 1000 else { throw ValidationError("--repetitions must be between 1 and 1000") }
        if directory != nil, !scaling { throw ValidationError("--out is for --scaling") }
        if scaling, only != nil || match != nil { throw ValidationError("--only and --match do not apply to --scaling") }
    }

    func run() throws {
        if scaling { return try runScaling() }
        let options = BenchmarkOptions(
            threads: threads ?? ParallelLoop.defaultThreads, repetitions: repetitions, quick: quick,
            groups: only.map { [$0] } ?? BenchmarkRecord.Group.allCases, nameFilter: match)
        if !json {
            let date = ISO8601DateFormatter().string(from: Date())
            print("idzip \(IdzipVersion.current) bench\(quick ? " --quick" : ""): \(counted(options.threads, "thread")) of \(ProcessInfo.processInfo.activeProcessorCount) on this machine, median of \(repetitions) after a warm-up, \(date)")
            print(Self.header)
        }
        let records: [BenchmarkRecord]
        do {
            records = try Benchmark.run(options) { record in
                if !json {
                    print(Self.row(record))
                    fflush(nil)
                }
            }
        } catch let error as CustomStringConvertible {
            throw CommandFailure("bench: \(error.description)")
        }
        if json { try printJSON(records) }
    }

    /// `--scaling`: the curves, printed as they finish, then written to --out.
    func runScaling() throws {
        if let directory { try OutputCheck.directory(directory, role: "--out", inputs: []) }
        let threads = threads ?? ParallelLoop.defaultThreads
        if !json {
            print("idzip \(IdzipVersion.current) bench --scaling\(quick ? " --quick" : ""): \(counted(threads, "thread")) of \(ProcessInfo.processInfo.activeProcessorCount) on this machine, one run per point after a warm-up (expansion: one run)")
        }
        let report: ScalingReport
        do {
            report = try Scaling.run(threads: threads, quick: quick) { curve in
                guard !json else { return }
                let exponent = curve.exponent.map { String(format: "%.2f", $0) } ?? "-"
                print("\(curve.name): exponent \(exponent) (model: \(curve.model))")
                for point in curve.points {
                    let y = curve.yLabel == "seconds" ? Self.seconds(point.y)
                        : curve.yLabel == "bytes" ? String(format: "%.0f MB", point.y / 1e6) : "\(grouped(Int(point.y.rounded()))) \(curve.yLabel)"
                    print("  \(curve.xLabel) = \(grouped(Int(point.x)))".padding(toLength: 22, withPad: " ", startingAt: 0) + y)
                }
                fflush(nil)
            }
        } catch let error as CustomStringConvertible {
            throw CommandFailure("bench: \(error.description)")
        }
        if let directory {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(report)
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let url = URL(fileURLWithPath: directory)
                try AtomicFileWriter.write(Array(data) + [10], to: url.appendingPathComponent("scaling.json"))
                try AtomicFileWriter.write(Array(Scaling.svg(report).utf8), to: url.appendingPathComponent("scaling.svg"))
            } catch let error as CustomStringConvertible {
                throw CommandFailure("bench: \(error.description)")
            }
            if !json { printLine("wrote \(directory)/scaling.json and \(directory)/scaling.svg") }
        }
        if json { try printJSON(report) }
    }

    static let header = pad("figure", 36) + pad("D", 13, right: true) + pad("d", 10, right: true) + "  " + pad("result", 22) + "details"

    static func row(_ r: BenchmarkRecord) -> String {
        let name = r.projection.map { r.group == .training && !r.name.contains($0) ? "\(r.name) \($0)" : r.name } ?? r.name
        let start = pad(name, 36) + pad(grouped(r.D), 13, right: true) + pad(grouped(r.d), 10, right: true) + "  "
        if let skipped = r.skipped { return start + "skipped: \(skipped)" }
        var details: [String] = []
        let result: String
        switch r.group {
        case .ceiling:
            return pad(name, 36) + pad("", 25) + pad(String(format: "%.2f %@", r.rate ?? 0, r.unit ?? ""), 22) + (r.note ?? "")
        case .projection:
            result = seconds(r.seconds ?? 0)
            if let build = r.buildSeconds { details.append("build \(seconds(build))") }
        case .training:
            result = "\(grouped(Int((r.examplesPerSecond ?? 0).rounded()))) ex/s"
            details.append("\(r.steps ?? 0) steps of \(r.batchSize ?? 0)")
            if let build = r.buildSeconds { details.append("projection built in \(seconds(build))") }
        case .expand:
            result = seconds(r.seconds ?? 0)
            if let rate = r.outputGBPerSecond { details.append(String(format: "%.2f GB/s of float32", rate)) }
            if let peak = r.peakRSSBytes {
                details.append(String(format: "peak RSS %.0f MB", Double(peak) / 1e6)
                    + (r.rssBeforeBytes.map { String(format: " (%.0f MB before)", Double($0) / 1e6) } ?? ""))
            }
            details.append("hashed, not written")
        }
        if let bound = r.boundSeconds, let fraction = r.boundFraction {
            details.append("bound \(seconds(bound)) (\(r.boundBy ?? "")), \(String(format: "%.0f%%", fraction * 100)) of it")
        }
        return start + pad(result, 22) + details.joined(separator: ", ")
    }

    static func seconds(_ value: Double) -> String {
        value < 0.01 ? String(format: "%.5f s", value) : value < 10 ? String(format: "%.4f s", value) : String(format: "%.2f s", value)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let space = String(repeating: " ", count: max(0, width - text.count))
        return right ? space + text : text + space
    }
}

extension BenchmarkRecord.Group: ExpressibleByArgument {}
