using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>A code map for unwinder tests: one code range and a list of function starts.</summary>
internal sealed class FakeCodeMap(ulong codeStart, ulong codeEnd, params ulong[] functionStarts) : ICodeMap
{
    public bool IsCode(ulong address) => address >= codeStart && address < codeEnd;

    public bool TryGetFunctionStart(ulong address, out ulong start)
    {
        start = 0;
        if (!IsCode(address))
            return false;
        foreach (var s in functionStarts)
            if (s <= address && s > start)
                start = s;
        return start != 0;
    }
}
