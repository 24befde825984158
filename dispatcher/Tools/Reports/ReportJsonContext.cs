using System.Text.Json.Serialization;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>System.Text.Json source-generated (de)serialisers of the report lines: no reflection, absent fields instead of nulls.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReportRecord))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
