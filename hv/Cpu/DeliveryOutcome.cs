namespace Drk.Hv.Cpu;

/// <summary>The result of delivering an event through the IDT.</summary>
public enum DeliveryOutcome : byte
{
    /// <summary>The handler's frame is pushed and RIP is the handler (possibly of a nested fault or #DF).</summary>
    Delivered,
    /// <summary>Delivering the double fault faulted: the vCPU shuts down; its state is as before the last attempt.</summary>
    TripleFault,
}
