using System.Globalization;
using System.Text;

namespace Smmu.Bench.Plots;

/// <summary>Writes the numbers behind a plot: one header line, one line per point, invariant culture.</summary>
internal static class Csv
{
    public static void Write(string path, string header, IEnumerable<IReadOnlyList<double>> rows)
    {
        var text = new StringBuilder().AppendLine(header);
        foreach (IReadOnlyList<double> row in rows)
            text.AppendLine(string.Join(',', row.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture))));
        File.WriteAllText(path, text.ToString());
    }
}
