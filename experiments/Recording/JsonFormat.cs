using System.Text.Json;
using System.Text.Json.Serialization;

namespace Drk.Experiments.Recording;

/// <summary>The JSON conventions of every file the runner writes: snake_case keys, enums as lower-case words, one object per line.</summary>
public static class JsonFormat
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = false,
    };
}
