namespace Drk.Hv.Boot;

/// <summary>
/// The kernel image, initrd or command line cannot be booted: the message says why in one line
/// (the CLI prints it and exits with a failure status).
/// </summary>
public sealed class BootException : Exception
{
    public BootException(string message) : base(message)
    {
    }
}
