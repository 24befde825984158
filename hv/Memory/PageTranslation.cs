namespace Drk.Hv.Memory;

/// <summary>The result of a successful page walk: where a linear address lives and what the walk allowed.</summary>
public struct PageTranslation
{
    /// <summary>Physical address of the translated byte.</summary>
    public ulong PhysicalAddress;
    /// <summary>Size of the mapping page minus one (0xfff, 0x1fffff or 0x3fffffff).</summary>
    public ulong PageMask;
    /// <summary>R/W was set at every level.</summary>
    public bool Writable;
    /// <summary>U/S was set at every level.</summary>
    public bool User;
    /// <summary>XD was set at some level while EFER.NXE was set.</summary>
    public bool NoExecute;
    /// <summary>The leaf's dirty bit is set (after the walk's own update).</summary>
    public bool Dirty;
    /// <summary>The leaf's G bit is set: with CR4.PGE, a CR3 write need not drop the translation.</summary>
    public bool Global;
}
