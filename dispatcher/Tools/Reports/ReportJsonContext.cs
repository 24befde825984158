using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>System.Text.Json source-generated (de)serialisers of the report lines: no reflection, absent fields instead of nulls.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReportRecord))]
internal sealed partial class ReportJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context the report file is written and read with: like <see cref="JsonSerializerContext"/>'s
    /// default but escaping only what JSON requires, so titles keep their '+' and '&lt;' and stay greppable
    /// (the file is data for scripts, never embedded in HTML).
    /// </summary>
    public static ReportJsonContext Lines { get; } = new(new JsonSerializerOptions
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
