using System.Buffers;
using KvStore.Raft.Core;

namespace KvStore.Raft.Codec;

/// <summary>
/// Compact, versioned binary encoding of Raft <see cref="Message"/>s, one at a time or as a
/// batch (all groups' messages for one peer connection in one frame).
/// </summary>
/// <remarks>
/// Wire format, version 1. Do not change: peers of different builds exchange these bytes.
/// <code>
/// frame        := version:u8 (=1) body
/// single body  := message
/// batch body   := count:uvarint message{count}
/// message      := type:u8 flags:u8
///                 group:uvarint from:uvarint to:uvarint
///                 term:svarint logTerm:svarint index:svarint commit:svarint
///                 [rejectHint:svarint rejectHintTerm:svarint]      if flags.Reject
///                 entryCount:uvarint entry{entryCount}
///                 [snapshotMetadata]                               if flags.HasSnapshotMetadata
///                 [chunkOffset:svarint]                            if flags.HasSnapshotMetadata
///                 payloadLength:uvarint payload:u8{payloadLength}
/// flags        := bit0 Reject, bit1 ChunkLast, bit2 HasSnapshotMetadata; other bits must be 0
/// entry        := type:u8 indexDelta:svarint termDelta:svarint dataLength:uvarint data:u8{dataLength}
///                 indexDelta = index - (previous index + 1), the first entry's previous index is message.index;
///                 termDelta  = term - previous term, the first entry's previous term is message.logTerm
///                 (an Append's entries are consecutive, so both deltas are almost always one byte).
/// snapshotMetadata := index:svarint term:svarint confState
/// confState    := voters:idList learners:idList votersOutgoing:idList learnersNext:idList autoLeave:u8 (0|1)
/// idList       := count:uvarint id:uvarint{count}
/// uvarint      := unsigned LEB128, at most 10 bytes; svarint := zigzag-encoded uvarint.
/// </code>
/// Decoding validates every length against the bytes that remain (and against
/// <see cref="MaxMessagesPerBatch"/>, <see cref="MaxEntriesPerMessage"/>), so garbage input
/// raises <see cref="MessageFormatException"/> and never a huge allocation.
/// </remarks>
public static class MessageCodec
{
    /// <summary>The version byte written by this build; the only one it reads.</summary>
    public const byte Version = 1;

    /// <summary>Upper bound on messages in one batch frame (a sanity limit, far above real batches).</summary>
    public const int MaxMessagesPerBatch = 1 << 20;

    /// <summary>Upper bound on entries in one message (MaxSizePerMessage keeps real ones far below).</summary>
    public const int MaxEntriesPerMessage = 1 << 20;

    /// <summary>Upper bound on ids in one ConfState list.</summary>
    public const int MaxIdsPerList = 1 << 16;

    private const byte FlagReject = 1;
    private const byte FlagChunkLast = 2;
    private const byte FlagSnapshot = 4;
    private const byte KnownFlags = FlagReject | FlagChunkLast | FlagSnapshot;
    private const byte MaxMessageType = (byte)MessageType.ReadIndexResponse;
    private const byte MaxEntryType = (byte)EntryType.ConfChange;

    /// <summary>Smallest possible encoded message: type, flags, 7 one-byte integers, entry count, payload length.</summary>
    private const int MinMessageBytes = 11;
    private const int MinEntryBytes = 4;

    /// <summary>Writes one message as a frame of its own.</summary>
    public static void Encode(Message message, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(message);
        var writer = new VarintWriter(output);
        writer.WriteByte(Version);
        WriteMessage(ref writer, message);
        writer.Flush();
    }

    /// <summary>Writes many messages (typically every group's messages for one peer) as one frame.</summary>
    public static void EncodeBatch(IReadOnlyList<Message> messages, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var writer = new VarintWriter(output);
        writer.WriteByte(Version);
        writer.WriteUnsigned((ulong)messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            WriteMessage(ref writer, messages[i]);
        }

        writer.Flush();
    }

    /// <summary>Encodes one message into a new array (convenience for tests and small callers).</summary>
    public static byte[] Encode(Message message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Encode(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a single-message frame. Entry data and payloads are copied out of <paramref name="frame"/>.</summary>
    public static Message Decode(ReadOnlySpan<byte> frame)
    {
        var reader = new MessageReader(frame, default);
        ReadVersion(ref reader);
        var message = ReadMessage(ref reader);
        reader.ExpectEnd();
        return message;
    }

    /// <summary>
    /// Decodes a single-message frame without copying: entry data and payload are slices of
    /// <paramref name="frame"/>, which the caller must not reuse while the message lives.
    /// </summary>
    public static Message Decode(ReadOnlyMemory<byte> frame)
    {
        var reader = new MessageReader(frame.Span, frame);
        ReadVersion(ref reader);
        var message = ReadMessage(ref reader);
        reader.ExpectEnd();
        return message;
    }

    /// <summary>Decodes a single-message frame held in a (possibly multi-segment) sequence; data is copied.</summary>
    public static Message Decode(in ReadOnlySequence<byte> frame)
    {
        if (frame.IsSingleSegment)
        {
            return Decode(frame.FirstSpan);
        }

        return Decode(Contiguous(frame).Span);
    }

    /// <summary>Decodes a batch frame. Entry data and payloads are copied out of <paramref name="frame"/>.</summary>
    public static List<Message> DecodeBatch(ReadOnlySpan<byte> frame)
    {
        var reader = new MessageReader(frame, default);
        return ReadBatch(ref reader);
    }

    /// <summary>Decodes a batch frame without copying entry data and payloads (they slice <paramref name="frame"/>).</summary>
    public static List<Message> DecodeBatch(ReadOnlyMemory<byte> frame)
    {
        var reader = new MessageReader(frame.Span, frame);
        return ReadBatch(ref reader);
    }

    /// <summary>Decodes a batch frame held in a (possibly multi-segment) sequence; data is copied.</summary>
    public static List<Message> DecodeBatch(in ReadOnlySequence<byte> frame)
    {
        if (frame.IsSingleSegment)
        {
            return DecodeBatch(frame.FirstSpan);
        }

        // Copy once, then slice: the copy is ours, so slices of it are safe to hand out.
        return DecodeBatch(Contiguous(frame));
    }

    private static ReadOnlyMemory<byte> Contiguous(in ReadOnlySequence<byte> frame)
    {
        if (frame.Length > int.MaxValue)
        {
            throw new MessageFormatException(0, $"frame of {frame.Length} bytes is larger than any message");
        }

        return frame.ToArray();
    }

    private static List<Message> ReadBatch(ref MessageReader reader)
    {
        ReadVersion(ref reader);
        int count = reader.ReadCount(MaxMessagesPerBatch, MinMessageBytes, "message count");
        var messages = new List<Message>(count);
        for (int i = 0; i < count; i++)
        {
            messages.Add(ReadMessage(ref reader));
        }

        reader.ExpectEnd();
        return messages;
    }

    private static void ReadVersion(ref MessageReader reader)
    {
        long at = reader.Position;
        byte version = reader.ReadByte("version");
        if (version != Version)
        {
            throw new MessageFormatException(at, $"unsupported encoding version {version} (this build reads version {Version})");
        }
    }

    private static void WriteMessage(ref VarintWriter w, Message m)
    {
        byte flags = 0;
        if (m.Reject)
        {
            flags |= FlagReject;
        }

        if (m.ChunkLast)
        {
            flags |= FlagChunkLast;
        }

        if (m.SnapshotMetadata is not null)
        {
            flags |= FlagSnapshot;
        }

        w.WriteByte((byte)m.Type);
        w.WriteByte(flags);
        w.WriteUnsigned(m.Group);
        w.WriteUnsigned(m.From);
        w.WriteUnsigned(m.To);
        w.WriteSigned(m.Term);
        w.WriteSigned(m.LogTerm);
        w.WriteSigned(m.Index);
        w.WriteSigned(m.Commit);
        if (m.Reject)
        {
            w.WriteSigned(m.RejectHint);
            w.WriteSigned(m.RejectHintTerm);
        }

        var entries = m.Entries;
        w.WriteUnsigned((ulong)entries.Count);
        long previousIndex = m.Index;
        long previousTerm = m.LogTerm;
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            w.WriteByte((byte)e.Type);
            w.WriteSigned(unchecked(e.Index - (previousIndex + 1)));
            w.WriteSigned(unchecked(e.Term - previousTerm));
            w.WriteBytes(e.Data.Span);
            previousIndex = e.Index;
            previousTerm = e.Term;
        }

        if (m.SnapshotMetadata is { } meta)
        {
            w.WriteSigned(meta.Index);
            w.WriteSigned(meta.Term);
            WriteConfState(ref w, meta.ConfState ?? ConfState.Empty);
            w.WriteSigned(m.ChunkOffset);
        }

        w.WriteBytes(m.Payload.Span);
    }

    private static void WriteConfState(ref VarintWriter w, ConfState cs)
    {
        WriteIds(ref w, cs.Voters);
        WriteIds(ref w, cs.Learners);
        WriteIds(ref w, cs.VotersOutgoing);
        WriteIds(ref w, cs.LearnersNext);
        w.WriteByte(cs.AutoLeave ? (byte)1 : (byte)0);
    }

    private static void WriteIds(ref VarintWriter w, IReadOnlyList<ulong> ids)
    {
        w.WriteUnsigned((ulong)ids.Count);
        for (int i = 0; i < ids.Count; i++)
        {
            w.WriteUnsigned(ids[i]);
        }
    }

    private static Message ReadMessage(ref MessageReader r)
    {
        long typeAt = r.Position;
        byte type = r.ReadByte("message type");
        if (type > MaxMessageType)
        {
            throw new MessageFormatException(typeAt, $"unknown message type {type}");
        }

        long flagsAt = r.Position;
        byte flags = r.ReadByte("flags");
        if ((flags & ~KnownFlags) != 0)
        {
            throw new MessageFormatException(flagsAt, $"unknown flag bits 0x{flags & ~KnownFlags:x2}");
        }

        ulong group = r.ReadUnsigned("group");
        ulong from = r.ReadUnsigned("from");
        ulong to = r.ReadUnsigned("to");
        long term = r.ReadSigned("term");
        long logTerm = r.ReadSigned("log term");
        long index = r.ReadSigned("index");
        long commit = r.ReadSigned("commit");
        bool reject = (flags & FlagReject) != 0;
        long rejectHint = 0;
        long rejectHintTerm = 0;
        if (reject)
        {
            rejectHint = r.ReadSigned("reject hint");
            rejectHintTerm = r.ReadSigned("reject hint term");
        }

        int entryCount = r.ReadCount(MaxEntriesPerMessage, MinEntryBytes, "entry count");
        IReadOnlyList<Entry> entries = [];
        if (entryCount > 0)
        {
            var list = new Entry[entryCount];
            long previousIndex = index;
            long previousTerm = logTerm;
            for (int i = 0; i < entryCount; i++)
            {
                long entryTypeAt = r.Position;
                byte entryType = r.ReadByte("entry type");
                if (entryType > MaxEntryType)
                {
                    throw new MessageFormatException(entryTypeAt, $"unknown entry type {entryType}");
                }

                long entryIndex = unchecked(previousIndex + 1 + r.ReadSigned("entry index"));
                long entryTerm = unchecked(previousTerm + r.ReadSigned("entry term"));
                var data = r.ReadBytes("entry data");
                list[i] = new Entry(entryIndex, entryTerm, (EntryType)entryType, data);
                previousIndex = entryIndex;
                previousTerm = entryTerm;
            }

            entries = list;
        }

        SnapshotMetadata? meta = null;
        long chunkOffset = 0;
        if ((flags & FlagSnapshot) != 0)
        {
            long snapIndex = r.ReadSigned("snapshot index");
            long snapTerm = r.ReadSigned("snapshot term");
            var cs = ReadConfState(ref r);
            meta = new SnapshotMetadata(snapIndex, snapTerm, cs);
            chunkOffset = r.ReadSigned("chunk offset");
        }

        var payload = r.ReadBytes("payload");
        return new Message
        {
            Type = (MessageType)type,
            Group = group,
            From = from,
            To = to,
            Term = term,
            LogTerm = logTerm,
            Index = index,
            Commit = commit,
            Reject = reject,
            RejectHint = rejectHint,
            RejectHintTerm = rejectHintTerm,
            Entries = entries,
            SnapshotMetadata = meta,
            ChunkOffset = chunkOffset,
            ChunkLast = (flags & FlagChunkLast) != 0,
            Payload = payload,
        };
    }

    private static ConfState ReadConfState(ref MessageReader r)
    {
        var voters = ReadIds(ref r, "voters");
        var learners = ReadIds(ref r, "learners");
        var outgoing = ReadIds(ref r, "outgoing voters");
        var learnersNext = ReadIds(ref r, "next learners");
        long autoLeaveAt = r.Position;
        byte autoLeave = r.ReadByte("auto-leave");
        if (autoLeave > 1)
        {
            throw new MessageFormatException(autoLeaveAt, $"auto-leave flag must be 0 or 1, found {autoLeave}");
        }

        return new ConfState
        {
            Voters = voters,
            Learners = learners,
            VotersOutgoing = outgoing,
            LearnersNext = learnersNext,
            AutoLeave = autoLeave == 1,
        };
    }

    private static ulong[] ReadIds(ref MessageReader r, string what)
    {
        int count = r.ReadCount(MaxIdsPerList, 1, what + " count");
        if (count == 0)
        {
            return [];
        }

        var ids = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = r.ReadUnsigned(what);
        }

        return ids;
    }
}
