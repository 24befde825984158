using System.Globalization;

namespace Drk.Cli.Running;

/// <summary>Parses the values of <c>drk run</c>'s options (memory sizes, counts) with messages fit for one stderr line.</summary>
internal static class RunArgumentParser
{
    /// <summary>
    /// A memory size as QEMU's <c>-m</c> spells it: a number of MiB, or a number with a K, M, G
    /// suffix (optionally followed by B or iB), e.g. <c>256</c>, <c>256M</c>, <c>1G</c>, <c>65536K</c>.
    /// </summary>
    public static bool TryParseMemory(string text, out ulong bytes, out string error)
    {
        bytes = 0;
        string t = text.Trim();
        ulong unit = 1UL << 20;
        string upper = t.ToUpperInvariant();
        foreach (var suffix in new[] { "IB", "B" })
        {
            if (upper.Length > suffix.Length && upper.EndsWith(suffix, StringComparison.Ordinal) && char.IsLetter(upper[^(suffix.Length + 1)]))
            {
                upper = upper[..^suffix.Length];
                break;
            }
        }
        if (upper.Length > 0 && char.IsLetter(upper[^1]))
        {
            unit = upper[^1] switch { 'K' => 1UL << 10, 'M' => 1UL << 20, 'G' => 1UL << 30, _ => 0 };
            upper = upper[..^1];
        }
        if (unit == 0 || !ulong.TryParse(upper, NumberStyles.None, CultureInfo.InvariantCulture, out ulong count) || count > (ulong.MaxValue >> 30))
        {
            error = $"--memory '{text}' is not a size (e.g. 256M, 1G, or a number of MiB)";
            return false;
        }
        bytes = count * unit;
        if (bytes < 1UL << 20 || bytes > 3UL << 30 || bytes % 4096 != 0)
        {
            error = $"--memory {text}: guest RAM must be a multiple of 4 KiB between 1M and 3G";
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>A non-negative count; '_' and ',' may separate digit groups (1_000_000).</summary>
    public static bool TryParseCount(string option, string text, ulong min, ulong max, out ulong value, out string error)
    {
        string digits = text.Trim().Replace("_", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            error = $"{option} '{text}' must be a whole number from {min} to {max}";
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>A size in bytes: a number, or a number with a K, M or G suffix (e.g. <c>4096</c>, <c>64K</c>, <c>4M</c>); at least 1.</summary>
    public static bool TryParseSize(string option, string text, out ulong bytes, out string error)
    {
        bytes = 0;
        string t = text.Trim().ToUpperInvariant();
        if (t.EndsWith('B')) t = t[..^1];
        ulong unit = 1;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            unit = t[^1] switch { 'K' => 1UL << 10, 'M' => 1UL << 20, 'G' => 1UL << 30, _ => 0 };
            t = t[..^1];
        }
        if (unit == 0 || !ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong count) || count == 0 || count > (1UL << 40))
        {
            error = $"{option} '{text}' is not a size (e.g. 65536, 64K, 4M)";
            return false;
        }
        bytes = count * unit;
        error = "";
        return true;
    }
}
