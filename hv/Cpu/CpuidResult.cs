namespace Drk.Hv.Cpu;

/// <summary>The four registers CPUID returns for one leaf and subleaf.</summary>
public readonly record struct CpuidResult(uint Eax, uint Ebx, uint Ecx, uint Edx);
