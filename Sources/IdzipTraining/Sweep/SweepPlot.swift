import Foundation

/// An SVG chart of a sweep, as the paper's Figure 2: the performance of every run and the
/// seed means against d on a logarithmic axis, with the level (threshold x baseline), the
/// baseline and the estimate (d_int90 at threshold 0.9, d_int95 at 0.95, ...) marked.
/// Self-contained, no scripts or external resources.
///
/// Two panels share the d axis: all runs (performance from 0), and the same runs zoomed to
/// the band around the level, where a high threshold (0.95 or more) is decided; runs
/// below that band sit on its lower edge as open down-triangles. Runs that stopped early
/// are drawn as triangles (passed: up, cannot reach: down), runs trained to the end as
/// dots. Every label sits outside the data in a fixed place (axis ticks, a legend), and
/// the d labels are thinned so that none overlap; the ends of both axes are always labelled.
public enum SweepPlot {
    /// Layout in SVG user units.
    static let width = 800.0, height = 640.0
    static let left = 72.0, plotRight = 580.0, legendLeft = 600.0
    static let panelTops = [64.0, 372.0], panelHeight = 220.0
    /// Font size of every label but the title (14).
    static let fontSize = 12.0

    /// Width of `text` at `size` in sans-serif, an upper estimate (0.62 em per character).
    static func textWidth(_ text: String, size: Double = fontSize) -> Double {
        Double(text.count) * size * 0.62
    }

    /// - Parameters:
    ///   - records: the sweep's runs; a direct run (`isDirect`) means the baseline is local.
    ///   - estimate: the means, the baseline, the threshold and the estimate.
    ///   - title: the chart's title.
    public static func svg(records: [SweepRecord], estimate: IntrinsicDimensionEstimate, title: String) -> String {
        let runs = records.filter { !$0.isDirect }
        let local = records.contains { $0.isDirect }
        let level = estimate.threshold * estimate.baseline
        let dimensions = Set(runs.map(\.d)).sorted()
        let escape = MarkupText.escaped
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        // The d axis: log scale over the runs' d, 4% inset at both ends.
        let low = log10(Double(dimensions.first ?? 1)), high = log10(Double(dimensions.last ?? 10))
        let plotWidth = plotRight - left
        func x(_ d: Int) -> Double {
            guard high > low else { return left + plotWidth / 2 }
            return left + plotWidth * (0.04 + 0.92 * (log10(Double(d)) - low) / (high - low))
        }

        // The performance axes: all runs from 0, and the band around the level.
        let top = max(level, estimate.baseline, runs.map(\.performance).max() ?? 0)
        let full = Axis.covering(0, top)
        let gap = max(top - level, 0.01 * max(level, 1e-6))
        let zoom = Axis.covering(max(0, level - 2 * gap), top)

        var parts: [String] = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"\(Int(fontSize))\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text class=\"title\" x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>",
        ]
        let captions = ["all runs", "zoomed to the level: performance \(zoom.label(zoom.low)) to \(zoom.label(zoom.high))"]
        for (panel, axis) in [full, zoom].enumerated() {
            let panelTop = panelTops[panel], bottom = panelTop + panelHeight
            func y(_ value: Double) -> Double { bottom - (value - axis.low) / (axis.high - axis.low) * panelHeight }
            let clip = "panel\(panel)"
            parts.append("<clipPath id=\"\(clip)\"><rect x=\"\(f(left))\" y=\"\(f(panelTop))\" width=\"\(f(plotWidth))\" height=\"\(f(panelHeight))\"/></clipPath>")
            parts.append("<text class=\"caption\" x=\"\(f(left))\" y=\"\(f(panelTop - 8))\" text-anchor=\"start\">\(escape(captions[panel]))</text>")
            // Left and bottom axes only: a line at the top edge (a baseline of 1.0) stays visible.
            parts.append("<polyline points=\"\(f(left)),\(f(panelTop)) \(f(left)),\(f(bottom)) \(f(plotRight)),\(f(bottom))\" fill=\"none\" stroke=\"black\"/>")
            // Performance ticks, both ends included, with light grid lines.
            for value in axis.ticks {
                parts.append("<line x1=\"\(f(left))\" y1=\"\(f(y(value)))\" x2=\"\(f(plotRight))\" y2=\"\(f(y(value)))\" stroke=\"#eee\"/>")
                parts.append("<line x1=\"\(f(left - 4))\" y1=\"\(f(y(value)))\" x2=\"\(f(left))\" y2=\"\(f(y(value)))\" stroke=\"black\"/>")
                parts.append("<text class=\"ytick\" x=\"\(f(left - 7))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(axis.label(value))</text>")
            }
            parts.append("<text class=\"ylabel\" x=\"18\" y=\"\(f(panelTop + panelHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(f(panelTop + panelHeight / 2)))\">performance</text>")
            // d ticks: every measured d, thinned so that no labels overlap; the ends always.
            for d in dimensions {
                parts.append("<line x1=\"\(f(x(d)))\" y1=\"\(f(bottom))\" x2=\"\(f(x(d)))\" y2=\"\(f(bottom + 4))\" stroke=\"black\"/>")
            }
            for d in labelledDimensions(dimensions, x: x) {
                parts.append("<text class=\"xtick\" x=\"\(f(x(d)))\" y=\"\(f(bottom + 17))\" text-anchor=\"middle\">\(d)</text>")
            }
            // Level, baseline and the estimate.
            parts.append("<g clip-path=\"url(#\(clip))\">")
            parts.append("<line class=\"baseline\" x1=\"\(f(left))\" y1=\"\(f(y(estimate.baseline)))\" x2=\"\(f(plotRight))\" y2=\"\(f(y(estimate.baseline)))\" stroke=\"#777\" stroke-width=\"1.5\" stroke-dasharray=\"1 3\"/>")
            parts.append("<line class=\"level\" x1=\"\(f(left))\" y1=\"\(f(y(level)))\" x2=\"\(f(plotRight))\" y2=\"\(f(y(level)))\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>")
            if let dInt = estimate.dInt90 {
                parts.append("<line class=\"dint\" x1=\"\(f(x(dInt)))\" y1=\"\(f(panelTop))\" x2=\"\(f(x(dInt)))\" y2=\"\(f(bottom))\" stroke=\"#070\" stroke-dasharray=\"2 3\"/>")
            }
            let path = estimate.means.map { "\(f(x($0.d))),\(f(y($0.mean)))" }.joined(separator: " ")
            if !path.isEmpty { parts.append("<polyline class=\"mean\" points=\"\(path)\" fill=\"none\" stroke=\"#036\" stroke-width=\"2\"/>") }
            parts.append("</g>")
            for run in runs {
                let below = run.performance < axis.low
                let marker = Marker(run.stopped, below: below)
                let cy = below ? bottom - 4 : y(min(run.performance, axis.high))
                let stopped = run.stopped.map { $0 == .passed ? ", stopped early: passed" : ", stopped early: cannot reach" } ?? ""
                parts.append(marker.svg(x: x(run.d), y: cy, panel: panel,
                    title: "d \(run.d), seed \(run.seed): \(run.performance), \(counted(run.epochs, "epoch"))\(stopped)"))
            }
        }
        parts.append("<text class=\"xlabel\" x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">subspace dimension d (log scale)</text>")

        // The legend: one entry per row, so that no two labels meet.
        let name = estimate.name
        var legend: [(symbol: String, text: String)] = [
            ("<line x1=\"0\" y1=\"0\" x2=\"20\" y2=\"0\" stroke=\"#036\" stroke-width=\"2\"/>", "seed mean"),
            (Marker.complete.svg(x: 10, y: 0, panel: nil, title: nil), "run, all epochs"),
        ]
        if runs.contains(where: { $0.stopped == .passed }) {
            legend.append((Marker.passed.svg(x: 10, y: 0, panel: nil, title: nil), "stopped early: passed"))
        }
        if runs.contains(where: { $0.stopped == .cannotReach }) {
            legend.append((Marker.cannotReach.svg(x: 10, y: 0, panel: nil, title: nil), "stopped: cannot reach"))
        }
        if runs.contains(where: { $0.performance < zoom.low }) {
            legend.append((Marker.below.svg(x: 10, y: 0, panel: nil, title: nil), "below the zoomed range"))
        }
        legend.append(("<line x1=\"0\" y1=\"0\" x2=\"20\" y2=\"0\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>",
            "level \(number(level))"))
        legend.append(("", "= \(number(estimate.threshold)) x baseline"))
        legend.append(("<line x1=\"0\" y1=\"0\" x2=\"20\" y2=\"0\" stroke=\"#777\" stroke-width=\"1.5\" stroke-dasharray=\"1 3\"/>",
            "baseline \(number(estimate.baseline))"))
        legend.append(("", local ? "(local: trained directly)" : "(global)"))
        legend.append(("<line x1=\"10\" y1=\"-7\" x2=\"10\" y2=\"7\" stroke=\"#070\" stroke-dasharray=\"2 3\"/>",
            estimate.dInt90.map { "\(name) = \(grouped($0))" } ?? "\(name) not reached"))
        for (index, entry) in legend.enumerated() {
            let rowY = panelTops[0] + 10 + Double(index) * 22
            if !entry.symbol.isEmpty { parts.append("<g transform=\"translate(\(f(legendLeft)) \(f(rowY)))\">\(entry.symbol)</g>") }
            parts.append("<text class=\"legend\" x=\"\(f(legendLeft + 28))\" y=\"\(f(rowY + 4))\" text-anchor=\"start\">\(escape(entry.text))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }

    /// The d values that get a label, left to right: the first and the last always, the
    /// others where their label keeps a gap of 6 units from its neighbours.
    static func labelledDimensions(_ dimensions: [Int], x: (Int) -> Double) -> [Int] {
        guard let first = dimensions.first, let last = dimensions.last else { return [] }
        func span(_ d: Int) -> ClosedRange<Double> {
            let half = textWidth(String(d)) / 2 + 3
            return (x(d) - half)...(x(d) + half)
        }
        var chosen = [first]
        for d in dimensions.dropFirst().dropLast() where span(d).lowerBound > span(chosen.last!).upperBound
            && span(d).upperBound < span(last).lowerBound {
            chosen.append(d)
        }
        if last != first { chosen.append(last) }
        return chosen
    }

    /// A number as the legend shows it: up to 4 significant digits.
    static func number(_ value: Double) -> String { String(format: "%.4g", value) }

    /// A performance axis from `low` to `high`, both multiples of `step`, with every step a tick.
    struct Axis {
        var low: Double
        var high: Double
        var step: Double

        /// The axis that covers `low...high` with 3 to 8 ticks at a round step.
        static func covering(_ low: Double, _ high: Double) -> Axis {
            let span = max(high - low, 1e-6)
            let raw = span / 5
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
            var from = (low / step).rounded(.down) * step
            var to = (high / step).rounded(.up) * step
            if to - from < step { to = from + step }
            if from < 0 { from = 0 }
            return Axis(low: from, high: to, step: step)
        }

        var ticks: [Double] {
            let count = Int(((high - low) / step).rounded())
            return (0...count).map { low + Double($0) * step }
        }

        /// A tick's label, with as many decimals as the step needs.
        func label(_ value: Double) -> String {
            let decimals = (0...6).first { abs(step * pow(10, Double($0)) - (step * pow(10, Double($0))).rounded()) < 1e-6 } ?? 6
            return String(format: "%.\(decimals)f", value)
        }
    }

    /// How a run is drawn.
    enum Marker {
        case complete, passed, cannotReach, below

        init(_ stopped: EarlyStopping.Outcome?, below: Bool) {
            if below {
                self = .below
            } else {
                switch stopped {
                case nil: self = .complete
                case .passed: self = .passed
                case .cannotReach: self = .cannotReach
                }
            }
        }

        func svg(x: Double, y: Double, panel: Int?, title: String?) -> String {
            func f(_ value: Double) -> String { String(format: "%.1f", value) }
            let kind: String
            let shape: String
            switch self {
            case .complete:
                kind = "complete"
                shape = "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"3.5\" fill=\"#369\" fill-opacity=\"0.7\""
            case .passed:
                kind = "passed"
                shape = "<path d=\"M\(f(x)),\(f(y - 5)) L\(f(x + 4.5)),\(f(y + 3.5)) L\(f(x - 4.5)),\(f(y + 3.5)) Z\" fill=\"none\" stroke=\"#070\" stroke-width=\"1.5\""
            case .cannotReach:
                kind = "cannot-reach"
                shape = "<path d=\"M\(f(x)),\(f(y + 5)) L\(f(x + 4.5)),\(f(y - 3.5)) L\(f(x - 4.5)),\(f(y - 3.5)) Z\" fill=\"none\" stroke=\"#b60\" stroke-width=\"1.5\""
            case .below:
                kind = "below"
                shape = "<path d=\"M\(f(x)),\(f(y + 3)) L\(f(x + 3.5)),\(f(y - 3)) L\(f(x - 3.5)),\(f(y - 3)) Z\" fill=\"none\" stroke=\"#888\""
            }
            let classes = panel.map { "run \(kind) panel\($0)" } ?? "key \(kind)"
            guard let title else { return shape + " class=\"\(classes)\"/>" }
            return shape + " class=\"\(classes)\"><title>\(MarkupText.escaped(title))</title>" + (shape.hasPrefix("<circle") ? "</circle>" : "</path>")
        }
    }
}
