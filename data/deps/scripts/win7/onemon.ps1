# Windows 7 SP1 x64: patched copies of the boot loader and the kernel, and a boot entry that
# uses them (VMCloak's onemon, vmcloak-spec.md §11.2). PowerShell 2.0 (Windows 7's own).
#   winload.exe  (TimeDateStamp 0x4ce7929c): at file offset 0x4bdc "mov al,1; ret; nop"
#                (B0 01 C3 90): the image-signature check always succeeds -> osloader.exe
#   ntoskrnl.exe (TimeDateStamp 0x4ce7951a): at 0x4d1568 two NOPs (PatchGuard is not set up),
#                at 0x36a8f0 a 0 (g_CiEnabled: code integrity off) -> ntkrnlmp.exe
# Each copy gets its PE checksum recomputed (the loader checks the kernel's). Exit 0 done, 1 refused.
$ErrorActionPreference = 'Stop'

Add-Type -TypeDefinition @'
public static class PeSum {
    // The PE image checksum (what imagehlp's CheckSumMappedFile computes): 16-bit words
    // summed with end-around carry, the checksum field itself counted as zero, plus the length.
    public static uint Compute(byte[] b, int checksumOffset) {
        ulong sum = 0;
        for (int i = 0; i < b.Length; i += 2) {
            if (i == checksumOffset || i == checksumOffset + 2)
                continue;
            ulong w = b[i];
            if (i + 1 < b.Length)
                w |= (ulong)b[i + 1] << 8;
            sum += w;
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum = (sum & 0xffff) + (sum >> 16);
        return (uint)(sum + (ulong)b.Length);
    }

    public static int Differences(byte[] a, byte[] b) {
        int n = 0;
        for (int i = 0; i < a.Length; i++)
            if (a[i] != b[i])
                n++;
        return n;
    }
}
'@

function Patch-Image([string]$source, [string]$target, [uint32]$stamp, [object[]]$patches, [int]$maxDiff) {
    $orig = [IO.File]::ReadAllBytes($source)
    $pe = [BitConverter]::ToInt32($orig, 0x3c)
    if ([BitConverter]::ToUInt32($orig, $pe) -ne 0x00004550) {
        throw "$source is no PE file"
    }
    $have = [BitConverter]::ToUInt32($orig, $pe + 8)
    if ($have -ne $stamp) {
        throw ("$source has TimeDateStamp 0x{0:x8}, not 0x{1:x8}: this patch is for Windows 7 SP1's build only" -f $have, $stamp)
    }
    $b = [byte[]]$orig.Clone()
    foreach ($p in $patches) {
        $off = $p[0]
        $bytes = [byte[]]$p[1]
        for ($i = 0; $i -lt $bytes.Length; $i++) { $b[$off + $i] = $bytes[$i] }
    }
    # The optional header's CheckSum field is 64 bytes into it (PE signature 4 + file header 20).
    $csOff = $pe + 24 + 64
    $sum = [PeSum]::Compute($b, $csOff)
    $sumBytes = [BitConverter]::GetBytes([uint32]$sum)
    for ($i = 0; $i -lt 4; $i++) { $b[$csOff + $i] = $sumBytes[$i] }
    $diff = [PeSum]::Differences($orig, $b)
    if ($diff -gt $maxDiff) {
        throw "$source patched differs in $diff bytes, more than the $maxDiff the patch allows: refused"
    }
    [IO.File]::WriteAllBytes($target, $b)
    Write-Output ("{0} -> {1}: {2} bytes changed, checksum 0x{3:x8}" -f $source, $target, $diff, $sum)
}

try {
    $sys = Join-Path $env:SystemRoot 'System32'
    Patch-Image "$sys\winload.exe" "$sys\osloader.exe" 0x4ce7929c @(,@(0x4bdc, @(0xB0, 0x01, 0xC3, 0x90))) 8
    Patch-Image "$sys\ntoskrnl.exe" "$sys\ntkrnlmp.exe" 0x4ce7951a @(@(0x4d1568, @(0x90, 0x90)), @(0x36a8f0, @(0x00))) 7

    # A copy of the current boot entry that loads the patched files, made the default.
    $out = & "$sys\bcdedit.exe" /copy '{current}' /d Secret
    if ($LASTEXITCODE -ne 0) { throw "bcdedit /copy failed: $out" }
    if ("$out" -notmatch '\{[0-9a-fA-F-]{36}\}') { throw "bcdedit /copy printed no entry id: $out" }
    $id = $matches[0]
    foreach ($a in @(@('/timeout', '10'), @('/set', $id, 'nointegritychecks', '1'),
                     @('/set', $id, 'path', '\Windows\System32\osloader.exe'),
                     @('/set', $id, 'kernel', 'ntkrnlmp.exe'), @('/default', $id))) {
        $o = & "$sys\bcdedit.exe" @a
        if ($LASTEXITCODE -ne 0) { throw "bcdedit $($a -join ' ') failed: $o" }
    }
    Write-Output "boot entry $id (Secret) is the default"
    exit 0
} catch {
    Write-Output "onemon: $($_.Exception.Message)"
    exit 1
}
