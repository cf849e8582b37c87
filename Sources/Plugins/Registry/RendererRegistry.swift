import Foundation
import Logging
import Renderers

/// Maps a BootConfig's `spec.format` to the renderer that validates and renders it.
///
/// Built-in formats (ignition, kickstart, custom) and the in-tree cloud-init plugin are always
/// present; executables named `bootgate-render-<format>` in the plugin directory add formats
/// but never replace one of those. The set is fixed once built, so lookups need no locking.
public final class RendererRegistry: Sendable {
    /// Prefix of plugin executables; the rest of the file name is the format.
    public static let pluginPrefix = "bootgate-render-"

    private let entries: [String: Entry]
    /// The iPXE script renderer's boot methods: built-ins (sanboot, kernel, local), then the
    /// in-tree plugins' and those given to `init`. Listed under the `ipxe` format.
    public let bootMethods: IPXEBootMethods
    /// Boot methods of in-tree plugins (none yet; a plugin's `BootMethod` goes here).
    static let inTreeBootMethods: [any BootMethod] = []

    struct Entry: Sendable {
        var renderer: any Renderer
        var info: RendererInfo
    }

    /// Built-ins and in-tree plugins only; no process is ever started.
    public init(bootMethods extra: [any BootMethod] = []) {
        entries = Self.inTreeEntries()
        bootMethods = IPXEBootMethods(extra: Self.inTreeBootMethods + extra)
    }

    /// Built-ins, in-tree plugins, and the working plugins of `pluginDirectory`.
    ///
    /// Each candidate is asked to `describe` itself (concurrently, each within `limits.timeout`);
    /// one that fails, claims a taken or invalid format, or is not executable is logged and left out.
    public init(pluginDirectory: String?, limits: PluginLimits = PluginLimits(), bootMethods extra: [any BootMethod] = [],
                logger: Logger = Logger(label: "bootgate.plugins")) async {
        bootMethods = IPXEBootMethods(extra: Self.inTreeBootMethods + extra)
        var entries = Self.inTreeEntries()
        if let pluginDirectory {
            for renderer in await Self.discover(in: pluginDirectory, taken: Set(entries.keys), limits: limits, logger: logger) {
                entries[renderer.format] = Entry(renderer: renderer, info: RendererInfo(
                    format: renderer.format, contentType: renderer.contentType, mainFileNames: renderer.mainFileNames,
                    source: .external, executable: renderer.executable, variables: renderer.variables))
            }
        }
        self.entries = entries
        let summary = self.formats.map { "\($0.format) (\($0.source.rawValue))" }.joined(separator: ", ")
        logger.info("renderers ready: \(summary); iPXE boot methods: \(bootMethods.names.joined(separator: ", "))")
    }

    /// The renderer for a `spec.format` value, or nil when no renderer handles it.
    public func renderer(for format: String) -> (any Renderer)? {
        entries[format]?.renderer
    }

    /// Every format, sorted by name, as `GET /api/v1/renderers` lists them.
    public var formats: [RendererInfo] {
        entries.values.map(\.info).sorted { $0.format < $1.format }
    }

    /// Every format name, sorted (matches Gateway's `RendererLookup`).
    public var formatNames: [String] {
        entries.keys.sorted()
    }

    public func info(for format: String) -> RendererInfo? {
        entries[format]?.info
    }

    /// Validates a config of any format; an unknown format is itself an error.
    public func validate(format: String, files: [String: String]) async -> [Diagnostic] {
        guard let renderer = renderer(for: format) else {
            return [Diagnostic(file: files.keys.sorted().first ?? "", message: unknownFormatMessage(format))]
        }
        return await renderer.validate(files: files)
    }

    /// Renders one file of a config of any format.
    public func render(format: String, file: String, files: [String: String], context: RenderContext,
                       options: RenderOptions = RenderOptions()) async throws(RenderFailure) -> RenderedFile {
        guard let renderer = renderer(for: format) else {
            throw RenderFailure(.invalid, [Diagnostic(file: file, message: unknownFormatMessage(format))])
        }
        return try await renderer.render(file: file, files: files, context: context, options: options)
    }

    /// The file served when the client names none: the first of the renderer's main file
    /// names present in the config, else the config's only file, else nil (ambiguous or empty).
    public static func mainFile(for renderer: any Renderer, in files: [String: String]) -> String? {
        MainFile.select(in: files, names: renderer.mainFileNames)
    }

    func unknownFormatMessage(_ format: String) -> String {
        "no renderer for format '\(format)'; known formats: \(formatNames.joined(separator: ", "))"
    }

    // MARK: - building

    static func inTreeEntries() -> [String: Entry] {
        let variables = TemplateEngine.variables
        let builtins: [any Renderer] = [IgnitionRenderer(), KickstartRenderer(), PassthroughRenderer()]
        let plugins: [any Renderer] = [CloudInitRenderer()]
        var entries: [String: Entry] = [:]
        for (renderers, source) in [(builtins, RendererInfo.Source.builtin), (plugins, .plugin)] {
            for renderer in renderers {
                entries[renderer.format] = Entry(renderer: renderer, info: RendererInfo(
                    format: renderer.format, contentType: renderer.contentType, mainFileNames: renderer.mainFileNames,
                    source: source, variables: variables))
            }
        }
        return entries
    }

    /// The usable plugins of a directory, sorted by format.
    static func discover(in directory: String, taken: Set<String>, limits: PluginLimits,
                         logger: Logger) async -> [ExternalRenderer] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            logger.warning("plugin directory \(directory) cannot be read: \(error.localizedDescription)")
            return []
        }
        var candidates: [(path: String, format: String)] = []
        for name in names.sorted() where name.hasPrefix(pluginPrefix) {
            let format = String(name.dropFirst(pluginPrefix.count))
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            guard FormatName.isValid(format) else {
                logger.warning("skipping plugin \(path): '\(format)' is not a format name (lowercase a-z, 0-9, '-')")
                continue
            }
            guard !taken.contains(format) else {
                logger.warning("skipping plugin \(path): format '\(format)' is built in and cannot be replaced")
                continue
            }
            guard isExecutableFile(path) else {
                logger.warning("skipping plugin \(path): not an executable regular file")
                continue
            }
            candidates.append((path, format))
        }
        return await withTaskGroup(of: ExternalRenderer?.self) { group in
            for candidate in candidates {
                group.addTask {
                    do throws(PluginFailure) {
                        let renderer = try await ExternalRenderer.describe(executable: candidate.path, format: candidate.format,
                                                                           limits: limits)
                        logger.info("plugin \(candidate.path) renders '\(renderer.format)' as \(renderer.contentType)")
                        return renderer
                    } catch {
                        logger.error("skipping plugin \(candidate.path): \(error.message)")
                        return nil
                    }
                }
            }
            var found: [ExternalRenderer] = []
            for await renderer in group {
                if let renderer { found.append(renderer) }
            }
            return found.sorted { $0.format < $1.format }
        }
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
