@echo off
rem winprov, deferred-Ready mode (see README.md). Windows runs %WINDIR%\Setup\Scripts\SetupComplete.cmd once,
rem as SYSTEM, after OOBE and before the logon screen. The specialize run ("provision --defer-ready") applied
rem everything; this run finds winprov's completion marker, applies nothing again, reports Ready and enables
rem the guest agent services if the VM asked for them; then it clears the answer file's passwords, which OOBE
rem has used. Setup ignores this script's exit code and it must not reboot the machine: it always exits 0, and
rem a failure is in the log and already reported to the fabric.
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
rem winprov clear-answer-file: OOBE has used the passwords in %WINDIR%\Panther\Unattend\unattend.xml (the
rem AutoLogon password of AdditionalUnattendContent); they are replaced as Setup does in its cached copy.
>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: starting "%ProgramFiles%\winprov\winprov.exe" clear-answer-file
"%ProgramFiles%\winprov\winprov.exe" clear-answer-file >>"%WINPROV_LOG%" 2>&1
>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: clear-answer-file exited with %ERRORLEVEL%
>>"%WINPROV_LOG%" echo [%DATE% %TIME%] SetupComplete: done
endlocal
exit /b 0
