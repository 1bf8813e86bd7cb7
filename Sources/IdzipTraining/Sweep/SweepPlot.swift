import Foundation

/// An SVG chart of a sweep: performance of every run (dots) and the seed means (line)
/// against d on a logarithmic axis, with the 90% level and d_int90 marked. Self-contained,
/// no scripts or external resources.
public enum SweepPlot {
    public static func svg(records: [SweepRecord], estimate: IntrinsicDimensionEstimate, title: String) -> String {
        let runs = records.filter { !$0.isDirect }
        let width = 640.0, height = 400.0
        let left = 64.0, right = 24.0, top = 40.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let dimensions = runs.map(\.d)
        let low = log10(Double(dimensions.min() ?? 1)), high = log10(Double(dimensions.max() ?? 10))
        let span = max(high - low, 1e-9)
        let top95 = max(1.0, estimate.baseline, runs.map(\.performance).max() ?? 1)
        func x(_ d: Int) -> Double { left + (dimensions.count < 2 || high == low ? 0.5 : (log10(Double(d)) - low) / span) * plotWidth }
        func y(_ performance: Double) -> Double { top + (1 - min(max(performance, 0), top95) / top95) * plotHeight }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        let escape = MarkupText.escaped

        var parts: [String] = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>",
            "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>",
            "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>",
            "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">subspace dimension d (log scale)</text>",
            "<text x=\"16\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotHeight / 2)))\">performance</text>",
        ]
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            let value = tick * top95
            parts.append("<text x=\"\(f(left - 6))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(String(format: "%.2g", value))</text>")
        }
        var lastLabel = -Double.infinity
        for mean in estimate.means where x(mean.d) - lastLabel >= 32 {  // labels that do not overlap
            lastLabel = x(mean.d)
            parts.append("<text x=\"\(f(x(mean.d)))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(mean.d)</text>")
        }
        let level = estimate.threshold * estimate.baseline
        parts.append("<line class=\"level\" x1=\"\(f(left))\" y1=\"\(f(y(level)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y(level)))\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>")
        parts.append("<text x=\"\(f(left + 6))\" y=\"\(f(y(level) - 6))\" text-anchor=\"start\" fill=\"#c00\">\(String(format: "%.3g", estimate.threshold)) x baseline</text>")
        if let dInt90 = estimate.dInt90 {
            parts.append("<line class=\"dint90\" x1=\"\(f(x(dInt90)))\" y1=\"\(f(top))\" x2=\"\(f(x(dInt90)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#070\" stroke-dasharray=\"2 3\"/>")
            // Near the right edge the label goes to the line's left.
            let leftOfLine = x(dInt90) > left + 0.75 * plotWidth
            parts.append("<text x=\"\(f(x(dInt90) + (leftOfLine ? -4 : 4)))\" y=\"\(f(top + 12))\" text-anchor=\"\(leftOfLine ? "end" : "start")\" fill=\"#070\">d_int90 = \(dInt90)</text>")
        }
        let path = estimate.means.map { "\(f(x($0.d))),\(f(y($0.mean)))" }.joined(separator: " ")
        if !path.isEmpty { parts.append("<polyline class=\"mean\" points=\"\(path)\" fill=\"none\" stroke=\"#036\" stroke-width=\"2\"/>") }
        for run in runs {
            parts.append("<circle class=\"run\" cx=\"\(f(x(run.d)))\" cy=\"\(f(y(run.performance)))\" r=\"3\" fill=\"#369\" fill-opacity=\"0.6\"><title>d \(run.d), seed \(run.seed): \(run.performance)</title></circle>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }
}
