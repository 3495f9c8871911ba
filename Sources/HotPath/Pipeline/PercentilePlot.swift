#if canImport(Glibc)
import Glibc
#endif

/// An SVG percentile-distribution plot of a report's stages, drawn the way HdrHistogram's
/// plotter draws them: the x axis is log-scaled in 1/(1 − percentile) (0%, 90%, 99%, 99.9%, …
/// evenly spaced), one line per stage. The latency axis is logarithmic too (decades from
/// 10 ns up), so a 20 ns stage and a millisecond tail are both readable. Cold path.
public enum PercentilePlot {
    public static func svg(_ report: RunReport, title: String = "HotPath latency by percentile") -> String {
        let width = 900.0, height = 540.0, left = 80.0, right = 200.0, top = 50.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let stages = report.stages.filter { !$0.1.distribution.isEmpty }
        let decades = 6.0  // up to 99.9999%
        let largest = max(10.0, stages.map { $0.1.distribution.map { $0[1] }.max() ?? 0 }.max() ?? 10)
        let lowDecade = 1.0, highDecade = max(2.0, log10(largest).rounded(.up))  // 10 ns … 10^k ns
        func x(_ p: Double) -> Double { left + min(decades, log10(1 / max(1e-6, 1 - p / 100))) / decades * plotW }
        func y(_ ns: Double) -> Double {
            let d = (log10(max(ns, 10)) - lowDecade) / (highDecade - lowDecade)
            return top + plotH - d * plotH
        }
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
        for d in Int(lowDecade)...Int(highDecade) {
            let ns = pow(10, Double(d))
            let label =
                ns < 1_000
                ? "\(Int(ns)) ns"
                : ns < 1_000_000 ? "\(Int(ns / 1_000)) µs" : ns < 1e9 ? "\(Int(ns / 1e6)) ms" : "\(Int(ns / 1e9)) s"
            out += "<line x1=\"\(left)\" y1=\"\(y(ns))\" x2=\"\(left + plotW)\" y2=\"\(y(ns))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(left - 8)\" y=\"\(y(ns) + 4)\" text-anchor=\"end\">\(label)</text>\n"
        }
        out += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">percentile</text>\n"
        out +=
            "<text x=\"20\" y=\"\(top + plotH / 2)\" transform=\"rotate(-90 20 \(top + plotH / 2))\" text-anchor=\"middle\">latency</text>\n"
        out +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#444\"/>\n"
        for (i, (name, s)) in stages.enumerated() {
            let colour = colours[i % colours.count]
            let points = s.distribution.map { format("%.1f,%.1f", x($0[0]), y($0[1])) }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            let ly = top + 10 + Double(i) * 20
            out +=
                "<line x1=\"\(left + plotW + 15)\" y1=\"\(ly)\" x2=\"\(left + plotW + 40)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"3\"/>"
            out += "<text x=\"\(left + plotW + 46)\" y=\"\(ly + 4)\">\(name)</text>\n"
        }
        return out + "</svg>\n"
    }
}
