import { PlatformRejectedError } from '../../errors.ts';

/**
 * The rules Windows itself enforces, which the sandbox applies the same way, so that a run that
 * passes on the sandbox does not fail on the first real VM for a rule only Windows knew.
 */

/** SetComputerNameEx(ComputerNamePhysicalDnsHostname): a DNS label; ERROR_INVALID_PARAMETER (87) otherwise. */
export function checkComputerName(name: string): void {
  if (!/^[A-Za-z0-9-]{1,63}$/.test(name) || /^\d+$/.test(name)) {
    throw new PlatformRejectedError('setComputerName', 'SetComputerNameEx rejects the name (ERROR_INVALID_PARAMETER 87): use 1-63 letters, digits and hyphens, not all digits');
  }
  if (name.length > 15) {
    // Windows accepts it but truncates the NetBIOS name; Azure forbids it; the sandbox is as strict as Azure.
    throw new PlatformRejectedError('setComputerName', 'the NetBIOS name would be truncated to 15 characters');
  }
}

/** NetUserAdd: NERR_BadUsername (2202) for names Windows cannot hold. */
export function checkUserName(name: string): void {
  if (name.length < 1 || name.length > 20 || /["/\\[\]:;|=,+*?<>\u0000-\u001f]/.test(name) || /^[. ]+$/.test(name)) {
    throw new PlatformRejectedError('ensureAdminAccount', 'NetUserAdd rejects the user name (NERR_BadUsername 2202): 1-20 characters, none of " / \\ [ ] : ; | = , + * ? < >');
  }
}

/**
 * The "password must meet complexity requirements" policy that Azure's Windows images enable:
 * NERR_PasswordTooShort (2245) is what NetUserAdd returns for any policy failure.
 */
export function checkPasswordPolicy(userName: string, password: string): void {
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  const containsName = userName.length >= 3 && password.toLowerCase().includes(userName.toLowerCase());
  if (password.length < 8 || classes < 3 || containsName) {
    throw new PlatformRejectedError('ensureAdminAccount', 'the password does not meet the password policy (NERR_PasswordTooShort 2245): at least 8 characters, 3 of 4 character classes, not containing the user name');
  }
}

/** Certificate store names reach the OS as a store path component. */
export function checkStoreName(store: string): void {
  if (!/^[A-Za-z0-9 _.-]{1,64}$/.test(store)) {
    throw new PlatformRejectedError('importCertificates', 'the certificate store name is not valid');
  }
}
