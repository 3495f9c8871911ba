#if canImport(Glibc)
import Glibc
#endif

/// An SVG percentile-distribution plot of a report's stages, drawn the way HdrHistogram's
/// plotter draws them: the x axis is log-scaled in 1/(1 − percentile) (0%, 90%, 99%, 99.9%, …
/// evenly spaced), the y axis is latency in microseconds, one line per stage. Cold path.
public enum PercentilePlot {
    public static func svg(_ report: RunReport, title: String = "HotPath latency by percentile") -> String {
        let width = 900.0, height = 540.0, left = 80.0, right = 200.0, top = 50.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let stages = report.stages.filter { !$0.1.distribution.isEmpty }
        let decades = 6.0  // up to 99.9999%
        let yMax = max(1.0, stages.map { $0.1.distribution.map { $0[1] }.max() ?? 0 }.max() ?? 1) / 1000 * 1.05
        func x(_ p: Double) -> Double { left + min(decades, log10(1 / max(1e-6, 1 - p / 100))) / decades * plotW }
        func y(_ us: Double) -> Double { top + plotH - us / yMax * plotH }
        let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="28" font-size="16">\(title)</text>

            """
        for d in 0...Int(decades) {
            let p = 100 * (1 - pow(10, -Double(d)))
            let label = d == 0 ? "0%" : format("%.*f%%", max(0, d - 2), p)
            let xv = x(p)
            out += "<line x1=\"\(xv)\" y1=\"\(top)\" x2=\"\(xv)\" y2=\"\(top + plotH)\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(xv)\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(label)</text>\n"
        }
        for i in 0...5 {
            let us = yMax * Double(i) / 5
            out += "<line x1=\"\(left)\" y1=\"\(y(us))\" x2=\"\(left + plotW)\" y2=\"\(y(us))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(left - 8)\" y=\"\(y(us) + 4)\" text-anchor=\"end\">\(format("%.2f", us))</text>\n"
        }
        out += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">percentile</text>\n"
        out += "<text x=\"20\" y=\"\(top + plotH / 2)\" transform=\"rotate(-90 20 \(top + plotH / 2))\" text-anchor=\"middle\">latency (µs)</text>\n"
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#444\"/>\n"
        for (i, (name, s)) in stages.enumerated() {
            let colour = colours[i % colours.count]
            let points = s.distribution.map { format("%.1f,%.1f", x($0[0]), y($0[1] / 1000)) }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            let ly = top + 10 + Double(i) * 20
            out += "<line x1=\"\(left + plotW + 15)\" y1=\"\(ly)\" x2=\"\(left + plotW + 40)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"3\"/>"
            out += "<text x=\"\(left + plotW + 46)\" y=\"\(ly + 4)\">\(name)</text>\n"
        }
        return out + "</svg>\n"
    }
}
