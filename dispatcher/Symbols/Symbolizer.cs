namespace Drk.Dispatcher.Symbols;

/// <summary>
/// Symbolises guest addresses against the kernel and the modules loaded at run time: module,
/// function + offset from the ELF symbol tables, file:line from DWARF .debug_line.
/// </summary>
/// <remarks>
/// Lookups read an immutable snapshot and are allocation-free binary searches (the strings in
/// the results already exist), so any thread may call them while another adds or removes a
/// module; <see cref="AddModule(string, byte[], ReadOnlySpan{ulong})"/> and
/// <see cref="RemoveModule"/> build a new snapshot (module events are rare). Module ranges are
/// searched before the kernel's.
/// </remarks>
public sealed class Symbolizer : IAddressSymbolizer, ICodeMap
{
    private readonly object writeLock = new();
    private volatile ModuleSet loaded;

    /// <summary>Creates a symbolizer for <paramref name="kernel"/> with no modules loaded.</summary>
    public Symbolizer(ModuleSymbols kernel)
    {
        Kernel = kernel;
        loaded = ModuleSet.Empty;
    }

    /// <summary>The kernel's symbols and lines.</summary>
    public ModuleSymbols Kernel { get; }

    /// <summary>The modules loaded now, in load order.</summary>
    public IReadOnlyList<ModuleSymbols> Modules => loaded.Modules;

    /// <summary>Reads the kernel ELF at <paramref name="elfPath"/> (guest/build/kernel.elf).</summary>
    /// <exception cref="SymbolFileException">The file is not a well-formed ELF64 x86-64 executable.</exception>
    public static Symbolizer ForKernel(string elfPath) => ForKernel(File.ReadAllBytes(elfPath));

    /// <summary>Reads a kernel ELF image held in memory.</summary>
    /// <exception cref="SymbolFileException">The bytes are not a well-formed ELF64 x86-64 executable.</exception>
    public static Symbolizer ForKernel(byte[] elf) =>
        new(ModuleSymbols.FromExecutable(ModuleSymbols.KernelName, ElfImage.Parse(elf)));

    /// <summary>
    /// Adds a module on its load event: <paramref name="image"/> is the relocatable object (copied
    /// out of guest memory; not kept), <paramref name="sectionAddresses"/> the kernel's
    /// <c>section_addrs</c>, one load address per ELF section. A module already loaded under the
    /// same name, or whose sections overlap the new one's (its unload event was missed), is
    /// dropped first, so addresses always symbolise as the module loaded last.
    /// </summary>
    /// <exception cref="SymbolFileException">The image is not a well-formed relocatable ELF object (the module is not added).</exception>
    public ModuleSymbols AddModule(string name, ReadOnlySpan<byte> image, ReadOnlySpan<ulong> sectionAddresses) =>
        AddModule(ModuleSymbols.FromRelocatable(name, ElfImage.Parse(image), sectionAddresses));

    /// <inheritdoc cref="AddModule(string, ReadOnlySpan{byte}, ReadOnlySpan{ulong})"/>
    public ModuleSymbols AddModule(string name, byte[] image, ReadOnlySpan<ulong> sectionAddresses) =>
        AddModule(name, (ReadOnlySpan<byte>)image, sectionAddresses);

    /// <summary>Adds an already-read module (see <see cref="AddModule(string, ReadOnlySpan{byte}, ReadOnlySpan{ulong})"/>).</summary>
    public ModuleSymbols AddModule(ModuleSymbols module)
    {
        ArgumentNullException.ThrowIfNull(module);
        lock (writeLock)
        {
            var kept = new List<ModuleSymbols>();
            foreach (var m in loaded.Modules)
                if (m.Name != module.Name && !m.Overlaps(module))
                    kept.Add(m);
            kept.Add(module);
            loaded = new ModuleSet(kept.ToArray());
        }
        return module;
    }

    /// <summary>Forgets a module on its unload event; false when no module of that name is loaded.</summary>
    public bool RemoveModule(string name)
    {
        lock (writeLock)
        {
            var kept = new List<ModuleSymbols>();
            foreach (var m in loaded.Modules)
                if (m.Name != name)
                    kept.Add(m);
            if (kept.Count == loaded.Modules.Length)
                return false;
            loaded = new ModuleSet(kept.ToArray());
            return true;
        }
    }

    /// <summary>The kernel or loaded module whose sections contain <paramref name="address"/>, or null.</summary>
    public ModuleSymbols? FindModule(ulong address) =>
        loaded.TryFind(address, out var module, out _) ? module
        : Kernel.TryFindRange(address, out _) ? Kernel
        : null;

    /// <summary>Module, function + offset and file:line of <paramref name="address"/>. Allocation-free.</summary>
    public SourceLocation Symbolize(ulong address)
    {
        var module = FindModule(address);
        return module is null ? SourceLocation.Unknown(address) : module.Describe(address);
    }

    /// <summary>
    /// Symbolises a return address from a stack walk: function and line are those of the call
    /// (<paramref name="returnAddress"/> - 1, so a call that ends a function is not attributed to
    /// the next one) while Address and Offset stay those of the return address.
    /// </summary>
    public SourceLocation SymbolizeReturnAddress(ulong returnAddress)
    {
        if (returnAddress == 0)
            return Symbolize(returnAddress);
        var call = Symbolize(returnAddress - 1);
        return call with { Address = returnAddress, Offset = call.HasFunction ? call.Offset + 1 : 0 };
    }

    /// <summary>
    /// The address of the symbol called <paramref name="name"/>: the kernel's first (kmalloc, kfree,
    /// copy_to_user, drk_module_event), then the modules' in load order.
    /// </summary>
    public bool TryFindSymbol(string name, out ulong address)
    {
        if (Kernel.Symbols.TryFindAddress(name, out address))
            return true;
        foreach (var module in loaded.Modules)
            if (module.Symbols.TryFindAddress(name, out address))
                return true;
        address = 0;
        return false;
    }

    /// <summary>The address of <paramref name="name"/> in the module called <paramref name="module"/> ("kernel" for the kernel).</summary>
    public bool TryFindSymbol(string module, string name, out ulong address)
    {
        if (module == Kernel.Name)
            return Kernel.Symbols.TryFindAddress(name, out address);
        foreach (var m in loaded.Modules)
            if (m.Name == module)
                return m.Symbols.TryFindAddress(name, out address);
        address = 0;
        return false;
    }

    /// <summary>True when <paramref name="address"/> lies in a code section of the kernel or a loaded module.</summary>
    public bool IsCode(ulong address) =>
        loaded.TryFind(address, out _, out var range) ? range.IsExecutable
        : Kernel.TryFindRange(address, out range) && range.IsExecutable;

    /// <summary>The start of the symbol covering <paramref name="address"/> in the kernel or a loaded module.</summary>
    public bool TryGetFunctionStart(ulong address, out ulong start)
    {
        var module = FindModule(address);
        if (module is not null && module.Symbols.TryFind(address, out _, out start))
            return true;
        start = 0;
        return false;
    }
}
