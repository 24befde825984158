using Drk.Cli;

return DrkCommand.Run(args);
