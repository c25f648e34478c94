// npipes: the command-line face of NPipes (see CliApp for the contract).
return await NPipes.Cli.CliApp.RunAsync(args).ConfigureAwait(false);
