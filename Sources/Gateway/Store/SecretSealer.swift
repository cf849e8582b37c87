import COpenSSL
import Foundation
import Synchronization

/// Seals BMC passwords before they reach the disk: AES-256-GCM with a key kept next to the
/// store (`secret.key`, mode 0600, made on first start). The index and the API see plaintext;
/// the SQLite file, its change log and backups of it do not.
///
/// A sealed value is `sealed:v2:<key id>:<base64 nonce‖ciphertext‖tag>`; the key id (the first
/// 8 bytes of the key's SHA-256) says which key opens it, so a rotation (`SecretKeyring`) knows
/// what is left to re-seal. `sealed:v1:` values (no id) are opened by trying each key.
public struct SecretSealer: Sendable {
    static let prefix = "sealed:"
    static let legacyPrefix = "sealed:v1:"
    static let sealedPaths: [[String]] = [["spec", "bmc", "password"]]
    private let key: [UInt8]
    /// 16 hex digits; tells keys apart without saying anything about them.
    public let keyID: String

    public init(key: [UInt8]) {
        precondition(key.count == 32, "AES-256 needs a 32-byte key")
        self.key = key
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(key, key.count, &digest)
        keyID = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// What every value this key sealed starts with.
    var sealedPrefix: String { "sealed:v2:\(keyID):" }

    /// Loads the key file, creating it (readable by the owner only) when absent.
    public static func keyFile(_ path: String) throws -> SecretSealer {
        if let existing = try load(path) { return existing }
        let key = try SecretKeyFiles.write(newKeyTo: path)
        return SecretSealer(key: key)
    }

    /// The key in `path`, nil when there is no such file.
    static func load(_ path: String) throws -> SecretSealer? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard data.count == 32 else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path]) }
        return SecretSealer(key: Array(data))
    }

    /// The object as stored: secret fields sealed.
    func seal(_ json: JSONValue) -> JSONValue {
        transform(json) { plain in plain.hasPrefix(Self.prefix) ? plain : seal(string: plain) }
    }

    func seal(string plain: String) -> String {
        sealedPrefix + encrypt(Array(plain.utf8)).base64EncodedString()
    }

    /// The object as served: secret fields opened. A value that cannot be opened stays sealed
    /// rather than failing the whole load.
    func open(_ json: JSONValue) -> JSONValue {
        transform(json) { stored in open(string: stored) ?? stored }
    }

    /// The plaintext of a value this key sealed; nil for anything else.
    func open(string stored: String) -> String? {
        let body: Substring
        if stored.hasPrefix(sealedPrefix) {
            body = stored.dropFirst(sealedPrefix.count)
        } else if stored.hasPrefix(Self.legacyPrefix) {
            body = stored.dropFirst(Self.legacyPrefix.count)
        } else {
            return nil
        }
        guard let data = Data(base64Encoded: String(body)), let plain = decrypt(Array(data)) else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    static func transform(_ json: JSONValue, _ f: (String) -> String) -> JSONValue {
        var out = json
        for path in sealedPaths {
            if let s = json.value(at: path)?.stringValue, !s.isEmpty { out.set(.string(f(s)), at: path[...]) }
        }
        return out
    }

    private func transform(_ json: JSONValue, _ f: (String) -> String) -> JSONValue { Self.transform(json, f) }

    /// nonce (12) ‖ ciphertext ‖ tag (16)
    private func encrypt(_ plain: [UInt8]) -> Data {
        var nonce = [UInt8](repeating: 0, count: 12)
        _ = RAND_bytes(&nonce, 12)
        guard let ctx = EVP_CIPHER_CTX_new() else { return Data() }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plain.count + 16)
        var len: Int32 = 0, total: Int32 = 0
        var tag = [UInt8](repeating: 0, count: 16)
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
              EVP_EncryptUpdate(ctx, &out, &len, plain, Int32(plain.count)) == 1 else { return Data() }
        total = len
        let finalOK = out.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(ctx, $0.baseAddress! + Int(total), &len) }
        guard finalOK == 1 else { return Data() }
        total += len
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1 else { return Data() }
        return Data(nonce + out[..<Int(total)] + tag)
    }

    private func decrypt(_ sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 28 else { return nil }
        let nonce = Array(sealed[..<12]), body = Array(sealed[12..<(sealed.count - 16)])
        var tag = Array(sealed[(sealed.count - 16)...])
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: body.count + 16)
        var len: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1,
              EVP_DecryptUpdate(ctx, &out, &len, body, Int32(body.count)) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1 else { return nil }
        let total = Int(len)
        var finalLen: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + total, &finalLen) }
        guard ok == 1 else { return nil }
        return Array(out[..<(total + Int(finalLen))])
    }
}
