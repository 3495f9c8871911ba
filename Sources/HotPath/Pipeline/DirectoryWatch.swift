#if canImport(Glibc)
import Glibc
#endif

/// Watches the directories of some files with inotify, so that creating, moving in, touching
/// or deleting one is seen when it happens instead of at the next poll. Its users look at
/// their files again on any change there (another file's change costs one look):
/// - the kill switch: the output thread waits on it in place of its idle sleep and drains it
///   every turn; the engine reads only the atomic the output thread sets;
/// - hot reload (`[reload] watch`): the model files, a change of which starts a reload.
/// Where a directory cannot be watched (`watching` false) the user falls back to polling.
struct DirectoryWatch {
    let fd: Int32
    /// Room for the events of one read, allocated once.
    let events: UnsafeMutableRawBufferPointer
    var watching: Bool { fd >= 0 }

    init(files: [String]) {
        var fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        let mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF
        for path in files where fd >= 0 {
            let slash = path.lastIndex(of: "/")
            let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            if inotify_add_watch(fd, directory, UInt32(mask)) < 0 {
                Glibc.close(fd)
                fd = -1
            }
        }
        self.fd = fd
        events = .allocate(byteCount: 4096, alignment: 8)
    }

    /// Sleeps up to `ms` or until the directory changes.
    func wait(ms: Int32) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, ms)
    }

    /// Reads every pending event; true when there was any (the file is then looked at again).
    func drain() -> Bool {
        var any = false
        while read(fd, events.baseAddress, events.count) > 0 { any = true }
        return any
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        events.deallocate()
    }
}
