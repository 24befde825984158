namespace Drk.Dispatcher.Symbols;

/// <summary>
/// A guest code address with what symbolisation found for it: the module ("kernel" or the
/// module's name), the enclosing function and the offset into it, and file:line when the object
/// carries DWARF line information.
/// </summary>
public readonly record struct SourceLocation(ulong Address, string? Module, string? Function, ulong Offset, string? File, int Line)
{
    /// <summary>An address nothing is known about.</summary>
    public static SourceLocation Unknown(ulong address) => new(address, null, null, 0, null, 0);

    /// <summary>True when a function symbol covers the address.</summary>
    public bool HasFunction => Function is not null;

    /// <summary>True when a source line is known.</summary>
    public bool HasLine => File is not null && Line > 0;

    /// <summary>"0xffffffff80101234 kmalloc+0x14 [kernel] (kernel/slab.c:88)", leaving out what is unknown.</summary>
    public override string ToString()
    {
        var text = $"0x{Address:x16}";
        if (Function is not null) text += Offset == 0 ? $" {Function}" : $" {Function}+0x{Offset:x}";
        if (Module is not null) text += $" [{Module}]";
        if (HasLine) text += $" ({File}:{Line})";
        return text;
    }
}
