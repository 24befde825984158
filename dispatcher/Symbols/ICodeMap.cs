namespace Drk.Dispatcher.Symbols;

/// <summary>What <see cref="FramePointerUnwinder"/> needs to know about guest code: where it is and where functions start.</summary>
public interface ICodeMap
{
    /// <summary>True when <paramref name="address"/> lies in an executable section of the kernel or a loaded module.</summary>
    bool IsCode(ulong address);

    /// <summary>The start of the function symbol covering <paramref name="address"/>; false when none does.</summary>
    bool TryGetFunctionStart(ulong address, out ulong start);
}
