/// Loads the microprice adjustment g(I, S) (Stoikov 2018), fitted offline, from a CSV file:
/// an optional header line, then one row per imbalance bucket (bucket k covers
/// [k/n, (k+1)/n) of Qb/(Qb+Qa)), one column per spread in ticks (1, 2, …; wider spreads use
/// the last column); values are price adjustments added to the mid. Cold path.
public enum MicropriceTable {
    public static func load(path: String) throws(ModelError) -> [[Double]] {
        guard let text = SystemFile.read(path, limit: 1 << 24) else {
            throw ModelError(file: path, place: "", reason: "cannot read the file")
        }
        var rows: [[Double]] = []
        for (i, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let cells = line.split(separator: ",").map { $0.trimmingSpaces() }
            if cells.isEmpty || cells == [""] { continue }
            if rows.isEmpty && Double(cells[0]) == nil { continue }  // header
            var row: [Double] = []
            for (j, c) in cells.enumerated() {
                guard let v = Double(c), v.isFinite else {
                    throw ModelError(
                        file: path, place: "\(i + 1)", reason: "column \(j + 1): \"\(c)\" is not a finite number")
                }
                row.append(v)
            }
            if let first = rows.first, first.count != row.count {
                throw ModelError(
                    file: path, place: "\(i + 1)", reason: "\(row.count) columns where the first row has \(first.count)"
                )
            }
            rows.append(row)
        }
        guard !rows.isEmpty else { throw ModelError(file: path, place: "", reason: "no rows") }
        return rows
    }
}
