import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Holds a secret (admin password, PFX bytes, custom data) so that it cannot reach a log line, an error
 * message or a JSON document by accident: every way of printing it yields "[redacted]". Only code that
 * must hand the value to the operating system calls reveal().
 */
export class Secret<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The secret itself; call it only where the value is handed to the OS (stdin of a child, a file). */
  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}

