import Foundation

/// Polls `condition` every 5 ms until it holds (true) or `seconds` pass (false, after one last
/// look): the one way the tests wait for something another thread or process does.
public func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
