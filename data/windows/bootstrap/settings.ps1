# vmcloak guest settings (Windows 7 and later; PowerShell 2.0 compatible), run once by
# bootstrap.cmd. VMCloak's genericsettings.ps1 (vmcloak-spec 5.7) plus Windows Update and
# Defender policies and the display resolution. Every step runs on its own: a failing step is
# logged ("step: failed: reason") and the script exits 1 at the end, after all the others ran.
#
# Not scriptable, and so not done here: Defender's tamper protection (Windows 10 1903 and
# later; only the Security app or MDM can turn it off, and while it is on Defender ignores the
# policies below), and the Windows Update Medic service (WaaSMedicSvc, protected; it re-enables
# wuauserv on Windows 10/11).
param([string]$Width = "", [string]$Height = "")

$script:failed = 0

function Step([string]$name, [scriptblock]$body) {
    try {
        & $body
        Write-Output "${name}: done"
    } catch {
        $script:failed++
        Write-Output "${name}: failed: $($_.Exception.Message)"
    }
}

function Set-Reg([string]$path, [string]$name, $value, [string]$type = "DWord") {
    if (-not (Test-Path $path)) { New-Item -Path $path -Force -ErrorAction Stop | Out-Null }
    New-ItemProperty -Path $path -Name $name -Value $value -PropertyType $type -Force -ErrorAction Stop | Out-Null
}

# A native tool's failure is an exception, so Step reports it.
function Run([string]$exe) {
    $out = & $exe @args 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$exe $($args -join ' '): exit $LASTEXITCODE $out" }
}

Step "power" {
    Run powercfg -setactive 8c5e7fda-e8bf-4a96-9a85-a6e23a8c635c
    foreach ($t in "monitor-timeout-ac", "monitor-timeout-dc", "standby-timeout-ac", "standby-timeout-dc",
                   "hibernate-timeout-ac", "hibernate-timeout-dc", "disk-timeout-ac", "disk-timeout-dc") {
        Run powercfg -change -$t 0
    }
    Run powercfg -h off
}

Step "firewall" {
    Run netsh advfirewall set allprofiles state off
}

Step "uac" {
    $p = "HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
    Set-Reg $p EnableLUA 0
    Set-Reg $p ConsentPromptBehaviorAdmin 0
    Set-Reg $p PromptOnSecureDesktop 0
}

Step "windows-update" {
    $wu = "HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate"
    Set-Reg $wu SetDisablePauseUXAccess 1
    Set-Reg $wu DoNotConnectToWindowsUpdateInternetLocations 1
    Set-Reg "$wu\AU" NoAutoUpdate 1
    Set-Reg "$wu\AU" AUOptions 1
    Set-Reg "$wu\AU" ScheduledInstallDay 0
    Set-Reg "$wu\AU" ScheduledInstallTime 0
    Set-Reg "HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update" AUOptions 1
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\Windows\DeliveryOptimization" DODownloadMode 0
    Stop-Service wuauserv -Force -ErrorAction SilentlyContinue
    Run sc.exe config wuauserv start= disabled
    if (Get-Service UsoSvc -ErrorAction SilentlyContinue) {
        Stop-Service UsoSvc -Force -ErrorAction SilentlyContinue
        Run sc.exe config UsoSvc start= disabled
    }
}

Step "defender" {
    $d = "HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender"
    Set-Reg $d DisableAntiSpyware 1
    Set-Reg $d DisableAntiVirus 1
    Set-Reg "$d\Real-Time Protection" DisableRealtimeMonitoring 1
    Set-Reg "$d\Real-Time Protection" DisableBehaviorMonitoring 1
    Set-Reg "$d\Real-Time Protection" DisableOnAccessProtection 1
    Set-Reg "$d\Real-Time Protection" DisableScanOnRealtimeEnable 1
    Set-Reg "$d\Real-Time Protection" DisableIOAVProtection 1
    Set-Reg "$d\Spynet" SpynetReporting 0
    Set-Reg "$d\Spynet" SubmitSamplesConsent 2
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\MRT" DontReportInfectionInformation 1
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\MRT" DontOfferThroughWUAU 1
    # Windows 8 and later: the running service too (fails quietly under tamper protection).
    if (Get-Command Set-MpPreference -ErrorAction SilentlyContinue) {
        Set-MpPreference -DisableRealtimeMonitoring $true -ErrorAction SilentlyContinue
        Set-MpPreference -SubmitSamplesConsent 2 -MAPSReporting 0 -ErrorAction SilentlyContinue
    }
}

Step "services" {
    foreach ($s in "SysMain", "WSearch") {
        if (Get-Service $s -ErrorAction SilentlyContinue) {
            Stop-Service $s -Force -ErrorAction SilentlyContinue
            Set-Service $s -StartupType Disabled -ErrorAction Stop
        }
    }
}

Step "performance" {
    Set-Reg "HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Serialize" StartupDelayInMSec 0
    $pe = "HKCU:\Software\Microsoft\Windows\CurrentVersion\Policies\Explorer"
    foreach ($n in "NoLowDiskSpaceChecks", "LinkResolveIgnoreLinkInfo", "NoResolveSearch", "NoResolveTrack",
                   "NoInternetOpenWith") {
        Set-Reg $pe $n 1
    }
    foreach ($cs in "ControlSet001", "ControlSet002", "CurrentControlSet") {
        if (Test-Path "HKLM:\SYSTEM\$cs\Control") {
            Set-Reg "HKLM:\SYSTEM\$cs\Control" WaitToKillServiceTimeout "1000" "String"
        }
    }
    $desk = "HKCU:\Control Panel\Desktop"
    Set-Reg $desk AutoEndTasks "1" "String"
    Set-Reg $desk HungAppTimeout "1000" "String"
    Set-Reg $desk MenuShowDelay "0" "String"
    Set-Reg $desk WaitToKillAppTimeout "2000" "String"
    Set-Reg $desk LowLevelHooksTimeout "1000" "String"
}

Step "noise" {
    New-Item -Path "HKLM:\SYSTEM\CurrentControlSet\Control\Network\NewNetworkWindowOff" -Force | Out-Null
    Run net accounts /maxpwage:unlimited
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\Windows\Windows Error Reporting" Disabled 1
    Set-Reg "HKLM:\SOFTWARE\Microsoft\Windows\Windows Error Reporting" Disabled 1
    Set-Reg "HKLM:\SOFTWARE\Microsoft\PolicyManager\default\System\AllowExperimentation" value 0
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\Windows\HomeGroup" DisableHomeGroup 1
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\Windows\NetworkConnectivityStatusIndicator" NoActiveProbe 1
    Set-Reg "HKLM:\SYSTEM\CurrentControlSet\Services\NlaSvc\Parameters\Internet" EnableActiveProbing 0
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\Peernet" Disabled 1
    Set-Reg "HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection" AllowTelemetry 0
    Set-Reg "HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer" NoDriveTypeAutoRun 255
    Set-Reg "HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced" HideFileExt 0
    Set-Reg "HKCU:\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced" Hidden 0
    Set-Reg "HKLM:\SYSTEM\CurrentControlSet\Control\CrashControl" AutoReboot 0
    Set-Reg "HKLM:\SYSTEM\CurrentControlSet\Control\CrashControl" CrashDumpEnabled 0
    Run netsh interface teredo set state disabled
}

if ($Width -match '^[0-9]+$' -and $Height -match '^[0-9]+$' -and [int]$Width -gt 0) {
    Step "resolution" {
        Add-Type -TypeDefinition @"
using System;
using System.Runtime.InteropServices;
public static class VmcloakDisplay {
    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Ansi)]
    public struct DEVMODE {
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 32)] public string dmDeviceName;
        public short dmSpecVersion, dmDriverVersion, dmSize, dmDriverExtra;
        public int dmFields, dmPositionX, dmPositionY, dmDisplayOrientation, dmDisplayFixedOutput;
        public short dmColor, dmDuplex, dmYResolution, dmTTOption, dmCollate;
        [MarshalAs(UnmanagedType.ByValTStr, SizeConst = 32)] public string dmFormName;
        public short dmLogPixels;
        public int dmBitsPerPel, dmPelsWidth, dmPelsHeight, dmDisplayFlags, dmDisplayFrequency;
        public int dmICMMethod, dmICMIntent, dmMediaType, dmDitherType, dmReserved1, dmReserved2;
        public int dmPanningWidth, dmPanningHeight;
    }
    [DllImport("user32.dll")] static extern bool EnumDisplaySettings(string dev, int mode, ref DEVMODE dm);
    [DllImport("user32.dll")] static extern int ChangeDisplaySettings(ref DEVMODE dm, int flags);
    public static int Set(int w, int h) {
        DEVMODE dm = new DEVMODE();
        dm.dmSize = (short)Marshal.SizeOf(typeof(DEVMODE));
        if (!EnumDisplaySettings(null, -1, ref dm)) return -1;
        dm.dmPelsWidth = w;
        dm.dmPelsHeight = h;
        dm.dmFields = 0x80000 | 0x100000;
        return ChangeDisplaySettings(ref dm, 1);
    }
}
"@
        $r = [VmcloakDisplay]::Set([int]$Width, [int]$Height)
        if ($r -ne 0) { throw "ChangeDisplaySettings ${Width}x${Height} returned $r" }
    }
}

if ($script:failed -gt 0) { exit 1 }
exit 0
