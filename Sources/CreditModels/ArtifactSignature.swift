import Crypto
import Foundation

/// Who signed an artifact: the Ed25519 public key carried in its envelope and the key id
/// derived from it (the first 8 bytes of the key's SHA-256, in hex).
public struct ArtifactSigner: Sendable, Equatable {
    public var keyID: String
    public var publicKey: Data
}

/// Signed artifacts: an envelope around the unchanged `.credit` file, so the artifact format
/// itself (its version, its sections, its content id) is untouched:
/// ```
/// CREDIT-SIGNED 1\n
/// ed25519 <key id> <public key, base64> <signature of the inner file, base64>\n
/// <the .credit file, byte for byte>
/// ```
/// Opening an envelope always checks that the key id matches the key and the signature
/// matches the inner bytes (so any altered byte is caught); whether the key is *trusted* is
/// `TrustedKeys`' question, asked before the inner body is parsed.
public enum ArtifactSignature {
    public static let magic = "CREDIT-SIGNED"
    public static let version = 1

    public static func keyID(publicKey: Data) -> String {
        SHA256.hash(data: publicKey).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Wraps an artifact file (plain, or already signed: the old envelope is replaced).
    public static func sign(_ file: Data, with key: SigningKey, source: String = "model file") throws -> Data {
        let inner = try open(file, source: source).inner
        let publicKey = key.key.publicKey.rawRepresentation
        let signature = try key.key.signature(for: inner)
        var out = Data("\(magic) \(version)\ned25519 \(keyID(publicKey: publicKey)) \(publicKey.base64EncodedString()) \(signature.base64EncodedString())\n".utf8)
        out.append(inner)
        return out
    }

    /// Splits a file into the inner artifact bytes and its signer (nil: not signed),
    /// verifying the envelope. A file without an envelope comes back as it is.
    public static func open(_ data: Data, source: String = "model file") throws -> (inner: Data, signer: ArtifactSigner?) {
        let prefix = Data("\(magic) ".utf8)
        guard data.starts(with: prefix) else { return (data, nil) }
        func damaged(_ why: String) -> ArtifactError {
            ArtifactError(description: "\(source) has a damaged signature envelope: \(why)")
        }
        let bytes = [UInt8](data)
        guard let nl1 = bytes.firstIndex(of: 10), let nl2 = bytes[(nl1 + 1)...].firstIndex(of: 10) else {
            throw damaged("its header is incomplete")
        }
        let versionText = String(decoding: bytes[prefix.count..<nl1], as: UTF8.self)
        guard Int(versionText) == version else {
            throw damaged("unknown envelope version '\(versionText)' (this build reads \(version))")
        }
        let parts = String(decoding: bytes[(nl1 + 1)..<nl2], as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "ed25519" else { throw damaged("expected 'ed25519 KEYID KEY SIGNATURE'") }
        guard let publicKeyBytes = Data(base64Encoded: String(parts[2])), let signature = Data(base64Encoded: String(parts[3])),
              let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKeyBytes) else {
            throw damaged("the public key or the signature is not valid base64 of the right length")
        }
        let id = keyID(publicKey: publicKeyBytes)
        guard parts[1] == id else { throw damaged("key id \(parts[1]) does not belong to the key it carries (\(id))") }
        let inner = Data(bytes[(nl2 + 1)...])
        guard publicKey.isValidSignature(signature, for: inner) else {
            throw ArtifactError(description: "\(source) fails its signature check (key \(id)): the file was altered after signing")
        }
        return (inner, ArtifactSigner(keyID: id, publicKey: publicKeyBytes))
    }
}

/// An Ed25519 private key in its file form: `credit-signing-key ed25519 <base64>` (mode 0600);
/// its public half goes to `<name>.pub` as `credit-public-key ed25519 <base64>`.
public struct SigningKey {
    let key: Curve25519.Signing.PrivateKey
    static let privateTag = "credit-signing-key ed25519 "
    static let publicTag = "credit-public-key ed25519 "

    public static func generate() -> SigningKey { SigningKey(key: Curve25519.Signing.PrivateKey()) }

    public var keyID: String { ArtifactSignature.keyID(publicKey: key.publicKey.rawRepresentation) }

    public init(path: String) throws {
        let text = try readKeyFile(path, tag: Self.privateTag, what: "signing key")
        guard let raw = Data(base64Encoded: text), let k = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw ArtifactError(description: "signing key \(path): not a valid Ed25519 key")
        }
        key = k
    }

    init(key: Curve25519.Signing.PrivateKey) { self.key = key }

    /// Writes `<prefix>.key` (0600, refused if it exists) and `<prefix>.pub`.
    public func write(prefix: String) throws {
        let priv = prefix + ".key", pub = prefix + ".pub"
        for p in [priv, pub] where FileManager.default.fileExists(atPath: p) {
            throw ArtifactError(description: "\(p) already exists; not overwriting a key")
        }
        let created = FileManager.default.createFile(atPath: priv, contents: Data((Self.privateTag + key.rawRepresentation.base64EncodedString() + "\n").utf8),
                                                     attributes: [.posixPermissions: 0o600])
        guard created else { throw ArtifactError(description: "cannot write \(priv)") }
        try Data((Self.publicTag + key.publicKey.rawRepresentation.base64EncodedString() + "\n").utf8)
            .write(to: URL(fileURLWithPath: pub))
    }
}

/// The public keys whose signatures `creditd --trusted-keys DIR` accepts: every `*.pub` file
/// in DIR, read again at each load so keys rotate without a restart.
public struct TrustedKeys: Sendable {
    public let directory: String
    /// key id → public key.
    public let keys: [String: Data]

    public init(directory: String) throws {
        self.directory = directory
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw ArtifactError(description: "trusted keys directory \(directory): cannot list it (\(error.localizedDescription))")
        }
        var keys: [String: Data] = [:]
        for name in names.sorted() where name.hasSuffix(".pub") {
            let path = (directory as NSString).appendingPathComponent(name)
            let text = try readKeyFile(path, tag: SigningKey.publicTag, what: "public key")
            guard let raw = Data(base64Encoded: text), (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
                throw ArtifactError(description: "public key \(path): not a valid Ed25519 key")
            }
            keys[ArtifactSignature.keyID(publicKey: raw)] = raw
        }
        guard !keys.isEmpty else { throw ArtifactError(description: "trusted keys directory \(directory) holds no *.pub key") }
        self.keys = keys
    }

    /// Throws unless the file was signed by one of these keys.
    public func check(_ signer: ArtifactSigner?, source: String) throws {
        guard let signer else {
            throw ArtifactError(description: "\(source) is not signed; only artifacts signed by a key in \(directory) are accepted")
        }
        guard keys[signer.keyID] == signer.publicKey else {
            throw ArtifactError(description: "\(source) is signed by key \(signer.keyID), which is not in \(directory)")
        }
    }
}

private func readKeyFile(_ path: String, tag: String, what: String) throws -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw ArtifactError(description: "cannot read \(what) \(path)")
    }
    let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard line.hasPrefix(tag) else { throw ArtifactError(description: "\(path) is not a credit \(what) (it does not start with '\(tag)')") }
    return String(line.dropFirst(tag.count))
}

extension ModelArtifact {
    /// Reads an artifact file, signed or not: the envelope is verified, then (when `trusted`
    /// is given) its signer is checked *before* the body is parsed, then the artifact itself.
    public static func load(path: String, trusted: TrustedKeys?) throws -> (artifact: ModelArtifact, modelID: String, signer: ArtifactSigner?) {
        let source = "model file \(path)"
        let (inner, signer) = try ArtifactSignature.open(try readFile(path: path), source: source)
        try trusted?.check(signer, source: source)
        let (artifact, id) = try decode(inner, source: source)
        return (artifact, id, signer)
    }
}
