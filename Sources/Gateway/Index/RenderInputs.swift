/// What a host's rendered config reads of a BootConfig or an ISCSICdrom (`BootResolver.renderContext`
/// and `BootResolver.configSource`): a change elsewhere in them (labels, description, bootConfigs,
/// phase) cannot change any host's rendering, so it checks no host again.
enum RenderInputs {
    static func of(_ object: ResourceObject) -> [JSONValue?] {
        switch object.kind {
        case .bootConfig:
            [object.json.value(at: ["spec", "format"]), object.json.value(at: ["spec", "data"])]
        case .iscsiCdrom:
            [object.json.value(at: ["status", "targetIQN"]), object.json.value(at: ["status", "portalIP"]),
             object.json.value(at: ["status", "portalPort"]), object.json.value(at: ["status", "lun"])]
        case .bareMetalHost:
            [object.json["spec"], object.json["metadata"]?["labels"], object.json["metadata"]?["annotations"]]
        case .bootEvent, .auditEvent:
            []
        }
    }

    /// True when an object appears, goes away, or changes what renderings read.
    static func differ(_ old: ResourceObject?, _ new: ResourceObject?) -> Bool {
        switch (old, new) {
        case (nil, nil): false
        case (let a?, let b?): of(a) != of(b)
        default: true
        }
    }
}
