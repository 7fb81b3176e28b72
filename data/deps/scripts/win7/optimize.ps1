# Windows 7: Security Center quiet, old shell and RPC behaviour kept, TLS 1.1 and 1.2 on for
# WinHTTP and SChannel clients (samples fetching over modern HTTPS). The values are VMCloak's
# (vmcloak-spec.md §11.4, optimize.ps1 win7). PowerShell 2.0. Exit 0, or 1 when a value failed.
$failed = 0
function Set-Value([string]$key, [string]$name, [string]$type, [string]$data) {
    & reg.exe add $key /v $name /t $type /d $data /f | Out-Null
    if ($LASTEXITCODE -ne 0) {
        Write-Output "reg add $key /v $name failed ($LASTEXITCODE)"
        $script:failed++
    }
}

Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\Policies\Explorer' 'HideSCAHealth' REG_DWORD 1
Set-Value 'HKLM\SOFTWARE\Microsoft\Security Center' 'FirewallOverride' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Microsoft\Security Center' 'AntiVirusOverride' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\System' 'CompatibleRUPSecurity' REG_DWORD 0
Set-Value 'HKCU\SOFTWARE\Policies\Microsoft\Windows\System' 'CompatibleRUPSecurity' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer' 'PreXPSP2ShellProtocolBehavior' REG_DWORD 1

# Microsoft's documented place is the WinHttp key itself (VMCloak's data reads as a subkey named
# after the value, which WinHTTP never reads). 0xAA0 = TLS 1.1 (0x200) | TLS 1.2 (0x800) | SSL 3 and TLS 1.0 (0x20, 0x80), in both views.
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp' 'DefaultSecureProtocols' REG_DWORD 0xAA0
Set-Value 'HKLM\SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp' 'DefaultSecureProtocols' REG_DWORD 0xAA0
# VMCloak writes DisabledByDefault as a string; SChannel reads a DWORD, so a DWORD here.
foreach ($v in 'TLS 1.1', 'TLS 1.2') {
    Set-Value "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\$v\Client" 'DisabledByDefault' REG_DWORD 0
}

if ($failed -gt 0) {
    Write-Output "$failed value(s) could not be written"
    exit 1
}
exit 0
