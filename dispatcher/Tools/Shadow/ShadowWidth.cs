namespace Drk.Dispatcher.Tools.Shadow;

/// <summary>How many bits of shadow state a <see cref="ShadowMemory"/> keeps per guest byte.</summary>
public enum ShadowWidth
{
    /// <summary>Four states per byte (values 0..3), four guest bytes per host byte: memcheck-like addressability + definedness.</summary>
    TwoBits = 2,

    /// <summary>256 states per byte (values 0..255), one host byte per guest byte: access rights, domain or module ids.</summary>
    EightBits = 8,
}
