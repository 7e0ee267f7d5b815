import ArgumentParser
import CreditModels
import Foundation

/// `credit keys generate|sign|verify`: Ed25519 keys for signed artifacts (docs/deploy.md,
/// "Signing keys"). creditd `--trusted-keys DIR` loads only artifacts signed by a key in DIR.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make signing keys, sign a .credit artifact, check a signature.",
        subcommands: [Generate.self, Sign.self, Verify.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write PREFIX.key (private, mode 0600) and PREFIX.pub (for creditd's --trusted-keys directory).")
        @Option(help: "Path prefix of the two key files.") var out: String
        func run() throws {
            let key = SigningKey.generate()
            try key.write(prefix: out)
            print("key id \(key.keyID): private \(out).key, public \(out).pub")
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign an artifact (an existing signature is replaced).")
        @Option(help: "Private key file (from `credit keys generate`).") var key: String
        @Option(help: "Where to write the signed artifact (default: in place).") var out: String?
        @Argument(help: "The .credit artifact.") var model: String
        func run() throws {
            let signing = try SigningKey(path: key)
            let source = "model file \(model)"
            let signed = try ArtifactSignature.sign(try Data(contentsOf: URL(fileURLWithPath: model)), with: signing, source: source)
            // The inner file must be an artifact this build reads before it is vouched for.
            let inner = try ArtifactSignature.open(signed, source: source).inner
            let id = try ModelArtifact.decode(inner, source: source).modelID
            try signed.write(to: URL(fileURLWithPath: out ?? model), options: .atomic)
            print("signed model \(id) with key \(signing.keyID): \(out ?? model)")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check an artifact the way creditd --trusted-keys does; exit 1 when it would be refused.")
        @Option(help: "Directory of trusted *.pub keys.") var trustedKeys: String
        @Argument(help: "The .credit artifact.") var model: String
        func run() throws {
            let r = try ModelArtifact.load(path: model, trusted: try TrustedKeys(directory: trustedKeys))
            print("model \(r.modelID) signed by trusted key \(r.signer?.keyID ?? "?")")
        }
    }
}
