namespace Drk.Experiments.Engines;

/// <summary>The engines a runner may use, by spec name. Tests swap in fakes here.</summary>
public sealed class EngineCatalog
{
    private readonly Dictionary<string, IRunEngine> _engines = new(StringComparer.Ordinal);

    public EngineCatalog(IEnumerable<IRunEngine> engines)
    {
        foreach (var e in engines) _engines[e.Name] = e;
    }

    /// <summary>The real engines: Drk through the given launcher, QEMU TCG and KVM, and native builds.</summary>
    public static EngineCatalog Default(DrkLauncher drk) => new(
    [
        new DrkEngine(drk),
        new QemuEngine(Specs.EngineKind.QemuTcg),
        new QemuEngine(Specs.EngineKind.QemuKvm),
        new NativeEngine(),
    ]);

    public IRunEngine? Find(string name) => _engines.GetValueOrDefault(name);
}
