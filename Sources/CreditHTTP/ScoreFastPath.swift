import CreditCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// `POST /v1/score` and `GET /v1/score`, answered on the event loop that read the request.
///
/// Why: Hummingbird hands every request to an async task and takes the response back from
/// it; on this 2-vCPU host each of those hand-offs is a thread wake-up, and a one-applicant
/// answer spent ~4× the protobuf face's round trip waiting for them (bench/RESULTS.md).
/// Scoring is synchronous and short, so this handler answers score requests where they are
/// decoded, through the same endpoint functions as the router (`scoreJSON`, `scoreQuery`:
/// same validation, limits, token, metrics and bytes). Everything else, and any request that
/// arrives while Hummingbird still owes this connection a response (pipelining keeps the
/// answers in order), goes on to Hummingbird untouched.
///
/// Sits between Hummingbird's connection-state handler (idle timeout, keep-alive) and its
/// async channel, so the state handler sees the fast requests and responses too.
final class ScoreFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A score request being read: its head's facts, and its body so far.
    struct Pending {
        var post: Bool
        var uri: URI
        var close: Bool
        var started: UInt64
        var body: ByteBuffer?
        /// Decided before the body is in (401, 415, 413): the body is read and dropped.
        var refusal: HTTPAnswer?
    }

    private enum State {
        case idle
        case forwarding
        case scoring(Pending)
    }

    private let face: HTTPFace
    private var state = State.idle
    /// Requests handed to Hummingbird whose response has not ended yet.
    private var owed = 0
    private var counted = false

    init(face: HTTPFace) {
        self.face = face
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        face.metrics.connectionOpened()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if counted { face.metrics.connectionClosed(); counted = false }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.idle, .head(let head)):
            if owed == 0, let pending = face.fastPathPending(head) {
                state = .scoring(pending)
                return
            }
            owed += 1
            state = .forwarding
            context.fireChannelRead(data)
        case (.forwarding, .end):
            state = .idle
            context.fireChannelRead(data)
        case (.scoring(var pending), .body(let chunk)):
            state = .idle  // drop the enum's reference so the buffer below is uniquely held
            if pending.refusal == nil {
                let total = (pending.body?.readableBytes ?? 0) + chunk.readableBytes
                if total > face.config.maxBodyBytes {
                    pending.body = nil
                    pending.refusal = face.problemAnswer(413, face.bodyTooLarge, pending.started)
                } else if pending.body == nil {
                    pending.body = chunk
                } else {
                    pending.body!.writeImmutableBuffer(chunk)
                }
            }
            state = .scoring(pending)
        case (.scoring(let pending), .end):
            state = .idle
            answer(pending, context: context)
        default:
            // Body or end of a forwarded request, or parts out of order (Hummingbird reports those).
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), owed > 0 { owed -= 1 }
        context.write(data, promise: promise)
    }

    private func answer(_ pending: Pending, context: ChannelHandlerContext) {
        let answer: HTTPAnswer
        if let refusal = pending.refusal {
            answer = refusal
        } else if pending.post {
            answer = face.scoreJSON(pending.body ?? ByteBuffer(), reasons: HTTPFace.reasons(pending.uri), started: pending.started)
        } else {
            answer = face.scoreQuery(pending.uri, started: pending.started)
        }
        var fields: HTTPFields = [.contentType: "application/json", .contentLength: String(answer.body.readableBytes)]
        if answer.status == 401 { fields[.wwwAuthenticate] = "Bearer" }
        if pending.close { fields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: answer.status), headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        if pending.close {
            let channel = context.channel  // closed once the answer is out, not before
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

extension HTTPFace {
    /// A score request's head, when the fast path takes it; nil sends it on to the router.
    func fastPathPending(_ head: HTTPRequest) -> ScoreFastPath.Pending? {
        guard head.method == .post || head.method == .get, let path = head.path else { return nil }
        let uri = URI(path)
        guard uri.path == "/v1/score" else { return nil }
        let started = SystemClock.monotonicNanos()
        var pending = ScoreFastPath.Pending(post: head.method == .post, uri: uri,
                                            close: head.headerFields[.connection] == "close", started: started)
        if !TokenMiddleware.allows(token: config.token, authorization: head.headerFields[.authorization]) {
            pending.refusal = HTTPAnswer(status: 401, body: TokenMiddleware.refusal)
        } else if pending.post, !Self.isJSON(head.headerFields[.contentType]) {
            pending.refusal = problemAnswer(415, Self.notJSON, started)
        }
        return pending
    }
}

/// Hummingbird's HTTP/1.1 child channel with the score fast path inserted after its
/// connection-state handler.
struct FastPathHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let face: HTTPFace

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let state = try channel.pipeline.syncOperations.handler(type: HTTPConnectionStateHandler.self)
            try channel.pipeline.syncOperations.addHandler(ScoreFastPath(face: face), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
