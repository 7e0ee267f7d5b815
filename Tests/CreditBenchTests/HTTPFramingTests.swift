@testable import CreditBench
import Testing

/// The load generator reads HTTP/1.1 responses' status and Content-Length from the bytes in
/// place; these are the heads the peers (creditd, uvicorn) send and the cases that must not
/// be misread.
@Suite struct HTTPFramingTests {
    static func parse(_ head: String) -> (status: Int?, length: Int) {
        let bytes = Array(head.utf8)
        return bytes.withUnsafeBufferPointer { (BenchConnection.httpStatus($0), BenchConnection.contentLength($0)) }
    }

    @Test func statusAndLengthOfRealHeads() {
        let creditd = Self.parse("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 412\r\n\r\n")
        #expect(creditd.status == 200 && creditd.length == 412)
        let uvicorn = Self.parse("HTTP/1.1 422 Unprocessable Entity\r\ndate: Fri, 04 Dec 2026 21:00:00 GMT\r\nserver: uvicorn\r\nContent-Length: 7\r\ncontent-type: application/json\r\n\r\n")
        #expect(uvicorn.status == 422 && uvicorn.length == 7)
        let spaced = Self.parse("HTTP/1.0 503 Service Unavailable\r\nCONTENT-LENGTH:    19\r\n\r\n")
        #expect(spaced.status == 503 && spaced.length == 19)
    }

    @Test func noLengthAndLookalikes() {
        #expect(Self.parse("HTTP/1.1 204 No Content\r\n\r\n").length == 0)
        // A header whose value mentions the name is not the header.
        #expect(Self.parse("HTTP/1.1 200 OK\r\nx-note: content-length: 99\r\ncontent-length: 5\r\n\r\n").length == 5)
        #expect(Self.parse("HTTP/1.1 2x0 OK\r\n\r\n").status == nil)
        #expect(Self.parse("SSH-2.0-OpenSSH_9.2\r\n\r\n").status == nil)
        #expect(Self.parse("HTTP/1.1 20").status == nil)
    }
}
