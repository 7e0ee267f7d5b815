@testable import CreditHTTP
import NIOCore
import NIOEmbedded
import Testing

/// `RawScorePath` alone on an embedded channel, with the real face behind it: back-pressure
/// (nothing answered and no read asked for while the client does not take its answers, all
/// answered in order once it does) and the hand-off (another request's bytes, and everything
/// after them, go on untouched, byte for byte).
@Suite(.serialized) struct RawScorePathUnitTests {
    /// Counts the `read` calls that reach the socket end of the pipeline.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    static func post(_ id: String) -> [UInt8] {
        let body = Array(#"{"id": "\#(id)", "loan_amnt": 9000, "person_income": 52000}"#.utf8)
        return Array("POST /v1/score HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
    }

    static func answers(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let d = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let b) = d else { continue }
            out.append(String(buffer: b))
        }
        return out
    }

    /// Runs `body` against a real face. The body is synchronous because an embedded channel
    /// must live and die on one thread, and an async test may resume on another after `await`.
    static func onFace(_ body: (HTTPFace) throws -> Void) async throws {
        let faces = try await Faces()
        let outcome = Result { try body(faces.http) }
        await faces.stop()
        try outcome.get()
    }

    @Test func holdsRequestsAndReadsWhileTheClientTakesNoAnswers() async throws { try await Self.onFace(Self.holdsRequestsAndReadsWhileTheClientTakesNoAnswers) }

    static func holdsRequestsAndReadsWhileTheClientTakesNoAnswers(_ face: HTTPFace) throws {
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(RawScorePath(face: face, activity: ConnectionActivity()))
        channel.isWritable = false
        try channel.writeInbound(ByteBuffer(bytes: Self.post("a") + Self.post("b") + Self.post("c")))
        channel.read()
        #expect(try Self.answers(channel).isEmpty, "answered while the client's window is full")
        #expect(counter.reads == 0, "asked the socket for more while answers cannot go out")

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        let answers = try Self.answers(channel)
        #expect(answers.count == 3 && zip(answers, ["a", "b", "c"]).allSatisfy { $0.hasPrefix("HTTP/1.1 200 OK\r\n") && $0.contains("\"id\":\"\($1)\"") },
                "\(answers)")
        #expect(counter.reads == 1, "the held read was not passed on")
        _ = try? channel.finish()
    }

    /// A head that trickles in a byte at a time is answered once whole; one that grows past
    /// the head limit without ending goes to the standard parser, every byte of it.
    @Test func headsArrivingByteByByte() async throws { try await Self.onFace(Self.headsArrivingByteByByte) }

    static func headsArrivingByteByByte(_ face: HTTPFace) throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RawScorePath(face: face, activity: ConnectionActivity()))
        let padded = Array("POST /v1/score HTTP/1.1\r\nX-Pad: \(String(repeating: "p", count: 4000))\r\n".utf8) + Self.post("slow").dropFirst(25)
        for byte in padded { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        let answers = try Self.answers(channel)
        #expect(answers.count == 1 && answers[0].hasPrefix("HTTP/1.1 200 OK\r\n") && answers[0].contains("\"id\":\"slow\""), "\(answers)")

        let endless = Array("POST /v1/score HTTP/1.1\r\nX-Pad: ".utf8) + [UInt8](repeating: 0x61, count: ScoreRequestHead.maxHeadBytes)
        var forwarded: [UInt8] = []
        for chunk in stride(from: 0, to: endless.count, by: 100) {
            try channel.writeInbound(ByteBuffer(bytes: endless[chunk..<min(chunk + 100, endless.count)]))
            while let b = try channel.readInbound(as: ByteBuffer.self) { forwarded += Array(buffer: b) }
        }
        #expect(forwarded == endless, "\(forwarded.count) of \(endless.count) bytes handed on")
        _ = try? channel.finish()
    }

    @Test func handsOffTheFirstOtherRequestAndEverythingAfterIt() async throws { try await Self.onFace(Self.handsOffTheFirstOtherRequestAndEverythingAfterIt) }

    static func handsOffTheFirstOtherRequestAndEverythingAfterIt(_ face: HTTPFace) throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RawScorePath(face: face, activity: ConnectionActivity()))
        let other = Array("GET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let tail = Self.post("later")
        // A score request answered here, then the other request split across two reads.
        try channel.writeInbound(ByteBuffer(bytes: Self.post("first") + other[..<10]))
        #expect(try Self.answers(channel).count == 1)
        #expect(try channel.readInbound(as: ByteBuffer.self).map { Array(buffer: $0) } == Array(other[..<10]))
        try channel.writeInbound(ByteBuffer(bytes: Array(other[10...]) + tail))
        #expect(try channel.readInbound(as: ByteBuffer.self).map { Array(buffer: $0) } == Array(other[10...]) + tail)
        #expect(try Self.answers(channel).isEmpty, "a score request after the hand-off was answered by the raw path")
        _ = try? channel.finish()
    }

    @Test func contentLengthDigits() {
        for v in [0, 7, 10, 99, 100, 412, 65_536, 4_194_304, Int.max] {
            var b = ByteBuffer()
            RawScorePath.writeDecimal(v, to: &b)
            #expect(String(buffer: b) == String(v))
        }
    }
}
