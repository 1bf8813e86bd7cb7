import Foundation

/// A self-contained HTML page of a sweep: the facts of its summary, the plot (inline SVG),
/// the seed means and every run. No scripts or external resources.
public enum SweepPage {
    public static func html(title: String, facts: [(String, String)], svg: String, estimate: IntrinsicDimensionEstimate, records: [SweepRecord]) -> String {
        let level = estimate.threshold * estimate.baseline
        var lines = [
            "<!DOCTYPE html>",
            "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(escape(title))</title>",
            "<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;margin:1em 0}"
                + "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}th{background:#eee}td.l,th.l{text-align:left}"
                + "tr.pass td{background:#eef8ee}</style>",
            "</head><body>",
            "<h1>\(escape(title))</h1>",
            "<table class=\"facts\">",
        ]
        for (name, value) in facts {
            lines.append("<tr><th class=\"l\">\(escape(name))</th><td class=\"l\">\(escape(value))</td></tr>")
        }
        lines.append("</table>")
        lines.append(svg.replacingOccurrences(of: "<?xml version=\"1.0\"?>", with: ""))
        lines.append("<h2>Mean performance by d</h2>")
        lines.append("<table class=\"means\"><tr><th>d</th><th>mean performance</th><th>runs</th><th>above \(format(level))</th></tr>")
        for mean in estimate.means {
            let passes = mean.mean > level
            lines.append(
                "<tr\(passes ? " class=\"pass\"" : "")><td>\(mean.d)</td><td>\(format(mean.mean))</td><td>\(mean.runs)</td><td>\(passes ? "yes" : "no")</td></tr>")
        }
        lines.append("</table>")
        lines.append("<h2>Runs</h2>")
        lines.append("<table class=\"runs\"><tr><th>d</th><th>seed</th><th class=\"l\">projection</th><th>performance</th><th>epochs</th><th>seconds</th><th class=\"l\">stopped early</th><th class=\"l\">model</th></tr>")
        for record in SweepResultsFile.sorted(records) {
            lines.append(
                "<tr><td>\(record.d)</td><td>\(record.seed)</td><td class=\"l\">\(escape(record.projection))</td><td>\(format(record.performance))</td>"
                    + "<td>\(record.epochs)</td><td>\(String(format: "%.2f", record.seconds))</td>"
                    + "<td class=\"l\">\(record.stopped.map { $0 == .passed ? "passed" : "cannot reach" } ?? "")</td>"
                    + "<td class=\"l\"><a href=\"\(escape(record.model))\">\(escape(record.model))</a></td></tr>")
        }
        lines.append("</table>")
        lines.append("</body></html>")
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ value: Double) -> String { String(format: "%.4f", value) }

    static func escape(_ text: String) -> String { MarkupText.escaped(text) }
}
