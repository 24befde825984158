using System.Globalization;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// Guest addresses as text in reports: "0x" and 16 lowercase hex digits, a string in JSON
/// because 64-bit kernel addresses do not survive a trip through a JSON double.
/// </summary>
internal static class GuestAddressText
{
    public static string Format(ulong address) => "0x" + address.ToString("x16", CultureInfo.InvariantCulture);

    public static ulong Parse(string text)
    {
        ReadOnlySpan<char> digits = text.AsSpan();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) digits = digits[2..];
        return ulong.Parse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }
}
