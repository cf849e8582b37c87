/// What a host becomes when its installer calls `POST /api/v1/boot-complete`: the seed's
/// hand-off (boot the installer ISO with the installer config, then `image: localboot` with the
/// config the installed system fetches on its first disk boot).
///
/// The next config is, first to last:
/// 1. the request's `nextBootConfig` (`""` asks for none);
/// 2. the host's annotation `bootgate.io/next-boot-config` (`""` asks for none);
/// 3. the installer config's own annotation `bootgate.io/next-boot-config`: a config declares
///    its follow-up once, so an admin need not repeat it on every host;
/// 4. none: `bootConfigRef` is cleared, so a host never stays on its installer config after
///    boot-complete unless something above names that config again.
///
/// The follow-up is an annotation, not a spec field: mkube's wire format is frozen and its
/// decoder drops spec fields it does not know, so a `spec.nextBootConfig` written through
/// bootgate in front of mkube would vanish on mkube's next replay; annotations are kept.
///
/// A host already on `localboot` is a repeated call (an installer retrying after a lost
/// answer) or the installed system itself: without a `nextBootConfig` in the request nothing
/// changes, so a retry cannot clear the follow-up the first call set.
public struct BootHandOff: Sendable, Equatable {
    public static let nextConfigAnnotation = "bootgate.io/next-boot-config"

    /// Where the decision came from, for the boot event and the answer.
    public enum Source: String, Sendable {
        case request, hostAnnotation = "host annotation", configAnnotation = "config annotation", none, repeated
    }

    /// The config the host gets; empty for none.
    public var bootConfigRef: String
    public var source: Source

    /// `configAnnotation` reads a config's follow-up annotation (nil when it has none or is gone).
    public static func decide(host: ResourceObject, requested: String?, configAnnotation: (String) -> String?) -> BootHandOff {
        if let requested { return BootHandOff(bootConfigRef: requested, source: .request) }
        if host.image == localBootImage { return BootHandOff(bootConfigRef: host.bootConfigRef, source: .repeated) }
        if let own = host.annotations[nextConfigAnnotation] { return BootHandOff(bootConfigRef: own, source: .hostAnnotation) }
        if !host.bootConfigRef.isEmpty, let declared = configAnnotation(host.bootConfigRef) {
            return BootHandOff(bootConfigRef: declared, source: .configAnnotation)
        }
        return BootHandOff(bootConfigRef: "", source: .none)
    }

    /// The host's spec after the hand-off, as a merge patch.
    public var specPatch: JSONValue {
        .object(JSONObject([("image", .string(localBootImage)),
                            ("bootConfigRef", bootConfigRef.isEmpty ? .null : .string(bootConfigRef))]))
    }

    /// For the boot event: what the host now boots, and why.
    public var detail: String {
        "image localboot, " + (bootConfigRef.isEmpty ? "no config" : "bootConfigRef \(bootConfigRef)") + " (\(source.rawValue))"
    }
}
