import CreditCore
import CreditClient

/// `creditd --probe ADDRESS`: one Health request through the one client (no token, no HTTP),
/// for health checks where the protobuf socket is what runs (Kubernetes exec probes, scripts).
/// Exit 0 when the daemon is ready (`--probe-live`: when it answers at all), else 1.
func runProbe(address: String, live: Bool) -> Int32 {
    var options = DaemonClient.Options()
    options.connections = 1
    options.retries = 0
    options.reconnectWindow = .zero
    options.defaultTimeout = .seconds(3)
    do {
        let client = try DaemonClient(address, options: options)
        defer { client.close() }
        let health = try blocking { try await client.health() }
        let ok = live ? health.live : health.ready
        print("\(address): live \(health.live), ready \(health.ready), model \(health.modelId.isEmpty ? "none" : health.modelId)")
        return ok ? 0 : 1
    } catch {
        print("\(address): \(error)")
        return 1
    }
}
