namespace Drk.Hv.Devices;

/// <summary>Destination shorthand of an inter-processor interrupt (ICR bits 19:18).</summary>
public enum IpiShorthand : byte
{
    None = 0,
    Self = 1,
    AllIncludingSelf = 2,
    AllExcludingSelf = 3,
}
