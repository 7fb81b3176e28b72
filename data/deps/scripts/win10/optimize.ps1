# Windows 10 (8.1 and 11 too, unverified there): Store apps and OneDrive gone, SmartScreen,
# Defender's real-time protection, Action Center, tips, telemetry prompts and Cortana off, an
# empty Start menu. The choices are VMCloak's (vmcloak-spec.md §11.4, optimize.ps1 win10).
# Each change that does not apply to a build (a missing file or command) is skipped with a line.
# Exit 0, or 1 when a registry value could not be written.
$failed = 0
# Set-Value: common.ps1, uploaded beside this script.
. (Join-Path (Split-Path -Parent $MyInvocation.MyCommand.Path) 'vmcloak-common.ps1')

function Remove-Value([string]$key, [string]$name) {
    & reg.exe delete $key /v $name /f 2>&1 | Out-Null
}

# --- Store apps and OneDrive: they update, sync and phone home during analyses.
if (Get-Command Get-AppxPackage -ErrorAction SilentlyContinue) {
    # Some packages (system apps) cannot be removed; that is expected.
    Get-AppxPackage -AllUsers | ForEach-Object {
        try { Remove-AppxPackage -Package $_.PackageFullName -ErrorAction Stop } catch { }
    }
}
$onedrive = Join-Path $env:SystemRoot 'SysWOW64\OneDriveSetup.exe'
if (Test-Path $onedrive) {
    Start-Process -FilePath $onedrive -ArgumentList '/uninstall' -Wait
}
Remove-Item -Path (Join-Path $env:LOCALAPPDATA 'Microsoft\OneDrive') -Recurse -Force -ErrorAction SilentlyContinue
Remove-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' 'OneDriveSetup'

# --- SmartScreen: no reputation checks on downloaded samples.
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\System' 'EnableSmartScreen' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\MicrosoftEdge\PhishingFilter' 'EnabledV9' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer' 'SmartScreenEnabled' REG_SZ 'Off'
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\AppHost' 'SmartScreenEnabled' REG_SZ 'Off'
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\AppHost' 'EnableWebContentEvaluation' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\AppHost' 'PreventOverride' REG_DWORD 0

# --- Defender: no real-time scanning of samples, no notifications, no tray icon.
$rtp = 'HKLM\Software\Policies\Microsoft\Windows Defender\Real-Time Protection'
foreach ($n in 'DisableRealtimeMonitoring', 'DisableBehaviorMonitoring', 'DisableOnAccessProtection', 'DisableScanOnRealtimeEnable') {
    Set-Value $rtp $n REG_DWORD 1
}
Set-Value 'HKLM\Software\Policies\Microsoft\Windows Defender\UX Configuration' 'Notification_Suppress' REG_DWORD 1
Remove-Value 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run' 'SecurityHealth'
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Biometrics' 'Enabled' REG_DWORD 0

# --- Action Center: its DLLs renamed away (taken over from TrustedInstaller first), no
# notification centre, no security and maintenance toasts.
foreach ($dll in 'ActionCenter.dll', 'ActionCenterCPL.dll') {
    $path = Join-Path $env:SystemRoot "System32\$dll"
    if (-not (Test-Path $path)) {
        Write-Output "${dll}: not on this build"
        continue
    }
    & takeown.exe /f $path | Out-Null
    & icacls.exe $path /grant '*S-1-3-4:F' | Out-Null   # OWNER RIGHTS: full control, any language
    Rename-Item -Path $path -NewName "${dll}_BUP" -ErrorAction SilentlyContinue
}
Set-Value 'HKCU\Software\Policies\Microsoft\Windows\Explorer' 'DisableNotificationCenter' REG_DWORD 1
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\Notifications\Settings\Windows.SystemToast.SecurityAndMaintenance' 'Enabled' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\ContentDeliveryManager' 'SoftLandingEnabled' REG_DWORD 0

# --- Performance: no automatic maintenance, no first-logon animation, no startup delay.
Set-Value 'HKCU\Software\Policies\Microsoft\Windows\EdgeUI' 'DisableMFUTracking' REG_DWORD 1
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\Maintenance' 'Activation Boundary' REG_SZ '2001-01-01T16:00:00'
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\Maintenance' 'MaintenanceDisabled' REG_DWORD 1
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' 'EnableFirstLogonAnimation' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon' 'EnableFirstLogonAnimation' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' 'FilterAdministratorToken' REG_DWORD 1
# The key's default value (reg's /ve; an empty /v argument would not reach reg.exe).
& reg.exe add 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\UIPI' /ve /t REG_SZ /d 1 /f | Out-Null
if ($LASTEXITCODE -ne 0) { Write-Output 'reg add ...\Policies\System\UIPI (default value) failed'; $failed++ }
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\Serialize' 'Startupdelayinmsec' REG_DWORD 0

# --- Start menu: no live tiles; an empty default layout (one tile for a shortcut that does not
# exist) for new profiles, and the current profile's tile cache dropped so it takes effect.
Set-Value 'HKCU\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\PushNotifications' 'NoTileApplicationNotification' REG_DWORD 1
if (Get-Command Import-StartLayout -ErrorAction SilentlyContinue) {
    $layout = Join-Path $env:TEMP 'vmcloak-startlayout.xml'
    @'
<LayoutModificationTemplate xmlns:defaultlayout="http://schemas.microsoft.com/Start/2014/FullDefaultLayout" xmlns:start="http://schemas.microsoft.com/Start/2014/StartLayout" Version="1" xmlns="http://schemas.microsoft.com/Start/2014/LayoutModification">
  <LayoutOptions StartTileGroupCellWidth="6" />
  <DefaultLayoutOverride>
    <StartLayoutCollection>
      <defaultlayout:StartLayout GroupCellWidth="6">
        <start:Group Name="">
          <start:DesktopApplicationTile Size="1x1" Column="0" Row="0" DesktopApplicationLinkPath="%ALLUSERSPROFILE%\Microsoft\Windows\Start Menu\Programs\vmcloak-none.lnk" />
        </start:Group>
      </defaultlayout:StartLayout>
    </StartLayoutCollection>
  </DefaultLayoutOverride>
</LayoutModificationTemplate>
'@ | Set-Content -Path $layout -Encoding UTF8
    try {
        Import-StartLayout -LayoutPath $layout -MountPath "$env:SystemDrive\" -ErrorAction Stop
    } catch {
        Write-Output "Import-StartLayout: $($_.Exception.Message)"
    }
    Remove-Item -Path $layout -Force -ErrorAction SilentlyContinue
} else {
    Write-Output 'Import-StartLayout: not on this build'
}
& reg.exe delete 'HKCU\Software\Microsoft\Windows\CurrentVersion\CloudStore\Store\Cache\DefaultAccount' /f 2>&1 | Out-Null

# --- Privacy prompts and data collection.
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\DataCollection' 'DoNotShowFeedbackNotifications' REG_DWORD 1
foreach ($n in 'EnableActivityFeed', 'PublishUserActivities', 'UploadUserActivities') {
    Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\System' $n REG_DWORD 0
}
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\AdvertisingInfo' 'Enabled' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\Advanced' 'Start_TrackProgs' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows NT\CurrentVersion\Software Protection Platform' 'NoGenTicket' REG_DWORD 1
Set-Value 'HKCU\SOFTWARE\Microsoft\Siuf\Rules' 'NumberOfSIUFInPeriod' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\InputPersonalization' 'RestrictImplicitInkCollection' REG_DWORD 1
Set-Value 'HKCU\Software\Microsoft\InputPersonalization' 'RestrictImplicitTextCollection' REG_DWORD 1
Set-Value 'HKCU\Software\Microsoft\Personalization\Settings' 'AcceptedPrivacyPolicy' REG_DWORD 0
Set-Value 'HKCU\Software\Microsoft\InputPersonalization\TrainedDataStore' 'HarvestContacts' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Microsoft\Speech_OneCore\Preferences' 'ModelDownloadAllowed' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\TabletPC' 'PreventHandwritingDataSharing' REG_DWORD 1
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\HandwritingErrorReports' 'PreventHandwritingErrorReports' REG_DWORD 1
foreach ($n in 'DisableSoftLanding', 'DisableWindowsSpotlightFeatures', 'DisableWindowsConsumerFeatures') {
    Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\CloudContent' $n REG_DWORD 1
}
Set-Value 'HKCU\Software\Policies\Microsoft\Windows\Explorer' 'NoNewAppAlert' REG_DWORD 1
Set-Value 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform' 'DisableDnsPublishing' REG_DWORD 0
Set-Value 'HKLM\SOFTWARE\Policies\Microsoft\Windows\Windows Search' 'AllowCortana' REG_DWORD 0

# --- Edge off the taskbar (the verb's name is the English one; other languages keep the pin).
try {
    $shell = New-Object -ComObject Shell.Application
    $folder = $shell.Namespace((Join-Path $env:APPDATA 'Microsoft\Internet Explorer\Quick Launch\User Pinned\TaskBar'))
    if ($folder) {
        foreach ($item in @($folder.Items())) {
            if ($item.Name -like '*Edge*') {
                $verb = $item.Verbs() | Where-Object { $_.Name.Replace('&', '') -eq 'Unpin from taskbar' }
                if ($verb) { $verb.DoIt() }
            }
        }
    }
} catch {
    Write-Output "unpinning Edge: $($_.Exception.Message)"
}

# Diagnostic Policy Service: its scans run during analyses.
Set-Service -Name DPS -StartupType Disabled -ErrorAction SilentlyContinue

if ($failed -gt 0) {
    Write-Output "$failed value(s) could not be written"
    exit 1
}
exit 0
