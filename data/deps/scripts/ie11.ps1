# Internet Explorer 11 settings for an analysis VM, then one first run so that IE's per-user
# setup is done before any sample starts it. The values are VMCloak's (vmcloak-spec.md §11.4,
# "IE11 settings script"). PowerShell 2.0 compatible (Windows 7). Exit 0, or 1 when a value
# could not be written.
$failed = 0

# Set-Value, Invoke-FirstRun: common.ps1, uploaded beside this script.
. (Join-Path (Split-Path -Parent $MyInvocation.MyCommand.Path) 'vmcloak-common.ps1')

$ie = 'HKLM\SOFTWARE\Microsoft\Internet Explorer'
$iePol = 'HKLM\Software\Policies\Microsoft\Internet Explorer'
# HKLM values go to both registry views (Set-ValueBoth): IE's frame is 64-bit, its tabs are
# 32-bit and read HKLM\SOFTWARE\Wow6432Node (VMCloak's agent was a 32-bit process, so its values
# landed there; this script's reg.exe is the 64-bit one).

# No "upgrade your browser" / first-run customisation, no protected-mode isolation prompts.
Set-ValueBoth "$ie\Main\FeatureControl\FEATURE_EUPP_GLOBAL_FORCE_DISABLE" 'iexplore.exe' REG_DWORD 1
Set-ValueBoth "$iePol\Main" 'DisableFirstRunCustomize' REG_DWORD 1
Set-ValueBoth "$iePol\Main" 'Isolation' REG_SZ 'PMIL'
Set-ValueBoth "$iePol\Main" 'Check_Associations' REG_SZ 'no'
Set-ValueBoth "$iePol\Main" 'Start Page' REG_SZ 'about:blank'
Set-ValueBoth "$ie\Main" 'RunOnceComplete' REG_DWORD 1
Set-ValueBoth "$ie\Main" 'RunOnceHasShown' REG_DWORD 1
Set-ValueBoth "$ie\Main" 'EnableAutoUpgrade' REG_DWORD 0

# Every URL action of every zone (0 My Computer .. 4 Restricted) set to 0, "enable": ActiveX,
# scripting, downloads, Java, cross-domain access and the rest never prompt and never block.
$actions = @(
    '1001', '1004', '1200', '1201', '1206', '1207', '1208', '1209', '120A', '120B', '1400', '1402', '1405',
    '1406', '1407', '1408', '1409', '1601', '1604', '1605', '1606', '1607', '1608', '1609', '160A', '1800',
    '1802', '1803', '1804', '1805', '1806', '1807', '1808', '1809', '180A', '180C', '180D', '180E', '180F',
    '1A02', '1A03', '1A04', '1A05', '1A06', '1A10', '2000', '2005', '2100', '2101', '2102', '2103', '2104',
    '2105', '2106', '2200', '2201', '2300', '2301', '2400', '2401', '2402', '2500', '2600', '2700', '2004',
    '2001', '2007', '2107'
)
foreach ($zone in 0..4) {
    $key = "HKLM\Software\Policies\Microsoft\Windows\CurrentVersion\Internet Settings\Zones\$zone"
    foreach ($a in $actions) {
        Set-ValueBoth $key $a REG_DWORD 0
    }
}

Set-ValueBoth "$iePol\Main\FeatureControl\FEATURE_LOCALMACHINE_LOCKDOWN" 'iexplore.exe' REG_DWORD 0
Set-ValueBoth "$iePol\Main\FeatureControl\FEATURE_RESTRICT_FILEDOWNLOAD" 'iexplore.exe' REG_DWORD 0

$ieUser = 'HKCU\Software\Microsoft\Internet Explorer'
Set-Value "$ieUser\Security" 'Safety Warning Level' REG_SZ 'Low'
Set-Value "$ieUser\Security" 'Sending_Security' REG_SZ 'Low'
Set-Value "$ieUser\Security" 'Viewing_Security' REG_SZ 'Low'
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings' 'WarnOnHTTPSToHTTPRedirect' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings' 'WarnOnZoneCrossing' REG_DWORD 0
Set-Value "$ieUser\Download" 'CheckExeSignatures' REG_SZ 'no'
Set-ValueBoth "$iePol\Main\Security" 'DisableFixSecuritySettings' REG_DWORD 1
Set-ValueBoth "$iePol\Main\Security" 'DisableSecuritySettingsCheck' REG_DWORD 1
Set-ValueBoth "$iePol\PhishingFilter" 'EnabledV8' REG_DWORD 0
Set-ValueBoth "$iePol\PhishingFilter" 'EnabledV9' REG_DWORD 0
Set-Value "$ieUser\BrowserEmulation" 'MSCompatibilityMode' REG_DWORD 0
# The window opens maximised (a WINDOWPLACEMENT structure, showCmd 3).
Set-Value "$ieUser\Main" 'Window_Placement' REG_BINARY '2C0000000200000003000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF2400000024000000AA04000089020000'
Set-Value "$ieUser\Main" 'Enable Browser Extensions' REG_SZ 'no'
Set-ValueBoth 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Ext' 'IgnoreFrameApprovalCheck' REG_DWORD 1

if ($failed -gt 0) {
    Write-Output "$failed value(s) could not be written"
    exit 1
}

# First run: IE finishes its per-user setup on its first start (5 s, then 60 s to close).
$exe = Join-Path $env:ProgramFiles 'Internet Explorer\iexplore.exe'
if (-not (Test-Path $exe)) {
    Write-Output "$exe is missing: Internet Explorer is not installed"
    exit 1
}
Invoke-FirstRun $exe iexplore 5 60
exit 0
