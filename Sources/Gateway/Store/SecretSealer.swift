import COpenSSL
import Foundation

/// Seals BMC passwords before they reach the disk: AES-256-GCM with a key kept next to the
/// store (`secret.key`, mode 0600, made on first start). The index and the API see plaintext;
/// the SQLite file, its change log and backups of it do not.
public struct SecretSealer: Sendable {
    static let prefix = "sealed:v1:"
    static let sealedPaths: [[String]] = [["spec", "bmc", "password"]]
    private let key: [UInt8]

    public init(key: [UInt8]) {
        precondition(key.count == 32, "AES-256 needs a 32-byte key")
        self.key = key
    }

    /// Loads the key file, creating it (readable by the owner only) when absent.
    public static func keyFile(_ path: String) throws -> SecretSealer {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path]) }
            return SecretSealer(key: Array(data))
        }
        var key = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&key, 32) == 1 else { throw CocoaError(.fileWriteUnknown) }
        guard FileManager.default.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        return SecretSealer(key: key)
    }

    /// The object as stored: secret fields sealed.
    func seal(_ json: JSONValue) -> JSONValue {
        transform(json) { plain in plain.hasPrefix(Self.prefix) ? plain : Self.prefix + encrypt(Array(plain.utf8)).base64EncodedString() }
    }

    /// The object as served: secret fields opened. A value that cannot be opened stays sealed
    /// rather than failing the whole load.
    func open(_ json: JSONValue) -> JSONValue {
        transform(json) { stored in
            guard stored.hasPrefix(Self.prefix), let data = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))),
                  let plain = decrypt(Array(data)) else { return stored }
            return String(decoding: plain, as: UTF8.self)
        }
    }

    private func transform(_ json: JSONValue, _ f: (String) -> String) -> JSONValue {
        var out = json
        for path in Self.sealedPaths {
            if let s = json.value(at: path)?.stringValue, !s.isEmpty { out.set(.string(f(s)), at: path[...]) }
        }
        return out
    }

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
