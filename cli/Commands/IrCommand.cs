using System.CommandLine;
using System.Globalization;
using Drk.Dispatcher.IR;

namespace Drk.Cli.Commands;

/// <summary>
/// <c>drk ir HEX</c>: decodes machine code into blocks as the dispatcher would, and prints each
/// block's IR as lowered and after the optimiser (the examples of docs/ir.md come from here).
/// </summary>
internal static class IrCommand
{
    public static Command Create()
    {
        var bytes = new Argument<string>("bytes") { Description = "Machine code in hex, e.g. 4803074883c7084839d775f4 (spaces allowed)" };
        var ripOption = new Option<string>("--rip") { Description = "Address of the first byte (hex)", DefaultValueFactory = _ => "401000" };
        var cplOption = new Option<int>("--cpl") { Description = "Privilege level the code runs at (0 or 3)", DefaultValueFactory = _ => 0 };
        var lowered = new Option<bool>("--lowered") { Description = "Print only the IR as lowered" };
        var optimised = new Option<bool>("--optimised") { Description = "Print only the optimised IR" };

        var command = new Command("ir", "Print the IR of machine code, as lowered and optimised");
        command.Arguments.Add(bytes);
        command.Options.Add(ripOption);
        command.Options.Add(cplOption);
        command.Options.Add(lowered);
        command.Options.Add(optimised);
        command.SetAction(parse =>
        {
            byte[] code;
            ulong rip;
            try
            {
                code = Convert.FromHexString(new string(parse.GetValue(bytes)!.Where(c => !char.IsWhiteSpace(c)).ToArray()));
                string ripText = parse.GetValue(ripOption)!;
                rip = ulong.Parse(ripText.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? ripText[2..] : ripText, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"drk ir: {e.Message}");
                return 2;
            }
            int cpl = parse.GetValue(cplOption);
            var forms = parse.GetValue(lowered) ? IrListingForms.Lowered
                : parse.GetValue(optimised) ? IrListingForms.Optimised
                : IrListingForms.Both;
            Console.Write(IrListing.Format(code, rip, cpl, forms));
            return 0;
        });
        return command;
    }
}
