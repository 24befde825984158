using System.Text.Json.Serialization;
using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>One symbolised stack frame in a JSON report line (see docs/shadow-and-reports.md).</summary>
public sealed class ReportFrameRecord
{
    /// <summary>The guest address, "0x" and 16 hex digits: the RIP for frame 0, a return address after it.</summary>
    [JsonPropertyName("address")] public string Address { get; set; } = "";

    /// <summary>"kernel" or the module's name; absent when unknown.</summary>
    [JsonPropertyName("module")] public string? Module { get; set; }

    /// <summary>The enclosing function; absent when unknown.</summary>
    [JsonPropertyName("function")] public string? Function { get; set; }

    /// <summary>Byte offset of the address into <see cref="Function"/> (0 when the function is unknown).</summary>
    [JsonPropertyName("offset")] public ulong Offset { get; set; }

    /// <summary>Source file from the debug line table; absent when unknown.</summary>
    [JsonPropertyName("file")] public string? File { get; set; }

    /// <summary>Source line; absent when unknown. For return addresses, the line of the call.</summary>
    [JsonPropertyName("line")] public int? Line { get; set; }

    internal static ReportFrameRecord From(SourceLocation location) => new()
    {
        Address = GuestAddressText.Format(location.Address),
        Module = location.Module,
        Function = location.Function,
        Offset = location.Offset,
        File = location.HasLine ? location.File : null,
        Line = location.HasLine ? location.Line : null,
    };

    /// <summary>Back to a <see cref="SourceLocation"/>.</summary>
    public SourceLocation ToSourceLocation() =>
        new(GuestAddressText.Parse(Address), Module, Function, Offset, File, Line ?? 0);
}
