namespace KvStore.Jepsen.Histories;

/// <summary>
/// Matches each process's invocation with that process's next completion, Jepsen's rule:
/// <list type="bullet">
/// <item>:ok — the operation took effect between its call and its return, with the ok's value as output;</item>
/// <item>:fail — it certainly did not take effect, so it is dropped (a timed-out read too);</item>
/// <item>:info, or no completion at all — unknown: it returns at +infinity with any output accepted.</item>
/// </list>
/// Times are the events' own when the events carry them (all or none must), otherwise their
/// order in the file.
/// </summary>
public static class OperationAssembler
{
    public static IReadOnlyList<Operation> Assemble(IReadOnlyList<HistoryEvent> events)
    {
        // Times are all or nothing: a history that times some events only is a recorder's bug,
        // and mixing times with file positions would order operations arbitrarily.
        bool timed = events.Count > 0 && events[0].Time.HasValue;
        if (events.FirstOrDefault(e => e.Time.HasValue != timed) is { } odd)
        {
            throw Error(odd, timed
                ? $"this event has no time but line {events[0].Position.Line} has one; time every event or none"
                : $"this event has a time but line {events[0].Position.Line} has none; time every event or none");
        }
        var pending = new Dictionary<long, (HistoryEvent Event, long Time)>();
        var operations = new List<(HistoryEvent Invoke, long CallTime, HistoryEvent? Completion, long ReturnTime)>();

        for (int index = 0; index < events.Count; index++)
        {
            HistoryEvent e = events[index];
            long time = timed ? e.Time!.Value : index;
            if (e.Type == EventType.Invoke)
            {
                if (pending.TryGetValue(e.Process, out var open))
                {
                    throw Error(e, $"process {e.Process} invokes again while its {open.Event.Function.Name()} " +
                        $"from line {open.Event.Position.Line} has not completed");
                }
                pending.Add(e.Process, (e, time));
                continue;
            }

            if (!pending.Remove(e.Process, out var invoke))
            {
                throw Error(e, $"process {e.Process} completes a {e.Function.Name()} it never invoked");
            }
            if (invoke.Event.Function != e.Function)
            {
                throw Error(e, $"process {e.Process} invoked {invoke.Event.Function.Name()} at line " +
                    $"{invoke.Event.Position.Line} but completes {e.Function.Name()}");
            }
            if (e.Key is not null && invoke.Event.Key is not null && e.Key != invoke.Event.Key)
            {
                throw Error(e, $"process {e.Process} invoked key \"{invoke.Event.Key}\" at line " +
                    $"{invoke.Event.Position.Line} but completes key \"{e.Key}\"");
            }
            if (time < invoke.Time)
            {
                throw Error(e, $"completion time {time} precedes its invocation's time {invoke.Time} (line {invoke.Event.Position.Line})");
            }
            switch (e.Type)
            {
                case EventType.Ok:
                    operations.Add((invoke.Event, invoke.Time, e, time));
                    break;
                case EventType.Info:
                    operations.Add((invoke.Event, invoke.Time, e, Operation.Infinity));
                    break;
                case EventType.Fail:
                    break;
            }
        }
        foreach (var (invoke, time) in pending.Values)
        {
            operations.Add((invoke, time, null, Operation.Infinity));
        }

        operations.Sort((a, b) => a.CallTime != b.CallTime
            ? a.CallTime.CompareTo(b.CallTime)
            : a.Invoke.Position.Line.CompareTo(b.Invoke.Position.Line));

        var result = new List<Operation>(operations.Count);
        foreach (var (invoke, callTime, completion, returnTime) in operations)
        {
            bool known = completion is { Type: EventType.Ok };
            result.Add(new Operation(
                result.Count,
                invoke.Process,
                invoke.Function,
                invoke.Key ?? completion?.Key,
                invoke.Value,
                known ? completion!.Value : HistoryValue.Nil,
                known,
                callTime,
                returnTime,
                invoke.Position,
                completion?.Position));
        }
        return result;
    }

    private static HistoryFormatException Error(HistoryEvent e, string reason) =>
        new(e.Position.File, e.Position.Line, reason);
}
