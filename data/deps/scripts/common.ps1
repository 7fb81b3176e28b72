# Helpers the catalog's PowerShell scripts share: each entry uploads this file beside its own
# script, which dot-sources it (so $script:failed below is the calling script's counter).
# PowerShell 2.0 compatible (Windows 7).

# A registry value through reg.exe, which writes every type from text the same way on
# PowerShell 2.0 and 5; a failure is printed and counted, the script goes on.
function Set-Value([string]$key, [string]$name, [string]$type, [string]$data) {
    & reg.exe add $key /v $name /t $type /d $data /f | Out-Null
    if ($LASTEXITCODE -ne 0) {
        Write-Output "reg add $key /v $name failed ($LASTEXITCODE)"
        $script:failed++
    }
}

# A program's first run, which finishes its per-user setup before any sample starts it: started,
# given $dwell seconds, asked to close, and ended by force when still there after $grace seconds.
function Invoke-FirstRun([string]$exe, [string]$process, [int]$dwell, [int]$grace) {
    Start-Process -FilePath $exe | Out-Null
    Start-Sleep -Seconds $dwell
    Get-Process -Name $process -ErrorAction SilentlyContinue | ForEach-Object { [void]$_.CloseMainWindow() }
    $deadline = (Get-Date).AddSeconds($grace)
    while ((Get-Process -Name $process -ErrorAction SilentlyContinue) -and (Get-Date) -lt $deadline) {
        Start-Sleep -Seconds 1
    }
    Get-Process -Name $process -ErrorAction SilentlyContinue | Stop-Process -Force -ErrorAction SilentlyContinue
}
