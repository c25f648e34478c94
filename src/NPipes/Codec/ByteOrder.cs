namespace NPipes;

/// <summary>The byte order of the three 32-bit integers in an npipes frame.</summary>
public enum ByteOrder
{
    /// <summary>Most significant byte first. What npipes 1.0.1 actually writes, and NPipes' default.</summary>
    BigEndian = 0,

    /// <summary>Least significant byte first. What npipes 1.0.1's documentation claims as its default.</summary>
    LittleEndian = 1,
}
