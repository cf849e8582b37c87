extension Array {
    /// A copy without spare capacity, for arrays a cache keeps: one built by appending has up
    /// to twice the room it uses. (`Array(self[...])` would share the same buffer.)
    public var trimmed: [Element] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: self)
        }
    }
}
