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
