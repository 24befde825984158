namespace Drk.Dispatcher.Tools;

/// <summary>A tool callback that a clean call runs, on the host, with the vCPU and up to four IR values.</summary>
public delegate void CleanCallback(ToolVcpu vcpu, ulong a, ulong b, ulong c, ulong d);
