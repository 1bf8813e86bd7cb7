import Foundation

/// An SVG chart of a compression search in `SweepPlot`'s style: test accuracy against
/// whole-file bytes (log scale) of every candidate file, one colour per codebook size, the
/// Pareto front as a line, the level as a dashed red line and the smallest passing file
/// ringed. Self-contained, no scripts or external resources.
public enum CompressionPlot {
    static let width = 800.0, height = 420.0
    static let left = 72.0, plotRight = 580.0, legendLeft = 600.0
    static let top = 48.0, plotHeight = 320.0
    static let colours = ["#369", "#c60", "#070", "#939", "#b00", "#088", "#660", "#555"]

    public static func svg(points: [CompressionPoint], summary: CompressionSummary) -> String {
        let escape = MarkupText.escaped
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        let sizes = points.map(\.bytes)
        let low = log10(Double(max(1, sizes.min() ?? 1))), high = log10(Double(max(2, sizes.max() ?? 10)))
        let plotWidth = plotRight - left, bottom = top + plotHeight
        func x(_ bytes: Int) -> Double {
            guard high > low else { return left + plotWidth / 2 }
            return left + plotWidth * (0.04 + 0.92 * (log10(Double(max(1, bytes))) - low) / (high - low))
        }
        let accuracies = points.map(\.test_accuracy) + [summary.level]
        let axis = SweepPlot.Axis.covering(max(0, (accuracies.min() ?? 0) - 0.01), min(1, (accuracies.max() ?? 1) + 0.005))
        func y(_ value: Double) -> Double { bottom - (value - axis.low) / (axis.high - axis.low) * plotHeight }
        let title = "\(summary.model): smallest file at \(summary.target) = "
            + (summary.smallest_passing.map { "\(grouped($0.bytes)) bytes" } ?? "not reached")
        var parts: [String] = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"\(Int(SweepPlot.fontSize))\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text class=\"title\" x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>",
            "<polyline points=\"\(f(left)),\(f(top)) \(f(left)),\(f(bottom)) \(f(plotRight)),\(f(bottom))\" fill=\"none\" stroke=\"black\"/>",
        ]
        for value in axis.ticks {
            parts.append("<line x1=\"\(f(left))\" y1=\"\(f(y(value)))\" x2=\"\(f(plotRight))\" y2=\"\(f(y(value)))\" stroke=\"#eee\"/>")
            parts.append("<text class=\"ytick\" x=\"\(f(left - 7))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\">\(axis.label(value))</text>")
        }
        let labelled = SweepPlot.labelledDimensions(Array(Set(sizes)).sorted(), x: x)
        for bytes in labelled {
            parts.append("<line x1=\"\(f(x(bytes)))\" y1=\"\(f(bottom))\" x2=\"\(f(x(bytes)))\" y2=\"\(f(bottom + 4))\" stroke=\"black\"/>")
            parts.append("<text class=\"xtick\" x=\"\(f(x(bytes)))\" y=\"\(f(bottom + 17))\" text-anchor=\"middle\">\(bytes)</text>")
        }
        parts.append("<text class=\"ylabel\" x=\"18\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(f(top + plotHeight / 2)))\">test accuracy</text>")
        parts.append("<text class=\"xlabel\" x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">file size in bytes (log scale)</text>")
        parts.append("<line class=\"level\" x1=\"\(f(left))\" y1=\"\(f(y(summary.level)))\" x2=\"\(f(plotRight))\" y2=\"\(f(y(summary.level)))\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>")
        let front = summary.pareto_front.map { "\(f(x($0.bytes))),\(f(y($0.test_accuracy)))" }.joined(separator: " ")
        if !front.isEmpty { parts.append("<polyline class=\"front\" points=\"\(front)\" fill=\"none\" stroke=\"#036\" stroke-width=\"2\"/>") }
        let levelSizes = Array(Set(points.map(\.levels))).sorted()
        for point in points {
            let colour = colours[(levelSizes.firstIndex(of: point.levels) ?? 0) % colours.count]
            let shape = point.profile == "standard" ? "circle" : "rect"
            let cx = x(point.bytes), cy = y(max(axis.low, point.test_accuracy))
            let tip = "d \(point.d), K \(point.levels), \(point.profile): \(point.bytes) bytes, test \(point.test_accuracy), validation \(point.validation_accuracy)"
            if shape == "circle" {
                parts.append("<circle class=\"run\" cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"3.5\" fill=\"\(colour)\" fill-opacity=\"0.8\"><title>\(escape(tip))</title></circle>")
            } else {
                parts.append("<rect class=\"run\" x=\"\(f(cx - 3.5))\" y=\"\(f(cy - 3.5))\" width=\"7\" height=\"7\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\"><title>\(escape(tip))</title></rect>")
            }
        }
        if let chosen = summary.smallest_passing {
            parts.append("<circle class=\"chosen\" cx=\"\(f(x(chosen.bytes)))\" cy=\"\(f(y(chosen.test_accuracy)))\" r=\"8\" fill=\"none\" stroke=\"#c00\" stroke-width=\"1.5\"/>")
        }
        var legend: [(String, String)] = levelSizes.enumerated().map { index, k in
            ("<circle cx=\"10\" cy=\"0\" r=\"3.5\" fill=\"\(colours[index % colours.count])\"/>", "K = \(k) levels")
        }
        if points.contains(where: { $0.profile != "standard" }) {
            legend.append(("<rect x=\"6.5\" y=\"-3.5\" width=\"7\" height=\"7\" fill=\"none\" stroke=\"#333\"/>", "compact container"))
            legend.append(("<circle cx=\"10\" cy=\"0\" r=\"3.5\" fill=\"#333\"/>", "standard container"))
        }
        legend.append(("<line x1=\"0\" y1=\"0\" x2=\"20\" y2=\"0\" stroke=\"#036\" stroke-width=\"2\"/>", "Pareto front (test)"))
        legend.append(("<line x1=\"0\" y1=\"0\" x2=\"20\" y2=\"0\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/>", "level \(SweepPlot.number(summary.level))"))
        legend.append(("<circle cx=\"10\" cy=\"0\" r=\"7\" fill=\"none\" stroke=\"#c00\"/>", "smallest passing (validation)"))
        for (index, entry) in legend.enumerated() {
            let rowY = top + 10 + Double(index) * 22
            parts.append("<g transform=\"translate(\(f(legendLeft)) \(f(rowY)))\">\(entry.0)</g>")
            parts.append("<text class=\"legend\" x=\"\(f(legendLeft + 28))\" y=\"\(f(rowY + 4))\" text-anchor=\"start\">\(escape(entry.1))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }
}
