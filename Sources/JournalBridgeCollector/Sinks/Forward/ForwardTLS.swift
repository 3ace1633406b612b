import NIOSSL

/// The TLS side of `syslog+tls` (RFC 5425), with swift-nio-ssl: the Swift server
/// ecosystem's TLS for SwiftNIO (BoringSSL inside, nothing to install on the host), which
/// the three transports share through one NIO event loop. Only the collector links it;
/// the worker library never does.
package enum ForwardTLS {
    /// A client context: the receiver's certificate must chain to `caFile` (the system's
    /// roots when nil) and name the host dialled (or its IP address); a client certificate
    /// when both files are given.
    package static func makeContext(_ options: ForwardOptions) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = options.caFile {
            // Read here, not at the first handshake: a bad file is a configuration error at start.
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        if let certificateFile = options.certificateFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
        }
        if let keyFile = options.keyFile {
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

extension ForwardTLS {
    /// What is wrong with the TLS files, as the configuration key and the problem: a file that
    /// cannot be read or holds no PEM certificate (key), or a certificate without its key.
    /// Checked only when a `syslog+tls` receiver is configured.
    package static func problem(_ options: ForwardOptions, forwarding destinations: [ForwardDestination]) -> (
        key: String, problem: String
    )? {
        guard destinations.contains(where: { $0.transport == .tls }) else { return nil }
        if (options.certificateFile == nil) != (options.keyFile == nil) {
            return (
                options.certificateFile == nil ? "forward_cert" : "forward_key",
                "forward_cert and forward_key go together"
            )
        }
        if let caFile = options.caFile {
            do { _ = try NIOSSLCertificate.fromPEMFile(caFile) } catch { return ("forward_ca", "\(caFile): \(error)") }
        }
        if let certificateFile = options.certificateFile {
            do { _ = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
                return ("forward_cert", "\(certificateFile): \(error)")
            }
        }
        if let keyFile = options.keyFile {
            do { _ = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
                return ("forward_key", "\(keyFile): \(error)")
            }
        }
        do { _ = try makeContext(options) } catch { return ("forward_cert", "\(error)") }
        return nil
    }
}
