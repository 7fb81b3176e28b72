@echo off
rem vmcloak first-logon bootstrap (Windows 7 and later), run once by the answer file's
rem FirstLogonCommands from the config CD (\vmcloak\bootstrap.cmd). It copies itself to
rem C:\vmcloak, sets the network on the adapter found by its MAC address (adapter names are
rem localised), applies settings.ps1, makes the agent start elevated at every logon and starts
rem it. Progress goes to COM1 as "vmcloak-phase: <step>", a failure as
rem "vmcloak-phase: failed <step>", and everything to C:\vmcloak\bootstrap.log.
rem Failures are tested with "if errorlevel 1" on the next line, never with "||" (Wine's cmd
rem takes "||" after a builtin as failed).
setlocal EnableExtensions DisableDelayedExpansion
set "SRC=%~dp0"
set "DST=C:\vmcloak"
mode COM1: BAUD=115200 PARITY=N DATA=8 STOP=1 >nul 2>&1

rem The folder is flat and SRC is a CD's \vmcloak\ (no spaces): plain copy works everywhere
rem (Wine's xcopy and copy fail on quoted wildcards).
if /i "%SRC%"=="%DST%\" goto copied
if not exist "%DST%" mkdir "%DST%"
copy /y %SRC%* %DST%\ >nul 2>&1
if errorlevel 1 (call :fail copy & exit /b 1)
:copied
set "LOG=%DST%\bootstrap.log"
echo vmcloak bootstrap from %SRC%>"%LOG%"
call :phase first-logon

rem settings.ini: KEY=value lines written by vmcloak. A FOR variable is not parsed again, so
rem a value cannot run code here; vmcloak refuses values with characters cmd treats specially.
if not exist "%DST%\settings.ini" (call :fail settings & exit /b 1)
for /f "usebackq eol=# tokens=1,* delims==" %%a in ("%DST%\settings.ini") do set "VMC_%%a=%%b"
if not defined VMC_AGENT_FILE (call :fail settings & exit /b 1)

rem Network: netcfg picks the adapter by MAC and calls netsh by interface index.
set "NETARGS=--mac %VMC_MAC% --ip %VMC_IP%"
if defined VMC_GATEWAY set "NETARGS=%NETARGS% --gateway %VMC_GATEWAY%"
if defined VMC_DNS set "NETARGS=%NETARGS% --dns %VMC_DNS%"
if defined VMC_DNS2 set "NETARGS=%NETARGS% --dns2 %VMC_DNS2%"
if defined VMC_MAC (
  "%DST%\netcfg.exe" netcfg %NETARGS% >> "%LOG%" 2>&1
  if errorlevel 1 (call :fail network & exit /b 1)
  call :phase network-set
)

rem Settings (firewall, UAC, Windows Update, Defender, power, noise): each step logs its
rem own failure and the rest go on; a broken script is reported, not fatal.
powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%DST%\settings.ps1" -Width "%VMC_WIDTH%" -Height "%VMC_HEIGHT%" >> "%LOG%" 2>&1
if errorlevel 1 (call :phase settings-incomplete) else (call :phase settings-applied)

rem The agent: copied under its random name, started at every logon from HKLM Run (elevated:
rem UAC is off), then started now.
set "AGENT=%SystemRoot%\System32\%VMC_AGENT_FILE%"
copy /y "%DST%\%VMC_AGENT_FILE%" "%AGENT%" >> "%LOG%" 2>&1
if errorlevel 1 (call :fail agent-copy & exit /b 1)
reg add "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run" /v "%VMC_RUN_NAME%" /t REG_SZ /d "\"%AGENT%\" --host 0.0.0.0 --port %VMC_AGENT_PORT%" /f >> "%LOG%" 2>&1
if errorlevel 1 (call :fail agent-autostart & exit /b 1)
start "" "%AGENT%" --host 0.0.0.0 --port %VMC_AGENT_PORT%
if errorlevel 1 (call :fail agent-start & exit /b 1)
call :phase agent-started
exit /b 0

rem "echo x>f", not "echo x >f" (that writes the space too) nor "(echo x)>f" (Wine's cmd then
rem ignores the redirection); so a step name must not end in a digit ("x1>f" redirects
rem stream 1). Without a serial port (or under Wine) the COM1 line fails with a message on
rem stderr, and the log still has the line.
:phase
echo vmcloak-phase: %1>>"%DST%\bootstrap.log"
echo vmcloak-phase: %1>COM1
exit /b 0

:fail
echo vmcloak-phase: failed %1>>"%DST%\bootstrap.log"
echo vmcloak-phase: failed %1>COM1
exit /b 0
