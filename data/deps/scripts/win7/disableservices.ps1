# Windows 7: services an analysis VM does not need are set to Disabled (start type 4).
# The list is VMCloak's (vmcloak-spec.md §11.2, disableservices). PowerShell 2.0 compatible.
# Exit 0 when every listed service that exists is disabled, 1 when one could not be.
$services = @(
    'DPS', 'clr_optimization_v2.0.50727_32', 'clr_optimization_v2.0.50727_64', 'AxInstSV', 'SensrSvc',
    'ALG', 'AppMgmt', 'BDESVC', 'bthserv', 'PeerDistSvc', 'CertPropSvc', 'KeyIso', 'VaultSvc',
    'WdiServiceHost', 'WdiSystemHost', 'TrkWks', 'EapHost', 'Fax', 'fdPHost', 'FDResPub', 'hkmsvc',
    'HomeGroupListener', 'HomeGroupProvider', 'hidserv', 'IKEEXT', 'UI0Detect', 'iphlpsvc', 'PolicyAgent',
    'lltdsvc', 'Mcx2Svc', 'MSiSCSI', 'NetTcpPortSharing', 'Netlogon', 'napagent', 'CscService', 'WPCSvc',
    'PNRPsvc', 'p2psvc', 'p2pimsvc', 'IPBusEnum', 'PNRPAutoReg', 'WPDBusEnum', 'wercplsupport', 'PcaSvc',
    'QWAVE', 'SessionEnv', 'TermService', 'UmRdpService', 'RpcLocator', 'RemoteRegistry', 'SstpSvc',
    'wscsvc', 'SCardSvr', 'SCPolicySvc', 'SNMPTRAP', 'StorSvc', 'TabletInputService', 'lmhosts', 'TapiSrv',
    'TBS', 'WebClient', 'WbioSrvc', 'idsvc', 'WcsPlugInService', 'wcncsvc', 'WinDefend', 'WerSvc', 'MpsSvc',
    'ehRecvr', 'ehSched', 'WMPNetworkSvc', 'FontCache3.0.0.0', 'WinRM', 'WSearch', 'WinHttpAutoProxySvc',
    'dot3svc', 'Wlansvc', 'WwanSvc'
)

$failed = 0
foreach ($name in $services) {
    $key = "HKLM:\SYSTEM\CurrentControlSet\Services\$name"
    # Editions differ (Media Center, Tablet PC): a service that is not installed is fine.
    if (-not (Test-Path $key)) {
        Write-Output "${name}: not installed"
        continue
    }
    try {
        Set-Service -Name $name -StartupType Disabled -ErrorAction Stop
    } catch {
        Write-Output "${name}: $($_.Exception.Message)"
    }
    # Set-Service can report success without a change for protected services: the registry says.
    if ((Get-ItemProperty -Path $key -Name Start -ErrorAction SilentlyContinue).Start -ne 4) {
        Write-Output "${name}: still enabled"
        $failed++
    }
}
if ($failed -gt 0) {
    Write-Output "$failed service(s) could not be disabled"
    exit 1
}
exit 0
