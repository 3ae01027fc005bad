import { AGENT_COMMIT, AGENT_VERSION } from '../version.ts';

/** `winprov --version`: the agent's version, the Node version inside it, and the commit. */
export function versionText(): string {
  return `winprov ${AGENT_VERSION} (node ${process.version}, commit ${AGENT_COMMIT})\n`;
}

export const HELP_TEXT = `winprov ${AGENT_VERSION}: provisioning agent for custom Windows images on Azure

Usage: winprov [command] [options]

Commands:
  provision        provision this VM (the default; run by Windows Setup in the specialize pass)
  status           show whether this machine was provisioned, and how (--json for machines,
                   --timeline to draw the run's steps on a time axis)
  prepare-image    reset winprov's state before "sysprep /generalize" (--dry-run lists what it would do);
                   --check [--json] lists what would make sysprep or the first boot fail (--force goes on
                   past a FAIL); --record-baseline [--build-listener HTTPS] at the start of the build, and
                   --remove-certificate THUMBPRINT, say which WinRM access is the build's to remove;
                   --remote-access-only at its end removes only that; --keep-remote-access keeps it
                   --first-boot-script off|customData|userData|both: run the VM's script once at first
                   boot (writes winprov.json; off by default)
  first-boot-script  run the VM's custom data or user data script once, after Ready (SetupComplete.cmd
                   runs it when the image has the switch on; see README "First-boot script")
  clear-answer-file  replace the passwords in %WINDIR%\\Panther\\Unattend\\unattend.xml once OOBE has used
                   them (SetupComplete.cmd runs it; --dry-run says what it would replace)
  remove-from-image  take winprov's answer file and SetupComplete.cmd out of the image and put back the
                   ones prepare-image kept (the MSI runs it when winprov is uninstalled; --dry-run)
  collect-logs     write a zip of logs and diagnostics, secrets redacted (-o FILE)
  simulate         run a fabric simulator and an IMDS simulator on loopback (--port, --imds-port,
                   --host, --scenario FILE, --media DIR)
  demo             provision a sandbox against a simulator and print a summary
  version          print the version

Options:
  --platform auto|windows|sandbox   auto = windows on Windows; elsewhere name the sandbox
  --sandbox DIR                     the sandbox folder (with --platform sandbox)
  --fabric URL                      use this WireServer (http://host:port), skip discovery
  --fabric-port PORT                the WireServer's port when it is discovered (default 80)
  --fallback-address IPV4           the WireServer when DHCP option 245 is absent (168.63.129.16)
  --connect-timeout, --read-timeout DURATION   per fabric request (defaults 5s, 60s)
  --no-repair-dhcp                  fail instead of enabling DHCP when it is off
  --deadline DURATION               budget of the whole run (default 20m)
  --defer-ready                     apply everything but report Ready later (SetupComplete run)
  --serial COM1                     mirror progress lines to a serial port (boot diagnostics)
  -v, --verbose / -q, --quiet       more or less on the console (the log file always has debug)
  --config FILE                     settings file (default: winprov.json beside the executable)
  -h, --help / --version
An option a command does not read is refused (exit 2).

Exit codes: 0 success; 1 unexpected error; 2 usage or configuration; 3 invalid provisioning
configuration (ovf-env.xml, media); 4 fabric (unreachable, refused, timed out, bad documents);
5 Windows refused a change or hung; 8 another winprov run holds the lock; 9 prepare-image: the
image check found a FAIL; 130, 143 stopped by Ctrl+C or SIGTERM.
status: 0 provisioned, 6 not provisioned (or a first run not finished), 7 the last run failed.
`;
