using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Drk.Experiments.Specs;

/// <summary>
/// Typed, position-aware reads from one YAML mapping of a spec. Every problem becomes a <see cref="SpecError"/>
/// at the offending node and reading goes on, so a user sees all mistakes of a file at once.
/// </summary>
internal sealed class YamlMappingReader
{
    private readonly SpecErrorSink _errors;
    private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);

    private YamlMappingReader(SpecErrorSink errors, YamlMappingNode node, string what)
    {
        _errors = errors;
        Node = node;
        What = what;
    }

    public YamlMappingNode Node { get; }

    /// <summary>How the mapping is named in messages, e.g. "guest" or "figure 'slowdown'".</summary>
    public string What { get; }

    /// <summary>Reads <paramref name="node"/> as a mapping with exactly the given keys allowed; null if it is not a mapping.</summary>
    public static YamlMappingReader? Open(SpecErrorSink errors, YamlNode node, string what, params string[] allowedKeys)
    {
        if (node is not YamlMappingNode mapping)
        {
            errors.Add(node, $"{what} must be a mapping of keys to values, got {Describe(node)}");
            return null;
        }
        var reader = new YamlMappingReader(errors, mapping, what);
        foreach (var (key, value) in mapping.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
            {
                errors.Add(key, $"{what}: keys must be plain words");
                continue;
            }
            if (!allowedKeys.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(key, $"unknown key '{name}' in {what} (allowed: {string.Join(", ", allowedKeys)})");
                continue;
            }
            reader._entries[name] = (key, value);
        }
        return reader;
    }

    public bool Has(string key) => _entries.ContainsKey(key);

    /// <summary>The value node of <paramref name="key"/>, or null (with an error when <paramref name="required"/>).</summary>
    public YamlNode? Get(string key, bool required = false)
    {
        if (_entries.TryGetValue(key, out var entry) && !IsNull(entry.Value)) return entry.Value;
        if (required) _errors.Add(entry.Key ?? Node, $"{What}: missing required key '{key}'");
        return null;
    }

    public string? String(string key, bool required = false)
    {
        var node = Get(key, required);
        return node is null ? null : ScalarText(node, key);
    }

    /// <summary>The text of a scalar node, or null with an error when the node is a list or mapping.</summary>
    public string? ScalarText(YamlNode node, string key)
    {
        if (node is YamlScalarNode scalar) return scalar.Value ?? "";
        _errors.Add(node, $"'{key}' must be a single value, got {Describe(node)}");
        return null;
    }

    public long? Integer(string key, long min, long max = long.MaxValue)
    {
        var node = Get(key);
        return node is null ? null : IntegerOf(node, key, min, max);
    }

    public long? IntegerOf(YamlNode node, string key, long min, long max = long.MaxValue)
    {
        var text = ScalarText(node, key);
        if (text is null) return null;
        var digits = text.Replace("_", "", StringComparison.Ordinal);
        if (!long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            _errors.Add(node, $"'{key}' must be a whole number, got '{text}'");
            return null;
        }
        if (value < min || value > max)
        {
            var range = max == long.MaxValue ? $">= {min}" : $"between {min} and {max}";
            _errors.Add(node, $"'{key}' must be {range}, got {value}");
            return null;
        }
        return value;
    }

    public bool? Boolean(string key)
    {
        var node = Get(key);
        if (node is null) return null;
        var text = ScalarText(node, key);
        switch (text)
        {
            case null: return null;
            case "true" or "yes" or "on": return true;
            case "false" or "no" or "off": return false;
            default:
                _errors.Add(node, $"'{key}' must be true or false, got '{text}'");
                return null;
        }
    }

    /// <summary>A duration such as <c>90s</c>, <c>5m</c>, <c>1h</c> or a bare number of seconds.</summary>
    public TimeSpan? Duration(string key)
    {
        var node = Get(key);
        if (node is null) return null;
        var text = ScalarText(node, key);
        if (text is null) return null;
        var (number, unit) = text.Length > 0 && char.IsLetter(text[^1]) ? (text[..^1], text[^1]) : (text, 's');
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            switch (unit)
            {
                case 's': return TimeSpan.FromSeconds(amount);
                case 'm': return TimeSpan.FromMinutes(amount);
                case 'h': return TimeSpan.FromHours(amount);
            }
        }
        _errors.Add(node, $"'{key}' must be a positive duration like 90s, 5m or 1h, got '{text}'");
        return null;
    }

    /// <summary>A list of scalars; a single scalar counts as a one-element list. Each item keeps its node for errors.</summary>
    public IReadOnlyList<(string Value, YamlNode Node)>? Strings(string key, bool required = false)
    {
        var node = Get(key, required);
        if (node is null) return null;
        var items = new List<(string, YamlNode)>();
        IEnumerable<YamlNode> children = node is YamlSequenceNode seq ? seq.Children : [node];
        foreach (var child in children)
        {
            var text = ScalarText(child, key);
            if (text is not null) items.Add((text, child));
        }
        if (node is YamlSequenceNode { Children.Count: 0 }) _errors.Add(node, $"'{key}' must not be empty");
        return items;
    }

    /// <summary>Like <see cref="Strings"/> but each value must be one of <paramref name="allowed"/> and appear once.</summary>
    public IReadOnlyList<string>? Choices(string key, IReadOnlyList<string> allowed, string what)
    {
        var items = Strings(key);
        if (items is null) return null;
        var result = new List<string>();
        foreach (var (value, node) in items)
        {
            if (!allowed.Contains(value, StringComparer.Ordinal))
                _errors.Add(node, $"unknown {what} '{value}' (known: {string.Join(", ", allowed)})");
            else if (result.Contains(value, StringComparer.Ordinal))
                _errors.Add(node, $"{what} '{value}' is listed twice");
            else
                result.Add(value);
        }
        return result;
    }

    internal static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    internal static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "something else",
    };
}
