/// Whether a host's firmware can start its ISO, from the El Torito entries the upload found
/// (`status.bootEntries`): a UEFI host needs an `efi` entry, a BIOS host a `bios` one. A warning,
/// not a refusal: the ISO may be uploaded after the host points at it, and `spec.firmware` is
/// what the operator declared, not what the machine is.
enum FirmwareRules {
    static func warning(_ host: ResourceObject, _ state: ResourceIndex.State) -> String? {
        guard let firmware = HostFirmware(rawValue: host.string("spec", "firmware")), firmware != .unspecified else { return nil }
        let image = host.image
        guard !image.isEmpty, image != localBootImage, let iso = state.object(ObjectKey(.iscsiCdrom, name: image)),
              let entries = iso.json.value(at: ["status", "bootEntries"])?.arrayValue else { return nil }
        let platforms = entries.filter { $0["bootable"]?.boolValue ?? true }.compactMap { $0["platform"]?.stringValue }
        let needed = firmware == .uefi ? "efi" : "bios"
        guard !platforms.contains(needed) else { return nil }
        let has = platforms.isEmpty ? "no El Torito boot entry at all" : "only \(Set(platforms).sorted().joined(separator: ", ")) boot entries"
        return "host \(host.key) has spec.firmware \(firmware.rawValue) but ISO \"\(iso.name)\" has \(has), so it cannot boot from it; upload an ISO with a\(needed == "efi" ? "n EFI" : " BIOS") entry or change spec.firmware"
    }
}
