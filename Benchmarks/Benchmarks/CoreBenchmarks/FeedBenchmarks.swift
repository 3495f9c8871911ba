import Benchmark
import HotPath

/// Feed and book benchmarks over the real ESH4 MBO file (skipped when ../shared/data is not
/// beside the checkout) and a synthetic ITCH session; malloc counts at 10^3 and 10^6 records.
func feedBenchmarks(arena: Arena) {
    let esh4 =
        #filePath.split(separator: "/").dropLast(4).joined(separator: "/")
        + "/../shared/data/dbn/esh4-glbx-mdp3-20231225.mbo.dbn.zst"
    guard let dbn = try? DBNFile(path: "/" + esh4) else {
        print("FeedBenchmarks: ../shared/data absent beside the checkout: DBN benchmarks skipped")
        return
    }
    var config = L3Book.Config()
    config.maxInstruments = 16  // the synthetic ITCH session has 8
    config.maxOrders = 1 << 16
    let book = try! L3Book(config: config, arena: arena)
    var generator = ITCHGenerator()
    generator.instruments = 8
    let itchBytes = generator.generate(messages: 100_000)

    /// Decodes (and books) `records` records, looping the file, rewinding the book at each pass.
    func replay(records: Int, withBook: Bool) {
        var decoder = DBNDecoder(metadata: dbn.metadata)
        var cursor = dbn.cursor()
        var e = Event()
        var n = 0
        while n < records {
            if cursor.next() != .record {
                cursor.rewind()
                book.clearAll()
                continue
            }
            n &+= 1
            if decoder.decode(cursor.record, length: cursor.length, into: &e) {
                if withBook { book.apply(e) } else { blackHole(e.price) }
            }
        }
    }

    Benchmark(
        "DBN MBO decode (ESH4, records)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .mega)
    ) { b in
        replay(records: b.scaledIterations.count, withBook: false)
    }
    Benchmark(
        "DBN MBO decode + L3 book + top-10 publish (ESH4, records)",
        configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .mega)
    ) { b in
        book.clearAll()
        replay(records: b.scaledIterations.count, withBook: true)
    }
    let flatMalloc: [BenchmarkMetric: BenchmarkThresholds] = [.mallocCountTotal: .init(absolute: [.p100: 0])]
    for (label, records) in [("1e3", 1_000), ("1e6", 1_000_000)] {
        Benchmark(
            "Feed mallocs, \(label) records (DBN decode + L3 book)",
            configuration: .init(metrics: [.mallocCountTotal], maxIterations: 5, thresholds: flatMalloc)
        ) { _ in
            book.clearAll()
            replay(records: records, withBook: true)
        }
    }
    Benchmark(
        "ITCH decode + L3 book (synthetic, messages)",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo)
    ) { b in
        itchBytes.withUnsafeBytes { bytes in
            var decoder = ITCHDecoder()
            let out = UnsafeMutablePointer<Event>.allocate(capacity: 2)
            defer { out.deallocate() }
            var message = ITCHReader.Message(
                pointer: bytes.baseAddress!, length: 0, sequence: 0, captureNs: 0, offset: 0)
            var done = 0
            book.clearAll()
            var reader = try! ITCHReader(bytes: bytes, format: .binary)
            while done < b.scaledIterations.count {
                if reader.next(&message) != .message {
                    reader = try! ITCHReader(bytes: bytes, format: .binary)
                    book.clearAll()
                    continue
                }
                done &+= 1
                let n = decoder.decode(message, into: out)
                for i in 0..<n where out[i].kind == .order { book.apply(out[i]) }
            }
        }
    }
}
