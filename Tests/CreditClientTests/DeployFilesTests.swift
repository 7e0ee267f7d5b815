import CreditTestSupport
import Foundation
import Testing

/// The deploy files (docs/deploy.md) checked by the real tools: `systemd-analyze verify` and
/// `security` (Debian systemd), `haproxy -c`, `kubernetes-validate --strict` (PyPI, in the
/// project venv); and creditd's side of the unit: sd_notify datagrams and `--probe`.
/// Each tool comes from scripts/install-deps.sh; a missing one fails the test.
@Suite(.serialized) struct DeployFilesTests {
    static let root = ClientTests.packageRoot
    static let venvBin = ProcessInfo.processInfo.environment["CREDIT_VENV"].map { $0 + "/bin" }
        ?? NSHomeDirectory() + "/.local/share/credit-risk/venv/bin"

    struct Run { var status: Int32; var out: String }
    static func run(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: exe), "\(exe) missing: run scripts/install-deps.sh")
        let (status, out) = try runCapturing(exe, args, environment: env)
        return Run(status: status, out: out)
    }

    static func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "credit-deploy-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func systemdUnitVerifiesAndIsRatedOK() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // verify checks that ExecStart exists: point it at the built creditd.
        let unit = try String(contentsOfFile: "\(Self.root)/deploy/creditd.service", encoding: .utf8)
            .replacingOccurrences(of: "/opt/credit-risk/bin/creditd", with: ClientTests.binDir.appendingPathComponent("creditd").path)
        try unit.write(toFile: "\(dir)/creditd.service", atomically: true, encoding: .utf8)
        let verify = try Self.run("/usr/bin/systemd-analyze", ["verify", "\(dir)/creditd.service"])
        #expect(verify.status == 0 && verify.out.isEmpty, "systemd-analyze verify: \(verify.out)")
        let security = try Self.run("/usr/bin/systemd-analyze", ["security", "--offline=yes", "\(dir)/creditd.service"])
        let overall = try #require(security.out.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(security.out)")
        #expect(["OK", "SAFE", "PERFECT"].contains { overall.contains(" \($0) ") || overall.hasSuffix(" \($0)") || overall.contains(" \($0) 🙂") }, "\(overall)")
        for key in ["DynamicUser=yes", "ProtectSystem=strict", "RuntimeDirectory=creditd", "ExecReload=/bin/kill -HUP $MAINPID",
                    "Restart=on-failure", "Type=notify", "WatchdogSec="] {
            #expect(unit.contains(key), "unit lacks \(key)")
        }
        // A broken unit is caught (the check can fail).
        try unit.replacingOccurrences(of: "Type=notify", with: "Type=notifyy").write(toFile: "\(dir)/bad.service", atomically: true, encoding: .utf8)
        #expect(try Self.run("/usr/bin/systemd-analyze", ["verify", "\(dir)/bad.service"]).out.contains("notifyy"))
    }

    @Test func haproxyConfigIsValid() throws {
        let ok = try Self.run("/usr/sbin/haproxy", ["-c", "-f", "\(Self.root)/deploy/haproxy.cfg"], env: ["CREDITD_HTTP_TOKEN": "t"])
        #expect(ok.status == 0, "\(ok.out)")
        let cfg = try String(contentsOfFile: "\(Self.root)/deploy/haproxy.cfg", encoding: .utf8)
        // The check frame is a real Health request (CreditWire's encoding of it).
        #expect(cfg.contains("tcp-check send-binary 0000000408016200"))
        #expect(cfg.contains("uri /readyz"))
    }

    @Test func kubernetesManifestsPassStrictSchemaValidation() throws {
        let dir = "\(Self.root)/deploy/k8s"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }.sorted()
        #expect(files == ["deployment.yaml", "pdb.yaml", "service.yaml", "trusted-keys.yaml"])
        let r = try Self.run("\(Self.venvBin)/kubernetes-validate", ["--strict"] + files.map { "\(dir)/\($0)" })
        #expect(r.status == 0, "\(r.out)")
        // A misspelt field fails under --strict (the validator does check).
        let tmp = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let bad = try String(contentsOfFile: "\(dir)/deployment.yaml", encoding: .utf8).replacingOccurrences(of: "readinessProbe:", with: "readinesProbe:")
        try bad.write(toFile: "\(tmp)/bad.yaml", atomically: true, encoding: .utf8)
        #expect(try Self.run("\(Self.venvBin)/kubernetes-validate", ["--strict", "\(tmp)/bad.yaml"]).status != 0)
    }

    /// creditd under a stand-in for systemd: READY=1 with the model id after start,
    /// WATCHDOG=1 pings, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM; and
    /// `creditd --probe` says ready / not reachable.
    @Test func notifiesSystemdAndAnswersProbes() async throws {
        let f = try ClientTests.fixture()
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notify = "\(dir)/notify.sock", sock = "\(dir)/d.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(notify.utf8)) }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(bound == 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func next() -> String {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : "(nothing)"
        }
        #expect(try Self.run(ClientTests.binDir.appendingPathComponent("creditd").path, ["--probe", "unix:\(sock)"]).status == 1)
        let p = try CreditdProcess(["--model", f.model, "--listen", "unix:\(sock)", "--log-level", "error"],
                                   environment: ["NOTIFY_SOCKET": notify, "WATCHDOG_USEC": "200000"])
        let ready = next()
        #expect(ready.hasPrefix("READY=1") && ready.contains("STATUS=serving "), "\(ready)")
        var messages: [String] = []
        for _ in 0..<3 { messages.append(next()) }
        #expect(messages.allSatisfy { $0 == "WATCHDOG=1" }, "\(messages)")
        let probe = try Self.run(ClientTests.binDir.appendingPathComponent("creditd").path, ["--probe", "unix:\(sock)"])
        #expect(probe.status == 0 && probe.out.contains("ready true"), "\(probe.out)")
        p.signal(SIGHUP)
        messages = (0..<12).map { _ in next() }.filter { $0 != "WATCHDOG=1" }
        #expect(messages.count >= 2 && messages[0].hasPrefix("RELOADING=1\nMONOTONIC_USEC=") && messages[1].hasPrefix("READY=1"), "\(messages)")
        p.signal(SIGTERM)
        var last = ""
        for _ in 0..<20 where last != "STOPPING=1" { last = next() }
        #expect(last == "STOPPING=1")
        #expect(p.stop() == 0)
    }
}
