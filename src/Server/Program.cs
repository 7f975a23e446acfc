// The `kvstore` executable. Its verbs (serve, cluster up, put/get/...) arrive with the
// replicated server (issue 4); until then it only says so, so that nobody mistakes it for a server.
Console.Error.WriteLine("kvstore: no verbs yet; the server is built in issue 4. See README.md for the storage benchmark.");
return 2;
