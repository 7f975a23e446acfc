// kvstore-jepsen: verbs `run` and `check` are added here (issue 6).
Console.Error.WriteLine("kvstore-jepsen: usage: kvstore-jepsen check --model MODEL --history FILE");
return 2;
