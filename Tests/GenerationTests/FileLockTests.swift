import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Generation
import Platform

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Locks on files in the state folder", .timeLimit(.minutes(3 * TestTime.factor)))
struct FileLockTests {
    let temp: TemporaryFolder

    init() throws {
        temp = try TemporaryFolder()
    }

    @Test("two opens in one process conflict as two processes would, until the holder releases")
    func twoDescriptorsConflict() throws {
        let path = "\(temp.path)/locks/a.lock"
        let held = try #require(try FileLock.attempt(path: path), "the folder is made and the lock taken")
        #expect(try FileLock.attempt(path: path) == nil)
        held.release()
        let next = try #require(try FileLock.attempt(path: path))
        #expect(next.isHeld)
        next.release()
        #expect(!next.isHeld)
    }

    @Test("a waiter takes the lock once the holder releases it, saying once that it waits")
    func waiterTakesOver() async throws {
        let path = "\(temp.path)/a.lock"
        let held = try #require(try FileLock.attempt(path: path))
        let waits = Mutex(0)
        let polling = FileLock.Polling(first: .milliseconds(1), maximum: .milliseconds(5))
        let waiter = Task {
            try await FileLock.acquire(path: path, io: .shared, polling: polling) { waits.withLock { $0 += 1 } }
        }
        #expect(await wallClockSettle { waits.withLock { $0 } == 1 })
        held.release()
        let taken = try await waiter.value
        #expect(taken.isHeld)
        #expect(waits.withLock { $0 } == 1, "one line however many polls")
        #expect(try FileLock.attempt(path: path) == nil)
        taken.release()
    }

    @Test("a waiter cancelled while the lock is held ends with CancellationError and holds nothing")
    func cancelledWhileWaiting() async throws {
        let path = "\(temp.path)/a.lock"
        let held = try #require(try FileLock.attempt(path: path))
        let waiting = Mutex(false)
        let polling = FileLock.Polling(first: .milliseconds(25), maximum: .seconds(1))
        let waiter = Task {
            try await FileLock.acquire(path: path, io: .shared, polling: polling) {
                waiting.withLock { $0 = true }
            }
        }
        #expect(await wallClockSettle { waiting.withLock { $0 } })
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        held.release()
        let again = try #require(try FileLock.attempt(path: path), "the cancelled waiter left no lock")
        again.release()
    }

    @Test("a holder that removes its file hands the next waiter a lock on the file the path names")
    func removedByHolder() async throws {
        let path = "\(temp.path)/a.lock"
        let held = try #require(try FileLock.attempt(path: path))
        let waiting = Mutex(false)
        let polling = FileLock.Polling(first: .milliseconds(1), maximum: .milliseconds(2))
        let waiter = Task {
            try await FileLock.acquire(path: path, io: .shared, polling: polling) { waiting.withLock { $0 = true } }
        }
        #expect(await wallClockSettle { waiting.withLock { $0 } })
        held.removeAndRelease()
        let taken = try await waiter.value
        // Its lock is on the file now at the path: a third opener conflicts with it.
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try FileLock.attempt(path: path) == nil)
        taken.removeAndRelease()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test(
        "waits between attempts grow from the first to the maximum",
        arguments: [(1, 25), (2, 50), (3, 100), (5, 400), (6, 800), (7, 1000), (60, 1000)]
    )
    func pollingGrows(attempt: Int, milliseconds: Int) {
        let polling = FileLock.Polling(first: .milliseconds(25), maximum: .seconds(1))
        #expect(polling.delay(afterAttempt: attempt) == .milliseconds(milliseconds))
    }

    @Test("a second daemon lock on one state folder is refused, naming the holder's PID")
    func daemonLock() async throws {
        let state = "\(temp.path)/state"
        let first = try await DaemonLock.take(stateFolder: state)
        do {
            _ = try await DaemonLock.take(stateFolder: state)
            Issue.record("a second daemon lock was taken")
        } catch let error as StateFolderInUse {
            #expect(error.pid == getpid())
            #expect("\(error)".contains("(PID \(getpid()))"))
            #expect("\(error)".contains(state) && "\(error)".contains("--state"))
        }
        first.release()
        let next = try await DaemonLock.take(stateFolder: state)
        next.release()
    }

    @Test("gc removes the in-flight files no process holds, and keeps those held")
    func sweep() throws {
        let folder = "\(temp.path)/inflight"
        let held = try #require(try FileLock.attempt(path: "\(folder)/held.lock"))
        try #require(try FileLock.attempt(path: "\(folder)/left.lock")).release()  // a killed process's
        #expect(try InFlightChapters.sweep(directory: folder) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["held.lock"])
        held.release()
    }
}

@Suite("One publisher per folder within the process")
struct FolderLocksTests {
    @Test("publishers take a folder in the order they came; one that gives up its turn leaves the line at once")
    func inOrderAndCancellable() async throws {
        let locks = FolderLocks()
        try await locks.acquire("/out/course")
        let order = Locked([String]())
        let superseded = Task { try await locks.acquire("/out/course") }
        // Another folder is not held by the first.
        try await locks.acquire("/out/other")
        superseded.cancel()
        await #expect(throws: CancellationError.self) { try await superseded.value }
        let next = Task {
            try await locks.acquire("/out/course")
            order.withLockedValue { $0.append("next") }
        }
        // Time for it to take the folder, were it free.
        for _ in 0..<1_000 { await Task.yield() }
        order.withLockedValue { $0.append("released") }
        await locks.release("/out/course")
        try await next.value
        #expect(order.value == ["released", "next"])
        await locks.release("/out/course")
        // Free again: taken at once.
        try await locks.acquire("/out/course")
    }
}
