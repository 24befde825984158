namespace Drk.Experiments.Recording;

/// <summary>The host a run was measured on: enough to tell whether two result sets are comparable.</summary>
public sealed record MachineInfo(string Host, string Os, string Cpu, int Cores, long MemoryBytes)
{
    /// <summary>Reads the current host (CPU model and memory from /proc on Linux).</summary>
    public static MachineInfo Current()
    {
        var cpu = ProcField("/proc/cpuinfo", "model name") ?? System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        long memory = 0;
        if (ProcField("/proc/meminfo", "MemTotal") is { } mem && long.TryParse(mem.Split(' ')[0], out var kib)) memory = kib * 1024;
        return new MachineInfo(
            Environment.MachineName,
            System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            cpu,
            Environment.ProcessorCount,
            memory);
    }

    private static string? ProcField(string file, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim() == field) return line[(colon + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
