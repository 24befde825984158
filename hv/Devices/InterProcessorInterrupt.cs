namespace Drk.Hv.Devices;

/// <summary>An interrupt message a local APIC sends when the guest writes its ICR.</summary>
public readonly struct InterProcessorInterrupt
{
    public InterProcessorInterrupt(byte sourceApicId, uint icrLow, uint icrHigh)
    {
        SourceApicId = sourceApicId;
        Vector = (byte)icrLow;
        DeliveryMode = (IpiDeliveryMode)((icrLow >> 8) & 7);
        LogicalDestination = (icrLow & (1u << 11)) != 0;
        Assert = (icrLow & (1u << 14)) != 0;
        LevelTriggered = (icrLow & (1u << 15)) != 0;
        Shorthand = (IpiShorthand)((icrLow >> 18) & 3);
        Destination = (byte)(icrHigh >> 24);
    }

    /// <summary>APIC ID of the sender.</summary>
    public byte SourceApicId { get; }
    /// <summary>The vector (fixed IPIs) or the start page number (STARTUP: the AP starts at Vector * 0x1000).</summary>
    public byte Vector { get; }
    public IpiDeliveryMode DeliveryMode { get; }
    /// <summary>Destination is a logical (flat-model) mask instead of an APIC ID.</summary>
    public bool LogicalDestination { get; }
    /// <summary>Level bit: an INIT with level de-assert (Assert false, level-triggered) is ignored by modern CPUs.</summary>
    public bool Assert { get; }
    public bool LevelTriggered { get; }
    public IpiShorthand Shorthand { get; }
    /// <summary>APIC ID (physical) or logical mask (logical); 0xff means all in physical mode.</summary>
    public byte Destination { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"IPI {DeliveryMode} vec={Vector:x2} from={SourceApicId} dest={(LogicalDestination ? "logical " : "")}{Destination:x2} {Shorthand}";
}
