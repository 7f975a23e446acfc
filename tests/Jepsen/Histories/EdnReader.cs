using System.Globalization;
using System.Text;

namespace KvStore.Jepsen.Histories;

/// <summary>
/// Reads the small subset of EDN that Jepsen histories use, from one line of text: <c>nil</c>,
/// <c>true</c>/<c>false</c> (as keywords), integers, strings with escapes, keywords, vectors and
/// maps whose keys are keywords. Commas are whitespace, as in EDN. Anything else (symbols, sets,
/// tagged literals, floats) is rejected with the 1-based column, so a caller can name the line.
/// </summary>
public sealed class EdnReader
{
    private readonly string _text;
    private int _position;

    public EdnReader(string text)
    {
        _text = text;
    }

    /// <summary>True once only whitespace (and commas) remain.</summary>
    public bool AtEnd
    {
        get
        {
            SkipWhitespace();
            return _position >= _text.Length;
        }
    }

    /// <summary>Reads one value, or throws <see cref="FormatException"/> naming the column.</summary>
    public HistoryValue ReadValue()
    {
        SkipWhitespace();
        if (_position >= _text.Length)
        {
            throw Error("expected a value, found the end of the line");
        }

        char c = _text[_position];
        return c switch
        {
            '"' => ReadString(),
            ':' => ReadKeyword(),
            '[' => ReadVector(),
            '{' => throw Error("a map is not allowed here"),
            _ when c == '-' || c == '+' || char.IsAsciiDigit(c) => ReadInteger(),
            _ => ReadWord(),
        };
    }

    /// <summary>Reads a map <c>{:k v, ...}</c> with keyword keys; a repeated key is an error.</summary>
    public IReadOnlyDictionary<string, HistoryValue> ReadMap()
    {
        SkipWhitespace();
        Expect('{');
        var map = new Dictionary<string, HistoryValue>(StringComparer.Ordinal);
        while (true)
        {
            SkipWhitespace();
            if (_position >= _text.Length)
            {
                throw Error("unterminated map: expected '}'");
            }
            if (_text[_position] == '}')
            {
                _position++;
                return map;
            }
            int keyColumn = _position + 1;
            if (_text[_position] != ':')
            {
                throw Error("map keys must be keywords");
            }
            var key = (KeywordValue)ReadKeyword();
            HistoryValue value = ReadValue();
            if (!map.TryAdd(key.Name, value))
            {
                throw new FormatException($"column {keyColumn}: key :{key.Name} appears twice");
            }
        }
    }

    private HistoryValue ReadVector()
    {
        Expect('[');
        var items = new List<HistoryValue>();
        while (true)
        {
            SkipWhitespace();
            if (_position >= _text.Length)
            {
                throw Error("unterminated vector: expected ']'");
            }
            if (_text[_position] == ']')
            {
                _position++;
                return new ListValue(items);
            }
            items.Add(ReadValue());
        }
    }

    private HistoryValue ReadString()
    {
        int start = _position;
        Expect('"');
        var text = new StringBuilder();
        while (true)
        {
            if (_position >= _text.Length)
            {
                _position = start;
                throw Error("unterminated string");
            }
            char c = _text[_position++];
            if (c == '"')
            {
                return new TextValue(text.ToString());
            }
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }
            if (_position >= _text.Length)
            {
                throw Error("unterminated escape in string");
            }
            char escaped = _text[_position++];
            switch (escaped)
            {
                case '"': text.Append('"'); break;
                case '\\': text.Append('\\'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'u':
                    if (_position + 4 > _text.Length ||
                        !ushort.TryParse(_text.AsSpan(_position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort code))
                    {
                        throw Error("\\u must be followed by four hex digits");
                    }
                    text.Append((char)code);
                    _position += 4;
                    break;
                default:
                    _position--;
                    throw Error($"unknown escape \\{escaped} in string");
            }
        }
    }

    private HistoryValue ReadKeyword()
    {
        Expect(':');
        int start = _position;
        while (_position < _text.Length && IsSymbolChar(_text[_position]))
        {
            _position++;
        }
        if (_position == start)
        {
            throw Error("empty keyword");
        }
        return new KeywordValue(_text[start.._position]);
    }

    private HistoryValue ReadInteger()
    {
        int start = _position;
        if (_text[_position] is '-' or '+')
        {
            _position++;
        }
        while (_position < _text.Length && IsSymbolChar(_text[_position]))
        {
            _position++;
        }
        ReadOnlySpan<char> token = _text.AsSpan(start, _position - start);
        if (token.Length > 1 && token[^1] == 'N')
        {
            token = token[..^1]; // EDN's arbitrary-precision suffix; our values fit in 64 bits or are rejected.
        }
        if (!long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            _position = start;
            throw Error($"'{_text[start..(start + token.Length)]}' is not a 64-bit integer");
        }
        return new IntegerValue(value);
    }

    private HistoryValue ReadWord()
    {
        int start = _position;
        while (_position < _text.Length && IsSymbolChar(_text[_position]))
        {
            _position++;
        }
        string word = _text[start.._position];
        switch (word)
        {
            case "nil": return HistoryValue.Nil;
            case "true": return new KeywordValue("true");
            case "false": return new KeywordValue("false");
            default:
                _position = start;
                throw Error(word.Length == 0
                    ? $"unexpected character '{_text[start]}'"
                    : $"unsupported EDN symbol '{word}'");
        }
    }

    private void Expect(char c)
    {
        if (_position >= _text.Length || _text[_position] != c)
        {
            throw Error($"expected '{c}'");
        }
        _position++;
    }

    private void SkipWhitespace()
    {
        while (_position < _text.Length && (char.IsWhiteSpace(_text[_position]) || _text[_position] == ','))
        {
            _position++;
        }
    }

    private static bool IsSymbolChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '*' or '+' or '!' or '-' or '_' or '?' or '<' or '>' or '=' or '/' or '.' or '#' or '\'';

    private FormatException Error(string reason) => new($"column {_position + 1}: {reason}");
}
