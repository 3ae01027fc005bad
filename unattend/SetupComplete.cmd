@echo off
rem winprov, deferred-Ready mode (see README.md). Windows runs %WINDIR%\Setup\Scripts\SetupComplete.cmd once,
rem as SYSTEM, after OOBE and before the logon screen. The specialize run ("provision --defer-ready") applied
rem everything; this run finds winprov's completion marker, applies nothing again, reports Ready and enables
rem the guest agent services if the VM asked for them. Setup ignores this script's exit code and it must not
rem reboot the machine: it always exits 0, and a failure is in the log and already reported to the fabric.
setlocal
set "WINPROV_DIR=%ProgramData%\winprov"
set "WINPROV_LOG=%ProgramData%\winprov\setupcomplete.log"
rem The specialize run has created the folder (with winprov's own permissions); this is only a fallback.
if not exist "%WINPROV_DIR%\" mkdir "%WINPROV_DIR%"
>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: starting "%ProgramFiles%\winprov\winprov.exe" provision
"%ProgramFiles%\winprov\winprov.exe" provision >>"%WINPROV_LOG%" 2>&1
set "WINPROV_EXIT=%ERRORLEVEL%"
>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: winprov exited with %WINPROV_EXIT%
rem Services switched to Automatic after boot only start at the next boot, and there is none after
rem SetupComplete: start the ones winprov enabled, now that Ready has been reported (never before it).
if not "%WINPROV_EXIT%"=="0" goto done
for %%S in (RdAgent WindowsAzureGuestAgent) do (
  sc.exe qc %%S | find "AUTO_START" >nul && (
    >>"%WINPROV_LOG%" echo SetupComplete: starting service %%S
    sc.exe start %%S >>"%WINPROV_LOG%" 2>&1
  )
)
:done
>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: done
endlocal
exit /b 0
