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
func serve(config: DaemonConfig, http: [HTTPFaceConfig], loader: @escaping ModelLoader) throws -> Int32 {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    let logger = Logger(label: "creditd")
    // Which dense-kernel copy scores (CREDIT_KERNELS; MLP scores differ in the last bits).
    logger.info("kernels: \(Kernels.summary)")
    let service = ScoringService(config: config.service, loader: loader, logger: logger)
    if let path = config.modelPath {
        // A refusal is logged by the service, escaped; it is not rethrown, because
        // ArgumentParser would print its text (the path may hold any bytes) unescaped.
        do { try service.load(path: path, trigger: "startup") } catch { return 1 }
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
    SystemdNotify.ready(modelID: service.currentModel?.info.modelId)
    SystemdNotify.startWatchdog(service: service)
    var set = sigset_t()
    sigemptyset(&set)
    for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
    while true {
        var sig: Int32 = 0
        guard sigwait(&set, &sig) == 0 else { continue }
        if sig == SIGHUP {
            SystemdNotify.reloading()
            _ = try? service.reload(trigger: "SIGHUP")
            SystemdNotify.ready(modelID: service.currentModel?.info.modelId)
            continue
        }
        logger.notice("signal received", metadata: ["signal": "\(sig == SIGTERM ? "SIGTERM" : "SIGINT")"])
        SystemdNotify.stopping()
        let clean = daemon?.stop() ?? true
        for face in faces { blocking { await face.stop() } }
        return clean ? 0 : 1
    }
}
