import Foundation
import IdzipTraining
import Testing

struct SweepPageTests {
    @Test func pageShowsFactsPlotMeansAndRuns() {
        let records = [
            SweepRecord(d: 10, seed: 1, projection: "fastfood", performance: 0.5, epochs: 2, seconds: 1, model: "models/d10-seed1.idz",
                        stopped: .cannotReach),
            SweepRecord(d: 20, seed: 1, projection: "fastfood", performance: 0.95, epochs: 1, seconds: 1, model: "models/d20-seed1.idz",
                        stopped: .passed),
            SweepRecord(d: 40, seed: 1, projection: "fastfood", performance: 0.97, epochs: 5, seconds: 1, model: "models/d40-seed1.idz"),
        ]
        let estimate = IntrinsicDimensionEstimate(records: records, baseline: 1, threshold: 0.9)
        let svg = SweepPlot.svg(records: records, estimate: estimate, title: "t")
        let page = SweepPage.html(title: "fc <&> \"x\"", facts: [("d_int90", "20")], svg: svg, estimate: estimate, records: records)
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.hasSuffix("</html>\n"))
        #expect(page.contains("<title>fc &lt;&amp;&gt; &quot;x&quot;</title>"), "escaped")
        #expect(page.contains("<svg") && page.contains("d_int90 = 20"))
        #expect(page.components(separatedBy: "<tr class=\"pass\">").count == 3, "two means above the level")
        #expect(page.contains("cannot reach") && page.contains(">passed<"))
        #expect(page.contains("<a href=\"models/d40-seed1.idz\">"))
        #expect(!page.contains("<script"))
    }
}

/// The sweep plot's content: names the threshold's estimate, marks stopped runs, draws the
/// baseline, labels both ends of each axis and never lets two labels overlap.
struct SweepPlotTests {
    /// A text element of the SVG: its box from x, y, anchor and size (0.6 em per character,
    /// ascent 0.8 em), estimated independently of the plot's own layout rule.
    struct Label {
        var text: String
        var x0: Double, x1: Double, y0: Double, y1: Double
        var className: String
    }

    static func labels(_ svg: String) -> [Label] {
        let pattern = #"<text class="([a-z]+)" x="([0-9.]+)" y="([0-9.]+)" text-anchor="([a-z]+)"( font-size="([0-9]+)")?( transform="[^"]*")?>([^<]*)</text>"#
        let regex = try! NSRegularExpression(pattern: pattern)
        let range = NSRange(svg.startIndex..., in: svg)
        return regex.matches(in: svg, range: range).compactMap { match in
            func group(_ i: Int) -> String? {
                Range(match.range(at: i), in: svg).map { String(svg[$0]) }
            }
            guard group(7) == nil else { return nil }  // the rotated axis titles stand alone at the left edge
            let text = group(8)!.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<")
            let size = Double(group(6) ?? "12")!
            let x = Double(group(2)!)!, y = Double(group(3)!)!
            let width = Double(text.count) * size * 0.6
            let x0 = switch group(4)! { case "middle": x - width / 2; case "end": x - width; default: x }
            return Label(text: text, x0: x0, x1: x0 + width, y0: y - 0.8 * size, y1: y + 0.2 * size, className: group(1)!)
        }
    }

    static func overlaps(_ labels: [Label]) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for (i, a) in labels.enumerated() {
            for b in labels[(i + 1)...] where a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1 {
                pairs.append((a.text, b.text))
            }
        }
        return pairs
    }

    static func record(_ d: Int, _ seed: UInt64, _ performance: Double, stopped: EarlyStopping.Outcome? = nil) -> SweepRecord {
        SweepRecord(d: d, seed: seed, projection: "fastfood", performance: performance, epochs: 5, seconds: 1,
                    model: "models/d\(d)-seed\(seed).idz", stopped: stopped)
    }

    @Test func highThresholdLocalBaselineIsZoomedNamedAndMarked() {
        // A sweep at threshold 0.95 against a local baseline of 0.98: level 0.931.
        var records = [SweepRecord(d: 199_210, seed: 1, projection: "direct", performance: 0.98, epochs: 10, seconds: 30,
                                   model: "models/direct-seed1.idz")]
        let dims = [100, 150, 200, 250, 300, 350, 400, 500, 600, 700, 800, 900, 1000, 1200, 1600, 3200]
        for (index, d) in dims.enumerated() {
            for seed: UInt64 in 1...3 {
                let performance = 0.5 + 0.47 * Double(index) / Double(dims.count - 1) + 0.002 * Double(seed)
                records.append(Self.record(d, seed, performance, stopped: index < 3 ? .cannotReach : index > 12 ? .passed : nil))
            }
        }
        let estimate = IntrinsicDimensionEstimate(records: records, baseline: 0.98, threshold: 0.95)
        #expect(estimate.name == "d_int95")
        let svg = SweepPlot.svg(records: records, estimate: estimate, title: "fc (D = 199,210), fastfood: d_int95 = 1,000 at threshold 0.95")
        #expect(svg.contains("d_int95 = \(grouped(estimate.dInt90!))") && !svg.contains("d_int90"))
        #expect(svg.contains("class=\"baseline\"") && svg.contains("local: trained directly"))
        #expect(svg.contains("class=\"run cannot-reach panel0\"") && svg.contains("class=\"run passed panel0\""))
        #expect(svg.contains("stopped early: passed") && svg.contains("stopped: cannot reach"))
        let labels = Self.labels(svg)
        let overlapping = Self.overlaps(labels)
        #expect(overlapping.isEmpty, "overlapping labels: \(overlapping)")
        // Both ends of the d axis are labelled (in both panels), and the zoomed panel starts
        // above 0.5 and ends at or above the baseline, with ticks at its ends.
        let xticks = labels.filter { $0.className == "xtick" }.map(\.text)
        #expect(xticks.filter { $0 == "100" }.count == 2 && xticks.filter { $0 == "3200" }.count == 2)
        #expect(xticks.count < 2 * dims.count, "crowded d labels are thinned")
        let yticks = labels.filter { $0.className == "ytick" }
        let captionY = labels.first { $0.text.hasPrefix("zoomed to the level") }!.y1
        let zoomed = yticks.filter { $0.y0 >= captionY - 0.01 }.compactMap { Double($0.text) }
        #expect((zoomed.min() ?? 0) > 0.5 && (zoomed.min() ?? 1) <= 0.931 && (zoomed.max() ?? 0) >= 0.98)
        let full = yticks.filter { $0.y0 < captionY - 0.01 }.compactMap { Double($0.text) }
        #expect(full.min() == 0 && (full.max() ?? 0) >= 0.98)
        let caption = labels.first { $0.text.hasPrefix("zoomed to the level") }!.text
        #expect(caption == "zoomed to the level: performance \(zoomed.min().map { String(format: "%.2f", $0) }!) to \(zoomed.max().map { String(format: "%.2f", $0) }!)")
    }

    @Test func toySweepAndSingleDimension() {
        let records = (1...12).map { Self.record($0, 1, $0 >= 10 ? 1.0 : 0.0) }
        let estimate = IntrinsicDimensionEstimate(records: records, baseline: 1, threshold: 0.9)
        let svg = SweepPlot.svg(records: records, estimate: estimate, title: "toy (D = 1,000), fastfood: d_int90 = 10 at threshold 0.9")
        #expect(svg.contains("d_int90 = 10") && svg.contains("baseline 1") && svg.contains("(global)"))
        #expect(svg.contains("class=\"run below panel1\""), "runs at 0 sit on the zoomed panel's lower edge")
        #expect(Self.overlaps(Self.labels(svg)).isEmpty)
        let single = [Self.record(40, 1, 0.5)]
        let one = SweepPlot.svg(records: single, estimate: IntrinsicDimensionEstimate(records: single, baseline: 1, threshold: 0.9), title: "t")
        #expect(one.contains("d_int90 not reached") && !one.contains("nan") && !one.contains("inf"))
        #expect(Self.labels(one).filter { $0.className == "xtick" }.map(\.text) == ["40", "40"])
    }
}
