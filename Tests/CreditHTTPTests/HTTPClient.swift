import CreditNet
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over CreditNet's sockets for the tests: one request per
/// connection, Content-Length bodies.
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
    /// The answer's probabilities, read with JSONDecoder (correctly rounded, unlike
    /// JSONSerialization): one per result, nil for a row error.
    var probabilities: [Double?] {
        struct One: Decodable { var probability_default: Double? }
        struct Many: Decodable { var results: [One] }
        if let m = try? JSONDecoder().decode(Many.self, from: Data(body)) { return m.results.map(\.probability_default) }
        return [(try? JSONDecoder().decode(One.self, from: Data(body)))?.probability_default]
    }
}

struct HTTPClientError: Error, CustomStringConvertible { var description: String }

/// Runs blocking work on a Dispatch thread: a test blocking a thread of Swift's small
/// cooperative pool would starve the HTTP face it talks to, which runs on that pool.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        DispatchQueue.global().async { c.resume(with: Result { try work() }) }
    }
}

enum HTTP {
    static func request(port: Int, _ method: String, _ target: String, body: [UInt8] = [], headers: [String: String] = [:]) async throws -> HTTPReply {
        try await offPool { try blockingRequest(port: port, method, target, body: body, headers: headers) }
    }

    static func blockingRequest(port: Int, _ method: String, _ target: String, body: [UInt8] = [], headers: [String: String] = [:]) throws -> HTTPReply {
        let fd = try Sockets.connect(.tcp(host: "127.0.0.1", port: UInt16(port)))
        defer { close(fd) }
        Sockets.setTimeout(fd, option: SO_RCVTIMEO, seconds: 120)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + body
        _ = bytes.withUnsafeBytes { Sockets.writeAll(fd, $0) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Sockets.readSome(fd, $0) }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        guard let split = data.indices.first(where: { i in i + 3 < data.count && data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 }) else {
            throw HTTPClientError(description: "no HTTP response head in \(data.count) bytes from \(method) \(target)")
        }
        let lines = String(decoding: data[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var h: [String: String] = [:]
        for l in lines.dropFirst() {
            if let c = l.firstIndex(of: ":") { h[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) }
        }
        var body = Array(data[(split + 4)...])
        if h["transfer-encoding"] == "chunked" { body = dechunk(body) }
        return HTTPReply(status: status, headers: h, body: body)
    }

    static func post(port: Int, _ target: String, json: Any, headers: [String: String] = [:]) async throws -> HTTPReply {
        let body = Array(try JSONSerialization.data(withJSONObject: json))
        return try await request(port: port, "POST", target, body: body, headers: ["Content-Type": "application/json"].merging(headers) { $1 })
    }

    static func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while i < b.count {
            guard let nl = b[i...].firstIndex(of: 10) else { break }
            let size = Int(String(decoding: b[i..<nl], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) ?? 0
            if size == 0 { break }
            out += b[(nl + 1)..<min(nl + 1 + size, b.count)]
            i = nl + 1 + size + 2
        }
        return out
    }
}
