import CreditCore
import CreditDomain
import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import NIOCore

/// `POST /v1/score` and `GET /v1/score` answered from the connection's bytes, on the event
/// loop that read them.
///
/// Why: a one-applicant score is a few microseconds of work; through NIO's HTTP/1.1 decoder,
/// HTTPTypes, Hummingbird's handlers and the response encoder it cost ~2.5x the protobuf
/// face's CPU (docs/http.md). This handler sits first in the connection's pipeline. While the
/// requests are score requests of the plain shape `ScoreRequestHead` recognises, it answers
/// them itself through the same endpoint functions as the router (`scoreJSON`, `scoreQuery`:
/// same token check, limits, validation, metrics and body bytes). The first request of any
/// other shape hands the connection, from that request's first byte on, to the standard
/// pipeline for good: nothing is parsed twice and answers stay in order.
///
/// Also here, because this handler is the first to see the connection: its count in the
/// metrics, back-pressure (a client that pipelines without reading its answers stops being
/// read), and a graceful stop that lets a request already begun finish.
final class RawScorePath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let face: HTTPFace
    private let activity: ConnectionActivity
    /// Bytes read and not yet consumed.
    private var buffer: ByteBuffer?
    /// The request being read: its head, when it began, and what it is refused with, if
    /// anything (its body is then skipped, not kept).
    private var current: (head: ScoreRequestHead, started: UInt64, refusal: HTTPAnswer?)?
    private var handedOff = false
    /// Bytes of a head still coming in that hold no blank line (searched once, not again).
    private var headScanned = 0
    private var closing = false
    /// A graceful stop arrived while a request was being read: close after answering it.
    private var closeAfterAnswer = false
    /// A `read` held back while the client does not take its answers.
    private var readHeld = false
    private var counted = false

    init(face: HTTPFace, activity: ConnectionActivity) {
        self.face = face
        self.activity = activity
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        face.metrics.connectionOpened()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if counted { face.metrics.connectionClosed(); counted = false }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if handedOff { return context.fireChannelRead(data) }
        if closing { return }
        var chunk = unwrapInboundIn(data)
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = chunk
        } else {
            buffer!.writeBuffer(&chunk)
        }
        if current != nil { activity.touch() }  // a body coming in counts; a head trickling in does not
        process(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !handedOff && context.channel.isWritable {
            process(context: context)
            if readHeld && !handedOff { readHeld = false; context.read() }
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if !handedOff && !context.channel.isWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !handedOff, event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        // The standard pipeline has seen no request on this connection, so the stop is ours.
        if current != nil { closeAfterAnswer = true } else { closeNow(context: context) }
    }

    /// Answers every complete request in the buffer, in order, while the client takes them.
    private func process(context: ChannelHandlerContext) {
        var wrote = false
        defer { if wrote { context.flush() } }
        while !handedOff, !closing, context.channel.isWritable, var bytes = buffer {
            buffer = nil  // held uniquely below, so reads and slices do not copy
            if current == nil {
                // The head is parsed once it is whole (or too long, or short enough to judge its
                // first line): re-parsing a head that trickles in byte by byte would cost its
                // length squared.
                let n = bytes.readableBytes
                let whole = bytes.withUnsafeReadableBytes { ScoreRequestHead.containsHeadEnd($0, from: headScanned) }
                if !whole && n > ScoreRequestHead.firstLineBytes && n < ScoreRequestHead.maxHeadBytes {
                    headScanned = max(0, n - 3)
                    buffer = bytes
                    return
                }
                headScanned = 0
                let parsed = bytes.withUnsafeReadableBytes { ScoreRequestHead.parse($0) }
                switch parsed {
                case .incomplete:
                    buffer = bytes
                    return
                case .other:
                    buffer = bytes
                    handOff(context: context)
                    return
                case .score(let head):
                    bytes.moveReaderIndex(forwardBy: head.headLength)
                    let started = SystemClock.monotonicNanos()
                    activity.touch(started)
                    current = (head, started, refusal(head, started))
                }
            }
            let (head, started, refusal) = current!
            guard bytes.readableBytes >= head.contentLength else {
                if refusal != nil {  // skip what came of a refused body
                    current!.head.contentLength -= bytes.readableBytes
                    bytes.moveReaderIndex(to: bytes.writerIndex)
                }
                buffer = bytes.readableBytes > 0 ? bytes : nil
                return
            }
            let body = bytes.readSlice(length: head.contentLength)!
            buffer = bytes.readableBytes > 0 ? bytes : nil
            current = nil
            // A POST without a query needs no URI parse (2% of its CPU).
            let reasons = head.target == "/v1/score" ? ReasonDetail.full : HTTPFace.reasons(URI(head.target))
            let answer = refusal ?? (head.post
                ? face.scoreJSON(body, reasons: reasons, started: started)
                : face.scoreQuery(URI(head.target), started: started))
            respond(answer, close: head.close || closeAfterAnswer, context: context)
            wrote = true
        }
    }

    /// What a request is refused with before its body is read (token, content type, size).
    private func refusal(_ head: ScoreRequestHead, _ started: UInt64) -> HTTPAnswer? {
        if !TokenMiddleware.allows(token: face.config.token, authorization: head.authorization) {
            return HTTPAnswer(status: 401, body: TokenMiddleware.refusal)
        }
        guard head.post else { return nil }
        if !HTTPFace.isJSON(head.contentType) { return face.problemAnswer(415, HTTPFace.notJSON, started) }
        if head.contentLength > face.config.maxBodyBytes { return face.problemAnswer(413, face.bodyTooLarge, started) }
        return nil
    }

    private func respond(_ answer: HTTPAnswer, close: Bool, context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 128 + answer.body.readableBytes)
        if let head = Self.heads.first(where: { $0.code == answer.status }) {
            out.writeBytes(head.bytes)
        } else {
            let status = HTTPResponse.Status(code: answer.status)
            out.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\ncontent-type: application/json\r\ncontent-length: ")
        }
        Self.writeDecimal(answer.body.readableBytes, to: &out)
        out.writeString("\r\n")
        if answer.status == 401 { out.writeString("www-authenticate: Bearer\r\n") }
        if close { out.writeString("connection: close\r\n") }
        out.writeString("\r\n")
        out.writeImmutableBuffer(answer.body)
        activity.touch()
        if close {
            closing = true
            let channel = context.channel  // closed once the answer is out, not before
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(out))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.write(wrapOutboundOut(.byteBuffer(out)), promise: nil)
        }
    }

    /// The statuses the score endpoint answers with: each head up to the length's digits,
    /// made once (formatting it per answer was ~2 % of a one-applicant request's CPU).
    private static let heads: [(code: Int, bytes: [UInt8])] = [
        HTTPResponse.Status.ok, .badRequest, .unauthorized, .forbidden, .contentTooLarge, .unsupportedMediaType,
        .unprocessableContent, .internalServerError, .serviceUnavailable, .gatewayTimeout,
    ].map { ($0.code, Array("HTTP/1.1 \($0.code) \($0.reasonPhrase)\r\ncontent-type: application/json\r\ncontent-length: ".utf8)) }

    static func writeDecimal(_ value: Int, to out: inout ByteBuffer) {
        precondition(value >= 0)
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // room for 24 digits
        withUnsafeMutableBytes(of: &digits) { d in
            var v = value, i = d.count
            repeat { i -= 1; d[i] = UInt8(48 + v % 10); v /= 10 } while v > 0
            out.writeBytes(UnsafeRawBufferPointer(rebasing: d[i...]))
        }
    }

    /// From here on the standard pipeline reads this connection, starting with the bytes held.
    private func handOff(context: ChannelHandlerContext) {
        handedOff = true
        if let held = buffer {
            buffer = nil
            context.fireChannelRead(wrapInboundOut(held))
            context.fireChannelReadComplete()
        }
        if readHeld { readHeld = false; context.read() }
    }

    private func closeNow(context: ChannelHandlerContext) {
        closing = true
        buffer = nil
        context.close(promise: nil)
    }
}

/// When a connection last did something, shared by `RawScorePath` (requests it answered) and
/// `IdleGuard` (which closes idle connections). Both run on the connection's event loop.
final class ConnectionActivity {
    private(set) var last = SystemClock.monotonicNanos()

    func touch(_ now: UInt64 = SystemClock.monotonicNanos()) {
        last = now
    }
}

/// Hummingbird's HTTP/1.1 child channel with `RawScorePath` first in the pipeline and
/// `IdleGuard` after the HTTP codec (Hummingbird's own idle timeout is off: it cannot see
/// the requests answered before its decoder).
struct RawScoreHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let face: HTTPFace

    init(responder: @escaping HTTPChannelHandler.Responder, face: HTTPFace) {
        let timeout = TimeAmount.nanoseconds(Int64(face.config.idleTimeoutSeconds * 1e9))
        base = HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [IdleGuard(timeout: timeout)]))
        self.face = face
    }

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let guardHandler = try channel.pipeline.syncOperations.handler(type: IdleGuard.self)
            try channel.pipeline.syncOperations.addHandler(RawScorePath(face: face, activity: guardHandler.activity), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
