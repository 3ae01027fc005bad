# Example: an Azure managed image with winprov baked in, built by Packer's azure-arm builder.
# It is an example to adapt, not part of winprov's build or CI, and it has not been run from this repository.
#
#   npm run build:msi                      # dist/winprov-<version>-x64.msi
#   packer init unattend/packer
#   packer build -var subscription_id=... -var resource_group=... -var winprov_version=0.1.0 unattend/packer
#
# Authentication: `az login` beforehand (use_azure_cli_auth), or replace it with client_id/client_secret
# or a managed identity as the azure-arm builder documents.

packer {
  required_plugins {
    azure = {
      source  = "github.com/hashicorp/azure"
      version = ">= 2.0.0"
    }
  }
}

variable "subscription_id" {
  type        = string
  description = "Subscription that holds the image."
}

variable "resource_group" {
  type        = string
  description = "Existing resource group for the managed image."
}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "image_name" {
  type    = string
  default = "winprov-ws2022"
}

variable "vm_size" {
  type    = string
  default = "Standard_D2s_v5"
}

variable "winprov_version" {
  type        = string
  description = "Version in the MSI's file name (package.json version)."
}

variable "msi_dir" {
  type    = string
  default = "dist"
}

variable "defer_ready" {
  type        = bool
  default     = false
  description = "true: deferred-Ready mode (Ready from SetupComplete.cmd after OOBE); false: Ready at the end of specialize."
}

source "azure-arm" "winprov" {
  use_azure_cli_auth = true
  subscription_id    = var.subscription_id

  os_type         = "Windows"
  image_publisher = "MicrosoftWindowsServer"
  image_offer     = "WindowsServer"
  image_sku       = "2022-datacenter" # or a Generation 2 SKU such as "2022-datacenter-g2"
  location        = var.location
  vm_size         = var.vm_size

  managed_image_name                = "${var.image_name}-${var.winprov_version}"
  managed_image_resource_group_name = var.resource_group

  communicator   = "winrm"
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = "10m"
  winrm_username = "packer"
}

build {
  sources = ["source.azure-arm.winprov"]

  provisioner "file" {
    source      = "${var.msi_dir}/winprov-${var.winprov_version}-x64.msi"
    destination = "C:\\Windows\\Temp\\winprov.msi"
  }

  provisioner "powershell" {
    inline = [
      "$ErrorActionPreference = 'Stop'",
      # The build VM was provisioned by Azure's own agent; let its guest agent finish starting before we change it.
      "foreach ($service in Get-Service -Name RdAgent, WindowsAzureGuestAgent -ErrorAction SilentlyContinue) { while ((Get-Service $service.Name).Status -ne 'Running') { Start-Sleep -Seconds 5 } }",
      # Per-machine install to %ProgramFiles%\\winprov, with a verbose log; 3010 means success, reboot pending.
      "$msi = Start-Process msiexec.exe -ArgumentList '/i', 'C:\\Windows\\Temp\\winprov.msi', '/qn', '/l*v', 'C:\\Windows\\Temp\\winprov-msi.log' -Wait -PassThru",
      "if ($msi.ExitCode -notin 0, 3010) { Get-Content C:\\Windows\\Temp\\winprov-msi.log -Tail 40; throw \"msiexec exited with $($msi.ExitCode)\" }",
      "& \"$env:ProgramFiles\\winprov\\winprov.exe\" --version",
      # Before anything else changes the VM: record the image's own WinRM listeners, firewall rules and
      # certificates. The HTTPS listener Packer connects through already exists (Azure made it from the
      # VM's winRM settings), so it is named as the build's; prepare-image removes it, its rule and its
      # certificate (with the private key) at the end of the build.
      "& \"$env:ProgramFiles\\winprov\\winprov.exe\" prepare-image --record-baseline --build-listener HTTPS",
      "if ($LASTEXITCODE -ne 0) { throw \"winprov prepare-image --record-baseline exited with $LASTEXITCODE\" }",
    ]
  }

  provisioner "powershell" {
    inline = [
      "$ErrorActionPreference = 'Stop'",
      # Checks the image (exit 9 on a FAIL: BitLocker, unprovisioned Appx packages, a pending reboot ...),
      # resets winprov's state (keeping the baseline for the last step), sets the guest
      # agent services to Disabled (they must not run before Ready), places the unattend template at
      # C:\\Windows\\Panther\\Unattend\\unattend.xml and, with --defer-ready, installs SetupComplete.cmd.
      # --keep-remote-access: this session runs over the build's HTTPS listener, and its next request would
      # fail once the listener is gone; the removal is the very last step below.
      "& \"$env:ProgramFiles\\winprov\\winprov.exe\" prepare-image --keep-remote-access ${var.defer_ready ? "--defer-ready" : ""}",
      "if ($LASTEXITCODE -ne 0) { throw \"winprov prepare-image exited with $LASTEXITCODE\" }",
      # /quit, not /shutdown: Packer deallocates and captures the VM itself once this script returns; a
      # shutdown would cut the WinRM session under the running provisioner. Wait until generalize is done.
      "& $env:SystemRoot\\System32\\Sysprep\\sysprep.exe /generalize /oobe /mode:vm /quiet /quit /unattend:C:\\Windows\\Panther\\Unattend\\unattend.xml",
      "while ($true) { $state = (Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State).ImageState; if ($state -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') { break }; Write-Output $state; Start-Sleep -Seconds 10 }",
      # Last: remove the build's WinRM listener, its firewall rule and its certificate (with the private key).
      # Processes started in a WinRM shell end with it, so the removal runs as a one-time SYSTEM task a few
      # seconds after this provisioner has returned, before Packer powers the VM off; the task expires and
      # Task Scheduler deletes it. Nothing reports back from the task: check a VM made from the image (no
      # listener on 5986 and no pkrvm certificate in LocalMachine\\My unless that VM asked for them).
      "$action = New-ScheduledTaskAction -Execute \"$env:ProgramFiles\\winprov\\winprov.exe\" -Argument 'prepare-image --remote-access-only'",
      "$trigger = New-ScheduledTaskTrigger -Once -At (Get-Date).AddSeconds(5); $trigger.EndBoundary = (Get-Date).AddMinutes(2).ToString('s')",
      "Register-ScheduledTask -TaskName 'winprov-remove-build-access' -Action $action -Trigger $trigger -Settings (New-ScheduledTaskSettingsSet -DeleteExpiredTaskAfter 00:00:01) -User 'SYSTEM' -RunLevel Highest | Out-Null",
    ]
  }

  # Packer deallocates the VM as soon as the last provisioner returns: without this wait the task above
  # could be cut by the shutdown, and the image would keep the build's listener, rule and certificate.
  # Runs on the machine running Packer, not over WinRM; pause_before is the wait (90 s: the task starts
  # 5 s after it was registered, and winprov's removal takes seconds).
  provisioner "shell-local" {
    pause_before = "90s"
    inline       = ["echo the build's remote access was removed by the one-time task on the VM"]
  }
}
