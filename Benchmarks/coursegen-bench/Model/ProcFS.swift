/// What /proc says about a process and the machine, parsed by pure functions from the files'
/// text (the caller reads them, so tests feed them fixtures).
enum ProcFS {
    /// Memory and threads from `/proc/PID/status`, in bytes.
    struct Status: Sendable, Hashable {
        /// Resident now (`VmRSS`).
        var residentBytes: Int
        /// The most ever resident (`VmHWM`).
        var peakResidentBytes: Int
        /// Resident anonymous memory: heaps, stacks, the process's own data (`RssAnon`).
        var anonymousBytes: Int
        /// Resident file-backed memory: the binary's and libraries' pages (`RssFile`).
        var fileBytes: Int
        var threads: Int
    }

    /// CPU time from `/proc/PID/stat`, in clock ticks (`sysconf(_SC_CLK_TCK)` per second).
    struct Times: Sendable, Hashable {
        var userTicks: Int
        var systemTicks: Int

        var totalTicks: Int { userTicks + systemTicks }
    }

    /// Parses `/proc/PID/status`; nil when a field is missing (the process ended, or it is a
    /// kernel thread without memory fields).
    static func status(_ text: String) -> Status? {
        var fields: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        func kilobytes(_ name: Substring) -> Int? {
            // "   44120 kB"
            guard let words = fields[name]?.split(whereSeparator: { $0 == " " || $0 == "\t" }), words.count == 2,
                words[1] == "kB",
                let value = Int(words[0])
            else { return nil }
            return value * 1024
        }
        guard let resident = kilobytes("VmRSS"), let peak = kilobytes("VmHWM"), let anonymous = kilobytes("RssAnon"),
            let file = kilobytes("RssFile"), let threads = fields["Threads"].flatMap({ Int($0.trimmingSpaces) })
        else { return nil }
        return Status(
            residentBytes: resident,
            peakResidentBytes: peak,
            anonymousBytes: anonymous,
            fileBytes: file,
            threads: threads
        )
    }

    /// Parses `/proc/PID/stat`: `utime` and `stime`, fields 14 and 15. The command name (field 2)
    /// is in parentheses and may hold spaces and parentheses itself, so fields are counted from
    /// the last ')'.
    static func times(_ text: String) -> Times? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After ')': field 3 (state) is the first word.
        let words = text[text.index(after: close)...].split(separator: " ")
        guard words.count >= 13, let user = Int(words[11]), let system = Int(words[12]) else { return nil }
        return Times(userTicks: user, systemTicks: system)
    }

    /// The 1-minute load average from `/proc/loadavg`.
    static func loadAverage(_ text: String) -> Double? {
        text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// The first `model name` in `/proc/cpuinfo`.
    static func cpuModel(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return String(line[line.index(after: colon)...].trimmingSpaces)
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
