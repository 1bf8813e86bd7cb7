import Foundation
import IdzipCore

/// One measured curve of `idzip bench --scaling`: y against x, and the exponent of the
/// log-log least-squares line through its points (y ~ x^exponent).
public struct ScalingCurve: Sendable, Encodable {
    public struct Point: Sendable, Encodable {
        public var x: Double
        public var y: Double
    }

    /// e.g. "fastfood fwd+bwd vs D (d = D/100)".
    public var name: String
    /// Panel of the plot the curve belongs to.
    public var panel: String
    public var xLabel: String
    public var yLabel: String
    public var points: [Point]
    /// Slope of log y against log x (least squares); nil with fewer than two points.
    public var exponent: Double?
    /// The cost model the exponent is compared with, in words (e.g. "D log d").
    public var model: String

    enum CodingKeys: String, CodingKey {
        case name, panel, x_label, y_label, points, exponent, model
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(panel, forKey: .panel)
        try c.encode(xLabel, forKey: .x_label)
        try c.encode(yLabel, forKey: .y_label)
        try c.encode(points, forKey: .points)
        try c.encodeIfPresent(exponent, forKey: .exponent)
        try c.encode(model, forKey: .model)
    }
}

/// The curves of one `idzip bench --scaling` run.
public struct ScalingReport: Sendable, Encodable {
    public var threads: Int
    public var quick: Bool
    public var date: String
    public var curves: [ScalingCurve]
}

/// How cost grows with size (issue 16): projection time against D at fixed d/D and
/// against d at fixed D, expansion time and peak memory against D (streamed, so memory
/// stays bounded), training throughput against d. Each point is one timed run after a
/// warm-up (expansion: one run, no warm-up), so a curve costs seconds, not minutes.
public enum Scaling {
    /// The sizes one run measures.
    struct Sizes {
        var denseD: [Int], sparseD: [Int], fastfoodD: [Int]
        /// (D, d values) for the curves against d.
        var denseByD: (Int, [Int]), sparseByD: (Int, [Int]), fastfoodByD: (Int, [Int])
        var expansionD: [Int]
        var trainingD: [Int]
        var trainingSteps: Int

        static func make(quick: Bool) -> Sizes {
            quick
                ? Sizes(
                    denseD: [2_000, 4_000], sparseD: [2_000, 8_000], fastfoodD: [2_000, 8_000],
                    denseByD: (4_000, [10, 40]), sparseByD: (8_000, [20, 80]), fastfoodByD: (8_000, [20, 80]),
                    expansionD: [10_000, 40_000], trainingD: [50, 200], trainingSteps: 1)
                : Sizes(
                    denseD: [10_000, 20_000, 40_000, 80_000, 160_000],
                    sparseD: [10_000, 31_623, 100_000, 316_228, 1_000_000],
                    fastfoodD: [10_000, 100_000, 1_000_000, 10_000_000, 60_000_000],
                    denseByD: (100_000, [100, 250, 500, 1_000, 2_000]),
                    sparseByD: (1_000_000, [1_000, 3_000, 10_000, 30_000]),
                    fastfoodByD: (1_000_000, [1_000, 10_000, 100_000, 1_000_000]),
                    expansionD: [1_000_000, 10_000_000, 100_000_000, 1_000_000_000],
                    trainingD: [100, 300, 1_000, 3_000, 10_000, 30_000], trainingSteps: 50)
        }
    }

    public static func run(
        threads: Int, quick: Bool, onCurve: (ScalingCurve) -> Void = { _ in }
    ) throws -> ScalingReport {
        let sizes = Sizes.make(quick: quick)
        var curves: [ScalingCurve] = []
        func add(_ curve: ScalingCurve) {
            curves.append(curve)
            onCurve(curve)
        }
        let models: [ProjectionKind: (byD: String, byd: String)] = [
            .dense: ("D^2 (D d, d = D/100)", "d (D d)"),
            .sparse: ("D^1.5 (d sqrt(D), d = D/100)", "d (d sqrt(D))"),
            .fastfood: ("D log d (about D^1.1 here)", "log d (D log2 L, L = 2^ceil(log2 d))"),
        ]
        for (kind, sizesD, byD) in [
            (ProjectionKind.dense, sizes.denseD, sizes.denseByD), (.sparse, sizes.sparseD, sizes.sparseByD),
            (.fastfood, sizes.fastfoodD, sizes.fastfoodByD),
        ] {
            let overD = sizesD.map { D in Point(x: Double(D), y: projectionSeconds(kind, D: D, d: max(1, D / 100), threads: threads)) }
            add(curve("\(kind.name) fwd+bwd vs D (d = D/100)", panel: "projection fwd+bwd vs D (d = D/100)",
                x: "D", y: "seconds", overD, model: models[kind]!.byD))
            let overd = byD.1.map { d in Point(x: Double(d), y: projectionSeconds(kind, D: byD.0, d: d, threads: threads)) }
            add(curve("\(kind.name) fwd+bwd vs d (D = \(byD.0))", panel: "projection fwd+bwd vs d (fixed D)",
                x: "d", y: "seconds", overd, model: models[kind]!.byd))
        }

        // Expansion, streamed into SHA-256: FC 784-w-w-10 models sized to each D.
        var times: [Point] = [], memory: [Point] = []
        for target in sizes.expansionD {
            let width = fullyConnectedWidth(parameters: target)
            let architecture = Architecture.fullyConnected(inputShape: [784], widths: [width, width, 10])
            let D = try architecture.parameterCount()
            let model = IdzModel(
                architecture: architecture, theta0Seed: 1, projection: ProjectionSpec(kind: .fastfood, seed: 2, dimension: 1000),
                theta: StoredTheta.encode(Benchmark.randomVector(1000, seed: 6).map { $0 * 0.1 }, as: .float32),
                preprocessing: Preprocessing(inputScale: 1.0 / 255, mean: [0], standardDeviation: [1]),
                labels: [], metadata: [], weightsSHA256: [UInt8](repeating: 0, count: 32))
            let before = PeakMemory.reset()
            let seconds = try Benchmark.time { _ = try ModelExpansion.digest(of: model, threads: threads) }
            times.append(Point(x: Double(D), y: seconds))
            memory.append(Point(x: Double(D), y: Double(PeakMemory.peakBytes() ?? before)))
        }
        add(curve("expansion time vs D (Fastfood d = 1000, hashed)", panel: "expansion vs D", x: "D", y: "seconds", times,
            model: "D (streamed: generation and SHA-256 are linear)"))
        add(curve("expansion peak RSS vs D", panel: "expansion peak memory vs D", x: "D", y: "bytes", memory,
            model: "constant (chunk buffers; the process's own RSS included)"))

        // Training throughput against d: FC 784-200-200-10 in Fastfood and sparse subspaces.
        let fc = Architecture.fullyConnected(inputShape: [1, 28, 28], widths: [200, 200, 10])
        let D = try fc.parameterCount()
        let batch = 128
        let data = try Benchmark.randomMNIST(count: sizes.trainingSteps * batch)
        for kind in [ProjectionKind.fastfood, .sparse] {
            var rates: [Point] = []
            for d in sizes.trainingD where d <= D {
                let space = ParameterSpace.subspace(
                    trainingProjection(kind: kind, rowCount: D, columnCount: d, seed: 1, threads: threads))
                let configuration = TrainingConfiguration(
                    epochs: 1, batchSize: batch, seed: 1, threads: threads, evaluationBatchSize: 500, evaluateEveryEpoch: false)
                var rate = 0.0
                for _ in 0..<2 {  // the first is the warm-up
                    let trainer = try Trainer(architecture: fc, theta0Seed: 1, space: space, configuration: configuration)
                    rate = try trainer.train(on: data).last?.examplesPerSecond ?? 0
                }
                rates.append(Point(x: Double(d), y: rate))
            }
            add(curve("train FC 784-200-200-10 \(kind.name) vs d", panel: "training throughput vs d (FC 784-200-200-10)",
                x: "d", y: "examples/s", rates,
                model: kind == .fastfood ? "about flat (the network's cost dominates; D log d)" : "falls as d sqrt(D) grows"))
        }
        return ScalingReport(
            threads: threads, quick: quick, date: ISO8601DateFormatter().string(from: Date()), curves: curves)
    }

    typealias Point = ScalingCurve.Point

    static func curve(_ name: String, panel: String, x: String, y: String, _ points: [Point], model: String) -> ScalingCurve {
        ScalingCurve(name: name, panel: panel, xLabel: x, yLabel: y, points: points, exponent: exponent(points), model: model)
    }

    /// One P v plus P^T g after a warm-up, tables built beforehand (as `idzip bench`).
    static func projectionSeconds(_ kind: ProjectionKind, D: Int, d: Int, threads: Int) -> Double {
        let projection = trainingProjection(kind: kind, rowCount: D, columnCount: d, seed: 1, threads: threads)
        let v = Benchmark.randomVector(d, seed: 3), g = Benchmark.randomVector(D, seed: 4)
        var output = [Float](repeating: 0, count: D), transposed = [Float](repeating: 0, count: d)
        return Benchmark.median(repetitions: 1) {
            v.withUnsafeBufferPointer { v in output.withUnsafeMutableBufferPointer { projection.project(v, rows: 0..<D, into: $0) } }
            g.withUnsafeBufferPointer { g in transposed.withUnsafeMutableBufferPointer { projection.projectTranspose(g, into: $0) } }
        }
    }

    /// The width w of FC 784-w-w-10 whose parameter count w^2 + 796 w + 10 is closest to `parameters`.
    static func fullyConnectedWidth(parameters: Int) -> Int {
        let w = (-796 + (796.0 * 796 + 4 * Double(max(0, parameters - 10))).squareRoot()) / 2
        return max(1, Int(w.rounded()))
    }

    /// The least-squares slope of log y against log x over the points with positive x and y.
    public static func exponent(_ points: [ScalingCurve.Point]) -> Double? {
        let logs = points.filter { $0.x > 0 && $0.y > 0 }.map { (log($0.x), log($0.y)) }
        guard logs.count >= 2 else { return nil }
        let n = Double(logs.count)
        let meanX = logs.map(\.0).reduce(0, +) / n, meanY = logs.map(\.1).reduce(0, +) / n
        let sxx = logs.map { ($0.0 - meanX) * ($0.0 - meanX) }.reduce(0, +)
        guard sxx > 0 else { return nil }
        return logs.map { ($0.0 - meanX) * ($0.1 - meanY) }.reduce(0, +) / sxx
    }

    // MARK: Plot

    /// The curves as one SVG: a log-log panel per `panel`, a line per curve, the legend
    /// giving each curve's fitted exponent.
    public static func svg(_ report: ScalingReport) -> String {
        var panels: [String] = []
        for curve in report.curves where !panels.contains(curve.panel) { panels.append(curve.panel) }
        let panelWidth = 460.0, panelHeight = 300.0, columns = 2
        let rows = (panels.count + columns - 1) / columns
        let width = Double(columns) * panelWidth, height = Double(rows) * panelHeight + 30
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"11\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"10\" y=\"18\" font-size=\"13\">idzip bench --scaling\(report.quick ? " --quick" : ""): \(report.threads) threads, \(escaped(report.date)) (log-log; exponent = least-squares slope)</text>",
        ]
        for (index, panel) in panels.enumerated() {
            let originX = Double(index % columns) * panelWidth, originY = 30 + Double(index / columns) * panelHeight
            let left = originX + 60, right = originX + panelWidth - 15, top = originY + 22, bottom = originY + panelHeight - 95
            let curves = report.curves.filter { $0.panel == panel }
            let points = curves.flatMap(\.points).filter { $0.x > 0 && $0.y > 0 }
            guard !points.isEmpty else { continue }
            let lowX = floor(log10(points.map(\.x).min()!)), highX = max(lowX + 1, ceil(log10(points.map(\.x).max()!)))
            let lowY = floor(log10(points.map(\.y).min()!)), highY = max(lowY + 1, ceil(log10(points.map(\.y).max()!)))
            func x(_ value: Double) -> Double { left + (log10(value) - lowX) / (highX - lowX) * (right - left) }
            func y(_ value: Double) -> Double { bottom - (log10(value) - lowY) / (highY - lowY) * (bottom - top) }
            parts.append("<text x=\"\(f(left))\" y=\"\(f(originY + 14))\" font-size=\"12\" font-weight=\"bold\">\(escaped(panel))</text>")
            parts.append("<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left))\" height=\"\(f(bottom - top))\" fill=\"none\" stroke=\"#888\"/>")
            for decade in stride(from: lowX, through: highX, by: 1) {
                let px = x(pow(10, decade))
                parts.append("<line x1=\"\(f(px))\" y1=\"\(f(top))\" x2=\"\(f(px))\" y2=\"\(f(bottom))\" stroke=\"#eee\"/>")
                parts.append("<text x=\"\(f(px))\" y=\"\(f(bottom + 13))\" text-anchor=\"middle\">1e\(Int(decade))</text>")
            }
            for decade in stride(from: lowY, through: highY, by: 1) {
                let py = y(pow(10, decade))
                parts.append("<line x1=\"\(f(left))\" y1=\"\(f(py))\" x2=\"\(f(right))\" y2=\"\(f(py))\" stroke=\"#eee\"/>")
                parts.append("<text x=\"\(f(left - 4))\" y=\"\(f(py + 4))\" text-anchor=\"end\">1e\(Int(decade))</text>")
            }
            let first = curves.first!
            parts.append("<text x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 27))\" text-anchor=\"middle\">\(escaped(first.xLabel))</text>")
            parts.append("<text x=\"\(f(originX + 12))\" y=\"\(f((top + bottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 \(f(originX + 12)) \(f((top + bottom) / 2)))\">\(escaped(first.yLabel))</text>")
            for (number, curve) in curves.enumerated() {
                let colour = colours[number % colours.count]
                let shown = curve.points.filter { $0.x > 0 && $0.y > 0 }
                parts.append("<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(shown.map { "\(f(x($0.x))),\(f(y($0.y)))" }.joined(separator: " "))\"/>")
                for point in shown {
                    parts.append("<circle cx=\"\(f(x(point.x)))\" cy=\"\(f(y(point.y)))\" r=\"2.5\" fill=\"\(colour)\"/>")
                }
                let exponent = curve.exponent.map { String(format: "exponent %.2f", $0) } ?? "no fit"
                parts.append("<text x=\"\(f(left))\" y=\"\(f(bottom + 43 + Double(number) * 13))\" fill=\"\(colour)\">\(escaped(curve.name)): \(exponent) (model: \(escaped(curve.model)))</text>")
            }
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }
}

/// The process's peak resident memory, resettable on Linux (/proc/self/clear_refs "5"
/// resets VmHWM), so that each expansion's peak is its own.
enum PeakMemory {
    /// Resets the high-water mark where the system allows; returns the current RSS.
    static func reset() -> Int {
        let descriptor = open("/proc/self/clear_refs", O_WRONLY)
        if descriptor >= 0 {
            _ = write(descriptor, "5", 1)
            close(descriptor)
        }
        return Benchmark.currentRSSBytes() ?? Benchmark.peakRSSBytes()
    }

    /// VmHWM of /proc/self/status, else getrusage's ru_maxrss.
    static func peakBytes() -> Int? {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        {
            return kilobytes * 1024
        }
        return Benchmark.peakRSSBytes()
    }
}
