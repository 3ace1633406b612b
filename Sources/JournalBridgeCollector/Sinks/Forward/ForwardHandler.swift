import NIOCore
import NIOTLS

/// Hands the channel's events to the link, on the link's loop.
final class ForwardHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let link: ForwardLink
    private var inbound = ByteBuffer()

    init(link: ForwardLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        link.received(&inbound)  // decodes only: no call back into this handler
        inbound.discardReadBytes()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        link.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.inactive()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { link.handshakeCompleted() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        link.caught(error)
    }
}
