namespace Drk.Dispatcher.Tools;

/// <summary>The modules loaded now, for mapping a code address to its module.</summary>
/// <remarks>Modules are few (tens); a linear scan at block translation is cheaper than an index.</remarks>
public sealed class ModuleRegistry
{
    private readonly List<ModuleInfo> _loaded = new();

    /// <summary>The loaded modules, in load order.</summary>
    public IReadOnlyList<ModuleInfo> Loaded => _loaded;

    /// <summary>The loaded module whose text holds <paramref name="address"/>, or null.</summary>
    public ModuleInfo? ModuleOfCode(ulong address)
    {
        foreach (var m in _loaded)
            if (m.Text.Contains(address)) return m;
        return null;
    }

    /// <summary>The loaded module any of whose sections holds <paramref name="address"/>, or null.</summary>
    public ModuleInfo? ModuleOf(ulong address)
    {
        foreach (var m in _loaded)
            if (m.Contains(address)) return m;
        return null;
    }

    internal void Add(ModuleInfo module) => _loaded.Add(module);

    internal ModuleInfo? Remove(string name, ulong textStart)
    {
        for (int i = 0; i < _loaded.Count; i++)
        {
            var m = _loaded[i];
            if (m.Name != name || m.Text.Start != textStart) continue;
            _loaded.RemoveAt(i);
            m.IsLoaded = false;
            return m;
        }
        return null;
    }
}
