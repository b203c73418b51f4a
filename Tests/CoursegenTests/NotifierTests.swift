import TestSupport
import Testing

@testable import coursegen

@Suite("sd_notify")
struct NotifierTests {
    private func text(of datagram: DatagramReceiver.Datagram) -> String {
        String(decoding: datagram.bytes, as: UTF8.self)
    }

    @Test("READY=1 with a status line reaches a socket at a path")
    func readyAtPath() throws {
        let receiver = try DatagramReceiver()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address])
        try notifier.ready(status: "Watching /srv/coursegen/inbox: 3 courses up to date")
        #expect(
            try text(of: receiver.receive()) == "READY=1\nSTATUS=Watching /srv/coursegen/inbox: 3 courses up to date\n"
        )
    }

    @Test("messages reach an abstract socket written @name")
    func abstractSocket() throws {
        let receiver = try DatagramReceiver(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address])
        try notifier.status("Generating practical-rust: 7/12 chapters, 1 retrying")
        try notifier.watchdog()
        try notifier.stopping()
        #expect(try text(of: receiver.receive()) == "STATUS=Generating practical-rust: 7/12 chapters, 1 retrying\n")
        #expect(try text(of: receiver.receive()) == "WATCHDOG=1\n")
        #expect(try text(of: receiver.receive()) == "STOPPING=1\n")
    }

    @Test("RELOADING=1 carries CLOCK_MONOTONIC in microseconds, taken when it is sent")
    func reloading() throws {
        let receiver = try DatagramReceiver()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address])
        let before = SystemdNotifier.monotonicMicroseconds()
        try notifier.reloading()
        let after = SystemdNotifier.monotonicMicroseconds()

        let lines = try text(of: receiver.receive()).split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.count == 3)
        #expect(lines[0].hasPrefix("MONOTONIC_USEC="))
        #expect(lines[1] == "RELOADING=1")
        #expect(lines[2] == "")
        let stamp = try #require(UInt64(lines[0].dropFirst("MONOTONIC_USEC=".count)))
        #expect(before <= stamp && stamp <= after)
    }

    @Test("a status with newlines is sent as one line")
    func oneLineStatus() throws {
        let receiver = try DatagramReceiver()
        try SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address]).status("first\nREADY=1\r\nthird")
        #expect(try text(of: receiver.receive()) == "STATUS=first READY=1 third\n")
    }

    @Test("without NOTIFY_SOCKET (or with it empty) every message is a no-op")
    func outsideSystemd() throws {
        for environment in [[:], ["NOTIFY_SOCKET": ""]] {
            let notifier = SystemdNotifier(environment: environment)
            #expect(!notifier.isEnabled)
            try notifier.ready(status: "x")
            try notifier.watchdog()
            try notifier.reloading()
            try notifier.stopping()
        }
    }

    @Test("an address that is not /path or @name, or a socket nobody binds, is an error naming it")
    func failures() throws {
        #expect {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": "vsock:2:1234"]).ready()
        } throws: { error in
            (error as? SystemdNotifierError)?.code == .unsupportedAddress
        }
        let receiver = try DatagramReceiver()
        receiver.unlinkSocketFile()
        #expect {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.address]).ready()
        } throws: { error in
            let error = error as? SystemdNotifierError
            return error?.code == .send && error?.description.contains(receiver.address) == true
        }
    }

    @Test(
        "the watchdog interval comes from WATCHDOG_USEC when WATCHDOG_PID is this process or unset",
        arguments: [
            (["WATCHDOG_USEC": "30000000"], Duration.seconds(30)),
            (["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"], .seconds(30)),
            (["WATCHDOG_USEC": "1500", "WATCHDOG_PID": "4242"], .microseconds(1500)),
            (["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4243"], nil),
            (["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"], nil),
            (["WATCHDOG_USEC": "0"], nil),
            (["WATCHDOG_USEC": "-5"], nil),
            (["WATCHDOG_USEC": "30s"], nil),
            ([:], nil),
        ] as [([String: String], Duration?)]
    )
    func watchdogInterval(environment: [String: String], expected: Duration?) {
        #expect(SystemdNotifier.watchdogInterval(environment: environment, processID: 4242) == expected)
    }

    @Test("socket addresses: absolute paths and @names only, within sun_path")
    func addresses() {
        #expect(UnixSocketAddress("/run/systemd/notify")?.isAbstract == false)
        #expect(UnixSocketAddress("@/org/freedesktop/systemd1/notify/1")?.isAbstract == true)
        #expect(UnixSocketAddress("relative/socket") == nil)
        #expect(UnixSocketAddress("@") == nil)
        #expect(UnixSocketAddress("/") == nil)
        #expect(UnixSocketAddress("/" + String(repeating: "a", count: 106)) != nil)
        #expect(UnixSocketAddress("/" + String(repeating: "a", count: 107)) == nil)
    }
}
