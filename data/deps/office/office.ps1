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
function Set-Dword([string]$key, [string]$name, [int]$data) {
    & reg.exe add $key /v $name /t REG_DWORD /d $data /f | Out-Null
    if ($LASTEXITCODE -ne 0) {
        Write-Output "reg add $key /v $name failed ($LASTEXITCODE)"
        $script:failed++
    }
}

$o = "HKCU\Software\Microsoft\Office\$v"
# No first-run opt-in, no online content, research or translation lookups, no telemetry.
Set-Dword "$o\Common\General" 'ShownFirstRunOptin' 1
Set-Dword "$o\Common\Security\FileValidation" 'DisableReporting' 1
Set-Dword "$o\Common\Internet" 'UseOnlineContent' 0
Set-Dword "$o\Common\Internet" 'UseOnlineAppDetect' 0
Set-Dword "$o\Common\Internet" 'IDN_AlertOff' 1
Set-Dword "$o\Common\Research\Options" 'NoDiscovery' 1
Set-Dword "$o\Common\Research\Options" 'DiscoveryNeedOptIn' 1
Set-Dword "$o\Common\Research\Translation" 'UseOnline' 0
Set-Dword "$o\Common" 'UpdateReliabilityData' 0
Set-Dword 'HKCU\Software\Microsoft\Office\Common\Security' 'DisableAllActiveX' 0
Set-Dword 'HKCU\Software\Microsoft\Office\Common\Security' 'UFIControls' 1

# Documents from the internet, attachments and unsafe places open editable, not in Protected View.
foreach ($app in 'Access', 'Excel', 'Outlook', 'PowerPoint', 'Publisher', 'Word') {
    Set-Dword "$o\$app\Security\ProtectedView" 'DisableAttachmentsInPV' 1
    Set-Dword "$o\$app\Security\ProtectedView" 'DisableInternetFilesInPV' 1
    Set-Dword "$o\$app\Security\ProtectedView" 'DisableUnsafeLocationsInPV' 1
}
# Macros run without a prompt, the VBA object model is reachable, no DEP for the host process.
foreach ($app in 'Excel', 'PowerPoint', 'Word') {
    Set-Dword "$o\$app\Security" 'EnableDEP' 0
    Set-Dword "$o\$app\Security" 'VBAWarnings' 1
    Set-Dword "$o\$app\Security" 'AccessVBOM' 1
    Set-Dword "$o\$app\Security\Trusted Locations" 'AllowNetworkLocations' 1
}
# Old binary formats open (File Block off).
Set-Dword "$o\Word\Security\FileBlock" 'OpenInProtectedView' 2
foreach ($n in 'Word2Files', 'Word60Files', 'Word95Files') {
    Set-Dword "$o\Word\Security\FileBlock" $n 0
}
Set-Dword "$o\Excel\Security\FileBlock" 'OpenInProtectedView' 2
# VMCloak writes these Excel values under Word\Security\FileBlock (its bug, spec §11.4), where
# Excel never reads them; they belong to Excel's FileBlock key.
foreach ($n in 'XL2Macros', 'XL2Worksheets', 'XL3Macros', 'XL3Worksheets', 'XL4Macros', 'XL4Workbooks', 'XL4Worksheets') {
    Set-Dword "$o\Excel\Security\FileBlock" $n 0
}
Set-Dword "$o\Excel\Security" 'DataConnectionWarnings' 0
Set-Dword "$o\Excel\Security" 'WorkbookLinkWarnings' 0
Set-Dword "$o\Outlook\Security" 'Level' 1
# 32-bit Office on 64-bit Windows: Outlook's object model guard lives in the 32-bit view.
Set-Dword "HKLM\SOFTWARE\Wow6432Node\Microsoft\Office\$v\Outlook\Security" 'ObjectModelGuard' 2

if ($failed -gt 0) {
    Write-Output "$failed value(s) could not be written"
    exit 1
}
exit 0
