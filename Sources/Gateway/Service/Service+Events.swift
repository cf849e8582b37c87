import Foundation

/// Events in the store: boot events come in batches from the boot path (`flushBootRecords`),
/// audit events with every write (`auditRecord`, committed with it); both are deleted by one
/// retention (`EventRetention`), in batches, by `trimEvents`.
extension Service {
    /// The audit record of a write by `actor`.
    func auditRecord(_ verb: String, _ actor: Actor, _ key: ObjectKey, before: ResourceObject?, after: ResourceObject?) -> ResourceObject {
        let sequence = auditSequence.wrappingAdd(1, ordering: .relaxed).newValue
        if index.count(.auditEvent) > settings.auditRetention.maxCount + settings.auditRetention.slack, bootRecorder.wake() {
            scheduleBootFlush()
        }
        return AuditRecord.object(verb: verb, actor: actor, key: key, before: before, after: after, sequence: sequence, now: eventClock.nowMilliseconds())
    }

    func retention(_ kind: ResourceKind) -> EventRetention {
        kind == .auditEvent ? settings.auditRetention : settings.bootEventRetention
    }

    /// Deletes the events past their kind's retention, oldest first, `maxWritesPerCommit` per
    /// commit. A delete that finds the event gone (another replica trimmed it first) fails
    /// only its own batch; then the result is false and the next batch (scheduled by the
    /// caller) trims again.
    func trimEvents() async -> Bool {
        var done = true
        let now = eventClock.nowMilliseconds()
        for kind in [ResourceKind.bootEvent, .auditEvent] {
            let rules = retention(kind)
            let doomed: [StoreWrite] = index.read { s in
                let all = s.objects[kind] ?? [:]
                let names = all.keys.map(\.name).sorted()
                return rules.expired(names, nowMilliseconds: now).compactMap { name in
                    let key = ObjectKey(kind, name: name)
                    return all[key].map { .delete(key, expectedRevision: $0.resourceVersion) }
                }
            }
            let perCommit = store.maxWritesPerCommit
            for start in stride(from: 0, to: doomed.count, by: perCommit) {
                let chunk = Array(doomed[start..<min(doomed.count, start + perCommit)])
                do throws(APIError) {
                    _ = try await commitWrites(chunk)
                } catch {
                    done = false
                    logger.info("event retention: \(chunk.count) \(kind.plural) not deleted now: \(error.message)")
                }
            }
        }
        return done
    }

    /// Ages events out even when nothing boots or writes: a flush at least every
    /// `ServiceSettings.retentionCheck` (sooner for short ages).
    func startEventRetention() {
        let every = min(settings.retentionCheck, Self.quarter(of: min(settings.bootEventRetention.maxAge, settings.auditRetention.maxAge)))
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: max(every, .milliseconds(200)))
                guard let self else { return }
                if self.store.health.reachable, self.bootRecorder.wake() { self.scheduleBootFlush() }
            }
        }
    }

    private static func quarter(of d: Duration) -> Duration { d / 4 }

    /// `/api/v1/events`: the stored boot events and those on their way, oldest first.
    func bootEventList(host: String?, limit: Int) -> [BootEventLog.Event] {
        let stored: [BootEventLog.Event] = index.read { s in
            let all = s.objects[.bootEvent] ?? [:]
            let names = all.keys.sorted()
            var out: [BootEventLog.Event] = []
            // Newest first until `limit` match, then reversed.
            for key in names.reversed() {
                guard let o = all[key] else { continue }
                if let host, o.string("host") != host { continue }
                out.append(BootEventLog.event(o))
                if out.count >= limit { break }
            }
            return out.reversed()
        }
        let inIndex: Set<String> = index.read { s in Set((s.objects[.bootEvent] ?? [:]).keys.map(\.name)) }
        let recent = events.recent(host: host).filter { !inIndex.contains($0.name) }
        return Array((stored + recent).suffix(limit))
    }
}
