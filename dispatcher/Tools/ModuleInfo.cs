namespace Drk.Dispatcher.Tools;

/// <summary>
/// A module the guest kernel loaded, as its <c>drk_module_event</c> call described it: name,
/// path in the initrd, the ranges of its sections, and the per-section load addresses of the
/// ELF object (for symbolisation).
/// </summary>
public sealed class ModuleInfo
{
    public ModuleInfo(string name, string path, AddressRange text, AddressRange rodata, AddressRange data, AddressRange bss,
        ulong[] sectionAddresses, byte[]? image)
    {
        Name = name;
        Path = path;
        Text = text;
        Rodata = rodata;
        Data = data;
        Bss = bss;
        SectionAddresses = sectionAddresses;
        Image = image;
    }

    /// <summary>The module's name ("good", "chardev", ...).</summary>
    public string Name { get; }

    /// <summary>The object's path in the initrd, e.g. "modules/good.o".</summary>
    public string Path { get; }

    /// <summary>Executable sections.</summary>
    public AddressRange Text { get; }

    /// <summary>Read-only data.</summary>
    public AddressRange Rodata { get; }

    /// <summary>Initialised data.</summary>
    public AddressRange Data { get; }

    /// <summary>Zero-initialised data.</summary>
    public AddressRange Bss { get; }

    /// <summary>The load address of each ELF section (0 for sections not loaded).</summary>
    public ulong[] SectionAddresses { get; }

    /// <summary>The ELF object as it was loaded (copied out of guest memory at the load event), or null if it could not be read.</summary>
    public byte[]? Image { get; }

    /// <summary>True while the module is loaded (false from its unload event on).</summary>
    public bool IsLoaded { get; internal set; } = true;

    /// <summary>True when <paramref name="address"/> lies in any of the module's sections.</summary>
    public bool Contains(ulong address) =>
        Text.Contains(address) || Rodata.Contains(address) || Data.Contains(address) || Bss.Contains(address);

    /// <inheritdoc />
    public override string ToString() => $"{Name} text {Text}";
}
