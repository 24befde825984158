namespace Drk.Dispatcher.Symbols;

/// <summary>ELF symbol types (the low nibble of st_info) that the readers distinguish.</summary>
public enum ElfSymbolType : byte
{
    /// <summary>STT_NOTYPE: an assembly label or linker-script symbol.</summary>
    NoType = 0,
    /// <summary>STT_OBJECT: a variable.</summary>
    Object = 1,
    /// <summary>STT_FUNC: a function.</summary>
    Function = 2,
    /// <summary>STT_SECTION: stands for a section (relocations refer to it).</summary>
    Section = 3,
    /// <summary>STT_FILE: the source file name.</summary>
    File = 4,
    /// <summary>STT_COMMON.</summary>
    Common = 5,
    /// <summary>STT_TLS.</summary>
    ThreadLocal = 6,
}
