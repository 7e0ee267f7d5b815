import CreditCore
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection that has been idle for the configured time: no request read, no body
/// bytes arriving, no answer written. A client holding half a request head (slowloris) is
/// idle too, since a head only counts once it is whole.
///
/// Why not Hummingbird's idle timeout: it sees only the requests that reach its decoder, so it
/// would cut a connection busy with requests `RawScorePath` answered. This guard sits after
/// the HTTP codec, sees those requests too, and reads the activity `RawScorePath` records.
/// Like Hummingbird's, it never cuts a request whose answer is still being made.
final class IdleGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let activity = ConnectionActivity()
    private let timeout: TimeAmount
    /// Requests read by the standard pipeline and not answered yet.
    private var inProgress = 0
    /// A request's head is in and its end is not.
    private var reading = false
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context: context, in: timeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context: context, in: timeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: inProgress += 1; reading = true
        case .body: break
        case .end: reading = false
        }
        activity.touch()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), inProgress > 0 { inProgress -= 1 }
        activity.touch()
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext, in delay: TimeAmount) {
        guard timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            timer = nil
            check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if !reading && inProgress > 0 { return arm(context: context, in: timeout) }  // an answer is being made
        let idle = Int64(SystemClock.monotonicNanos() &- activity.last)
        if idle >= timeout.nanoseconds {
            context.close(promise: nil)
        } else {
            arm(context: context, in: .nanoseconds(timeout.nanoseconds - idle))
        }
    }
}
