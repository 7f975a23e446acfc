namespace KvStore.Jepsen.Histories;

/// <summary>The operation kinds our models understand (Jepsen's <c>:f</c>).</summary>
public enum OperationFunction
{
    Read,
    Write,
    Cas,
    Get,
    Put,
    Append,
}

/// <summary>Names of <see cref="OperationFunction"/> as they appear in history files.</summary>
public static class OperationFunctionNames
{
    public static bool TryParse(string name, out OperationFunction function)
    {
        switch (name)
        {
            case "read": function = OperationFunction.Read; return true;
            case "write": function = OperationFunction.Write; return true;
            case "cas": function = OperationFunction.Cas; return true;
            case "get": function = OperationFunction.Get; return true;
            case "put": function = OperationFunction.Put; return true;
            case "append": function = OperationFunction.Append; return true;
            default: function = default; return false;
        }
    }

    public static string Name(this OperationFunction function) => function switch
    {
        OperationFunction.Read => "read",
        OperationFunction.Write => "write",
        OperationFunction.Cas => "cas",
        OperationFunction.Get => "get",
        OperationFunction.Put => "put",
        OperationFunction.Append => "append",
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, "unknown operation function"),
    };
}
