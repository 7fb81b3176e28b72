# Windows 10 (and 8.1, 11): services an analysis VM does not need get start type 4 (Disabled)
# in their registry key; Set-Service refuses some of them (Defender's, per-user templates).
# The list is VMCloak's (vmcloak-spec.md §11.2, disableservices; its duplicate dmwappushservice
# is listed once). Exit 0 when every existing service is disabled, 1 when one could not be.
$services = @(
    'PrintNotify', 'WpnUserService', 'OneSyncSvc', 'WdBoot', 'WdFilter', 'WdNisDrv', 'WdNisSvc', 'WinDefend',
    'DiagTrack', 'DoSvc', 'TimeBrokerSvc', 'TokenBroker', 'Sense', 'SecurityHealthService', 'wscsvc',
    'dmwappushservice', 'AJRouter', 'ALG', 'AppMgmt', 'bthserv', 'PeerDistSvc', 'CertPropSvc', 'MapsBroker',
    'Fax', 'lfsvc', 'HvHost', 'vmickvpexchange', 'vmicguestinterface', 'vmicshutdown', 'vmicheartbeat',
    'vmicvmsession', 'vmicrdv', 'vmictimesync', 'vmicvss', 'irmon', 'SharedAccess', 'iphlpsvc', 'IpxlatCfgSvc',
    'MSiSCSI', 'SmsRouter', 'NaturalAuthentication', 'NetTcpPortSharing', 'Netlogon', 'NcdAutoSetup',
    'CscService', 'SEMgrSvc', 'PhoneSvc', 'SessionEnv', 'TermService', 'UmRdpService', 'RpcLocator',
    'RetailDemo', 'SensorDataService', 'SensrSvc', 'SensorService', 'ScDeviceEnum', 'SCPolicySvc', 'SNMPTRAP',
    'TabletInputService', 'WebClient', 'FrameServer', 'wcncsvc', 'wisvc', 'WMPNetworkSvc', 'icssvc', 'WinRM',
    'workfolderssvc', 'WwanSvc', 'XblAuthManager', 'XblGameSave', 'XboxNetApiSvc', 'WFDSConMgrSvc'
)

$failed = 0
foreach ($name in $services) {
    $key = "HKLM\SYSTEM\CurrentControlSet\Services\$name"
    # Builds differ: a service this build does not have is skipped.
    if (-not (Test-Path "Registry::$key")) {
        Write-Output "${name}: not on this build"
        continue
    }
    & reg.exe add $key /v Start /t REG_DWORD /d 4 /f | Out-Null
    if ((Get-ItemProperty -Path "Registry::$key" -Name Start -ErrorAction SilentlyContinue).Start -ne 4) {
        # Tamper protection keeps Defender's keys; expected on recent builds.
        Write-Output "${name}: could not be disabled"
        $failed++
    }
}
if ($failed -gt 0) {
    Write-Output "$failed service(s) could not be disabled"
    exit 1
}
exit 0
