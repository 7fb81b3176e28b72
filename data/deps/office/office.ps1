# Office setup from the attached ISO with C:\config.xml, then VMCloak's Office settings
# (vmcloak-spec.md §11.4, "Office registry"). Uploaded as a template: {{version}} is the Office
# version (2003, 2007, 2010, 2013, 2016). PowerShell 2.0 compatible (Windows 7).
# Exit: setup's exit code when it failed, 1 for a problem found here, else 0.
$versions = @{ '2003' = '11.0'; '2007' = '12.0'; '2010' = '14.0'; '2013' = '15.0'; '2016' = '16.0' }
$v = $versions['{{version}}']
if (-not $v) {
    Write-Output "office: unknown version '{{version}}' (known: 2003, 2007, 2010, 2013, 2016)"
    exit 1
}

# VMCloak runs D:\setup.exe; the first CD-ROM drive holding a setup.exe is taken here, whatever
# its letter.
$setup = $null
foreach ($cd in @(Get-WmiObject Win32_LogicalDisk -Filter 'DriveType = 5')) {
    $candidate = "$($cd.DeviceID)\setup.exe"
    if (Test-Path $candidate) { $setup = $candidate; break }
}
if (-not $setup) {
    Write-Output 'office: no CD-ROM drive holds setup.exe: is office.isopath an Office installation ISO?'
    exit 1
}

# Office wants the key as 25 characters without dashes.
$config = 'C:\config.xml'
$xml = [IO.File]::ReadAllText($config)
if ($xml -match 'PIDKEY Value="([^"]*)"') {
    $key = $matches[1]
    $xml = $xml.Replace('PIDKEY Value="' + $key + '"', 'PIDKEY Value="' + ($key -replace '-', '') + '"')
}
[IO.File]::WriteAllText($config, $xml)

$p = Start-Process -FilePath $setup -ArgumentList '/config', $config -Wait -PassThru
# setup.exe may hand over to a second setup process; it is done when none is left.
$deadline = (Get-Date).AddSeconds(3000)
while ((Get-Process -Name setup -ErrorAction SilentlyContinue) -and (Get-Date) -lt $deadline) {
    Start-Sleep -Seconds 2
}
if ($p.ExitCode -ne 0 -and $p.ExitCode -ne 3010) {
    Write-Output "office: $setup /config $config failed with exit code $($p.ExitCode)"
    exit $p.ExitCode
}

$failed = 0
# Set-Value: common.ps1, uploaded beside this script.
. (Join-Path (Split-Path -Parent $MyInvocation.MyCommand.Path) 'vmcloak-common.ps1')

$o = "HKCU\Software\Microsoft\Office\$v"
# No first-run opt-in, no online content, research or translation lookups, no telemetry.
Set-Value "$o\Common\General" 'ShownFirstRunOptin' REG_DWORD 1
Set-Value "$o\Common\Security\FileValidation" 'DisableReporting' REG_DWORD 1
Set-Value "$o\Common\Internet" 'UseOnlineContent' REG_DWORD 0
Set-Value "$o\Common\Internet" 'UseOnlineAppDetect' REG_DWORD 0
Set-Value "$o\Common\Internet" 'IDN_AlertOff' REG_DWORD 1
Set-Value "$o\Common\Research\Options" 'NoDiscovery' REG_DWORD 1
Set-Value "$o\Common\Research\Options" 'DiscoveryNeedOptIn' REG_DWORD 1
Set-Value "$o\Common\Research\Translation" 'UseOnline' REG_DWORD 0
Set-Value "$o\Common" 'UpdateReliabilityData' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\Office\Common\Security' 'DisableAllActiveX' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\Office\Common\Security' 'UFIControls' REG_DWORD 1

# Documents from the internet, attachments and unsafe places open editable, not in Protected View.
foreach ($app in 'Access', 'Excel', 'Outlook', 'PowerPoint', 'Publisher', 'Word') {
    Set-Value "$o\$app\Security\ProtectedView" 'DisableAttachmentsInPV' REG_DWORD 1
    Set-Value "$o\$app\Security\ProtectedView" 'DisableInternetFilesInPV' REG_DWORD 1
    Set-Value "$o\$app\Security\ProtectedView" 'DisableUnsafeLocationsInPV' REG_DWORD 1
}
# Macros run without a prompt, the VBA object model is reachable, no DEP for the host process.
foreach ($app in 'Excel', 'PowerPoint', 'Word') {
    Set-Value "$o\$app\Security" 'EnableDEP' REG_DWORD 0
    Set-Value "$o\$app\Security" 'VBAWarnings' REG_DWORD 1
    Set-Value "$o\$app\Security" 'AccessVBOM' REG_DWORD 1
    Set-Value "$o\$app\Security\Trusted Locations" 'AllowNetworkLocations' REG_DWORD 1
}
# Old binary formats open (File Block off).
Set-Value "$o\Word\Security\FileBlock" 'OpenInProtectedView' REG_DWORD 2
foreach ($n in 'Word2Files', 'Word60Files', 'Word95Files') {
    Set-Value "$o\Word\Security\FileBlock" $n REG_DWORD 0
}
Set-Value "$o\Excel\Security\FileBlock" 'OpenInProtectedView' REG_DWORD 2
# VMCloak writes these Excel values under Word\Security\FileBlock (its bug, spec §11.4), where
# Excel never reads them; they belong to Excel's FileBlock key.
foreach ($n in 'XL2Macros', 'XL2Worksheets', 'XL3Macros', 'XL3Worksheets', 'XL4Macros', 'XL4Workbooks', 'XL4Worksheets') {
    Set-Value "$o\Excel\Security\FileBlock" $n REG_DWORD 0
}
Set-Value "$o\Excel\Security" 'DataConnectionWarnings' REG_DWORD 0
Set-Value "$o\Excel\Security" 'WorkbookLinkWarnings' REG_DWORD 0
Set-Value "$o\Outlook\Security" 'Level' REG_DWORD 1
# 32-bit Office on 64-bit Windows: Outlook's object model guard lives in the 32-bit view.
Set-Value "HKLM\SOFTWARE\Wow6432Node\Microsoft\Office\$v\Outlook\Security" 'ObjectModelGuard' REG_DWORD 2

if ($failed -gt 0) {
    Write-Output "$failed value(s) could not be written"
    exit 1
}
exit 0
