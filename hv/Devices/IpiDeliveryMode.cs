namespace Drk.Hv.Devices;

/// <summary>Delivery mode of an inter-processor interrupt (ICR bits 10:8).</summary>
public enum IpiDeliveryMode : byte
{
    Fixed = 0,
    LowestPriority = 1,
    Smi = 2,
    Nmi = 4,
    Init = 5,
    Startup = 6,
}
