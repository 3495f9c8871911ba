import Synchronization

/// One file's events pulled one at a time, for the merge: the walkers' own steps
/// (`DBNRecordCursor.next`, `ITCHReader.next`) and decoders, driven from outside.
struct FileEvents {
    enum Source {
        case dbn(DBNRecordCursor, DBNEvents)
        case itch(ITCHReader, ITCHEvents)
    }
    let path: String
    var source: Source
    /// The last record's or message's events (its `DBNEvents`' or `ITCHEvents`' slots):
    /// `events[taken..<pending]` are not yet taken.
    let events: UnsafeMutablePointer<Event>
    var pending = 0, taken = 0
    var records = 0, skipped = 0
    /// Bytes taken (for the progress line).
    var offset = 0
    var failure: FeedError?

    init(_ file: FeedFile, instruments: Int) throws(FeedError) {
        path = file.path
        switch file {
        case let .dbn(d):
            let dbnEvents = DBNEvents(metadata: d.metadata, instruments: instruments)
            (source, events) = (.dbn(d.cursor(), dbnEvents), dbnEvents.slots)
        case let .itch(i):
            let reader = try i.reader(), itchEvents = ITCHEvents()
            (source, events) = (.itch(reader, itchEvents), itchEvents.slots)
        }
    }

    func deallocate() {
        switch source {
        case let .dbn(_, dbnEvents): dbnEvents.deallocate()
        case let .itch(_, itchEvents): itchEvents.deallocate()
        }
    }

    /// The next event, or nil at the end of the file or where it cannot be framed (`failure`).
    mutating func next() -> Event? {
        while taken == pending {
            (taken, pending) = (0, 0)
            switch source {
            case .dbn(var cursor, var decoder):
                let step = cursor.next()
                guard step == .record else {
                    if step != .end {
                        failure = FeedError(file: path, offset: cursor.offset, reason: cursor.explain(step))
                    }
                    return nil
                }
                records &+= 1
                offset = cursor.offset
                pending = decoder.decode(cursor.record, length: cursor.length)
                if pending == 0 { skipped &+= 1 }
                source = .dbn(cursor, decoder)
            case .itch(var reader, var decoder):
                var message = ITCHReader.Message(pointer: reader.base, length: 0, sequence: 0, captureNs: 0, offset: 0)
                let step = reader.next(&message)
                guard step == .message else {
                    if step == .error {
                        failure = FeedError(file: path, offset: reader.failure.offset, reason: reader.failure.reason)
                    }
                    return nil
                }
                records &+= 1
                offset = message.offset
                pending = decoder.decode(message)
                if pending == 0 { skipped &+= 1 }
                source = .itch(reader, decoder)
            }
        }
        taken &+= 1
        return events[taken &- 1]
    }
}

extension FileReplay {
    /// `file` and `mergedWith` as one feed, in event-time order (a k-way merge: at each step
    /// the head with the earliest `tsEvent` goes, the earlier-listed file first on a tie), with
    /// the pacing, shard and stop of a single file's replay. One loop.
    func runMerged(
        into producer: SPSCRing<Event>.Producer, stop: UnsafePointer<Atomic<Bool>>?,
        position: UnsafePointer<Atomic<UInt64>>?
    ) -> Stats {
        var stats = Stats()
        // ITCH times are ns since midnight, DBN's since the epoch: no order between them.
        func isITCH(_ f: FeedFile) -> Bool { if case .itch = f { true } else { false } }
        if let other = mergedWith.first(where: { isITCH($0) != isITCH(file) }) {
            stats.error = .input(
                FeedError(
                    file: other.path, offset: 0,
                    reason: "cannot be merged with \(file.path): ITCH times count from midnight, DBN's from the epoch"))
            return stats
        }
        var files: [FileEvents] = []
        defer { files.forEach { $0.deallocate() } }
        for f in [file] + mergedWith {
            do { files.append(try FileEvents(f, instruments: instruments)) } catch {
                stats.error = .input(error)
                return stats
            }
        }
        var heads = files.indices.map { files[$0].next() }
        var pacer = Pacer(pace: pace, clock: clock, hiccups: hiccups)
        var time = LoopTime()
        let out = UnsafeMutablePointer<Event>.allocate(capacity: 1)
        defer { out.deallocate() }
        var steps = 0
        while true {
            var k = -1
            for i in heads.indices {
                if let e = heads[i], k < 0 || e.tsEvent < heads[k]!.tsEvent { k = i }
            }
            if k < 0 { break }
            let taken = clock.ticks()
            out[0] = heads[k]!
            heads[k] = files[k].next()
            steps &+= 1
            if let position, steps & 4095 == 0 {
                position.pointee.store(UInt64(files.reduce(0) { $0 + $1.offset }), ordering: .relaxed)
            }
            if !emit(out, 1, taken: taken, producer: producer, pacer: &pacer, time: &time, stats: &stats, stop: stop) {
                break
            }
        }
        for f in files {
            stats.records &+= f.records
            stats.skipped &+= f.skipped
            if stats.error == nil, let failure = f.failure { stats.error = .input(failure) }
        }
        if stats.error == nil && !stats.stoppedEarly {
            position?.pointee.store(UInt64(([file] + mergedWith).reduce(0) { $0 + $1.byteCount }), ordering: .relaxed)
        }
        return stats
    }
}
