// The JSON model (JSONValue, JSONParser, JSONWriter, JSONPointer) lives in Renderers, the lowest
// library, so the Ignition validator and the API share one; Gateway's users see it too.
@_exported import Renderers
