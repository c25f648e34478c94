using WorkerService;

// A worker service that answers requests on a named pipe. Run: dotnet run --project samples/WorkerService
// [-- --PipeName other]; call it with: python3 samples/python_client.py [other]. Ctrl+C drains and stops.
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
string pipeName = builder.Configuration["PipeName"] ?? "npipes-sample";

builder.Services.AddSingleton<RequestCounter>();
builder.Services.AddNPipesServer<UpperCaseHandler>(pipeName);         // options: NPipes:Servers:<pipe name> in appsettings.json
builder.Services.AddHealthChecks().AddNPipesServerCheck(pipeName);   // healthy while the pipe listens

builder.Build().Run();
