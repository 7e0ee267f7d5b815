import Dispatch

/// `blocking`'s hand-over (written before the semaphore is signalled, read after the wait).
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Runs async work from synchronous code (a command's thread: `credit`'s subcommands and
/// `creditd`'s main are synchronous ParsableCommands) and waits for its result. The one
/// bridge from synchronous to async code in the executables.
public func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// `blocking` for work that cannot fail.
public func blocking(_ work: @escaping @Sendable () async -> Void) {
    _ = try? blocking { () async throws -> Int in await work(); return 0 }
}
