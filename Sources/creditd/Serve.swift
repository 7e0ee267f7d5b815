import CreditCore
import CreditHTTP
import CreditServer
import CreditService
import Foundation
import Logging
import Metrics
import Prometheus

/// Wires creditd: one scoring service (the artifact loader, Prometheus metrics), the
/// protobuf face on the socket listeners and an HTTP face per http: listener, all on the
/// same model slot; then serves until SIGTERM/SIGINT (graceful stop of every face), with
/// SIGHUP reloading the model for all of them.
func serve(config: DaemonConfig, http: [HTTPFaceConfig]) throws -> Int32 {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    let logger = Logger(label: "creditd")
    // Which dense-kernel copy scores (CREDIT_KERNELS; MLP scores differ in the last bits).
    logger.info("kernels: \(Kernels.summary)")
    let service = ScoringService(config: config.service, loader: artifactLoader, logger: logger)
    if let path = config.modelPath {
        try service.load(path: path, trigger: "startup")
    } else {
        logger.warning("no --model given: not ready until a Reload loads one")
    }
    let daemon = config.listen.isEmpty ? nil : try buildDaemon(config: config, service: service)
    var faces: [HTTPFace] = []
    for h in http {
        var face = h
        face.metricsText = { registry.emitToString() }
        let ready = face
        faces.append(try blocking { try await startHTTPFace(config: ready, service: service) })
    }
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
    while true {
        var sig: Int32 = 0
        guard sigwait(&set, &sig) == 0 else { continue }
        if sig == SIGHUP {
            _ = try? service.reload(trigger: "SIGHUP")
            continue
        }
        logger.notice("signal received", metadata: ["signal": "\(sig == SIGTERM ? "SIGTERM" : "SIGINT")"])
        let clean = daemon?.stop() ?? true
        for face in faces { blocking { await face.stop() } }
        return clean ? 0 : 1
    }
}

/// Runs async work from this synchronous command and waits for it.
private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, any Error>? }

func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

func blocking(_ body: @escaping @Sendable () async -> Void) {
    _ = try? blocking { () async throws -> Int in await body(); return 0 }
}
