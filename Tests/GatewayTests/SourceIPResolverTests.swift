import Testing
@testable import Gateway

/// Who a config request is from: the peer, or the right-most hop of X-Forwarded-For that no
/// trusted proxy added.
@Suite struct SourceIPResolverTests {
    let resolver = SourceIPResolver(trustedProxies: [CIDR("127.0.0.0/8")!, CIDR("::1/128")!])

    @Test func untrustedPeersAreTakenAsTheyAre() {
        #expect(resolver.clientIP(peer: "10.0.0.9", forwardedFor: "10.0.0.1") == "10.0.0.9")
        #expect(resolver.clientIP(peer: "::ffff:10.0.0.9", forwardedFor: nil) == "10.0.0.9")
        #expect(resolver.clientIP(peer: "::FFFF:10.0.0.9", forwardedFor: nil) == "10.0.0.9")
        #expect(resolver.clientIP(peer: "::ffff:abcd", forwardedFor: nil) == "::ffff:abcd")
    }

    @Test func trustedPeersNameTheHopBeforeTheirProxies() {
        #expect(resolver.clientIP(peer: "127.0.0.1", forwardedFor: "10.0.0.1") == "10.0.0.1")
        #expect(resolver.clientIP(peer: "::1", forwardedFor: "10.0.0.1") == "10.0.0.1")
        #expect(resolver.clientIP(peer: "127.0.0.1", forwardedFor: "192.0.2.1, 10.0.0.1, 127.0.0.5") == "10.0.0.1")
        #expect(resolver.clientIP(peer: "127.0.0.1", forwardedFor: " 10.0.0.1 ,\t::ffff:127.0.0.6 ") == "10.0.0.1")
        #expect(resolver.clientIP(peer: "127.0.0.1", forwardedFor: "127.0.0.2, 127.0.0.3") == "127.0.0.2", "all trusted: the first")
        #expect(resolver.clientIP(peer: "127.0.0.1", forwardedFor: "10.0.0.1,,127.0.0.3,") == "10.0.0.1", "empty hops are skipped")
        #expect(resolver.clientIP(peer: "127.0.0.1", forwardedFor: "") == "127.0.0.1")
        #expect(resolver.clientIP(peer: "127.0.0.1", forwardedFor: ",") == "127.0.0.1")
    }

    @Test func rangesMatchByPrefix() {
        let v4 = CIDR("10.1.0.0/17")!, v6 = CIDR("fd00::/8")!
        #expect(v4.contains("10.1.127.255") && !v4.contains("10.1.128.0") && !v4.contains("fd00::1"))
        #expect(v6.contains("fd12::1") && !v6.contains("fe80::1") && !v6.contains("10.1.0.1"))
        #expect(CIDR("10.0.0.0/8")!.contains("::ffff:10.2.3.4"), "IPv4-mapped addresses are IPv4")
        #expect(!v4.contains("not an address") && CIDR("10.0.0.0/33") == nil)
    }
}
