/// Checks one object on its own: names, MACs, IPs, and every value that ends up in an iPXE
/// script (iPXE cannot escape anything, so such values are refused at write time).
enum ObjectRules {
    static func check(_ object: ResourceObject) -> [APIError.Cause] {
        var causes: [APIError.Cause] = []
        func add(_ field: String, _ message: String) { causes.append(.init(field: field, message: message)) }

        if let problem = nameProblem(object.name) { add("metadata.name", problem) }
        if object.kind.namespaced, let problem = nameProblem(object.namespace) { add("metadata.namespace", problem) }
        for (k, _) in object.labels where k.isEmpty || k.contains(where: \.isWhitespace) {
            add("metadata.labels", "invalid label key \"\(k)\"")
        }

        // The boot-method annotations go into iPXE scripts: refused here, not at boot.
        if object.kind != .bootConfig {
            for (key, problem) in BootAnnotation.problems(object.annotations) { add("metadata.annotations[\(key)]", problem) }
        }

        switch object.kind {
        case .bareMetalHost:
            let mac = object.bootMAC
            if !mac.isEmpty, MACAddress.normalize(mac) == nil {
                add("spec.bootMACAddress", "\"\(mac)\" is not a MAC address (six hex pairs, separated by ':' or '-', or none)")
            }
            if !object.ip.isEmpty, !IPAddressText.isValid(object.ip) { add("spec.ip", "\"\(object.ip)\" is not an IPv4 or IPv6 address") }
            for (n, nic) in object.nics.enumerated() {
                if MACAddress.normalize(nic.mac) == nil { add("spec.nics[\(n)].mac", "\"\(nic.mac)\" is not a MAC address") }
                if !nic.ip.isEmpty, !IPAddressText.isValid(nic.ip) { add("spec.nics[\(n)].ip", "\"\(nic.ip)\" is not an IPv4 or IPv6 address") }
            }
        case .bootEvent, .auditEvent:
            break
        case .iscsiCdrom:
            if let file = object.json.value(at: ["spec", "isoFile"])?.stringValue, let problem = ISOLibrary.fileNameProblem(file) {
                add("spec.isoFile", problem)
            }
            let iqn = object.string("status", "targetIQN")
            if !iqn.isEmpty, let problem = IPXEValue.checkIQN(iqn) { add("status.targetIQN", problem) }
            let portal = object.string("status", "portalIP")
            if !portal.isEmpty, let problem = IPXEValue.checkPortal(portal) { add("status.portalIP", problem) }
            let port = object.json.value(at: ["status", "portalPort"])?.intValue ?? 0
            if port < 0 || port > 65535 { add("status.portalPort", "\(port) is not a TCP port") }
            let lun = object.json.value(at: ["status", "lun"])?.intValue ?? 0
            if lun < 0 || lun > 0xFFFF { add("status.lun", "\(lun) is out of range (0-65535)") }
            var seen = Set<String>()
            for name in object.bootConfigs where !seen.insert(name).inserted {
                add("spec.bootConfigs", "\"\(name)\" is listed twice")
            }
        case .bootConfig:
            for file in object.data.keys.sorted() where file.isEmpty || file.contains("/") || file == "." || file == ".." {
                add("spec.data", "\"\(file)\" is not a valid file name")
            }
        }
        return causes
    }

    /// Names appear in URLs, iPXE scripts and log lines: letters, digits, `-`, `_`, `.`.
    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > 253 { return "must be at most 253 characters" }
        let ok = name.unicodeScalars.allSatisfy { s in
            (s.value < 128) && (CharacterSet.alphanumerics.contains(s) || s == "-" || s == "_" || s == ".")
        }
        guard ok else { return "\"\(name)\" may contain only letters, digits, '-', '_' and '.'" }
        guard let first = name.unicodeScalars.first, let last = name.unicodeScalars.last,
              CharacterSet.alphanumerics.contains(first), CharacterSet.alphanumerics.contains(last) else {
            return "\"\(name)\" must start and end with a letter or digit"
        }
        return nil
    }
}

import Foundation
import Renderers

/// Textual IP checks without resolving anything.
enum IPAddressText {
    static func isValid(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && (Int(p) ?? 256) <= 255
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        var addr = in6_addr()
        return inet_pton(AF_INET6, text, &addr) == 1
    }
}
