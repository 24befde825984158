using System.Globalization;
using System.Text;

namespace Drk.EndToEnd.Tests;

/// <summary>Reads the files of the guest's initrd, a cpio archive in the "newc" format (docs/guest-abi.md section 8).</summary>
public static class InitrdArchive
{
    private const int HeaderSize = 110;

    /// <summary>Every regular file of <paramref name="archive"/> by its name (e.g. <c>modules/good.o</c>).</summary>
    public static Dictionary<string, byte[]> Files(byte[] archive)
    {
        var files = new Dictionary<string, byte[]>();
        int at = 0;
        while (at + HeaderSize <= archive.Length)
        {
            Assert.True(Encoding.ASCII.GetString(archive, at, 6) == "070701", $"no newc header at byte {at} of the initrd");
            int mode = Field(archive, at, 1), fileSize = Field(archive, at, 6), nameSize = Field(archive, at, 11);
            string name = Encoding.ASCII.GetString(archive, at + HeaderSize, nameSize - 1);
            int data = Align4(at + HeaderSize + nameSize);
            if (name == "TRAILER!!!") break;
            if ((mode & 0xF000) == 0x8000) files[name] = archive.AsSpan(data, fileSize).ToArray();
            at = Align4(data + fileSize);
        }
        return files;
    }

    private static int Field(byte[] archive, int header, int index) =>
        int.Parse(Encoding.ASCII.GetString(archive, header + 6 + index * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static int Align4(int offset) => (offset + 3) & ~3;
}
