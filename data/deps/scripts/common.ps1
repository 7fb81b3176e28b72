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

# A value a 32-bit program reads under HKLM\SOFTWARE (Adobe Reader, Internet Explorer's tabs):
# this script runs in 64-bit PowerShell, whose HKLM\SOFTWARE is the 64-bit view, and a 32-bit
# program on 64-bit Windows reads HKLM\SOFTWARE\Wow6432Node instead. Written to both views; on
# 32-bit Windows (no Wow6432Node) to the one.
function Set-ValueBoth([string]$key, [string]$name, [string]$type, [string]$data) {
    Set-Value $key $name $type $data
    if ((Test-Path (Join-Path $env:SystemRoot 'SysWOW64')) -and $key -match '^HKLM\\SOFTWARE\\(?!Wow6432Node\\)(.*)$') {
        Set-Value ('HKLM\SOFTWARE\Wow6432Node\' + $matches[1]) $name $type $data
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
