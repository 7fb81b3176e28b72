# Adobe Reader after its install: VMCloak's settings (vmcloak-spec.md §11.2, adobepdf), Reader
# as the handler of .pdf files, and one first run. Uploaded as a template: {{version}} is the
# installed version; its major number (11 for 11.0.8) names the registry keys ("11.0").
# PowerShell 2.0 compatible (Windows 7). Exit 0, or 1 when something failed.
$major = ('{{version}}'.Split('.'))[0] + '.0'
$failed = 0
# Set-Value, Invoke-FirstRun: common.ps1, uploaded beside this script.
. (Join-Path (Split-Path -Parent $MyInvocation.MyCommand.Path) 'vmcloak-common.ps1')

$user = "HKCU\Software\Adobe\Acrobat Reader\$major"
$policy = "HKLM\SOFTWARE\Policies\Adobe\Acrobat Reader\$major\FeatureLockDown"
# Reader is a 32-bit program, this script's reg.exe the 64-bit one (VMCloak's agent was 32-bit:
# it reached the 64-bit reg.exe through sysnative, spec §11.2 modified). HKLM\SOFTWARE\Policies
# is listed as shared between the two views since Windows 7, but Adobe documents the
# Wow6432Node path for 64-bit Windows: Set-ValueBoth writes both (the spare copy is harmless).

# EULA accepted, first launch done: no dialogs when a sample opens.
Set-Value "HKLM\Software\WOW6432Node\Adobe\Acrobat Reader\$major\AdobeViewer" 'EULA' REG_DWORD 1
Set-Value "HKLM\Software\WOW6432Node\Adobe\Acrobat Reader\$major\AdobeViewer" 'Launched' REG_DWORD 1
Set-Value "$user\AdobeViewer" 'EULA' REG_DWORD 1
Set-Value "$user\AdobeViewer" 'Launched' REG_DWORD 1
Set-Value "$user\AVGeneral" 'bCheckForUpdatesAtStartup' REG_DWORD 0

# No updater, no sandbox (protected mode), no protected view, no enhanced security; Flash in
# PDFs allowed.
foreach ($n in 'bUpdater', 'bProtectedMode', 'iProtectedView', 'bEnhancedSecurityStandalone', 'bEnhancedSecurityInBrowser') {
    Set-ValueBoth $policy $n REG_DWORD 0
}
Set-ValueBoth $policy 'bEnableFlash' REG_DWORD 1
Set-Value "$user\Privileged" 'bProtectedMode' REG_DWORD 0
# VMCloak writes this one under a key literally named "%s.0" (its bug, spec §11.2); it belongs
# under the version's key like the others.
Set-Value "$user\TrustManager" 'iProtectedView' REG_DWORD 0
Set-Value "$user\TrustManager" 'bEnhancedSecurityStandalone' REG_DWORD 0
Set-Value "$user\TrustManager" 'bEnhancedSecurityInBrowser' REG_DWORD 0

# URLs and attachments open without asking (2 = allow).
Set-Value "$user\TrustManager\cDefaultLaunchURLPerms" 'iURLPerms' REG_DWORD 2
Set-Value "$user\TrustManager\cDefaultLaunchURLPerms" 'iUnknownURLPerms' REG_DWORD 2
Set-ValueBoth "$policy\cDefaultLaunchURLPerms" 'iUnknownURLPerms' REG_DWORD 2
foreach ($k in "$policy", ($policy -replace '^HKLM\\SOFTWARE\\', 'HKLM\SOFTWARE\Wow6432Node\')) {
    & reg.exe delete "$k\cDefaultLaunchAttachmentPerms" /v tBuiltInPermList /f 2>&1 | Out-Null
}
Set-ValueBoth "$policy\cDefaultLaunchAttachmentPerms" 'iUnlistedAttachmentTypePerm' REG_DWORD 2
Set-Value "$user\Attachments\cDefaultLaunchURLPerms" 'iUnlistedAttachmentTypePerm' REG_DWORD 2
Set-Value "$user\Security\cDigSig\cAdobeDownload" 'bLoadSettingsFromURL' REG_DWORD 0

# Reader as the .pdf handler. VMCloak types {TAB} {Enter} into Control Panel's Default Programs
# page; here the user's own choice (which would win over the machine's) is removed, so .pdf
# falls back to the class Reader registered for it at install. Windows 8 and later keep the
# choice for new users in the default associations, set through DISM.
$progid = (Get-ItemProperty -Path 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Classes\.pdf' -ErrorAction SilentlyContinue).'(default)'
if (-not $progid) {
    Write-Output 'Adobe Reader registered no handler for .pdf'
    $failed++
} else {
    & reg.exe delete 'HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\FileExts\.pdf\UserChoice' /f 2>&1 | Out-Null
    if ([Environment]::OSVersion.Version -ge (New-Object Version 6, 2)) {
        $xml = Join-Path $env:TEMP 'vmcloak-pdf-assoc.xml'
        "<?xml version=`"1.0`" encoding=`"UTF-8`"?>`r`n<DefaultAssociations>`r`n  <Association Identifier=`".pdf`" ProgId=`"$progid`" ApplicationName=`"Adobe Reader`" />`r`n</DefaultAssociations>`r`n" |
            Set-Content -Path $xml -Encoding UTF8
        & dism.exe /Online /Import-DefaultAppAssociations:$xml | Out-Null
        if ($LASTEXITCODE -ne 0) {
            Write-Output "dism /Import-DefaultAppAssociations failed ($LASTEXITCODE)"
            $failed++
        }
        Remove-Item -Path $xml -Force -ErrorAction SilentlyContinue
    }
}

# First run: Reader finishes its per-user setup; given 120 s, asked to close, forced after 30 s.
$exe = Join-Path ${env:ProgramFiles(x86)} "Adobe\Reader $major\Reader\AcroRd32.exe"
if (-not (Test-Path $exe)) {
    Write-Output "$exe is missing: Adobe Reader did not install"
    exit 1
}
Invoke-FirstRun $exe AcroRd32 120 30

if ($failed -gt 0) {
    Write-Output "$failed setting(s) failed"
    exit 1
}
exit 0
