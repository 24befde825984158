using System.Text.Json.Serialization;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>The allocation or free context of a JSON report line: the block and a symbolised stack.</summary>
public sealed class ReportBlockRecord
{
    /// <summary>The block's first guest address, "0x" and 16 hex digits.</summary>
    [JsonPropertyName("address")] public string Address { get; set; } = "";

    /// <summary>The block's size in bytes.</summary>
    [JsonPropertyName("size")] public ulong Size { get; set; }

    /// <summary>Where it was allocated (or freed), innermost first.</summary>
    [JsonPropertyName("stack")] public List<ReportFrameRecord> Stack { get; set; } = [];
}
