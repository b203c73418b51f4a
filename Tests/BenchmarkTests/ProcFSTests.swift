import Testing

@testable import coursegen_bench

@Suite("Reading /proc")
struct ProcFSTests {
    // From a real `coursegen watch`, shortened.
    static let status = """
        Name:\tcoursegen
        Umask:\t0022
        State:\tS (sleeping)
        Pid:\t4242
        VmPeak:\t  620492 kB
        VmSize:\t  554956 kB
        VmHWM:\t   61236 kB
        VmRSS:\t   44120 kB
        RssAnon:\t   15932 kB
        RssFile:\t   28188 kB
        RssShmem:\t       0 kB
        Threads:\t8
        voluntary_ctxt_switches:\t120

        """

    @Test("status: resident, peak, anonymous and file-backed memory in bytes, and threads")
    func status() throws {
        let parsed = try #require(ProcFS.status(Self.status))
        #expect(parsed.residentBytes == 44120 * 1024)
        #expect(parsed.peakResidentBytes == 61236 * 1024)
        #expect(parsed.anonymousBytes == 15932 * 1024)
        #expect(parsed.fileBytes == 28188 * 1024)
        #expect(parsed.threads == 8)
    }

    @Test("status without memory fields (a process that ended, a kernel thread) is nil")
    func statusWithoutMemory() {
        #expect(ProcFS.status("Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n") == nil)
        #expect(ProcFS.status("") == nil)
    }

    @Test(
        "stat: utime and stime are fields 14 and 15, counted after the command name whatever it holds",
        arguments: ["coursegen", "cours gen", "a) b (c", ")"]
    )
    func stat(command: String) throws {
        let text = "4242 (\(command)) S 1 4242 4242 0 -1 4194560 2310 0 0 0 137 42 0 0 20 0 8 0 9119 554956 11030"
        let times = try #require(ProcFS.times(text))
        #expect(times.userTicks == 137)
        #expect(times.systemTicks == 42)
        #expect(times.totalTicks == 179)
    }

    @Test("stat that is cut short is nil")
    func statCut() {
        #expect(ProcFS.times("4242 (coursegen) S 1 4242") == nil)
        #expect(ProcFS.times("garbage") == nil)
    }

    @Test("loadavg: the 1-minute average")
    func loadAverage() {
        #expect(ProcFS.loadAverage("1.70 3.82 3.69 1/134 22416\n") == 1.70)
        #expect(ProcFS.loadAverage("") == nil)
    }

    @Test("cpuinfo: the first model name")
    func cpuModel() {
        let text = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            model name\t: AMD EPYC 7B13
            processor\t: 1
            model name\t: AMD EPYC 7B13

            """
        #expect(ProcFS.cpuModel(text) == "AMD EPYC 7B13")
        #expect(ProcFS.cpuModel("processor\t: 0\n") == nil)
    }
}
