namespace Drk.Hv.Boot;

/// <summary>E820-style memory types used in the PVH memory map.</summary>
public enum MemoryMapType : uint
{
    Ram = 1,
    Reserved = 2,
    AcpiReclaimable = 3,
}
