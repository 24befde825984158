namespace Drk.Hv.Devices;

/// <summary>Carries inter-processor interrupts from the local APIC that sends them to the ones that receive them.</summary>
public interface IApicBus
{
    /// <summary>Delivers <paramref name="ipi"/> to its destinations (called during the sender's ICR write).</summary>
    void Send(in InterProcessorInterrupt ipi);
}
