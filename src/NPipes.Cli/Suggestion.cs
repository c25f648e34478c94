namespace NPipes.Cli;

/// <summary>
/// "Did you mean ...?": the closest of a few known words, chosen exactly as Python's
/// <c>difflib.get_close_matches(word, words, n=1, cutoff=0.6)</c> chooses it, so that the .NET and the Python CLI
/// suggest the same word for the same typo (python/npipes/__main__.py uses difflib).
/// </summary>
internal static class Suggestion
{
    private const double Cutoff = 0.6;

    /// <summary>"; did you mean 'WORD'?" for the closest of <paramref name="words"/>, or "" when none is close.</summary>
    public static string For(string word, IEnumerable<string> words)
    {
        string? best = null;
        double bestScore = 0;
        foreach (string candidate in words)
        {
            double score = Ratio(candidate, word);
            // difflib keeps the largest (score, word) pair: on equal scores the word that sorts last wins.
            if (score >= Cutoff && (best is null || score > bestScore || (score == bestScore && string.CompareOrdinal(candidate, best) > 0)))
            {
                (best, bestScore) = (candidate, score);
            }
        }
        return best is null ? "" : $"; did you mean '{best}'?";
    }

    /// <summary>difflib's <c>SequenceMatcher(None, a, b).ratio()</c>: 2·M / (|a| + |b|), M the matching characters.</summary>
    internal static double Ratio(string a, string b) =>
        a.Length + b.Length == 0 ? 1.0 : 2.0 * Matches(a, 0, a.Length, b, 0, b.Length) / (a.Length + b.Length);

    /// <summary>The characters in difflib's matching blocks: the longest common block, then recursively both sides of it.</summary>
    private static int Matches(string a, int alo, int ahi, string b, int blo, int bhi)
    {
        if (alo >= ahi || blo >= bhi)
        {
            return 0;
        }
        // find_longest_match without junk (difflib only marks junk in sequences of 200 or more): the first longest block
        // in the order difflib scans, by its end in a, then its end in b.
        int besti = alo, bestj = blo, bestSize = 0;
        var lengths = new int[bhi - blo + 1];
        for (int i = alo; i < ahi; i++)
        {
            var next = new int[bhi - blo + 1];
            for (int j = blo; j < bhi; j++)
            {
                if (a[i] == b[j])
                {
                    int k = next[j - blo + 1] = lengths[j - blo] + 1;
                    if (k > bestSize)
                    {
                        (besti, bestj, bestSize) = (i - k + 1, j - k + 1, k);
                    }
                }
            }
            lengths = next;
        }
        return bestSize == 0
            ? 0
            : bestSize + Matches(a, alo, besti, b, blo, bestj) + Matches(a, besti + bestSize, ahi, b, bestj + bestSize, bhi);
    }
}
