# Install C:\setup.msu (update KB{{version}}) with wusa and judge its exit code the way VMCloak
# does (vmcloak-spec.md §11.2, kb). Uploaded as a template: {{version}} is the KB number.
# PowerShell 2.0 compatible (Windows 7).
# Exit: 0 installed (or was already), 3010 installed and a reboot finishes it, 1 failed.
$kb = 'KB{{version}}'

# wusa needs the Windows Update service, which the image keeps disabled.
& sc.exe config wuauserv start= auto | Out-Null
Start-Sleep -Seconds 1

$p = Start-Process -FilePath "$env:SystemRoot\System32\wusa.exe" -ArgumentList 'C:\setup.msu', '/quiet', '/norestart' -Wait -PassThru
$code = [int64]$p.ExitCode
# wusa reports HRESULTs; PowerShell may see them as negative 32-bit numbers.
if ($code -lt 0) { $code += 4294967296 }

$result = 1
switch ($code) {
    0          { Write-Output "${kb}: installed"; $result = 0 }
    3010       { Write-Output "${kb}: installed, a reboot completes it"; $result = 3010 }
    2359302    { Write-Output "${kb}: already installed (0x00240006)"; $result = 0 }
    2149842967 { Write-Output "${kb}: not applicable to this Windows (0x80240017: wrong service pack, architecture or a prerequisite missing)" }
    1058       { Write-Output "${kb}: the Windows Update service is disabled and could not be started (1058)" }
    default {
        # Other codes happen for updates that did install (VMCloak asks Get-HotFix then).
        if (Get-HotFix -Id $kb -ErrorAction SilentlyContinue) {
            Write-Output "${kb}: wusa exited with $code but the update is installed"
            $result = 0
        } else {
            Write-Output ("${kb}: wusa failed with exit code {0} (0x{0:X8})" -f $code)
        }
    }
}

# Windows Update goes back to disabled, as the image had it.
& sc.exe config wuauserv start= disabled | Out-Null
& net.exe stop wuauserv 2>&1 | Out-Null
exit $result
